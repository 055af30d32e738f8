//! NTBackup `.bkf` files given as roots: every data set a point in time, each rule's history
//! across the sets, in every format; an incomplete set is never clean. The example backup is
//! `sample_binaries/backups/w2k-backup-history.bkf` (made by the MTF test writer from two
//! sample systems; `the_example_backup_is_the_writers_output` keeps it current).

use std::path::{Path, PathBuf};

use crate::common::{code, json, kbscan, samples};

fn example() -> PathBuf {
    samples().join("backups/w2k-backup-history.bkf")
}

fn scan(path: &Path, format: &str) -> std::process::Output {
    kbscan()
        .args(["scan", "-q", "-f", format])
        .arg(path)
        .output()
        .expect("kbscan runs")
}

fn set_rule(doc: &serde_json::Value, set: usize, rule: &str) -> String {
    doc["backups"][0]["sets"][set]["rule_verdicts"]
        .as_array()
        .expect("rule verdicts")
        .iter()
        .find(|v| v["rule"] == rule)
        .map(|v| v["verdict"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[test]
fn each_set_is_a_point_in_time_and_each_rule_has_a_history() {
    let o = scan(&example(), "json");
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let doc = json(&o);
    let b = &doc["backups"][0];
    assert_eq!(b["format"], "mtf");
    let sets = b["sets"].as_array().expect("sets");
    assert_eq!(sets.len(), 3);
    let written: Vec<&str> = sets
        .iter()
        .map(|s| s["written"].as_str().unwrap())
        .collect();
    assert_eq!(
        written,
        [
            "2004-01-10T22:00:00Z",
            "2004-02-07T22:00:00Z",
            "2004-03-20T22:00:00Z"
        ]
    );
    // What the set records: its name, description, user, and each volume as its VOLB says.
    assert_eq!(sets[0]["name"], "Set created 1/10/2004 at 10:00 PM");
    assert_eq!(sets[0]["description"], "Normal backup of C:");
    assert_eq!(sets[0]["user"], "W2KSERVER\\Administrator");
    assert_eq!(sets[0]["operation"], "normal");
    assert_eq!(sets[0]["volumes"][0]["device"], "C:");
    assert_eq!(sets[0]["volumes"][0]["volume"], "SYSTEM");
    assert_eq!(sets[0]["volumes"][0]["machine"], "W2KSERVER");
    for (i, want) in ["vulnerable", "vulnerable", "patched"].iter().enumerate() {
        assert_eq!(set_rule(&doc, i, "MS04-008"), *want, "set {}", i + 1);
    }
    let line = b["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "MS04-008")
        .expect("an MS04-008 line");
    assert_eq!(
        line["text"],
        "vulnerable in sets 1–2 (2004-01-10, 2004-02-07), patched from set 3 (2004-03-20)"
    );
    // Each set's volume is a root, which says where it comes from; the registry is the set's.
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 3);
    for (i, r) in roots.iter().enumerate() {
        assert!(r["root"]
            .as_str()
            .unwrap()
            .ends_with(&format!("w2k-backup-history.bkf#set{}", i + 1)));
        assert_eq!(r["backup"]["set"], i + 1);
        assert_eq!(r["backup"]["written"], written[i]);
        assert_eq!(r["system"]["os"]["current_version"], "5.0", "{}", r["root"]);
        assert!(sets[i]["complete"].as_bool().unwrap());
    }
}

/// Every format carries the sets and the history.
#[test]
fn every_format_says_the_sets() {
    let table = String::from_utf8(scan(&example(), "table").stdout).unwrap();
    assert!(table.contains("== backup "), "{table}");
    assert!(table.contains(
        "MS04-008: vulnerable in sets 1–2 (2004-01-10, 2004-02-07), patched from set 3 (2004-03-20)"
    ));
    let csv = String::from_utf8(scan(&example(), "csv").stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|c| *c == "backup_set_written")
        .expect("a backup_set_written column");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let mut seen = Vec::new();
    for row in rdr.records() {
        let row = row.unwrap();
        seen.push((row[0].to_owned(), row[col].to_owned()));
    }
    assert!(seen
        .iter()
        .any(|(r, w)| r.ends_with("#set3") && w == "2004-03-20T22:00:00Z"));
    let jsonl = String::from_utf8(scan(&example(), "jsonl").stdout).unwrap();
    let backup: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["record"] == "backup")
        .collect();
    assert_eq!(backup.len(), 1);
    assert_eq!(backup[0]["sets"].as_array().unwrap().len(), 3);
    let timeline = String::from_utf8(scan(&example(), "timeline").stdout).unwrap();
    let written: Vec<serde_json::Value> = timeline
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["timestamp_desc"] == "Backup Set Written")
        .collect();
    assert_eq!(written.len(), 3);
    assert!(written[2]["message"]
        .as_str()
        .unwrap()
        .contains("MS04-008 patched"));
    let html = String::from_utf8(scan(&example(), "html").stdout).unwrap();
    assert!(html.contains("<section id=\"backups\">"));
    assert!(html.contains("patched from set 3 (2004-03-20)"));
}

/// A set cut before its `ESET` may miss the copy that decides: its patched rule becomes
/// inconclusive (`backup_set_incomplete`), the complete sets keep their verdicts.
#[test]
fn an_incomplete_set_is_never_clean() {
    let bytes = std::fs::read(example()).unwrap();
    let eset = bytes
        .windows(4)
        .rposition(|w| w == b"ESET")
        .expect("the last set ends with an ESET");
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.bkf");
    std::fs::write(&cut, &bytes[..eset]).unwrap();
    let o = scan(&cut, "json");
    let doc = json(&o);
    let sets = doc["backups"][0]["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 3);
    assert!(sets[0]["complete"].as_bool().unwrap());
    assert!(!sets[2]["complete"].as_bool().unwrap());
    assert_eq!(set_rule(&doc, 0, "MS04-008"), "vulnerable");
    assert_eq!(set_rule(&doc, 2, "MS04-008"), "inconclusive");
    // A rule that was vulnerable stays so: the old copy the set holds was there.
    assert_eq!(set_rule(&doc, 2, "MS08-076"), "vulnerable");
    let root = &doc["roots"][2];
    assert!(root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "backup_set_incomplete"));
    assert_eq!(code(&o), 1);
    // And it was read in place: the evidence is unchanged.
    assert_eq!(std::fs::read(&cut).unwrap(), &bytes[..eset]);
}

/// A file that is not MTF but names itself `.bkf` is read as what it is (here, not a disk).
#[test]
fn a_backup_is_recognised_by_content_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.bkf");
    std::fs::write(&fake, vec![0u8; 4096]).unwrap();
    let doc = json(&scan(&fake, "json"));
    assert!(doc.get("backups").is_none(), "{doc:#}");
    assert_eq!(doc["images"].as_array().unwrap().len(), 1);
}

