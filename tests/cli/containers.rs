//! Containers read in place (E01, SMART, VHD, VHDX, VMDK, qcow2), made at test time by the real
//! tools (`ewfacquire`, `qemu-img`) through tests/images/build-containers.sh from
//! tests/images/mbr.img.gz: every container must give exactly the findings, hashes and verdicts
//! of the raw image. Without the tools the tests are skipped, except under CI (`CI=true`,
//! as `.ci/run` sets), where they fail.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use kbscan_core::image::container;
use serde_json::Value;

struct Fixtures {
    _dir: tempfile::TempDir,
    raw: PathBuf,
    out: PathBuf,
}

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

/// The containers, built once per test binary; `None` (test skipped, see `common::require`)
/// when the tools are missing.
fn fixtures() -> Option<&'static Fixtures> {
    // Checked by every test, so each skipped one says so.
    if !have_all(&["qemu-img", "ewfacquire"]) {
        return None;
    }
    static F: OnceLock<Fixtures> = OnceLock::new();
    Some(F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = unpack(dir.path(), "mbr");
        let out = dir.path().join("c");
        let st = Command::new("bash")
            .arg(repo().join("tests/images/build-containers.sh"))
            .arg(&raw)
            .arg(&out)
            .status()
            .expect("run build-containers.sh");
        assert!(st.success(), "build-containers.sh failed: {st}");
        Fixtures {
            _dir: dir,
            raw,
            out,
        }
    }))
}

/// The report with what legitimately differs between containers of one disk removed: the
/// image path (and the root names built from it), the container's own fields, the file
/// count and the image's notices (none expected, compared separately).
fn comparable(doc: &Value, path: &Path) -> Value {
    let shown = path.display().to_string();
    let mut d = doc.clone();
    // issue 15: the examination record (command line, times) differs from run to run.
    d.as_object_mut().unwrap().remove("examination");
    for r in d["roots"].as_array_mut().unwrap() {
        let o = r.as_object_mut().unwrap();
        let name = o["root"].as_str().unwrap().replacen(&shown, "IMAGE", 1);
        o.insert("root".into(), name.into());
        o["image"].as_object_mut().unwrap().remove("path");
        for f in o["findings"].as_array_mut().unwrap() {
            let abs = f["abs_path"].as_str().unwrap().replacen(&shown, "IMAGE", 1);
            f["abs_path"] = abs.into();
        }
    }
    for i in d["images"].as_array_mut().unwrap() {
        let o = i.as_object_mut().unwrap();
        for k in [
            "path",
            "format",
            "segments",
            "container",
            "container_metadata",
            "volumes",
        ] {
            o.remove(k);
        }
    }
    d
}

fn scan(path: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["-q", "--rule", "MS04-008"];
    args.extend_from_slice(extra);
    scan_json(&[path], &args)
}

#[test]
fn the_same_disk_in_every_container_gives_the_same_report() {
    let Some(f) = fixtures() else { return };
    let (want_code, want) = scan(&f.raw, &[]);
    assert_eq!(want_code, 1, "the raw disk holds a vulnerable volume");
    let want = comparable(&want, &f.raw);
    assert_eq!(want["roots"].as_array().unwrap().len(), 3);
    // A split raw set of the same disk.
    let split = f.out.join("split-raw");
    std::fs::create_dir_all(&split).unwrap();
    let bytes = std::fs::read(&f.raw).unwrap();
    for (i, part) in bytes.chunks(25 * 1024 * 1024).enumerate() {
        std::fs::write(split.join(format!("disk.{:03}", i + 1)), part).unwrap();
    }
    for (rel, container, subformat, segments) in [
        ("split-raw/disk.001", "split-raw", None, 3),
        ("e01/disk.E01", "e01", Some("ewf1"), 3),
        ("e01fast/disk.E01", "e01", Some("ewf1"), 1),
        ("smart/disk.s01", "smart", Some("smart"), 1),
        ("vhd-fixed.img", "vhd", Some("fixed"), 1),
        ("vhd-dynamic.vhd", "vhd", Some("dynamic"), 1),
        ("disk.vhdx", "vhdx", None, 1),
        ("stream.vmdk", "vmdk", Some("streamOptimized"), 1),
        ("sparse.vmdk", "vmdk", Some("monolithicSparse"), 1),
        ("flat.vmdk", "vmdk", Some("monolithicFlat"), 2),
        ("split/two.vmdk", "vmdk", Some("twoGbMaxExtentSparse"), 2),
        ("disk.qcow2", "qcow2", Some("v3"), 1),
        ("compressed.qcow2", "qcow2", Some("v2"), 1),
        // Differencing disks holding nothing of their own, naming their parent by its
        // absolute path in their own folder: the parent's disk.
        ("child.vmdk", "vmdk", Some("monolithicSparse"), 2),
        ("child.qcow2", "qcow2", Some("v3"), 2),
    ] {
        let p = f.out.join(rel);
        let (code, doc) = scan(&p, &[]);
        assert_eq!(code, want_code, "{rel}");
        let img = &doc["images"][0];
        assert_eq!(img["container"], container, "{rel}");
        assert_eq!(img["segments"], segments, "{rel}");
        if let Some(s) = subformat {
            assert_eq!(img["container_metadata"]["subformat"], s, "{rel}");
        }
        if container != "split-raw" {
            assert_eq!(
                img["container_metadata"]["virtual_size"],
                bytes.len() as u64,
                "{rel}"
            );
        }
        assert_eq!(comparable(&doc, &p), want, "{rel}");
    }
}

fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn an_e01_reports_its_case_metadata_and_verifies_its_stored_hashes() {
    let Some(f) = fixtures() else { return };
    let raw_md5 = md5_hex(&std::fs::read(&f.raw).unwrap());
    let p = f.out.join("e01fast/disk.E01");
    let (_, doc) = scan(&p, &["--verify-image"]);
    let img = &doc["images"][0];
    let m = &img["container_metadata"];
    assert_eq!(m["case_number"], "CASE-12");
    assert_eq!(m["examiner"], "Examiner E");
    assert_eq!(m["evidence_number"], "EV-1");
    assert_eq!(m["stored_md5"], raw_md5.as_str());
    assert!(m["stored_sha1"].as_str().is_some_and(|s| s.len() == 40));
    assert!(m["acquisition_date"].as_str().is_some());
    assert_eq!(img["verification"]["status"], "verified", "{img:#}");
    // Without the flag there is no verification.
    let (_, doc) = scan(&p, &[]);
    assert!(doc["images"][0].get("verification").is_none());
    // Raw images store no hash.
    let (_, doc) = scan(&f.raw, &["--verify-image"]);
    assert_eq!(doc["images"][0]["verification"]["status"], "no stored hash");
    // VHD: footer and header checksums.
    let (_, doc) = scan(&f.out.join("vhd-dynamic.vhd"), &["--verify-image"]);
    assert_eq!(doc["images"][0]["verification"]["status"], "verified");
}

