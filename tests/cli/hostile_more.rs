//! More hostile trees, generated in temporary folders: sockets, damaged PEs placed as live
//! copies, resource directories that loop or point outside the file, version blocks with
//! lying lengths, extreme names, depth and width. Every scan must finish, give the damaged
//! file a precise status and `error_kind`, leave the other files' findings untouched, and
//! exit by the documented rules (0 clean, 1 vulnerable, 2 incomplete).
#![cfg(unix)]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pe_layout::{self, put_u16, put_u32, resource_tables, u32_at};
use common::*;
use serde_json::Value;

const SERVER: &str = "WINNT/system32/Windows Media/Server";
/// PE32, FILEVERSION 4.1.0.3936: patched, so any copy that still reads says `patched`.
const LATER_NSCM: &str = "w2k-later-update/WINNT/system32/Windows Media/Server/Nscm.exe";
/// PE32, 4.1.0.3917: vulnerable.
const VULN_NSPMON: &str = "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe";

fn read_sample(rel: &str) -> Vec<u8> {
    fs::read(sample_file(rel)).expect("sample")
}

fn scan(root: &Path) -> (i32, Value) {
    let start = Instant::now();
    let (code, doc) = scan_json(&[root], &["--rule", "MS04-008"]);
    assert!(start.elapsed() < Duration::from_secs(60), "scan too slow");
    (code, doc["roots"][0].clone())
}

/// The status and error kind of the finding at `path`.
fn status(root: &Value, path: &str) -> (String, Option<String>) {
    let f = finding(root, path);
    assert_eq!(f["path"], path);
    (
        f["status"].as_str().expect("status").to_owned(),
        f["error_kind"].as_str().map(str::to_owned),
    )
}

/// A root with a healthy vulnerable Nspmon.exe in the install folder: the control that must
/// stay `vulnerable` whatever the damaged neighbours are.
fn root_with_control() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fs::create_dir_all(root.join(SERVER)).unwrap();
    fs::copy(
        sample_file(VULN_NSPMON),
        root.join(SERVER).join("Nspmon.exe"),
    )
    .unwrap();
    (dir, root)
}

fn check_control(r: &Value) {
    let f = finding(r, &format!("{SERVER}/Nspmon.exe"));
    assert_eq!(f["status"], "vulnerable", "{f:#}");
    assert_eq!(f["version"], "4.1.0.3917");
    assert_eq!(r["verdict"], "vulnerable");
}

#[test]
fn a_socket_named_like_a_target_is_skipped() {
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join(SERVER);
    fs::create_dir_all(&server).unwrap();
    let _listener = UnixListener::bind(server.join("nscm.exe")).expect("bind a socket");
    fs::copy(
        sample_file("w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nspmon.exe"),
        server.join("Nspmon.exe"),
    )
    .unwrap();
    let (code, r) = scan(dir.path());
    let f = finding(&r, &format!("{SERVER}/nscm.exe"));
    assert_eq!(f["status"], "skipped");
    assert!(f["notes"].to_string().contains("socket"), "{f:#}");
    assert!(f["sha256"].is_null());
    assert_eq!(status(&r, &format!("{SERVER}/Nspmon.exe")).0, "patched");
    assert_eq!(r["verdict"], "patched");
    assert_eq!(code, 0, "a skipped entry is not an error");
}