/// The report never replaces the backup it reads.
#[test]
fn the_report_is_never_written_onto_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("b.bkf");
    std::fs::copy(example(), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let o = kbscan()
        .args(["scan", "-q", "-o"])
        .arg(&copy)
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}

/// An incremental set holds only what changed since an earlier backup: a file it lacks may be
/// on the system all the same, so none of its rules is clean (here set 3 patched → inconclusive,
/// its MS03-019 not_installed → inconclusive).
#[test]
fn an_incremental_set_is_never_clean() {
    let mut bytes = std::fs::read(example()).unwrap();
    let ssets: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"SSET")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(ssets.len(), 3);
    // SSET Attributes (MTF 1.00a Table 9) at byte 52 of the DBLK, after the common header
    // (whose checksum covers bytes 0..50 only): SSET_INCREMENTAL_BIT is bit 4.
    let at = ssets[2] + 52;
    bytes[at..at + 4].copy_from_slice(&(1u32 << 4).to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("inc.bkf");
    std::fs::write(&inc, &bytes).unwrap();
    let doc = json(&scan(&inc, "json"));
    let sets = doc["backups"][0]["sets"].as_array().unwrap();
    assert_eq!(sets[2]["operation"], "incremental");
    assert_eq!(set_rule(&doc, 1, "MS04-008"), "vulnerable");
    assert_eq!(set_rule(&doc, 2, "MS04-008"), "inconclusive");
    assert_eq!(set_rule(&doc, 2, "MS03-019"), "inconclusive");
    assert_eq!(set_rule(&doc, 2, "MS08-076"), "vulnerable");
}
