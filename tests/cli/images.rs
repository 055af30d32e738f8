//! Disk images scanned without mounting (tests/images/*.img.gz, built by
//! tests/images/build.sh from the example systems): each volume must give the same findings,
//! hashes and verdicts as the same tree scanned as a folder.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Decompresses `tests/images/NAME.img.gz` into `dir`.
fn unpack(dir: &Path, name: &str) -> PathBuf {
    let gz = repo().join("tests/images").join(format!("{name}.img.gz"));
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("image"))
        .read_to_end(&mut data)
        .expect("gunzip");
    let out = dir.join(format!("{name}.img"));
    std::fs::write(&out, data).expect("write image");
    out
}

fn root<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .find(|r| r["root"] == name)
        .unwrap_or_else(|| panic!("no root {name}: {doc:#}"))
}

const FAT_NOTE: &str =
    "FAT stores local times without a time zone: the times shown are those local times read as UTC";

/// A root with the fields that legitimately differ between a folder and an image removed.
fn comparable(root: &Value) -> Value {
    let mut r = root.clone();
    let obj = r.as_object_mut().expect("root object");
    // `root` is the folder path vs `disk.img#pN`; `image` is null for a folder.
    obj.remove("root");
    obj.remove("image");
    // `stats.entries` counts what was walked: an NTFS volume also holds $MFT, $Bitmap…, and
    // the FAT walk never sees `.`/`..`; the candidates and findings are compared instead.
    obj.remove("stats");
    for f in obj["findings"].as_array_mut().expect("findings") {
        let f = f.as_object_mut().expect("finding");
        // The root prefix differs (`/…/systems/x/…` vs `disk.img#p1/…`); `path` is compared.
        f.remove("abs_path");
        // Times: the folder's come from the git checkout, the image's were set when the image
        // was built (FAT also keeps only local 2-second times, dates for access, no change
        // time). They are file-system facts, not evidence of the patch level.
        for t in ["modified", "accessed", "created", "changed"] {
            f.remove(t);
        }
        // The FAT time-zone note is the only note that depends on the source.
        if let Some(notes) = f.get_mut("notes").and_then(Value::as_array_mut) {
            notes.retain(|n| n != FAT_NOTE);
        }
        // issue 14: NTFS $FILE_NAME times, file-system facts as above.
        f.remove("name_times");
    }
    // issue 14: the install-time evidence holds those same file-system times.
    if let Some(rules) = obj
        .get_mut("system")
        .and_then(|s| s.get_mut("rules"))
        .and_then(Value::as_array_mut)
    {
        for rr in rules {
            if let Some(o) = rr.as_object_mut() {
                o.remove("installed");
            }
        }
    }
    r
}

fn scan(paths: &[&Path]) -> (i32, Value) {
    scan_json(paths, &["--rule", "MS04-008", "-q"])
}