#[test]
fn truncated_live_copies_each_get_a_precise_error() {
    let pe = read_sample(LATER_NSCM);
    let l = pe_layout::layout(&pe);
    let (rsrc, _) = l.resources.expect("resources");
    let tables = resource_tables(&pe, rsrc);
    let tables_end = tables
        .iter()
        .map(|(d, e)| e.last().map_or(d + 16, |x| x + 8))
        .max()
        .unwrap();
    let &(vb, vlen) = l.version_blocks.first().expect("version block");
    let sections_end = l.section_table + 40 * l.sections;
    // (cut, expected status, expected error_kind)
    let mut cases: Vec<(usize, &str, Option<&str>)> = vec![
        (0, "error", Some("too_short")),
        (1, "error", Some("too_short")),
        (2, "error", Some("too_short")),
        (0x3c, "error", Some("too_short")),
        (0x40, "error", Some("too_short")),
        (87, "error", Some("too_short")),
    ];
    for cut in [
        l.e_lfanew,
        l.e_lfanew + 4,
        l.file_header + 20,
        l.optional_header + l.optional_size / 2,
        l.section_table,
        l.section_table + 40,
        sections_end - 1,
        rsrc,
        rsrc + 8,
        rsrc + 16,
        tables_end - 4,
    ] {
        cases.push((cut, "error", Some("malformed_pe")));
    }
    // pelite refuses a section whose raw data the file does not hold whole, so every cut
    // before the end of .rsrc (the version block included) is a malformed PE: the resource
    // section is missing bytes. After it, the version reads.
    let raw = |s: usize| {
        let sh = l.section_table + 40 * s;
        (u32_at(&pe, sh + 20), u32_at(&pe, sh + 16))
    };
    let (rsrc_raw, rsrc_raw_size) = (0..l.sections)
        .map(raw)
        .find(|&(start, size)| (start..start + size).contains(&rsrc))
        .expect(".rsrc section");
    assert!(
        rsrc_raw + rsrc_raw_size < pe.len(),
        ".rsrc is not the last section"
    );
    for cut in [
        raw(0).0 + 100,
        vb,
        vb + 6,
        vb + 40,
        vb + 92,
        vb + vlen / 2,
        vb + vlen - 1,
        vb + vlen,
    ] {
        cases.push((cut, "error", Some("malformed_pe")));
    }
    cases.push((rsrc_raw + rsrc_raw_size - 1, "error", Some("malformed_pe")));
    cases.push((rsrc_raw + rsrc_raw_size, "patched", None));
    cases.push((pe.len() - 1, "patched", None));

    let (_dir, root) = root_with_control();
    for (cut, _, _) in &cases {
        let d = root.join(format!("cut/{cut:05}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("Nscm.exe"), &pe[..*cut]).unwrap();
    }
    let (code, r) = scan(&root);
    let mut wrong = Vec::new();
    for (cut, want_status, want_kind) in &cases {
        let path = format!("cut/{cut:05}/Nscm.exe");
        let got = status(&r, &path);
        if got.0 != *want_status || got.1.as_deref() != *want_kind {
            wrong.push(format!(
                "{path}: got {got:?}, want ({want_status}, {want_kind:?})"
            ));
        }
        let f = finding(&r, &path);
        assert_eq!(f["size"], *cut as u64);
        assert!(
            f["sha256"].is_string(),
            "every truncated file is read and hashed"
        );
        if got.0 == "patched" {
            assert_eq!(f["version"], "4.1.0.3936");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    check_control(&r);
    assert_eq!(code, 1, "vulnerable wins over the unjudged copies");
}

/// Writes `pe` changed by `edit` as a live copy named `name` below `root`.
fn place(root: &Path, name: &str, pe: &[u8], edit: impl FnOnce(&mut Vec<u8>)) {
    let mut m = pe.to_vec();
    edit(&mut m);
    let d = root.join(name);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("Nscm.exe"), m).unwrap();
}

#[test]
fn hostile_resource_directories_and_version_blocks() {
    let pe = read_sample(LATER_NSCM);
    let l = pe_layout::layout(&pe);
    let (rsrc, _) = l.resources.expect("resources");
    let tables = resource_tables(&pe, rsrc);
    let root_entries = &tables.iter().find(|(d, _)| *d == rsrc).unwrap().1;
    let subdir_entries: Vec<usize> = tables
        .iter()
        .flat_map(|(_, e)| e.iter().copied())
        .filter(|&e| u32_at(&pe, e + 4) & 0x8000_0000 != 0)
        .collect();
    let data_entries: Vec<usize> = tables
        .iter()
        .flat_map(|(_, e)| e.iter().copied())
        .filter(|&e| u32_at(&pe, e + 4) & 0x8000_0000 == 0)
        .map(|e| rsrc + u32_at(&pe, e + 4))
        .collect();
    assert!(!subdir_entries.is_empty() && !data_entries.is_empty());
    let &(vb, _) = l.version_blocks.first().unwrap();

    let (_dir, root) = root_with_control();
    // Every subdirectory entry points back at the root directory: a loop.
    place(&root, "loop-to-root", &pe, |m| {
        for &e in &subdir_entries {
            put_u32(m, e + 4, 0x8000_0000);
        }
    });
    // The first type entry's subdirectory lies far outside the file.
    place(&root, "subdir-outside", &pe, |m| {
        put_u32(m, root_entries[0] + 4, 0x8000_0000 | 0x7fff_fff0)
    });
    // The data entries' RVA and size point outside the file.
    place(&root, "data-outside", &pe, |m| {
        for &d in &data_entries {
            put_u32(m, d, 0x7fff_fff0);
        }
    });
    place(&root, "data-size-huge", &pe, |m| {
        for &d in &data_entries {
            put_u32(m, d + 4, 0xffff_ffff);
        }
    });
    // The root directory claims 0xFFFF named and 0xFFFF id entries.
    place(&root, "entry-count-huge", &pe, |m| {
        put_u16(m, rsrc + 12, 0xffff);
        put_u16(m, rsrc + 14, 0xffff);
    });
    // VS_VERSIONINFO wLength: larger than the resource, and smaller than a header.
    place(&root, "vs-length-ffff", &pe, |m| put_u16(m, vb, 0xffff));
    place(&root, "vs-length-4", &pe, |m| put_u16(m, vb, 4));
    // wValueLength 0: the fixed info's bytes are then read as child blocks, which are
    // garbage; no usable version is left, and kbscan says so rather than guess.
    place(&root, "fixed-length-0", &pe, |m| put_u16(m, vb + 2, 0));
    // wValueLength 0xFFFF: more than the block holds; the fixed info is still whole and
    // read, the string tables are hidden behind the claimed value, with a note.
    place(&root, "fixed-length-ffff", &pe, |m| {
        put_u16(m, vb + 2, 0xffff)
    });

    let (code, r) = scan(&root);
    let want: &[(&str, &str, Option<&str>)] = &[
        // Every level is the root table, so the only "name" is id 16: no id 1
        // (VS_VERSION_INFO), which is all Windows reads (docs/judgement.md).
        (
            "loop-to-root",
            "unknown_version",
            Some("no_version_resource"),
        ),
        ("subdir-outside", "error", Some("malformed_pe")),
        (
            "data-outside",
            "unknown_version",
            Some("corrupt_version_resource"),
        ),
        (
            "data-size-huge",
            "unknown_version",
            Some("corrupt_version_resource"),
        ),
        ("entry-count-huge", "error", Some("malformed_pe")),
        ("vs-length-ffff", "patched", None),
        (
            "vs-length-4",
            "unknown_version",
            Some("corrupt_version_resource"),
        ),
        (
            "fixed-length-0",
            "unknown_version",
            Some("corrupt_version_resource"),
        ),
        ("fixed-length-ffff", "patched", None),
    ];
    let mut wrong = Vec::new();
    for (name, st, kind) in want {
        let path = format!("{name}/Nscm.exe");
        let got = status(&r, &path);
        if got.0 != *st || got.1.as_deref() != *kind {
            wrong.push(format!("{path}: got {got:?}, want ({st}, {kind:?})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The copies that still read say why they are unusual.
    let notes = |n: &str| finding(&r, &format!("{n}/Nscm.exe"))["notes"].to_string();
    assert!(
        notes("vs-length-ffff").contains("claims more bytes"),
        "{}",
        notes("vs-length-ffff")
    );
    assert!(
        notes("fixed-length-0").contains("unknown block"),
        "{}",
        notes("fixed-length-0")
    );
    let f = finding(&r, "fixed-length-ffff/Nscm.exe");
    assert_eq!(f["version_source"], "fixed", "{f:#}");
    assert_eq!(f["version"], "4.1.0.3936");
    assert!(
        f["notes"].to_string().contains("wValueLength 65535"),
        "{f:#}"
    );
    let f = finding(&r, "loop-to-root/Nscm.exe");
    assert!(f["error"].as_str().unwrap().contains("id 1"), "{f:#}");
    assert!(
        f["notes"]
            .to_string()
            .contains("language entry is a directory"),
        "{f:#}"
    );
    for n in ["data-outside", "data-size-huge", "vs-length-4"] {
        let f = finding(&r, &format!("{n}/Nscm.exe"));
        assert!(
            f["error"].as_str().unwrap().contains("version resource 1"),
            "{f:#}"
        );
    }
    check_control(&r);
    assert_eq!(code, 1);
}

#[test]
fn long_and_non_utf8_names_deep_trees_are_scanned() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (_dir, root) = root_with_control();
    // A 255-byte folder name (the Linux limit), holding a candidate.
    let long = root.join("l".repeat(255));
    fs::create_dir_all(&long).unwrap();
    fs::copy(sample_file(LATER_NSCM), long.join("Nscm.exe")).unwrap();
    // A 255-byte file name that is not a candidate, and a non-UTF-8 folder with a candidate.
    fs::write(root.join("x".repeat(255)), b"MZ").unwrap();
    let bad = root.join(OsStr::from_bytes(b"bad\xc3\x28name\xff"));
    fs::create_dir_all(&bad).unwrap();
    fs::copy(sample_file(LATER_NSCM), bad.join("nscm.exe")).unwrap();
    // 200 nested folders with a candidate at the bottom.
    let mut deep = root.join("deep");
    for i in 0..200 {
        deep.push(format!("d{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::copy(sample_file(LATER_NSCM), deep.join("NSCM.EXE")).unwrap();

    let (code, r) = scan(&root);
    assert_eq!(
        status(&r, &format!("{}/Nscm.exe", "l".repeat(255))).0,
        "patched"
    );
    assert_eq!(status(&r, "bad\\xc3(name\\xff/nscm.exe").0, "patched");
    let deep_rel: Vec<String> = (0..200).map(|i| format!("d{i}")).collect();
    let deep_path = format!("deep/{}/NSCM.EXE", deep_rel.join("/"));
    assert_eq!(status(&r, &deep_path).0, "patched");
    assert_eq!(findings(&r).len(), 4, "{r:#}");
    assert!(r["errors"].as_array().unwrap().is_empty(), "{r:#}");
    check_control(&r);
    assert_eq!(code, 1);
}

#[test]
fn a_folder_with_100_000_entries_hides_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join(SERVER);
    fs::create_dir_all(&server).unwrap();
    let start = Instant::now();
    for i in 0..100_000 {
        fs::File::create(server.join(format!("f{i:06}.dll"))).unwrap();
    }
    fs::copy(sample_file(VULN_NSPMON), server.join("nspmon.exe")).unwrap();
    eprintln!("created 100,001 entries in {:?}", start.elapsed());
    let (code, r) = scan(dir.path());
    assert_eq!(findings(&r).len(), 1, "{r:#}");
    assert_eq!(status(&r, &format!("{SERVER}/nspmon.exe")).0, "vulnerable");
    assert!(
        r["stats"]["entries"].as_u64().unwrap() >= 100_001,
        "{:#}",
        r["stats"]
    );
    assert_eq!(r["verdict"], "vulnerable");
    assert_eq!(code, 1);
}
