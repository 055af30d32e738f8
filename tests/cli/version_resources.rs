//! Issue 10 cases 1, 7 and 8 and issue 11 case 4, each from real bytes through the CLI:
//! several version resources (which one Windows reads), implausible versions, near-miss
//! names in the live install folder, and a resource directory built to amplify.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pe_layout::{self, put_u16, put_u32, u16_at, u32_at};
use common::{repo, sample_file, scan_json};
use serde_json::Value;

const SERVER: &str = "WINNT/system32/Windows Media/Server";

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("tests/fixtures/version-resources")
        .join(format!("{name}.exe"))
}

/// A temporary system whose live `Nscm.exe` has these bytes.
fn system_with(bytes: &[u8]) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join(SERVER);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("Nscm.exe"), bytes).expect("write");
    root
}

/// Scans one system and returns (exit code, root record, the Nscm.exe finding).
fn scan(root: &Path) -> (i32, Value, Value) {
    let (code, doc) = scan_json(&[root], &["--rule", "MS04-008"]);
    let r = doc["roots"][0].clone();
    let f = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("Nscm.exe")))
        .cloned()
        .unwrap_or(Value::Null);
    (code, r, f)
}

fn codes(r: &Value) -> Vec<String> {
    r["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|x| x["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn check_fixture(name: &str, verdict: &str, code: i32, reason: Option<&str>) -> (Value, Value) {
    let sys = system_with(&fs::read(fixture(name)).expect("fixture"));
    let (got, r, f) = scan(sys.path());
    assert_eq!(r["verdict"], verdict, "{name}: {r:#}");
    assert_eq!(got, code, "{name}");
    if let Some(reason) = reason {
        assert!(
            codes(&r).iter().any(|c| c == reason),
            "{name}: {:?}",
            codes(&r)
        );
    } else {
        assert!(
            !codes(&r).iter().any(|c| c == "version_resources_disagree"),
            "{name}: {:?}",
            codes(&r)
        );
    }
    (r, f)
}

fn readings(f: &Value) -> Vec<(String, String, Value, bool)> {
    f["version_resources"]
        .as_array()
        .expect("version_resources")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["language"].as_str().unwrap().to_owned(),
                r["fixed_version"].clone(),
                r["windows_reads"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_named_resource_before_id_1_does_not_win() {
    let (_, f) = check_fixture("named_before_id1", "vulnerable", 1, None);
    assert_eq!(f["version"], "4.1.0.3917");
    assert_eq!(
        readings(&f),
        [
            (
                "NSCMVERSION".into(),
                "0409".into(),
                "4.1.0.3934".into(),
                false
            ),
            ("1".into(), "0409".into(), "4.1.0.3917".into(), true),
        ]
    );
}

#[test]
fn id_2_does_not_win_over_id_1() {
    let (_, f) = check_fixture("id1_and_id2", "vulnerable", 1, None);
    assert_eq!(f["version"], "4.1.0.3917");
    assert_eq!(f["file_version"], "4.1.0.3917");
    let r = readings(&f);
    assert_eq!(
        r[1],
        ("2".into(), "0409".into(), "4.1.0.3934".into(), false)
    );
}

#[test]
fn id_1_without_fixed_info_never_takes_id_2s_number() {
    let (_, f) = check_fixture("id1_no_fixed_id2_fixed", "vulnerable", 1, None);
    assert_eq!(f["version"], "4.1.0.3917");
    assert_eq!(f["version_source"], "string");
    assert_eq!(f["file_version"], Value::Null);
    let r = readings(&f);
    assert_eq!(r[0], ("1".into(), "0409".into(), Value::Null, true));
    assert_eq!(r[1].2, "4.1.0.3934");
    assert!(!r[1].3);
}

#[test]
fn id_1_in_two_languages_that_disagree_is_inconclusive() {
    for name in ["id1_two_languages", "id1_neutral_and_english"] {
        let (r, f) = check_fixture(name, "inconclusive", 2, Some("version_resources_disagree"));
        assert_eq!(f["status"], "unknown_version", "{name}");
        assert_eq!(f["error_kind"], "version_resources_disagree", "{name}");
        assert_eq!(f["version"], Value::Null, "{name}");
        let reads: Vec<bool> = readings(&f).iter().map(|r| r.3).collect();
        assert_eq!(reads, [true, true], "{name}");
        let msg = r["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "version_resources_disagree")
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            msg.contains("4.1.0.3917") && msg.contains("4.1.0.3934"),
            "{msg}"
        );
    }
}

#[test]
fn a_disagreeing_copy_is_not_outweighed_by_a_patched_copy() {
    // A second live copy (in another folder) that is patched must not make the rule patched.
    let sys = system_with(&fs::read(fixture("id1_two_languages")).unwrap());
    let other = sys.path().join("Program Files/WMS");
    fs::create_dir_all(&other).unwrap();
    fs::copy(
        sample_file("w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe"),
        other.join("Nscm.exe"),
    )
    .unwrap();
    let (code, r, _) = scan(sys.path());
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);
    assert!(codes(&r).iter().any(|c| c == "version_resources_disagree"));
}

#[test]
fn id_1_in_two_languages_all_vulnerable_is_vulnerable() {
    let (_, f) = check_fixture(
        "id1_two_languages_vulnerable",
        "vulnerable",
        1,
        Some("version_resources_disagree"),
    );
    assert_eq!(f["status"], "vulnerable");
}

#[test]
fn implausible_versions_are_not_judged() {
    for (name, needle) in [
        ("version_ffff", "outside the product line"),
        ("version_5_0", "outside the product line"),
        ("version_4_1_ffff", "65535 (0xFFFF)"),
    ] {
        let (_, f) = check_fixture(name, "inconclusive", 2, None);
        assert_eq!(f["status"], "unknown_version", "{name}");
        assert!(
            f["error"].as_str().unwrap().contains(needle),
            "{name}: {f:#}"
        );
        if name.contains("ffff") {
            assert!(
                f["notes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n.as_str().unwrap().contains("0xFFFF")),
                "{name}: {f:#}"
            );
        }
    }
}

#[test]
fn near_miss_names_in_the_install_folder_are_notices() {
    let patched = fs::read(sample_file(
        "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe",
    ))
    .unwrap();
    let sys = system_with(&patched);
    let names = [
        "Nscm.exe ",
        "Nscm.exe.",
        "N\u{0455}cm.exe",
        "Nscm\u{200B}.exe",
        "Nscm.exe.bak",
        "Nscm.ex_",
    ];
    for n in names {
        fs::write(sys.path().join(SERVER).join(n), b"MZ not judged").unwrap();
    }
    // The compressed form in an installation source is normal: no notice there.
    fs::create_dir_all(sys.path().join("I386")).unwrap();
    fs::write(sys.path().join("I386/NSCM.EX_"), b"MZ").unwrap();
    let (code, r, _) = scan(sys.path());
    assert_eq!(r["verdict"], "patched", "{r:#}");
    assert_eq!(code, 0);
    let notices: Vec<(String, String)> = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["path"].as_str().unwrap().to_owned(),
                n["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(notices.len(), names.len(), "{notices:#?}");
    for (path, message) in &notices {
        assert!(path.starts_with(SERVER), "{path}");
        assert!(
            message.starts_with("similar name, not judged: looks like Nscm.exe"),
            "{message}"
        );
    }
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
}

/// A PE whose resource directory is N names × M languages, all pointing at one copy of the
/// version block of a real sample: the directory is written into the file's last section,
/// grown for it, and the resource data directory pointed at it.
fn amplified(names: u16, langs: u16) -> Vec<u8> {
    let mut b = fs::read(sample_file(
        "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe",
    ))
    .unwrap();
    let l = pe_layout::layout(&b);
    let (vb, vlen) = l.version_blocks[0];
    let block = b[vb..vb + vlen].to_vec();
    let last = l.section_table + 40 * (l.sections - 1);
    let va = u32_at(&b, last + 12);
    let raw = u32_at(&b, last + 20);
    // Layout inside the new area: root, names, languages, one data entry, the block.
    let root = 0usize;
    let names_dir = root + 16 + 8;
    let langs_dir = names_dir + 16 + 8 * usize::from(names);
    let data_entry = langs_dir + 16 + 8 * usize::from(langs);
    let data = (data_entry + 16 + 3) & !3;
    let size = data + block.len();
    let mut area = vec![0u8; (size + 0x1ff) & !0x1ff];
    put_u16(&mut area, root + 14, 1);
    put_u32(&mut area, root + 16, 16);
    put_u32(&mut area, root + 20, 0x8000_0000 | names_dir as u32);
    put_u16(&mut area, names_dir + 14, names);
    for i in 0..usize::from(names) {
        let e = names_dir + 16 + 8 * i;
        put_u32(&mut area, e, i as u32 + 1);
        put_u32(&mut area, e + 4, 0x8000_0000 | langs_dir as u32);
    }
    put_u16(&mut area, langs_dir + 14, langs);
    for i in 0..usize::from(langs) {
        let e = langs_dir + 16 + 8 * i;
        put_u32(&mut area, e, i as u32);
        put_u32(&mut area, e + 4, data_entry as u32);
    }
    put_u32(&mut area, data_entry, va as u32 + data as u32);
    put_u32(&mut area, data_entry + 4, block.len() as u32);
    area[data..data + block.len()].copy_from_slice(&block);
    b.truncate(raw);
    b.extend_from_slice(&area);
    put_u32(&mut b, last + 8, area.len() as u32); // VirtualSize
    put_u32(&mut b, last + 16, area.len() as u32); // SizeOfRawData
    let image_end = (va + area.len() + 0xfff) & !0xfff;
    put_u32(&mut b, l.optional_header + 56, image_end as u32); // SizeOfImage
    let dirs = l.optional_header
        + if u16_at(&b, l.optional_header) == 0x10b {
            96
        } else {
            112
        };
    put_u32(&mut b, dirs + 16, va as u32); // resource directory RVA
    put_u32(&mut b, dirs + 20, size as u32);
    put_u32(&mut b, dirs + 40, 0); // no base relocations (their section was reused)
    put_u32(&mut b, dirs + 44, 0);
    b
}

#[test]
fn resource_amplification_is_cut_at_the_cap() {
    // Below the cap: 4 names × 16 languages sharing one block are read (parsed once).
    let small = amplified(4, 16);
    let d = kbscan_core::evidence::pe::inspect(&small).expect("read");
    assert_eq!(d.resources.len(), 64);
    assert!(d.resources.iter().all(|r| r.data == d.resources[0].data));
    for (names, langs) in [(4u16, 17u16), (1024, 1024), (65535, 65535)] {
        let pe = amplified(names, langs);
        let t = Instant::now();
        let e = kbscan_core::evidence::pe::inspect(&pe).unwrap_err();
        assert_eq!(
            e.kind().as_str(),
            "too_many_resources",
            "{names}×{langs}: {e}"
        );
        // A bound against amplification (65535×65535 entries walked would take hours), not a
        // speed claim: loose enough for a loaded 2-core machine.
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{names}×{langs}: {:?}",
            t.elapsed()
        );
    }
    // Through the CLI: an error finding, the root inconclusive, a small report.
    let sys = system_with(&amplified(65535, 65535));
    let t = Instant::now();
    let out = common::kbscan()
        .args(["scan", "--rule", "MS04-008", "-f", "json"])
        .arg(sys.path())
        .output()
        .unwrap();
    // The same bound through the CLI (a hang guard, not a speed claim).
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    assert!(out.stdout.len() < 64 * 1024, "{} bytes", out.stdout.len());
    assert_eq!(common::code(&out), 2);
    let doc = common::json(&out);
    let r = &doc["roots"][0];
    assert_eq!(r["verdict"], "inconclusive");
    let f = &r["findings"][0];
    assert_eq!(f["status"], "error");
    assert_eq!(f["error_kind"], "too_many_resources");
}