/// (volume, example system it was built from, file system), see tests/images/build.sh.
type Volume = (&'static str, &'static str, &'static str);

const LAYOUT: &[(&str, &[Volume])] = &[
    (
        "mbr",
        &[
            ("p1", "w2k-sp4-vulnerable", "fat16"),
            ("p5", "w2k-sp4-patched", "fat32"),
            ("p6", "w2k-sp4-patched", "ntfs"),
        ],
    ),
    (
        "gpt",
        &[
            ("p1", "w2k-sp4-vulnerable", "fat32"),
            ("p2", "w2k-sp4-patched", "fat16"),
            ("p3", "w2k-sp4-vulnerable", "ntfs"),
            ("p4", "backup-copies-only", "fat12"),
        ],
    ),
];

#[test]
fn every_volume_matches_the_folder_scan() {
    let tmp = tempfile::tempdir().unwrap();
    for (image, volumes) in LAYOUT {
        let img = unpack(tmp.path(), image);
        let (code, doc) = scan(&[&img]);
        let shown = img.display().to_string();
        let mut want_code = 0;
        for (vol, system, fs) in *volumes {
            let name = format!("{shown}#{vol}");
            let got = root(&doc, &name);
            let (dcode, dir_doc) = scan(&[&common::system(system)]);
            want_code = if want_code == 1 || dcode == 1 {
                1
            } else {
                want_code.max(dcode)
            };
            let want = &dir_doc["roots"][0];
            assert_eq!(
                comparable(got),
                comparable(want),
                "{name} ({fs}) differs from the folder scan of {system}"
            );
            assert!(!findings(got).is_empty(), "{name}: no findings");
            assert_eq!(got["image"]["filesystem"], *fs, "{name}");
            assert_eq!(got["image"]["volume"], *vol, "{name}");
            assert_eq!(got["image"]["partition_table"], *image, "{name}");
            for f in findings(got) {
                if fs.starts_with("fat") {
                    assert!(f["notes"].as_array().unwrap().iter().any(|n| n == FAT_NOTE));
                    assert!(f["modified"].is_string(), "FAT times are read: {f:#}");
                } else {
                    assert!(f["changed"].is_string(), "NTFS times are read: {f:#}");
                }
                assert!(f["abs_path"].as_str().unwrap().starts_with(&name));
            }
        }
        // Vulnerable wins; otherwise the folders' worst code (no volume here has errors).
        assert_eq!(code, want_code, "{image}");
        let images = doc["images"].as_array().expect("images");
        assert_eq!(images.len(), 1);
        assert_eq!(images[0]["partition_table"], *image);
        assert_eq!(
            images[0]["volumes"].as_array().unwrap().len(),
            volumes.len()
        );
        let any_vulnerable = volumes.iter().any(|v| v.1 == "w2k-sp4-vulnerable");
        assert_eq!(
            images[0]["verdict"],
            if any_vulnerable {
                "vulnerable"
            } else {
                "patched"
            }
        );
    }
}

#[test]
fn the_table_shows_volumes_and_the_disk_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "mbr");
    let o = run(&["scan", "--rule", "MS04-008", "-q", img.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let text = String::from_utf8_lossy(&o.stdout);
    let shown = img.display().to_string();
    assert!(
        text.contains(&format!("== {shown}#p1: VULNERABLE")),
        "{text}"
    );
    assert!(text.contains(&format!("== {shown}#p5: PATCHED")), "{text}");
    assert!(text.contains(&format!("== {shown}#p6: PATCHED")), "{text}");
    assert!(
        text.contains(&format!(
            "== image {shown}: VULNERABLE (raw, partition table mbr"
        )),
        "{text}"
    );
}

#[test]
fn a_split_raw_set_reads_as_one_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "gpt");
    let bytes = std::fs::read(&img).unwrap();
    let split = tmp.path().join("split");
    std::fs::create_dir(&split).unwrap();
    // Uneven segments, cutting through volumes and files.
    let cuts = [
        0,
        20 * 1024 * 1024 + 1234,
        41 * 1024 * 1024 + 77,
        bytes.len(),
    ];
    for (i, w) in cuts.windows(2).enumerate() {
        let mut f = std::fs::File::create(split.join(format!("disk.{:03}", i + 1))).unwrap();
        f.write_all(&bytes[w[0]..w[1]]).unwrap();
    }
    let first = split.join("disk.001");
    // Given through a symbolic link to the first segment: the set is still found.
    #[cfg(unix)]
    let first = {
        let link = tmp.path().join("evidence-link");
        std::os::unix::fs::symlink(&first, &link).unwrap();
        link
    };
    let (code_one, one) = scan(&[&img]);
    let (code_split, parts) = scan(&[&first]);
    assert_eq!(code_one, code_split);
    assert_eq!(parts["images"][0]["format"], "split_raw");
    assert_eq!(parts["images"][0]["segments"], 3);
    assert_eq!(parts["images"][0]["size"], bytes.len());
    for vol in ["p1", "p2", "p3", "p4"] {
        let a = root(&one, &format!("{}#{vol}", img.display()));
        let b = root(&parts, &format!("{}#{vol}", first.display()));
        assert_eq!(comparable(a), comparable(b), "{vol}");
    }
}

