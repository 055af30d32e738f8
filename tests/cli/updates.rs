//! `kbscan updates`, the offline update audit: every update record's file list compared with
//! the live files, on the sample system made for it (`w2k-update-audit`, every status once),
//! on hives built here with hivexregedit (many records, odd value types, missing versions,
//! variables, 8.3 names, the bounds), on an NTFS image whose 8.3 aliases place a record, and
//! on a backup; and where a built-in rule and the audit read the same file, they agree.

use crate::common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// `kbscan updates -f json` over `roots`: (exit code, document).
fn audit_json(roots: &[&Path], extra: &[&str]) -> (i32, Value) {
    let mut cmd = kbscan();
    cmd.args(["updates", "-q", "-f", "json"]).args(extra);
    for r in roots {
        cmd.arg(r);
    }
    let o = cmd.output().unwrap();
    (code(&o), json(&o))
}

fn updates(root: &Value) -> &Vec<Value> {
    root["audit"]["updates"].as_array().unwrap()
}

fn update<'a>(root: &'a Value, name: &str) -> &'a Value {
    updates(root)
        .iter()
        .find(|u| u["update"] == name)
        .unwrap_or_else(|| panic!("no update {name}: {root:#}"))
}

fn version(s: &str) -> Vec<u32> {
    s.split('.').map(|n| n.parse().unwrap()).collect()
}

const WMS: &str = "WINNT/system32/Windows Media/Server";