/// Copies the 3-segment, uncompressed E01 set into `dir` with one byte of chunk data flipped
/// in the second segment.
fn damaged_e01(f: &Fixtures, dir: &Path) -> PathBuf {
    for s in ["E01", "E02", "E03"] {
        let mut b = std::fs::read(f.out.join(format!("e01/disk.{s}"))).unwrap();
        if s == "E02" {
            // The middle of the segment is chunk data (the disk is mostly zeros there).
            b[12_000_000] ^= 0x40;
        }
        std::fs::write(dir.join(format!("disk.{s}")), b).unwrap();
    }
    dir.join("disk.E01")
}

#[test]
fn a_damaged_uncompressed_chunk_is_a_read_error_never_different_bytes() {
    let Some(f) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let first = damaged_e01(f, tmp.path());
    let mut opened = container::open(&first).unwrap().expect("an E01");
    let len = opened.src.len();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0;
    let mut failure = None;
    while pos < len {
        match opened.src.read_at(pos, &mut buf) {
            Ok(0) => break,
            Ok(n) => pos += n as u64,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let msg = failure.expect("the damaged chunk must not be read as data");
    assert!(msg.contains("Adler-32"), "{msg}");
    // The undamaged set reads whole.
    let mut good = container::open(&f.out.join("e01/disk.E01"))
        .unwrap()
        .unwrap();
    let raw = std::fs::read(&f.raw).unwrap();
    let mut all = vec![0u8; raw.len()];
    let mut done = 0;
    while done < all.len() {
        let n = good.src.read_at(done as u64, &mut all[done..]).unwrap();
        assert!(n > 0);
        done += n;
    }
    assert!(all == raw, "the E01 reads back as the raw disk");
}

/// Reads the whole media of `first` in reads of `step` bytes from `start`, or the error met.
fn read_media(first: &Path, start: u64, step: usize) -> Result<Vec<u8>, String> {
    let mut opened = container::open(first)
        .map_err(|e| e.to_string())?
        .expect("a container");
    let len = opened.src.len();
    let mut all = vec![0u8; (len - start) as usize];
    let mut done = 0;
    while done < all.len() {
        let end = (done + step).min(all.len());
        match opened.src.read_at(start + done as u64, &mut all[done..end]) {
            Ok(0) => return Err(format!("ends at {done}")),
            Ok(n) => done += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(all)
}

/// The byte ranges of an EWF1 segment's `sectors` sections (chunk data).
fn sectors_sections(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 13usize;
    loop {
        let d = &b[off..off + 76];
        let kind = d[..16].split(|&c| c == 0).next().unwrap();
        let next = u64::from_le_bytes(d[16..24].try_into().unwrap()) as usize;
        let size = u64::from_le_bytes(d[24..32].try_into().unwrap()) as usize;
        if kind == b"sectors" {
            out.push((off + 76, off + size));
        }
        if kind == b"done" || kind == b"next" || next <= off {
            return out;
        }
        off = next;
    }
}

#[test]
fn compressed_chunks_read_back_as_the_disk_and_a_damaged_one_is_an_error() {
    let Some(f) = fixtures() else { return };
    let raw = std::fs::read(&f.raw).unwrap();
    for set in ["e01fast/disk.E01", "smart/disk.s01"] {
        let first = f.out.join(set);
        // Whole chunks (1 MiB reads) and reads that start and end inside chunks.
        for (start, step) in [(0u64, 1 << 20), (0, 4096 + 17), (12_345, 40_000)] {
            let got = read_media(&first, start, step).unwrap();
            assert!(
                got == raw[start as usize..],
                "{set} read from {start} by {step}"
            );
        }
    }
    // One byte flipped in the middle of the compressed chunk data: reading the media meets
    // an error naming the damaged chunk, never different bytes.
    let tmp = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(f.out.join("e01fast/disk.E01")).unwrap();
    let (from, to) = sectors_sections(&b)[0];
    b[(from + to) / 2] ^= 0x10;
    let first = tmp.path().join("disk.E01");
    std::fs::write(&first, &b).unwrap();
    for step in [1 << 20, 4096 + 17] {
        let msg = read_media(&first, 0, step).expect_err("a damaged chunk must not read");
        assert!(
            msg.contains("EWF chunk") && msg.contains("damaged"),
            "{msg}"
        );
    }
}

#[test]
fn a_hash_mismatch_makes_every_root_of_the_image_inconclusive() {
    let Some(f) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let first = damaged_e01(f, tmp.path());
    let (code, doc) = scan(&first, &["--verify-image"]);
    assert_eq!(
        code, 2,
        "nothing can be called vulnerable on a damaged image"
    );
    let img = &doc["images"][0];
    assert_eq!(img["verification"]["status"], "mismatch", "{img:#}");
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 3);
    for r in roots {
        assert_eq!(r["verdict"], "inconclusive");
        assert!(r["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "image_hash_mismatch"));
    }
}

/// The findings of a differencing disk, read over its parents, are those of qemu-img's
/// conversion of the chain to raw; each child's own sectors are read (the chain's findings are
/// not the base disk's), and no parent can be overwritten by `-o`.
#[test]
fn differencing_disks_are_read_over_their_parents_as_qemu_reads_the_chain() {
    let Some(f) = fixtures() else { return };
    let chain = f.out.join("chain");
    let (_, base) = scan(&f.raw, &[]);
    let hashes = |doc: &Value| -> Vec<String> {
        let mut h: Vec<String> = doc["roots"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["findings"].as_array().unwrap().iter())
            .map(|x| x["sha256"].as_str().unwrap_or("").to_owned())
            .collect();
        h.sort();
        h
    };
    for (rel, parents) in [
        (
            "top.qcow2",
            vec![("mid.vmdk", "vmdk"), ("base.vmdk", "vmdk")],
        ),
        ("mid.vmdk", vec![("base.vmdk", "vmdk")]),
        ("raw-child.qcow2", vec![("base.img", "raw")]),
    ] {
        let p = chain.join(rel);
        let reference = chain.join(format!("{rel}.ref.raw"));
        let (code, doc) = scan(&p, &[]);
        let (want_code, want) = scan(&reference, &[]);
        assert_eq!(code, want_code, "{rel}");
        let img = &doc["images"][0];
        assert!(img["error"].is_null(), "{rel}: {img}");
        assert_eq!(img["segments"], 1 + parents.len(), "{rel}");
        let got: Vec<(String, String)> = img["container_metadata"]["parents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["file"].as_str().unwrap().to_owned(),
                    x["container"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let parents: Vec<(String, String)> = parents
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(got, parents, "{rel}");
        assert_eq!(comparable(&doc, &p), comparable(&want, &reference), "{rel}");
        assert_ne!(
            hashes(&doc),
            hashes(&base),
            "{rel}: the child's own sectors were not read"
        );
    }
    // A parent is an input as much as the child: -o never replaces it.
    let parent = chain.join("base.vmdk");
    let before = std::fs::read(&parent).unwrap();
    let o = kbscan()
        .args(["scan", "-q", "-o"])
        .arg(&parent)
        .arg(chain.join("top.qcow2"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&parent).unwrap(), before);
}

fn qemu(dir: &Path, args: &[&str]) {
    let o = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A chain that cannot be read as the disk it was is refused by name, never read as the child
/// alone or over another disk: a missing parent, a parent outside the child's folder or behind
/// a link, a loop, a VMDK parent written after the snapshot (its content id changed).
#[test]
fn a_chain_that_cannot_be_read_as_it_was_is_refused_by_name() {
    let Some(f) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let copy = |from: &str, to: &str| {
        std::fs::copy(f.out.join(from), d.join(to)).unwrap();
    };
    let create = |child: &str, parent: &str, fmt: &str| {
        let cfmt = if child.ends_with(".vmdk") {
            "vmdk"
        } else {
            "qcow2"
        };
        qemu(
            d,
            &[
                "qemu-img", "create", "-q", "-f", cfmt, "-b", parent, "-F", fmt, child,
            ],
        );
    };
    // Missing: the parent removed after the child was made.
    copy("disk.qcow2", "gone.qcow2");
    create("orphan.qcow2", "gone.qcow2", "qcow2");
    std::fs::remove_file(d.join("gone.qcow2")).unwrap();
    copy("sparse.vmdk", "gone.vmdk");
    create("orphan.vmdk", "gone.vmdk", "vmdk");
    std::fs::remove_file(d.join("gone.vmdk")).unwrap();
    // Outside the child's folder.
    copy("disk.qcow2", "up.qcow2");
    std::fs::create_dir(d.join("sub")).unwrap();
    qemu(
        &d.join("sub"),
        &[
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "../up.qcow2",
            "-F",
            "qcow2",
            "out.qcow2",
        ],
    );
    // Behind a link.
    std::os::unix::fs::symlink(d.join("up.qcow2"), d.join("link.qcow2")).unwrap();
    create("linked.qcow2", "link.qcow2", "qcow2");
    // A loop: a over b over a.
    copy("disk.qcow2", "a.qcow2");
    create("b.qcow2", "a.qcow2", "qcow2");
    qemu(
        d,
        &[
            "qemu-img", "rebase", "-q", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2",
            "a.qcow2",
        ],
    );
    // A VMDK parent whose content id is no longer the one the child was made from.
    copy("sparse.vmdk", "moved.vmdk");
    create("snap.vmdk", "moved.vmdk", "vmdk");
    let mut b = std::fs::read(d.join("moved.vmdk")).unwrap();
    let at = b.windows(5).position(|w| w == b"\nCID=").unwrap() + 5;
    let old = String::from_utf8(b[at..at + 8].to_vec()).unwrap();
    let new = if old == "0000abcd" {
        "0000abce"
    } else {
        "0000abcd"
    };
    b[at..at + 8].copy_from_slice(new.as_bytes());
    std::fs::write(d.join("moved.vmdk"), b).unwrap();
    for (child, want) in [
        ("orphan.qcow2", "\"gone.qcow2\""),
        ("orphan.vmdk", "\"gone.vmdk\""),
        ("sub/out.qcow2", "outside its folder"),
        ("linked.qcow2", "symbolic link"),
        ("b.qcow2", "loops"),
        ("snap.vmdk", "content id 0000abc"),
    ] {
        let (code, doc) = scan(&d.join(child), &[]);
        assert_eq!(code, 2, "{child}");
        let msg = doc["images"][0]["error"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{child}: {msg}");
        assert_eq!(doc["roots"][0]["verdict"], "inconclusive", "{child}");
    }
}

/// A differencing VHD made by re-typing qemu-img's dynamic VHD (the way public samples were
/// made): without its parent it is refused naming it, and over a parent that is no VHD (so
/// not the disk whose unique id it records) too.
#[test]
fn a_differencing_vhd_without_its_parent_is_refused_naming_it() {
    let Some(f) = fixtures() else { return };
    // A differencing VHD (qemu-img cannot write one): the dynamic VHD re-typed as a child
    // with a parent name, footer and header checksums made right.
    let mut b = std::fs::read(f.out.join("vhd-dynamic.vhd")).unwrap();
    let n = b.len();
    let fix = |s: &mut [u8], at: usize| {
        s[at..at + 4].fill(0);
        let sum = !s.iter().fold(0u32, |a, &x| a.wrapping_add(u32::from(x)));
        s[at..at + 4].copy_from_slice(&sum.to_be_bytes());
    };
    for start in [0, n - 512] {
        b[start + 60..start + 64].copy_from_slice(&4u32.to_be_bytes());
        fix(&mut b[start..start + 512], 64);
    }
    let hdr = u64::from_be_bytes(b[16..24].try_into().unwrap()) as usize;
    let name: Vec<u8> = "base-w2k.vhd"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    b[hdr + 64..hdr + 64 + name.len()].copy_from_slice(&name);
    fix(&mut b[hdr..hdr + 1024], 36);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("child.vhd");
    std::fs::write(&p, b).unwrap();
    let (code, doc) = scan(&p, &[]);
    assert_eq!(code, 2);
    let msg = doc["images"][0]["error"].as_str().unwrap();
    assert!(
        msg.contains("parent") && msg.contains("base-w2k.vhd") && msg.contains("vhdimount"),
        "{msg}"
    );
    std::fs::copy(&f.raw, tmp.path().join("base-w2k.vhd")).unwrap();
    let (code, doc) = scan(&p, &[]);
    assert_eq!(code, 2);
    let msg = doc["images"][0]["error"].as_str().unwrap();
    assert!(
        msg.contains("differencing VHD") && msg.contains("is not a VHD"),
        "{msg}"
    );
}

#[test]
fn ex01_l01_and_luks_are_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, magic, says, advice) in [
        (
            "disk.Ex01",
            &b"EVF2\x0d\x0a\x81\x00"[..],
            "Ex01",
            "ewfexport -t disk -f raw",
        ),
        ("x.L01", b"LVF\x09\x0d\x0a\xff\x00", "L01", "ewfexport"),
        (
            "luks.img",
            b"LUKS\xba\xbe\x00\x02",
            "LUKS",
            "cryptsetup open --readonly",
        ),
    ] {
        let p = tmp.path().join(name);
        let mut data = magic.to_vec();
        data.resize(8192, 0);
        std::fs::write(&p, data).unwrap();
        let (code, doc) = scan(&p, &[]);
        assert_eq!(code, 2, "{name}");
        let msg = doc["images"][0]["error"].as_str().unwrap();
        assert!(msg.contains("format not supported"), "{msg}");
        assert!(msg.contains(says) && msg.contains(advice), "{msg}");
        assert_eq!(doc["roots"][0]["verdict"], "inconclusive");
    }
}

#[test]
fn damaged_containers_are_typed_errors_not_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, magic, kind) in [
        ("a.bin", &b"KDMV\x01\0\0\0"[..], "VMDK"),
        ("b.bin", b"EVF\x09\x0d\x0a\xff\x00", "E01"),
        ("c.bin", b"QFI\xfb\0\0\0\x03", "qcow2"),
        ("d.bin", b"conectix", "VHD"),
        ("e.bin", b"vhdxfile", "VHDX"),
    ] {
        let p = tmp.path().join(name);
        let mut data = magic.to_vec();
        data.resize(4096, 0);
        std::fs::write(&p, &data).unwrap();
        let (code, doc) = scan(&p, &[]);
        assert_eq!(code, 2, "{name}");
        let msg = doc["images"][0]["error"].as_str().unwrap();
        assert!(
            msg.contains(kind) && msg.contains("cannot be read"),
            "{msg}"
        );
        assert_eq!(doc["roots"][0]["verdict"], "inconclusive");
    }
}

/// A volume boot sector with `oem` at byte 3 and the 0x55AA signature; its bytes at 446…
/// look like four partition entries, as real exFAT/BitLocker boot code does.
fn foreign_volume(oem: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 1 << 20];
    b[0..3].copy_from_slice(&[0xEB, 0x76, 0x90]);
    b[3..11].copy_from_slice(oem);
    for i in 0..4 {
        let e = 446 + 16 * i;
        b[e + 4] = 0x07;
        b[e + 8..e + 12].copy_from_slice(&0x1000u32.to_le_bytes());
        b[e + 12..e + 16].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    }
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

#[test]
fn bitlocker_and_exfat_volumes_are_refused_by_name_not_read_as_an_mbr() {
    let tmp = tempfile::tempdir().unwrap();
    for (oem, says) in [(&b"-FVE-FS-"[..], "BitLocker"), (b"EXFAT   ", "exFAT")] {
        let p = tmp.path().join("vol.img");
        std::fs::write(&p, foreign_volume(oem)).unwrap();
        let (code, doc) = scan(&p, &[]);
        assert_eq!(code, 2);
        let img = &doc["images"][0];
        assert_eq!(img["partition_table"], "none", "{img:#}");
        let roots = doc["roots"].as_array().unwrap();
        assert_eq!(roots.len(), 1, "not four phantom partitions: {doc:#}");
        let msg = img["error"].as_str().unwrap();
        assert!(msg.contains(says), "{msg}");
        assert!(!msg.contains("truncated"), "{msg}");
        assert_eq!(roots[0]["verdict"], "inconclusive");
    }
}

/// Runs `kbscan scan -q --rule MS04-008 --format json ROOT` and fails the test if it has not
/// ended within 120 s (killing it): a hostile set must never hang kbscan (the bound is a hang
/// guard, loose for a loaded machine, not a speed claim).
fn scan_bounded(root: &Path) -> (i32, Value) {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbscan"))
        .args(["scan", "-q", "--rule", "MS04-008", "--format", "json"])
        .arg(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("run kbscan");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kbscan scan {} hung (killed after 120 s)", root.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read(&out).unwrap();
    let doc = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        )
    });
    (status.code().expect("exit code"), doc)
}

/// A VMDK descriptor in its own folder `dir`: qemu-img's monolithicFlat descriptor of the
/// test disk with its extent line rewritten to name `extent` (quoted or not).
fn flat_descriptor(f: &Fixtures, dir: &Path, extent: &str, quoted: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(f.out.join("flat.vmdk")).unwrap();
    assert!(text.contains("FLAT \"flat-flat.vmdk\" 0"), "{text}");
    let name = if quoted {
        format!("\"{extent}\"")
    } else {
        extent.to_owned()
    };
    let p = dir.join("d.vmdk");
    std::fs::write(
        &p,
        text.replace("FLAT \"flat-flat.vmdk\" 0", &format!("FLAT {name} 0")),
    )
    .unwrap();
    p
}

#[test]
fn a_vmdk_extent_named_without_quotes_is_read_as_the_quoted_one() {
    let Some(f) = fixtures() else { return };
    let (want_code, want) = scan(&f.raw, &[]);
    let want = comparable(&want, &f.raw);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bare");
    let d = flat_descriptor(f, &dir, "b-flat.vmdk", false);
    std::fs::hard_link(f.out.join("flat-flat.vmdk"), dir.join("b-flat.vmdk")).unwrap();
    let (code, doc) = scan(&d, &[]);
    assert_eq!(code, want_code, "{doc}");
    assert_eq!(doc["images"][0]["segments"], 2);
    assert_eq!(comparable(&doc, &d), want);
    // Read two ways (a key given twice) is not read at all.
    let twice = tmp.path().join("twice");
    let d2 = flat_descriptor(f, &twice, "b-flat.vmdk", false);
    let text = std::fs::read_to_string(&d2).unwrap().replacen(
        "# Extent description",
        "createType=\"twoGbMaxExtentFlat\"\n# Extent description",
        1,
    );
    std::fs::write(&d2, text).unwrap();
    std::fs::hard_link(f.out.join("flat-flat.vmdk"), twice.join("b-flat.vmdk")).unwrap();
    let (code, doc) = scan(&d2, &[]);
    assert_eq!(code, 2);
    let msg = doc["images"][0]["error"].as_str().unwrap();
    assert!(
        msg.contains("cannot be read unambiguously") && msg.contains("createType"),
        "{msg}"
    );
}

/// kbscan opens every extent itself, below the descriptor's folder, never through a link,
/// never a FIFO or a device: each of these sets (made from qemu-img's monolithicFlat set,
/// the descriptor rewritten) is refused naming the extent, quoted or not, and none hangs.
#[test]
fn vmdk_extents_are_opened_only_below_their_folder_never_through_links_fifos_or_devices() {
    let Some(f) = fixtures() else { return };
    if !have("mkfifo") {
        return;
    }
    let (want_code, want) = scan(&f.raw, &[]);
    let want = comparable(&want, &f.raw);
    let tmp = tempfile::tempdir().unwrap();
    let real = f.out.join("flat-flat.vmdk");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::hard_link(&real, elsewhere.join("x-flat.vmdk")).unwrap();
    for quoted in [false, true] {
        let q = if quoted { "quoted" } else { "bare" };
        // A real subfolder is below the descriptor's folder: read.
        let dir = tmp.path().join(format!("{q}-sub"));
        let d = flat_descriptor(f, &dir, "sub/x-flat.vmdk", quoted);
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::hard_link(&real, dir.join("sub/x-flat.vmdk")).unwrap();
        let (code, doc) = scan_bounded(&d);
        assert_eq!(code, want_code, "{q} subfolder: {doc}");
        assert_eq!(comparable(&doc, &d), want, "{q} subfolder");
        let refused: [(&str, &str, &str); 4] = [
            ("sub-link", "sub/x-flat.vmdk", "is a symbolic link"),
            ("file-link", "x-flat.vmdk", "is a symbolic link"),
            ("dev-link", "x-flat.vmdk", "is a symbolic link"),
            ("fifo", "x-flat.vmdk", "FIFO"),
        ];
        for (case, extent, says) in refused {
            let dir = tmp.path().join(format!("{q}-{case}"));
            let d = flat_descriptor(f, &dir, extent, quoted);
            match case {
                "sub-link" => std::os::unix::fs::symlink(&elsewhere, dir.join("sub")).unwrap(),
                "file-link" => {
                    std::os::unix::fs::symlink(elsewhere.join("x-flat.vmdk"), dir.join(extent))
                        .unwrap()
                }
                "dev-link" => std::os::unix::fs::symlink("/dev/zero", dir.join(extent)).unwrap(),
                _ => {
                    let st = Command::new("mkfifo")
                        .arg(dir.join(extent))
                        .status()
                        .unwrap();
                    assert!(st.success());
                }
            }
            let (code, doc) = scan_bounded(&d);
            assert_eq!(code, 2, "{q} {case}: {doc}");
            let msg = doc["images"][0]["error"].as_str().unwrap();
            assert!(
                msg.contains(&format!("extent \"{extent}\"")) && msg.contains(says),
                "{q} {case}: {msg}"
            );
            assert_eq!(doc["roots"][0]["verdict"], "inconclusive", "{q} {case}");
        }
    }
}

/// A VHD whose footer checksum is wrong (qemu-img refuses it) is read with a notice, with or
/// without --verify-image.
#[test]
fn a_vhd_with_a_wrong_footer_checksum_is_always_noticed() {
    let Some(f) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(f.out.join("vhd-fixed.img")).unwrap();
    let n = b.len();
    b[n - 512 + 64] ^= 0x01;
    let p = tmp.path().join("bad-footer.vhd");
    std::fs::write(&p, b).unwrap();
    let good = f.out.join("vhd-fixed.img");
    let (_, doc) = scan(&good, &[]);
    assert_eq!(doc["images"][0]["notices"], serde_json::json!([]));
    for extra in [&[][..], &["--verify-image"][..]] {
        let (_, doc) = scan(&p, extra);
        let notices = doc["images"][0]["notices"].as_array().unwrap();
        assert!(
            notices
                .iter()
                .any(|n| n.as_str().unwrap().contains("footer's checksum is wrong")),
            "{extra:?}: {notices:?}"
        );
    }
}

/// `NAME.001` given alone while `NAME.000` is beside it: the set may begin one segment
/// earlier, said in a notice naming it; a set that starts at `.001` has no such notice.
#[test]
fn a_split_set_given_by_its_second_segment_is_noticed() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = unpack(tmp.path(), "mbr");
    let bytes = std::fs::read(&raw).unwrap();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let set = tmp.path().join("set");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(set.join("disk.000"), a).unwrap();
    std::fs::write(set.join("disk.001"), b).unwrap();
    let (_, doc) = scan(&set.join("disk.001"), &[]);
    let notices = doc["images"][0]["notices"].as_array().unwrap();
    assert!(
        notices.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.contains("disk.000") && n.contains("not the whole disk")
        }),
        "{notices:?}"
    );
    // The whole set from its first segment: read as the raw disk, without that notice.
    let (_, whole) = scan(&set.join("disk.000"), &[]);
    assert_eq!(whole["images"][0]["segments"], 2);
    let (_, want) = scan(&raw, &[]);
    assert_eq!(
        comparable(&whole, &set.join("disk.000")),
        comparable(&want, &raw)
    );
    let lone = tmp.path().join("lone");
    std::fs::create_dir(&lone).unwrap();
    std::fs::write(lone.join("disk.001"), b).unwrap();
    let (_, doc) = scan(&lone.join("disk.001"), &[]);
    assert!(
        !doc["images"][0]["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("not the whole disk")),
        "{doc}"
    );
}

/// A loop device attached read-only (`losetup -r`), detached when dropped, whatever happens.
struct Loop(PathBuf);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

/// A block device is read like a raw image (its size from the kernel, opened read-only):
/// a `losetup -r` loop device over the test disk gives the image file's findings and
/// verdicts; `-o` onto it is refused before anything is opened for writing; a character
/// device and a FIFO stay refused, without hanging. Needs root (CI runs as root).
#[test]
fn a_read_only_loop_device_is_read_like_its_image_file() {
    if !have("losetup") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !require(
        "root, to attach a loop device",
        root,
        "run as root, as CI does",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let raw = unpack(tmp.path(), "mbr");
    let out = Command::new("losetup")
        .args(["-r", "-f", "--show"])
        .arg(&raw)
        .output()
        .unwrap();
    let attached = out.status.success();
    if !require(
        "a free loop device (losetup -r -f)",
        attached,
        "run as root with /dev/loop-control, as CI does",
    ) {
        return;
    }
    let dev = Loop(PathBuf::from(
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    ));
    let (want_code, want) = scan(&raw, &[]);
    let (code, doc) = scan(&dev.0, &[]);
    assert_eq!(code, want_code, "{doc}");
    let img = &doc["images"][0];
    assert_eq!(img["container"], "raw");
    assert_eq!(img["size"], std::fs::metadata(&raw).unwrap().len());
    assert_eq!(comparable(&doc, &dev.0), comparable(&want, &raw));
    // Never written onto.
    let before = md5_hex(&std::fs::read(&raw).unwrap());
    let o = run(&[
        "scan",
        "-q",
        "-o",
        dev.0.to_str().unwrap(),
        raw.to_str().unwrap(),
    ]);
    assert_eq!(code_of(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refusing to write the report") && err.contains("block device"),
        "{err}"
    );
    assert_eq!(md5_hex(&std::fs::read(&raw).unwrap()), before);
    drop(dev);
    // A character device and a FIFO are not images (no size, maybe no end).
    let fifo = tmp.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for p in [Path::new("/dev/zero"), fifo.as_path()] {
        let (code, doc) = scan_bounded(p);
        assert_eq!(code, 2, "{}: {doc}", p.display());
        assert_eq!(doc["images"], serde_json::json!([]), "{}", p.display());
        assert_eq!(doc["roots"][0]["verdict"], "inconclusive");
    }
}

fn code_of(o: &std::process::Output) -> i32 {
    o.status.code().expect("exit code")
}

/// An E01 set with a segment missing (the last, the last two, or one in the middle) is read as
/// far as its segments go, with a notice naming the missing segment; a volume that reaches
/// the missing bytes is never judged clean, and `--verify-image` says the set is incomplete
/// (its hash is stored in the missing last segment, so "no stored hash" would be untrue).
#[test]
fn an_e01_set_with_a_missing_segment_is_noticed_and_never_clean() {
    let Some(f) = fixtures() else { return };
    for (present, missing) in [
        (&["E01", "E02"][..], "segment 3 (disk.E03) is missing"),
        (&["E01"][..], "segment 2 (disk.E02) is missing"),
        (&["E01", "E03"][..], "segment 2 (disk.E02) is missing"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        for s in present {
            std::fs::copy(
                f.out.join(format!("e01/disk.{s}")),
                tmp.path().join(format!("disk.{s}")),
            )
            .unwrap();
        }
        let first = tmp.path().join("disk.E01");
        let (code, doc) = scan(&first, &[]);
        let img = &doc["images"][0];
        let notices = img["notices"].to_string();
        assert!(notices.contains(missing), "{present:?}: {img:#}");
        let roots = doc["roots"].as_array().unwrap();
        let shown = first.display().to_string();
        let p1 = roots
            .iter()
            .find(|r| r["root"] == format!("{shown}#p1"))
            .unwrap();
        // p1 (1–17 MiB) lies wholly in the first segment: still read and judged.
        assert_eq!(p1["verdict"], "vulnerable", "{present:?}");
        assert_eq!(code, 1, "{present:?}");
        // p5 (19–53 MiB) reaches the missing bytes: never clean.
        let p5 = roots
            .iter()
            .find(|r| r["root"] == format!("{shown}#p5"))
            .unwrap();
        assert_eq!(p5["verdict"], "inconclusive", "{present:?}: {p5:#}");
        assert!(p5.to_string().contains(missing), "{p5:#}");
        let (_, doc) = scan(&first, &["--verify-image"]);
        let v = &doc["images"][0]["verification"];
        assert_eq!(v["status"], "incomplete", "{present:?}: {v:#}");
        assert!(v["detail"].as_str().unwrap().contains(missing), "{v:#}");
        for r in doc["roots"].as_array().unwrap() {
            assert_eq!(r["verdict"], "inconclusive", "{present:?}: {r:#}");
        }
        // libewf agrees the set cannot be verified.
        if have("ewfverify") {
            let st = Command::new("ewfverify")
                .args(["-q"])
                .arg(&first)
                .output()
                .unwrap();
            assert!(!st.status.success(), "ewfverify accepted {present:?}");
        }
    }
}

/// E01s whose media ends inside the last chunk, made by ewfacquire from sources of 4,097
/// bytes (the form of dissect.evidence's test E01: every source byte is stored in the last
/// chunk, with its Adler-32 over them all, but the media is 8 sectors) and 5,632 bytes (11
/// sectors), stored uncompressed and compressed: kbscan reads exactly the bytes libewf's
/// `ewfexport` writes, and `--verify-image` agrees with `ewfverify`.
#[test]
fn an_e01_whose_last_chunk_is_partial_reads_what_libewf_reads() {
    if !have_all(&["ewfacquire", "ewfexport", "ewfverify"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let odd: Vec<u8> = [0xde, 0xad, 0xbe, 0xef]
        .repeat(1024)
        .into_iter()
        .chain([b'\n'])
        .collect();
    let sectors: Vec<u8> = (0..5632u32).map(|i| (i * 7 % 251) as u8).collect();
    for (name, source, compression) in [
        ("odd-none", &odd, "none"),
        ("odd-best", &odd, "best"),
        ("sectors-none", &sectors, "none"),
        ("sectors-best", &sectors, "best"),
    ] {
        let src = tmp.path().join(format!("{name}.bin"));
        std::fs::write(&src, source).unwrap();
        let target = tmp.path().join(name);
        let st = Command::new("ewfacquire")
            .args(["-u", "-q", "-f", "encase6", "-b", "64", "-d", "sha1", "-c"])
            .arg(compression)
            .arg("-t")
            .arg(&target)
            .arg(&src)
            .output()
            .unwrap();
        assert!(st.status.success(), "ewfacquire {name}: {st:?}");
        let e01 = target.with_extension("E01");
        let exported = tmp.path().join(format!("{name}-export"));
        let st = Command::new("ewfexport")
            .args(["-q", "-u", "-f", "raw", "-t"])
            .arg(&exported)
            .arg(&e01)
            .output()
            .unwrap();
        assert!(st.status.success(), "ewfexport {name}: {st:?}");
        let media = std::fs::read(exported.with_extension("raw")).unwrap();
        let mut opened = container::open(&e01).unwrap().expect("an E01");
        assert_eq!(opened.src.len(), media.len() as u64, "{name}");
        let mut got = vec![0u8; media.len()];
        let mut done = 0;
        while done < got.len() {
            let n = opened
                .src
                .read_at(done as u64, &mut got[done..])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(n > 0, "{name}");
            done += n;
        }
        assert!(got == media, "{name}: kbscan reads what ewfexport writes");
        let libewf_verified = Command::new("ewfverify")
            .args(["-q"])
            .arg(&e01)
            .output()
            .unwrap()
            .status
            .success();
        // ewfacquire hashed the 4,097-byte source but records 4,096 bytes of media.
        assert_eq!(libewf_verified, source.len() % 512 == 0, "{name}");
        let (_, doc) = scan(&e01, &["--verify-image"]);
        let v = &doc["images"][0]["verification"];
        let want = if libewf_verified {
            "verified"
        } else {
            "mismatch"
        };
        assert_eq!(v["status"], want, "{name}: {v:#}");
        // The stored hash decides, never a read error.
        assert!(
            v["detail"].as_str().unwrap().contains("MD5 stored"),
            "{name}: {v:#}"
        );
    }
}

/// A VHD written by the test from the published format (Microsoft, "Virtual Hard Disk Image
/// Format Specification" 1.0: footer, dynamic disk header, block allocation table, blocks of
/// a sector bitmap and 2 MiB of data; big-endian fields, one's-complement checksums), since
/// no tool here writes a differencing VHD (qemu-img cannot). libvhdi reads every one back.
mod vhd_writer {
    pub const BLOCK: usize = 2 * 1024 * 1024;
    const SECTORS: usize = BLOCK / 512;

    fn checksum(b: &[u8]) -> [u8; 4] {
        let sum = b.iter().fold(0u32, |s, &x| s.wrapping_add(u32::from(x)));
        (!sum).to_be_bytes()
    }

    fn footer(size: u64, kind: u32, uuid: [u8; 16]) -> Vec<u8> {
        let mut f = vec![0u8; 512];
        f[0..8].copy_from_slice(b"conectix");
        f[8..12].copy_from_slice(&2u32.to_be_bytes());
        f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        f[16..24].copy_from_slice(&512u64.to_be_bytes());
        f[28..32].copy_from_slice(b"kbsc");
        f[36..40].copy_from_slice(b"Wi2k");
        f[40..48].copy_from_slice(&size.to_be_bytes());
        f[48..56].copy_from_slice(&size.to_be_bytes());
        // Geometry: the largest CHS the specification allows, enough for any test disk.
        f[56..60].copy_from_slice(&[0xff, 0xff, 16, 255]);
        f[60..64].copy_from_slice(&kind.to_be_bytes());
        f[68..84].copy_from_slice(&uuid);
        let c = checksum(&f);
        f[64..68].copy_from_slice(&c);
        f
    }

    /// The parent of a differencing disk: its unique id, name and relative locator.
    pub struct Parent<'a> {
        pub uuid: [u8; 16],
        pub name: &'a str,
        pub w2ru: Option<&'a str>,
    }

    /// A dynamic disk of `disk` (blocks of zeros left unallocated), or, with `parent`, a
    /// differencing disk holding the sectors `held` says (a block with none is unallocated).
    pub fn write(
        disk: &[u8],
        uuid: [u8; 16],
        parent: Option<Parent<'_>>,
        held: impl Fn(usize) -> bool,
    ) -> Vec<u8> {
        let blocks = disk.len().div_ceil(BLOCK);
        let kind = if parent.is_some() { 4 } else { 3 };
        let foot = footer(disk.len() as u64, kind, uuid);
        let bat_at = 1536usize;
        let bat_len = (blocks * 4).div_ceil(512) * 512;
        let mut out = foot.clone();
        out.resize(bat_at + bat_len, 0);
        let mut hdr = vec![0u8; 1024];
        hdr[0..8].copy_from_slice(b"cxsparse");
        hdr[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        hdr[16..24].copy_from_slice(&(bat_at as u64).to_be_bytes());
        hdr[24..28].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        hdr[28..32].copy_from_slice(&(blocks as u32).to_be_bytes());
        hdr[32..36].copy_from_slice(&(BLOCK as u32).to_be_bytes());
        if let Some(p) = &parent {
            hdr[40..56].copy_from_slice(&p.uuid);
            for (i, u) in p.name.encode_utf16().enumerate() {
                hdr[64 + 2 * i..66 + 2 * i].copy_from_slice(&u.to_be_bytes());
            }
            if let Some(rel) = p.w2ru {
                // The locator's data in a sector of its own after the table.
                let data: Vec<u8> = rel.encode_utf16().flat_map(u16::to_le_bytes).collect();
                let at = out.len();
                out.extend_from_slice(&data);
                out.resize(at + 512, 0);
                let e = &mut hdr[576..600];
                e[0..4].copy_from_slice(b"W2ru");
                e[4..8].copy_from_slice(&512u32.to_be_bytes());
                e[8..12].copy_from_slice(&(data.len() as u32).to_be_bytes());
                e[16..24].copy_from_slice(&(at as u64).to_be_bytes());
            }
        }
        for b in 0..blocks {
            let data = &disk[b * BLOCK..((b + 1) * BLOCK).min(disk.len())];
            let mut bitmap = [0u8; SECTORS / 8];
            let mut any = false;
            for s in 0..data.len().div_ceil(512) {
                let mine = if parent.is_some() {
                    held(b * SECTORS + s)
                } else {
                    data[s * 512..(s * 512 + 512).min(data.len())]
                        .iter()
                        .any(|&x| x != 0)
                };
                if mine {
                    bitmap[s / 8] |= 0x80 >> (s % 8);
                    any = true;
                }
            }
            let entry = if any {
                let sector = (out.len() / 512) as u32;
                out.extend_from_slice(&bitmap);
                let at = out.len();
                out.extend_from_slice(data);
                out.resize(at + BLOCK, 0);
                if parent.is_none() {
                    // A dynamic disk's bitmap is all ones where data was written.
                    let bm = at - bitmap.len();
                    out[bm..at].fill(0xff);
                }
                sector
            } else {
                u32::MAX
            };
            out[bat_at + 4 * b..bat_at + 4 * b + 4].copy_from_slice(&entry.to_be_bytes());
        }
        let c = checksum(&hdr);
        hdr[36..40].copy_from_slice(&c);
        out[512..1536].copy_from_slice(&hdr);
        out.extend_from_slice(&foot);
        out
    }
}

/// libvhdi (Debian python3-libvhdi) reads `child` over `parent`: the SHA-256 it computes must
/// be that of `want` (an independent reading of the test's VHD writer).
fn libvhdi_reads(child: &Path, parent: &Path, want: &Path) -> bool {
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let present = Command::new(python)
        .args(["-c", "import pyvhdi"])
        .status()
        .is_ok_and(|s| s.success());
    if !require("pyvhdi", present, "Debian: python3-libvhdi") {
        return true;
    }
    let script = "import hashlib, sys, pyvhdi\n\
        c = pyvhdi.file(); c.open(sys.argv[1])\n\
        p = pyvhdi.file(); p.open(sys.argv[2]); c.set_parent(p)\n\
        got = hashlib.sha256(c.read_buffer(c.get_media_size())).hexdigest()\n\
        want = hashlib.sha256(open(sys.argv[3], 'rb').read()).hexdigest()\n\
        print(got, want)\n\
        sys.exit(0 if got == want else 1)\n";
    let o = Command::new(python)
        .args(["-c", script])
        .arg(child)
        .arg(parent)
        .arg(want)
        .output()
        .unwrap();
    eprintln!("libvhdi: {}", String::from_utf8_lossy(&o.stdout).trim());
    o.status.success()
}

/// A differencing VHD over its dynamic parent is read as the disk libvhdi reads (the child's
/// sectors where its bitmap says, the parent's elsewhere, a block the child does not hold
/// wholly the parent's), and scanned as that disk; a wrong, missing, outside or linked parent
/// is refused by name, and `-o` never replaces the parent.
#[test]
fn a_differencing_vhd_is_read_over_its_parent_as_libvhdi_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a_path = unpack(d, "mbr");
    let a = std::fs::read(&a_path).unwrap();
    // The disk the chain is: one sample Nscm.exe changed in its DOS stub (its hash changes).
    let mut b = a.clone();
    let at = std::fs::read_dir(samples().join("systems"))
        .unwrap()
        .filter_map(|e| {
            let p = e
                .unwrap()
                .path()
                .join("WINNT/system32/Windows Media/Server/Nscm.exe");
            let head = std::fs::read(p).ok()?;
            a.windows(4096)
                .position(|w| w == &head[..4096.min(head.len())])
        })
        .next()
        .expect("a sample Nscm.exe in the test disk");
    b[at + 0x40] ^= 0xff;
    let b_path = d.join("b.raw");
    std::fs::write(&b_path, &b).unwrap();
    let differs = |s: usize| a[s * 512..s * 512 + 512] != b[s * 512..s * 512 + 512];
    let (pid, cid) = ([0x11u8; 16], [0x22u8; 16]);
    std::fs::write(
        d.join("base.vhd"),
        vhd_writer::write(&a, pid, None, |_| false),
    )
    .unwrap();
    // The child holds the changed sector, every sector of the disk's third block (unchanged
    // data: still the child's), and sector 9 of the first (unchanged too).
    let third = 2 * vhd_writer::BLOCK / 512..3 * vhd_writer::BLOCK / 512;
    let held = |s: usize| differs(s) || third.contains(&s) || s == 9;
    let child = |name: &str, uuid: [u8; 16], w2ru: Option<&str>| {
        let parent = vhd_writer::Parent {
            uuid,
            name: "base.vhd",
            w2ru,
        };
        std::fs::write(d.join(name), vhd_writer::write(&b, cid, Some(parent), held)).unwrap();
        d.join(name)
    };
    let by_name = child("child.vhd", pid, None);
    let by_locator = child("located.vhd", pid, Some(".\\base.vhd"));
    assert!(libvhdi_reads(&by_name, &d.join("base.vhd"), &b_path));
    for c in [&by_name, &by_locator] {
        let got = read_media(c, 0, 1 << 20).unwrap();
        assert!(got == b, "{}", c.display());
        let got = read_media(c, 1000, 4096 + 17).unwrap();
        assert!(got == b[1000..], "{}", c.display());
    }
    let (_, want) = scan(&b_path, &[]);
    let (_, base) = scan(&a_path, &[]);
    let (_, doc) = scan(&by_locator, &[]);
    assert_eq!(comparable(&doc, &by_locator), comparable(&want, &b_path));
    assert_ne!(comparable(&doc, &by_locator), comparable(&base, &a_path));
    let img = &doc["images"][0];
    assert_eq!(img["container_metadata"]["subformat"], "differencing");
    assert_eq!(img["container_metadata"]["parents"][0]["file"], "base.vhd");
    assert_eq!(img["segments"], 2);
    // Refused by name.
    let wrong = child("wrong.vhd", [0x33; 16], None);
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(
        d.join("sub/up.vhd"),
        vhd_writer::write(
            &b,
            cid,
            Some(vhd_writer::Parent {
                uuid: pid,
                name: "x",
                w2ru: Some("..\\base.vhd"),
            }),
            held,
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(d.join("base.vhd"), d.join("alias.vhd")).unwrap();
    std::fs::write(
        d.join("linked.vhd"),
        vhd_writer::write(
            &b,
            cid,
            Some(vhd_writer::Parent {
                uuid: pid,
                name: "alias.vhd",
                w2ru: None,
            }),
            held,
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("orphan.vhd"),
        vhd_writer::write(
            &b,
            cid,
            Some(vhd_writer::Parent {
                uuid: pid,
                name: "gone.vhd",
                w2ru: None,
            }),
            held,
        ),
    )
    .unwrap();
    for (c, want) in [
        (wrong, "unique id 1111"),
        (d.join("sub/up.vhd"), "outside its folder"),
        (d.join("linked.vhd"), "symbolic link"),
        (d.join("orphan.vhd"), "\"gone.vhd\""),
    ] {
        let (code, doc) = scan(&c, &[]);
        assert_eq!(code, 2, "{}", c.display());
        let msg = doc["images"][0]["error"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{}: {msg}", c.display());
        assert!(!msg.contains("qemu-img"), "{msg}");
        assert_eq!(doc["roots"][0]["verdict"], "inconclusive");
    }
    // -o onto the parent is refused, the parent untouched.
    let before = std::fs::read(d.join("base.vhd")).unwrap();
    let o = kbscan()
        .args(["scan", "-q", "-o"])
        .arg(d.join("base.vhd"))
        .arg(&by_name)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("base.vhd")).unwrap(), before);
}

/// dfVFS's public differencing VHD over its parent (tests/images/dfvfs/README.md): read as
/// libvhdi reads it, its parent listed, and the wrong checksums of child and parent noticed.
#[test]
fn a_public_differencing_vhd_reads_as_libvhdi_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for name in ["image.vhd", "image-differential.vhd"] {
        let gz = repo().join(format!("tests/images/dfvfs/{name}.gz"));
        let mut data = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap())
            .read_to_end(&mut data)
            .unwrap();
        std::fs::write(d.join(name), data).unwrap();
    }
    let child = d.join("image-differential.vhd");
    let got = read_media(&child, 0, 4096 + 17).unwrap();
    assert_eq!(got.len(), 104_448);
    assert_eq!(md5_hex(&got), "221a58695f266d7ce045f2e54926e6e2");
    std::fs::write(d.join("read.raw"), &got).unwrap();
    assert!(libvhdi_reads(
        &child,
        &d.join("image.vhd"),
        &d.join("read.raw")
    ));
    let opened = container::open(&child).unwrap().unwrap();
    assert_eq!(opened.meta.subformat.as_deref(), Some("differencing"));
    assert_eq!(opened.meta.parents.len(), 1);
    assert_eq!(opened.meta.parents[0].file, "image.vhd");
    let notices = opened.notices.join("\n");
    assert!(notices.contains("footer's checksum is wrong"), "{notices}");
    assert!(
        notices.contains("parent \"image.vhd\": the VHD footer's checksum is wrong"),
        "{notices}"
    );
}