#[test]
fn compressed_ntfs_files_are_decompressed_and_damaged_ones_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "ntfs-damaged");
    let (code, doc) = scan(&[&img]);
    // Candidates could not be judged, nothing vulnerable.
    assert_eq!(code, 2);
    let r = root(&doc, &img.display().to_string());
    assert_eq!(r["image"]["partition_table"], "none");
    assert_eq!(r["image"]["volume"], "whole");
    assert_eq!(r["verdict"], "patched");
    // NTFS-compressed (LZNT1): decompressed, judged by its real version, hashed as the
    // original file (not the on-disk compressed bytes).
    let compressed = finding(r, "Extra/Nscm.exe");
    assert_eq!(compressed["status"], "patched", "{compressed:#}");
    assert_eq!(compressed["file_version"], "4.1.0.3934");
    let original = std::fs::read(
        system("w2k-sp4-patched").join("WINNT/system32/Windows Media/Server/Nscm.exe"),
    )
    .unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&original)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(compressed["sha256"], sha.as_str());
    assert_eq!(compressed["size"], original.len() as u64);
    let bad = finding(r, "$NTUninstallKB832359$/Nspmon.exe");
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["error_kind"], "filesystem");
    for (path, status) in [
        ("$NTUninstallKB832359$/Nscm.exe", "vulnerable"),
        ("Server/Nscm.exe", "patched"),
        ("Server/Nspmon.exe", "patched"),
    ] {
        assert_eq!(finding(r, path)["status"], status, "{path}");
    }
    // The registry inside the image was read.
    assert_eq!(r["system"]["os"]["current_version"], "5.0");
    assert_eq!(r["system"]["software_hive"]["validated"], true);
}

#[test]
fn a_truncated_image_is_scanned_as_far_as_it_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "mbr");
    // Cut inside p5 (FAT32, 19–53 MiB), shortly after its FATs: the EBR of p6 (NTFS, at
    // 53 MiB) and p6 itself are gone.
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.set_len((19 * 1024 + 800) * 1024).unwrap();
    drop(f);
    let (code, doc) = scan(&[&img]);
    assert_eq!(code, 1, "p1 is still vulnerable");
    let shown = img.display().to_string();
    let (_, dir_doc) = scan(&[&common::system("w2k-sp4-vulnerable")]);
    assert_eq!(
        comparable(root(&doc, &format!("{shown}#p1"))),
        comparable(&dir_doc["roots"][0])
    );
    let p5 = root(&doc, &format!("{shown}#p5"));
    assert!(
        p5["notices"].to_string().contains("truncated image"),
        "{p5:#}"
    );
    assert_eq!(p5["verdict"], "inconclusive");
    let live = finding(p5, "Server/Nscm.exe");
    assert_eq!(live["status"], "error");
    assert_eq!(live["error_kind"], "io");
    assert!(live["error"]
        .as_str()
        .unwrap()
        .contains("the image ends inside this file"));
    let image = &doc["images"][0];
    assert_eq!(image["verdict"], "vulnerable");
    assert_eq!(image["volumes"].as_array().unwrap().len(), 2);
    assert!(
        image["notices"]
            .to_string()
            .contains("logical partitions from p6 on are missing"),
        "{image:#}"
    );
}

#[test]
fn compressed_images_are_refused_with_the_decompression_to_use() {
    let tmp = tempfile::tempdir().unwrap();
    // Containers are read in place now (tests/containers.rs); compressed copies stay refused.
    for (name, magic, format, advice) in [
        (
            "disk.img.gz",
            &b"\x1f\x8b\x08\0"[..],
            "gzip-compressed",
            "gunzip -k",
        ),
        (
            "disk.img.xz",
            &b"\xfd7zXZ\0"[..],
            "xz-compressed",
            "unxz -k",
        ),
    ] {
        let p = tmp.path().join(name);
        let mut data = magic.to_vec();
        data.resize(4096, 0);
        std::fs::write(&p, data).unwrap();
        let (code, doc) = scan(&[&p]);
        assert_eq!(code, 2, "{name}");
        let r = &doc["roots"][0];
        assert_eq!(r["verdict"], "inconclusive");
        let msg = r["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains("format not supported"), "{msg}");
        assert!(msg.contains(format) && msg.contains(advice), "{msg}");
        assert_eq!(doc["images"][0]["error"].as_str().unwrap(), msg);
    }
}

#[test]
fn garbage_files_give_an_inconclusive_root_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("random.bin");
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&p, data).unwrap();
    let (code, doc) = scan(&[&p]);
    assert_eq!(code, 2);
    assert_eq!(doc["roots"][0]["verdict"], "inconclusive");
    assert!(doc["images"][0]["error"].is_string());
}