#[test]
fn the_sample_system_shows_every_status() {
    let (code, doc) = audit_json(&[&system("w2k-update-audit")], &[]);
    assert_eq!(code, 1, "an older file contradicts a record: {doc:#}");
    assert_eq!(doc["exit_code"], 1);
    let root = &doc["roots"][0];
    assert_eq!(root["windir"], "WINNT");
    assert_eq!(root["audit"]["audited"], true);
    let mut file_statuses = std::collections::BTreeSet::new();
    let mut update_statuses = std::collections::BTreeSet::new();
    for u in updates(root) {
        update_statuses.insert(u["status"].as_str().unwrap().to_owned());
        for f in u["files"].as_array().unwrap() {
            file_statuses.insert(f["status"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        file_statuses.into_iter().collect::<Vec<_>>(),
        ["current", "missing", "newer", "older", "unjudged"]
    );
    assert_eq!(
        update_statuses.into_iter().collect::<Vec<_>>(),
        [
            "consistent",
            "contradicted",
            "file_missing",
            "no_file_list",
            "replaced",
            "unjudged"
        ]
    );
    // The finding that matters: the record claims kbaudit-b.exe 4.1.0.3934, the live one
    // is older.
    let kb = update(root, "FIXTURE-CONTRADICTED");
    assert_eq!(kb["status"], "contradicted");
    assert_eq!(kb["product"], "kbscan fixture product");
    assert_eq!(kb["level"], Value::Null);
    let b = &kb["files"][1];
    assert_eq!(b["status"], "older");
    assert_eq!(b["recorded_version"], "4.1.0.3934");
    assert_eq!(b["live_version"], "4.1.0.3917");
    assert_eq!(b["path"], "WINNT/system32/kbaudit/kbaudit-b.exe");
    // Its kbaudit-a.exe (Location a REG_EXPAND_SZ) is current.
    assert_eq!(kb["files"][0]["status"], "current");
    assert_eq!(kb["files"][0]["location"], "%SystemRoot%\\system32");
    // A later record replaced kbaudit-c.exe: named.
    let r = update(root, "FIXTURE-REPLACED");
    assert_eq!(r["status"], "replaced");
    assert_eq!(r["level"], "SP1");
    assert_eq!(r["files"][0]["status"], "newer");
    assert_eq!(
        r["files"][0]["newer_by"],
        "Microsoft\\Updates\\kbscan fixture product\\SP2\\FIXTURE-CURRENT"
    );
    // Upper-case names and a trailing backslash resolve to the same file.
    assert_eq!(update(root, "FIXTURE-CURRENT")["status"], "consistent");
    // A HotFix record that lists files is audited.
    let hf = update(root, "FIXTURE-HOTFIX");
    assert_eq!(hf["product"], "HotFix");
    assert_eq!(hf["status"], "consistent");
    // Missing, no version resource, values of another type, no Version at all.
    let m = &update(root, "FIXTURE-MISSING")["files"][0];
    assert_eq!(m["status"], "missing");
    assert!(m["reason"].as_str().unwrap().contains("kbfixture.dll"));
    let nv = &update(root, "FIXTURE-NO-VERSION-RESOURCE")["files"][0];
    assert_eq!(nv["status"], "unjudged");
    assert_eq!(nv["path"], "WINNT/system32/kbnover.exe");
    let odd = update(root, "FIXTURE-ODD-TYPES");
    assert!(odd["files"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("REG_DWORD"));
    assert_eq!(odd["files"][0]["recorded_version"], Value::Null);
    assert_eq!(odd["files"][1]["reason"], "no Version recorded");
    // A forged path is a note, never a read outside the root.
    let forged = &update(root, "FIXTURE-FORGED-PATH")["files"][0];
    assert_eq!(forged["status"], "unjudged");
    assert_eq!(forged["path"], Value::Null);
    let notes = root["audit"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("reaches outside the root")),
        "{notes:?}"
    );
    assert_eq!(
        update(root, "FIXTURE-NO-FILELIST")["files"],
        serde_json::json!([])
    );
    let c = &root["audit"]["counts"];
    assert_eq!(c["recorded"], 9);
    assert_eq!(c["contradicted"], 1);
    assert_eq!(c["unjudged"], 3);
    assert_eq!(doc["examination"]["tool"], "kbscan");
}

#[test]
fn every_format_and_its_exit_code() {
    let root = system("w2k-update-audit");
    let root = root.to_str().unwrap();
    let table = run(&["updates", "-q", root]);
    assert_eq!(code(&table), 1);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains(
        "9 updates recorded, 2 consistent, 1 replaced by later files, 1 contradicted by older \
         files, 1 file missing, 3 unjudged, 1 without a file list"
    ));
    assert!(text.contains("older     WINNT/system32/kbaudit/kbaudit-b.exe"));
    // CSV: the header, one row per listed file and one per record without files.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.csv");
    let o = run(&[
        "updates",
        "-q",
        "-f",
        "csv",
        "-o",
        out.to_str().unwrap(),
        root,
    ]);
    assert_eq!(code(&o), 1);
    let csv = fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        kbscan_output::UPDATES_COLUMNS.join(",")
    );
    assert_eq!(lines.count(), 10 + 1, "{csv}");
    assert!(csv.contains(",older,"));
    let side: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("audit.csv.examination.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(side["examination"]["tool"], "kbscan");
    // JSON Lines: examination, one line per update, the root, the summary.
    let o = run(&["updates", "-q", "-f", "jsonl", root]);
    assert_eq!(code(&o), 1);
    let recs: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs[0]["record"], "examination");
    assert_eq!(recs.iter().filter(|r| r["record"] == "update").count(), 9);
    let last = recs.last().unwrap();
    assert_eq!(last["record"], "summary");
    assert_eq!(last["exit_code"], 1);
    // HTML: a printable page, no script, the evidence escaped.
    let o = run(&["updates", "-q", "-f", "html", "--case", "<b>&", root]);
    assert_eq!(code(&o), 1);
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;b&gt;&amp;"));
    assert!(html.contains("<td>older</td>"));
    // The timeline has no times to show: refused before anything is read.
    let o = run(&["updates", "-q", "-f", "timeline", root]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("timeline"));
}

#[test]
fn exit_codes_follow_the_worst_record() {
    // 1: KB832359 claims files the system does not have.
    let (c, _) = audit_json(&[&system("w2k-claims-update")], &[]);
    assert_eq!(c, 1);
    // 2: a record whose file list has no Version (the fixture's KB980858_WM41 file).
    let (c, doc) = audit_json(&[&system("w2k-wms-fully-patched")], &[]);
    assert_eq!(c, 2, "{doc:#}");
    // 2: no hive, nothing audited; never clean.
    let (c, doc) = audit_json(&[&system("odd-no-version")], &[]);
    assert_eq!(c, 2);
    assert_eq!(doc["roots"][0]["audit"]["audited"], false);
    // 0: every listed file compared, none older (KB832359's files both current).
    let (c, doc) = audit_json(&[&system("w2k-sp4-patched")], &[]);
    assert_eq!(c, 0, "{doc:#}");
    assert_eq!(doc["counts"]["consistent"], 1);
}

/// A Windows 2000 tree with the given SOFTWARE `.reg` body (after the CurrentVersion keys).
fn tree_with_records(dir: &Path, records: &str) -> PathBuf {
    let root = dir.join("evidence");
    let config = root.join("WINNT/system32/config");
    fs::create_dir_all(&config).unwrap();
    let hive = config.join("SOFTWARE");
    fs::copy(minimal_hive(), &hive).unwrap();
    merge_reg(
        &hive,
        &format!(
            "[\\Microsoft]\n\n[\\Microsoft\\Windows]\n\n[\\Microsoft\\Windows\\CurrentVersion]\n\
             \"ProgramFilesDir\"=\"C:\\\\Program Files\"\n\
             \"CommonFilesDir\"=\"C:\\\\Program Files\\\\Common Files\"\n\n\
             [\\Microsoft\\Windows NT]\n\n[\\Microsoft\\Windows NT\\CurrentVersion]\n\
             \"SystemRoot\"=\"C:\\\\WINNT\"\n\n[\\Microsoft\\Updates]\n\n{records}"
        ),
    );
    root
}

fn put(root: &Path, rel: &str, from: &str) {
    let dest = root.join(rel);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(sample_file(from), dest).unwrap();
}

const V3934: &str = "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe";
const V3917: &str = "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe";

/// One record with one file: `[key]`, `Filelist\0` with these value lines.
fn rec(key: &str, values: &str) -> String {
    // hivexregedit creates a key only below one that exists: the parents first.
    let parts: Vec<&str> = key.split('\\').collect();
    let parents: String = (1..parts.len())
        .map(|i| format!("[\\Microsoft\\Updates\\{}]\n\n", parts[..i].join("\\")))
        .collect();
    format!(
        "{parents}[\\Microsoft\\Updates\\{key}]\n\"Description\"=\"test\"\n\n\
         [\\Microsoft\\Updates\\{key}\\Filelist]\n\n\
         [\\Microsoft\\Updates\\{key}\\Filelist\\0]\n{values}\n\n"
    )
}

#[test]
fn many_records_with_variables_odd_types_and_8_3_names() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut reg = String::new();
    // 120 records in three products, every way a folder is written.
    let places = [
        (r"%SystemRoot%\\system32", "WINNT/system32"),
        (r"%windir%\\System32\\", "WINNT/system32"),
        (r"C:\\WINNT\\system32\\drivers", "WINNT/system32/drivers"),
        (r"%ProgramFiles%\\Test App", "Program Files/Test App"),
        (
            r"%CommonProgramFiles%\\Shared",
            "Program Files/Common Files/Shared",
        ),
        (r"\\SystemRoot\\inf", "WINNT/inf"),
    ];
    for i in 0..120 {
        let (loc, rel) = places[i % places.len()];
        let name = format!("f{i:03}.dll");
        // Even: the file is the recorded 4.1.0.3934; odd: it is 4.1.0.3917 (older).
        let from = if i % 2 == 0 { V3934 } else { V3917 };
        put(&dir.path().join("evidence"), &format!("{rel}/{name}"), from);
        reg.push_str(&rec(
            &format!("Product {}\\SP{}\\KB{:06}", i % 3, i % 2, 900000 + i),
            &format!("\"FileName\"=\"{name}\"\n\"Location\"=\"{loc}\"\n\"Version\"=\"4.1.0.3934\""),
        ));
    }
    // Odd values: a binary Version, a multi-string FileName, a version that is no version,
    // an unknown variable, another drive, a network path, an 8.3 folder this tree does not
    // record, a file missing.
    let odd = [
        ("Odd\\BINVER", "\"FileName\"=\"f000.dll\"\n\"Location\"=\"%SystemRoot%\\\\system32\"\n\"Version\"=hex:34,2e,31"),
        ("Odd\\MULTINAME", "\"FileName\"=hex(7):66,00,00,00,00,00\n\"Location\"=\"%SystemRoot%\\\\system32\"\n\"Version\"=\"4.1.0.3934\""),
        ("Odd\\BADVER", "\"FileName\"=\"f000.dll\"\n\"Location\"=\"%SystemRoot%\\\\system32\"\n\"Version\"=\"four\""),
        ("Odd\\UNKNOWNVAR", "\"FileName\"=\"f000.dll\"\n\"Location\"=\"%ProgramW6432%\\\\x\"\n\"Version\"=\"4.1.0.3934\""),
        ("Odd\\OTHERDRIVE", "\"FileName\"=\"f000.dll\"\n\"Location\"=\"D:\\\\WINNT\\\\system32\"\n\"Version\"=\"4.1.0.3934\""),
        ("Odd\\NETWORK", "\"FileName\"=\"f000.dll\"\n\"Location\"=\"\\\\\\\\server\\\\share\"\n\"Version\"=\"4.1.0.3934\""),
        ("Odd\\SHORTNAME", "\"FileName\"=\"F000~1.DLL\"\n\"Location\"=\"C:\\\\WINNT\\\\SYSTEM32\"\n\"Version\"=\"4.1.0.3934\""),
        ("Odd\\GONE", "\"FileName\"=\"gone.dll\"\n\"Location\"=\"%SystemRoot%\\\\system32\"\n\"Version\"=\"4.1.0.3934\""),
    ];
    for (k, v) in odd {
        reg.push_str(&rec(k, v));
    }
    let root = tree_with_records(dir.path(), &reg);
    let (code, doc) = audit_json(&[&root], &[]);
    assert_eq!(code, 1, "{doc:#}");
    let r = &doc["roots"][0];
    let c = &r["audit"]["counts"];
    assert_eq!(c["recorded"], 128, "{c}");
    assert_eq!(c["consistent"], 60, "{c}");
    assert_eq!(c["contradicted"], 60, "{c}");
    assert_eq!(c["unjudged"], 7, "{c}");
    assert_eq!(c["file_missing"], 1, "{c}");
    for u in updates(r).iter().filter(|u| u["product"] != "Odd") {
        let f = &u["files"][0];
        let odd = f["name"].as_str().unwrap()[1..4].parse::<u32>().unwrap() % 2 == 1;
        assert_eq!(f["status"], if odd { "older" } else { "current" }, "{u:#}");
        assert!(f["path"].as_str().is_some(), "{u:#}");
    }
    let reason = |k: &str| {
        update(r, k)["files"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        reason("BINVER").contains("REG_BINARY"),
        "{}",
        reason("BINVER")
    );
    assert!(reason("MULTINAME").contains("REG_MULTI_SZ"));
    assert!(reason("BADVER").contains("not a version"));
    assert!(reason("UNKNOWNVAR").contains("%ProgramW6432%"));
    assert!(reason("OTHERDRIVE").contains("not the system drive"));
    assert!(reason("NETWORK").contains("network path"));
    assert!(reason("SHORTNAME").contains("8.3"));
    assert_eq!(update(r, "GONE")["status"], "file_missing");
    assert_eq!(update(r, "KB900000")["level"], "SP0");
    assert_eq!(update(r, "KB900000")["product"], "Product 0");
}

/// The same short-name record on an NTFS image whose volume records the 8.3 aliases: the
/// record is placed through them, and the audit runs on the image as on a folder.
#[test]
fn an_ntfs_image_places_8_3_names() {
    if !have("hivexregedit") || !have("mkntfs") || !have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    put(
        &dir.path().join("evidence"),
        &format!("{WMS}/Nscm.exe"),
        V3934,
    );
    let root = tree_with_records(
        dir.path(),
        &rec(
            "Windows Media Services\\KB832359",
            "\"FileName\"=\"NSCM~1.EXE\"\n\
             \"Location\"=\"C:\\\\WINNT\\\\SYSTEM32\\\\WINDOW~1\\\\SERVER\"\n\
             \"Version\"=\"4.1.0.3934\"",
        ),
    );
    let (code, doc) = audit_json(&[&root], &[]);
    assert_eq!(code, 2, "the tree records no 8.3 alias: {doc:#}");
    let (vol, ntfsput) = ntfs_volume(dir.path(), 16);
    ntfsput(&["copy", root.to_str().unwrap()]);
    ntfsput(&["dosname", "/WINNT/system32/Windows Media", "WINDOW~1"]);
    ntfsput(&["dosname", &format!("/{WMS}/Nscm.exe"), "NSCM~1.EXE"]);
    let (code, doc) = audit_json(&[&vol], &[]);
    assert_eq!(code, 0, "{doc:#}");
    let f = &update(&doc["roots"][0], "KB832359")["files"][0];
    assert_eq!(f["status"], "current", "{doc:#}");
    assert_eq!(f["path"], format!("{WMS}/Nscm.exe"));
}

#[test]
fn records_beyond_the_bound_are_counted_and_never_clean() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let n = kbscan_core::model::updates::MAX_RECORDS + 3;
    let mut reg = String::from("[\\Microsoft\\Updates\\Many]\n\n");
    for i in 0..n {
        reg.push_str(&format!(
            "[\\Microsoft\\Updates\\Many\\U{i:05}]\n\"Description\"=\"x\"\n\n"
        ));
    }
    let root = tree_with_records(dir.path(), &reg);
    let (code, doc) = audit_json(&[&root], &[]);
    assert_eq!(code, 2);
    let a = &doc["roots"][0]["audit"];
    assert_eq!(a["truncated"], true);
    assert_eq!(
        a["counts"]["recorded"],
        kbscan_core::model::updates::MAX_RECORDS
    );
    assert!(a["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m.as_str().unwrap().starts_with("3 update records beyond")));
}

#[test]
fn each_backup_set_is_audited() {
    let bkf = samples().join("backups/w2k-backup-history.bkf");
    let (code, doc) = audit_json(&[&bkf], &[]);
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 3, "{doc:#}");
    for r in roots {
        assert_eq!(r["audit"]["audited"], true, "{r:#}");
        assert!(r["root"].as_str().unwrap().contains("#set"));
    }
    // The third set records KB832359 with its files current.
    assert_eq!(update(&roots[2], "KB832359")["status"], "consistent");
    assert_eq!(code, 0);
}

/// Where a built-in rule and the audit read the same live file, they read the same version,
/// and they agree: a record of the rule's update claiming at least the fixed version over a
/// file the audit finds current (or newer) is a file the rule finds patched; one the audit
/// finds older than a claimed version at most the fixed one is a file the rule finds
/// vulnerable.
#[test]
fn rules_and_the_audit_agree_on_the_same_file() {
    let mut names: Vec<String> = fs::read_dir(samples().join("systems"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut same_reading, mut agree_patched, mut agree_vulnerable) = (0, 0, 0);
    // Two runs over every system at once (each run hashes the program for its record).
    let paths: Vec<PathBuf> = names.iter().map(|n| system(n)).collect();
    let roots: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (_, scan) = scan_json(&roots, &[]);
    let (_, audit) = audit_json(&roots, &[]);
    assert_eq!(
        scan["roots"].as_array().unwrap().len(),
        audit["roots"].as_array().unwrap().len()
    );
    {
        let kbs: Vec<(String, String)> = scan["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["kb"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (sroot, aroot) in scan["roots"]
            .as_array()
            .unwrap()
            .iter()
            .zip(audit["roots"].as_array().unwrap())
        {
            assert_eq!(sroot["root"], aroot["root"]);
            let name = sroot["root"].as_str().unwrap();
            for u in updates(aroot) {
                for f in u["files"].as_array().unwrap() {
                    let (Some(path), Some(live)) = (f["path"].as_str(), f["live_version"].as_str())
                    else {
                        continue;
                    };
                    for fi in findings(sroot)
                        .iter()
                        .filter(|fi| fi["path"] == path && fi["location"] == "live")
                    {
                        assert_eq!(fi["file_version"], live, "{name} {path}");
                        same_reading += 1;
                        let kb = kbs
                            .iter()
                            .find(|(id, _)| fi["rule"] == id.as_str())
                            .map(|(_, kb)| kb.as_str())
                            .unwrap();
                        let of_rule = u["update"]
                            .as_str()
                            .unwrap()
                            .to_ascii_uppercase()
                            .starts_with(kb);
                        let (Some(claimed), Some(fixed)) = (
                            f["recorded_version"].as_str(),
                            fi["required_version"].as_str(),
                        ) else {
                            continue;
                        };
                        if !of_rule {
                            continue;
                        }
                        let (claimed, fixed) = (version(claimed), version(fixed));
                        match f["status"].as_str().unwrap() {
                            "current" | "newer" if claimed >= fixed => {
                                assert_eq!(fi["status"], "patched", "{name} {path} {u:#}");
                                agree_patched += 1;
                            }
                            "older" if claimed <= fixed => {
                                assert_eq!(fi["status"], "vulnerable", "{name} {path} {u:#}");
                                agree_vulnerable += 1;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    assert!(same_reading > 10, "{same_reading}");
    assert!(
        agree_patched > 0 && agree_vulnerable > 0,
        "{agree_patched} {agree_vulnerable}"
    );
}

/// A listed file that is a link is read as a scan reads a candidate link: not followed by
/// default (unjudged, never missing), followed inside the root with --follow-symlinks.
#[test]
fn a_linked_file_follows_the_scans_link_policy() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    put(
        &dir.path().join("evidence"),
        "WINNT/real/kbaudit.exe",
        V3934,
    );
    let root = tree_with_records(
        dir.path(),
        &rec(
            "Linked\\KBLINK",
            "\"FileName\"=\"kbaudit.exe\"\n\"Location\"=\"%SystemRoot%\\\\system32\"\n\
             \"Version\"=\"4.1.0.3934\"",
        ),
    );
    std::os::unix::fs::symlink(
        "../real/kbaudit.exe",
        root.join("WINNT/system32/kbaudit.exe"),
    )
    .unwrap();
    let (code, doc) = audit_json(&[&root], &[]);
    assert_eq!(code, 2, "{doc:#}");
    let f = &update(&doc["roots"][0], "KBLINK")["files"][0];
    assert_eq!(f["status"], "unjudged");
    assert!(
        f["reason"].as_str().unwrap().contains("symbolic link"),
        "{f}"
    );
    let (code, doc) = audit_json(&[&root], &["--follow-symlinks"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        update(&doc["roots"][0], "KBLINK")["files"][0]["status"],
        "current"
    );
}

/// The headline case waiting for a reboot: the registry records KB832359, the live Nscm.exe is
/// older than the record, and the fixed file is staged with a pending rename onto it. The
/// audit keeps `older` (the old file runs until the next boot) and says what the rename does,
/// with the staged file's version, in every format.
#[test]
fn a_staged_replacement_is_said_and_the_live_file_still_decides() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("w2k-claims-update");
    copy_tree(&system("w2k-claims-update"), &root);
    fs::copy(
        system("w2k-server1").join(WMS).join("Nscm.exe"),
        root.join(WMS).join("SET1A.tmp"),
    )
    .unwrap();
    crate::pending::set_pending(
        &root,
        &crate::pending::multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\SET1A.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
        ]),
    );
    let (exit, doc) = audit_json(&[&root], &[]);
    assert_eq!(
        exit, 1,
        "the live file is still older than its record: {doc:#}"
    );
    let files: Vec<&Value> = updates(&doc["roots"][0])
        .iter()
        .flat_map(|u| u["files"].as_array().unwrap().iter())
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with("/Nscm.exe")))
        .collect();
    assert!(!files.is_empty(), "{doc:#}");
    for f in files {
        assert_eq!(
            f["file_status"].as_str().or(f["status"].as_str()),
            Some("older"),
            "{f:#}"
        );
        let p = &f["pending_reboot"];
        assert_eq!(p["pair"], 1, "{f:#}");
        assert_eq!(p["removes"], false, "{f:#}");
        assert_eq!(p["staged"]["version"], "4.1.0.3934", "{f:#}");
    }
    for format in ["table", "csv", "html"] {
        let o = kbscan()
            .args(["updates", "-q", "-f", format])
            .arg(&root)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(code(&o), 1, "{format}");
        assert!(
            text.contains("update_pending_reboot") && text.contains("4.1.0.3934"),
            "{format}: {text}"
        );
    }
}

/// `--excel`: the audit's CSV with a UTF-8 byte order mark first and otherwise the same bytes
/// (the audit has no time column to reshape); refused with another format.
#[test]
fn the_audit_csv_for_excel_has_a_bom() {
    let root = system("w2k-update-audit");
    let run_with = |extra: &[&str]| {
        kbscan()
            .args(["updates", "-q", "-f", "csv"])
            .args(extra)
            .arg(&root)
            .output()
            .unwrap()
    };
    let plain = run_with(&[]);
    let excel = run_with(&["--excel"]);
    assert_eq!(plain.status.code(), excel.status.code());
    assert!(!plain.stdout.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(excel.stdout[..3], *b"\xEF\xBB\xBF");
    assert_eq!(excel.stdout[3..], plain.stdout[..]);
    assert!(
        plain.stdout.len() > 200,
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );
    let refused = kbscan()
        .args(["updates", "-q", "-f", "json", "--excel"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--excel"));
}