#[test]
fn the_report_is_never_written_over_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "ntfs-damaged");
    let before = std::fs::read(&img).unwrap();
    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-q",
        "-o",
        img.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("never writes into evidence"));
    assert_eq!(std::fs::read(&img).unwrap(), before);
}

#[test]
fn images_are_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "gpt");
    let before = std::fs::read(&img).unwrap();
    let mtime = std::fs::metadata(&img).unwrap().modified().unwrap();
    let _ = scan(&[&img]);
    assert_eq!(std::fs::read(&img).unwrap(), before);
    assert_eq!(std::fs::metadata(&img).unwrap().modified().unwrap(), mtime);
}

/// NTFS reparse points (tests/images/build.sh, `ntfs-reparse.img`, tags set with libntfs-3g):
/// symbolic links and junctions are not followed (a notice each); a cloud-placeholder folder
/// and a folder with an unknown tag are walked, with a notice naming the tag; files whose data
/// is not in `$DATA` (cloud file not downloaded, dedup, WOF) are precise errors; a junction
/// on the install path makes the root `inconclusive` with `reparse_point_not_walked`.
#[test]
fn ntfs_reparse_points_are_walked_unless_links_and_links_on_the_install_path_are_inconclusive() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "ntfs-reparse");
    let (_, doc) = scan(&[&img]);
    let shown = img.display().to_string();
    let notice = |r: &Value, path: &str| -> String {
        r["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["path"] == path)
            .unwrap_or_else(|| panic!("no notice at {path}: {:#}", r["notices"]))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let codes = |r: &Value| -> Vec<String> {
        r["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["code"].as_str().unwrap().to_owned())
            .collect()
    };

    // p1: every reparse point is off the install path.
    let p1 = root(&doc, &format!("{shown}#p1"));
    let paths: Vec<&str> = findings(p1)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        !paths.iter().any(|p| p.starts_with("Links/")),
        "nothing below a junction or symbolic link is seen: {paths:?}"
    );
    let junction = notice(p1, "Links/Junction");
    assert!(
        junction.contains(
            "a junction (IO_REPARSE_TAG_MOUNT_POINT, 0xA0000003) to C:\\WINNT, not followed"
        ),
        "{junction}"
    );
    let symlink = notice(p1, "Links/Symlink");
    assert!(
        symlink.contains("a symbolic link (IO_REPARSE_TAG_SYMLINK, 0xA000000C)"),
        "{symlink}"
    );
    let cloud = notice(p1, "Users/me/OneDrive");
    assert!(
        cloud
            .contains("cloud-sync placeholder folder (IO_REPARSE_TAG_CLOUD_6, 0x9000601A): walked"),
        "{cloud}"
    );
    let vendor = notice(p1, "Vendor");
    assert!(vendor.contains("tag 0x0000BEEF"), "{vendor}");
    // The copies inside the walked reparse folders are judged as the live one is.
    let live = finding(p1, "Windows Media/Server/Nscm.exe");
    for path in ["Users/me/OneDrive/Nscm.exe", "Vendor/Nscm.exe"] {
        let f = finding(p1, path);
        assert_eq!(f["file_version"], live["file_version"], "{path}");
        assert_eq!(f["sha256"], live["sha256"], "{path}");
        assert!(f["error"].is_null(), "{f:#}");
    }
    assert!(!codes(p1).iter().any(|c| c == "reparse_point_not_walked"));

    // p2: `WINNT/system32/Windows Media` is a junction.
    let p2 = root(&doc, &format!("{shown}#p2"));
    assert_eq!(p2["verdict"], "inconclusive");
    let reason = p2["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "reparse_point_not_walked")
        .unwrap_or_else(|| panic!("no reparse_point_not_walked: {:#}", p2["reasons"]));
    assert_eq!(reason["path"], "WINNT/system32/Windows Media");
    assert!(reason["message"]
        .as_str()
        .unwrap()
        .contains("IO_REPARSE_TAG_MOUNT_POINT"));
    assert!(
        !findings(p2)
            .iter()
            .any(|f| f["path"].as_str().unwrap().contains("Windows Media/")),
        "nothing below the junction"
    );
    for rv in p2["rule_verdicts"].as_array().unwrap() {
        assert_ne!(rv["verdict"], "patched", "{rv:#}");
    }
    // Data that is not in $DATA: a precise error naming the tag, never zeros judged.
    for (path, kind, text) in [
        (
            "Cloud/Nspmon.exe",
            "unsupported",
            "IO_REPARSE_TAG_CLOUD, 0x9000001A",
        ),
        (
            "Dedup/Nscm.exe",
            "unsupported",
            "IO_REPARSE_TAG_DEDUP, 0x80000013",
        ),
        ("Wof/Nscm.exe", "compressed", "WofCompressedData stream"),
    ] {
        let f = finding(p2, path);
        assert_eq!(f["status"], "error", "{f:#}");
        assert_eq!(f["error_kind"], kind, "{f:#}");
        assert!(f["error"].as_str().unwrap().contains(text), "{f:#}");
    }
}

/// The root folder's MFT record (5) on mbr.img's NTFS volume (made by mkntfs and
/// libntfs-3g) uses 512 of its 1,024 bytes: a damaged update sequence in its second sector,
/// which holds none of the record, is read past; the same damage in its first sector, which
/// holds the record, keeps the volume unreadable.
#[test]
fn an_mft_record_whose_fixup_fails_only_beyond_its_bytes_in_use_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let img = unpack(tmp.path(), "mbr");
    let data = std::fs::read(&img).unwrap();
    // p6: the one NTFS boot sector on a MiB boundary.
    let start = (0..data.len())
        .step_by(1 << 20)
        .find(|&o| &data[o + 3..o + 11] == b"NTFS    ")
        .expect("an NTFS volume in mbr.img");
    let boot = &data[start..start + 512];
    let cluster = usize::from(u16::from_le_bytes([boot[11], boot[12]])) * usize::from(boot[13]);
    let mft_lcn = u64::from_le_bytes(boot[48..56].try_into().unwrap()) as usize;
    let record = start + mft_lcn * cluster + 5 * 1024;
    assert_eq!(&data[record..record + 4], b"FILE");
    let in_use = u32::from_le_bytes(data[record + 24..record + 28].try_into().unwrap());
    assert!(
        in_use <= 512,
        "record 5 uses {in_use} bytes: the test needs <= 512"
    );
    let (_, good) = scan(&[&img]);
    let shown = img.display().to_string();
    let want = comparable(root(&good, &format!("{shown}#p6")));
    assert_eq!(want["verdict"], "patched");
    for (sector, readable) in [(1usize, true), (0, false)] {
        let mut bad = data.clone();
        // The last two bytes of the sector no longer hold the update sequence number.
        bad[record + sector * 512 + 510] ^= 0xff;
        let path = tmp.path().join(format!("fixup-{sector}.img"));
        std::fs::write(&path, &bad).unwrap();
        let (_, doc) = scan(&[&path]);
        let p6 = root(&doc, &format!("{}#p6", path.display()));
        if readable {
            assert_eq!(comparable(p6), want, "sector {sector}");
        } else {
            assert_eq!(p6["verdict"], "inconclusive", "{p6:#}");
            assert!(
                p6["errors"].to_string().contains("Update Sequence"),
                "{p6:#}"
            );
        }
    }
}
