//! Install-time evidence, `--as-of` and `--format timeline` (issue 14) over the example system
//! `w2k-server1` (MS04-008 installed 2004-03-17 10:15:02 EST: update log, key times set in the
//! hive bytes, InstalledDate, time zone) and copies of it made conflicting; and over
//! `tests/images/ntfs-backdated.img` (tests/images/build.sh), where the live `Nscm.exe`'s
//! `$STANDARD_INFORMATION` times were back-dated years before its `$FILE_NAME` times.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn json(args: &[&str], root: &Path) -> (Value, i32) {
    let out = kbscan()
        .args(["scan", "-q", "--rule", "MS04-008", "-f", "json"])
        .args(args)
        .arg(root)
        .output()
        .unwrap();
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn every_source_is_read_from_real_format_bytes() {
    let (v, code) = json(&[], &system("w2k-server1"));
    assert_eq!(code, 0);
    let root = &v["roots"][0];
    let tz = &root["system"]["time_zone"];
    assert_eq!(tz["bias_minutes"], 300);
    assert_eq!(tz["bias_value"], "ActiveTimeBias");
    let inst = &root["system"]["rules"][0]["installed"];
    assert_eq!(inst["best"], "2004-03-17T15:15:02.421Z");
    assert_eq!(inst["best_source"], "update_log");
    assert_eq!(inst["latest"], "2004-03-17T15:16:40Z");
    assert_eq!(inst["consistent"], true);
    assert!(inst["summary"]
        .as_str()
        .unwrap()
        .starts_with("patched since 2004-03-17 (update log, registry value, registry key"));
    let ev = inst["evidence"].as_array().unwrap();
    let find = |source: &str, field: &str| {
        ev.iter()
            .find(|e| e["source"] == source && e["field"] == field)
            .unwrap_or_else(|| panic!("no {source} {field}: {ev:?}"))
    };
    // The update log: header in local time, converted with the bias; lines kept escaped.
    let header = find("update_log", "log_header");
    assert_eq!(header["bound"], "moment");
    assert_eq!(header["path"], "WINNT/KB832359.log");
    assert_eq!(header["line"], "1: 0.156: 2004/03/17 10:15:02.421 (local)");
    assert!(header["note"].as_str().unwrap().contains("daylight saving"));
    let line = find("update_log", "log_line");
    assert!(
        // The lossless escaper keeps a backslash unless it would read as an escape.
        line["line"].as_str().unwrap().contains("c:\\9f3c"),
        "{line}"
    );
    // The key's last-write time, read from the key node's bytes.
    let key = find("registry_key", "last_written");
    assert_eq!(key["time"], "2004-03-17T15:16:40Z");
    assert_eq!(key["bound"], "not_after");
    assert!(key["says"]
        .as_str()
        .unwrap()
        .contains("InstalledBy = Administrator"));
    // InstalledDate, a local date: the whole day in UTC (EST), widened by the DST hour.
    let date = find("registry_value", "installed_date");
    assert_eq!(date["not_before"], "2004-03-17T04:00:00Z");
    assert_eq!(date["not_after"], "2004-03-18T06:00:00Z");
    // The uninstall folder's and the files' own times are listed, approximate only.
    assert_eq!(find("uninstall_folder", "created")["bound"], "approximate");
    assert_eq!(find("live_file", "si_modified")["bound"], "context");
}

#[test]
fn as_of_before_between_and_after_the_install() {
    let root = system("w2k-server1");
    for (date, state, exit) in [
        // Before MS04-008 was published (2004-03-09): no fix existed (verdict integrity round
        // 3, case 8; before, this date was the vulnerable one).
        ("2004-03-01", "not_yet_published", 0),
        ("2004-03-10", "vulnerable_at_date", 1),
        // Within the hour daylight saving time leaves open around the log's moment.
        ("2004-03-17T15:00:00Z", "unknown_at_date", 2),
        // Installed by 2004-03-17T15:16:40Z, but the System log's first boot after that is
        // 2004-03-20T09:00:00Z: a file in use waits for the restart.
        ("2004-03-18", "unknown_at_date", 2),
        ("2004-03-21", "patched_at_date", 0),
    ] {
        let (v, code) = json(&["--as-of", date], &root);
        let a = &v["roots"][0]["as_of"];
        assert_eq!(a["state"], state, "{date}: {a}");
        assert_eq!(a["rules"][0]["rule"], "MS04-008");
        assert_eq!(a["rules"][0]["state"], state);
        assert_eq!(a["rules"][0]["reasons"][0]["code"], state);
        assert_eq!(code, exit, "{date}");
        assert_eq!(v["summary"]["exit_code"], exit);
    }
    // Without the flag: no as_of, the usual exit code.
    let (v, _) = json(&[], &root);
    assert!(v["roots"][0].get("as_of").is_none());
    // A bad date is a usage error.
    kbscan()
        .args(["scan", "--as-of", "March 1st"])
        .arg(&root)
        .assert()
        .code(2);
}

#[test]
fn a_conflict_is_named_and_never_patched_at_date() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("server1");
    copy_tree(&system("w2k-server1"), &root);
    // The log now says the install ran on 2004-03-25, a week after the key was last written.
    std::fs::write(
        root.join("WINNT/KB832359.log"),
        "0.156: 2004/03/25 10:15:02.421 (local)\r\n0.171: Hotfix started\r\n",
    )
    .unwrap();
    let (v, code) = json(&["--as-of", "2004-04-01"], &root);
    let rv = &v["roots"][0]["rule_verdicts"][0];
    assert_eq!(
        rv["verdict"], "patched",
        "the verdict itself does not change"
    );
    let conflict = rv["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "install_time_conflict")
        .expect("install_time_conflict");
    let m = conflict["message"].as_str().unwrap();
    assert!(m.contains("kbscan trusts update log"), "{m}");
    assert!(m.contains("registry key"), "{m}");
    let inst = &v["roots"][0]["system"]["rules"][0]["installed"];
    assert_eq!(inst["consistent"], false);
    assert!(inst["conflict"].is_string());
    assert_eq!(v["roots"][0]["as_of"]["state"], "unknown_at_date");
    assert_eq!(code, 2);
}

#[test]
fn the_timeline_has_the_required_fields_in_order() {
    let out = kbscan()
        .args(["scan", "-q", "--rule", "MS04-008", "-f", "timeline"])
        .arg(system("w2k-server1"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() > 10, "{text}");
    let mut last = String::new();
    for e in &events {
        for f in [
            "message",
            "datetime",
            "timestamp_desc",
            "root",
            "rule",
            "path",
            "source",
        ] {
            assert!(e[f].is_string(), "{f} missing in {e}");
        }
        assert!(e["timestamp"].is_i64());
        let dt = e["datetime"].as_str().unwrap();
        assert_eq!(dt.len(), 27, "fixed width: {dt}");
        assert!(dt.ends_with('Z'));
        assert!(*dt >= *last.as_str(), "sorted: {last} then {dt}");
        last = dt.to_owned();
    }
    let has = |source: &str, desc: &str| {
        events
            .iter()
            .any(|e| e["source"] == source && e["timestamp_desc"].as_str().unwrap().contains(desc))
    };
    assert!(has("update_log", "Update Log Run Start"));
    assert!(has("update_log", "Update Log Line"));
    assert!(has("registry_key", "Registry Key Last Written"));
    assert!(has("uninstall_folder", "Creation Time") || has("uninstall_folder", "Modification"));
    assert!(has("live_file", "Content Modification Time"));
    // (The example PEs carry no link time, so no `pe_header` event here.)
    // The earliest events are the PE link times of 2004 builds or the log, never after 2004-03-17
    // for the log's own line.
    let log = events
        .iter()
        .find(|e| e["timestamp_desc"] == "Update Log Run Start")
        .unwrap();
    assert_eq!(log["datetime"], "2004-03-17T15:15:02.421000Z");
    assert_eq!(log["rule"], "MS04-008");
}

#[test]
fn existing_systems_keep_their_verdicts() {
    // New fields only: the verdicts of a system without install evidence are as before.
    let (v, code) = json(&[], &system("w2k-sp4-patched"));
    assert_eq!(v["roots"][0]["verdict"], "patched");
    assert_eq!(code, 0);
}

// ---- ntfs-backdated.img: $STANDARD_INFORMATION back-dated, $FILE_NAME not ----------------

/// The times tests/images/build.sh gave ntfs-backdated.img: every file and folder created at
/// `FN` (libntfs-3g's clock fixed by NTFSPUT_NOW), then the live Nscm.exe's four SI times set
/// to `SI` by `ntfsput backdate-si`.
const FN: &str = "2004-03-17T15:15:04Z";
const SI: &str = "2001-08-15T12:00:00Z";
const LIVE: &str = "WINNT/system32/Windows Media/Server/Nscm.exe";
/// The volumes' first sectors (p1 = w2k-server1, p2 = its files only).
const VOLUMES: [(&str, u64); 2] = [("#p1", 2048), ("#p2", 18432)];

/// `tests/images/ntfs-backdated.img.gz`, decompressed into `dir`.
fn backdated_image(dir: &Path) -> PathBuf {
    let gz = repo().join("tests/images/ntfs-backdated.img.gz");
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let out = dir.join("ntfs-backdated.img");
    std::fs::write(&out, data).unwrap();
    out
}

fn volume<'a>(v: &'a Value, suffix: &str) -> &'a Value {
    v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["root"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no root {suffix}: {v:#}"))
}

fn live_nscm(root: &Value) -> &Value {
    root["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == LIVE)
        .unwrap_or_else(|| panic!("no live Nscm.exe: {root:#}"))
}

const TIME_FIELDS: [&str; 4] = ["created", "modified", "accessed", "changed"];

#[test]
fn back_dated_si_times_in_an_ntfs_image_give_the_note_and_are_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let img = backdated_image(tmp.path());
    let (v, code) = json(&[], &img);
    assert_eq!(code, 0);
    for (suffix, _) in VOLUMES {
        let root = volume(&v, suffix);
        assert_eq!(
            root["verdict"], "patched",
            "{suffix}: the verdict does not change"
        );
        let f = live_nscm(root);
        // Both sets of times in JSON: SI as the finding's own times, FN in `name_times`.
        for t in TIME_FIELDS {
            assert_eq!(f[t], SI, "{suffix} SI {t}");
            assert_eq!(f["name_times"][t], FN, "{suffix} FN {t}");
        }
        let note = format!(
            "timestamps_inconsistent: $STANDARD_INFORMATION created {SI} is earlier than $FILE_NAME created {FN}"
        );
        assert!(
            f["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().starts_with(&note)),
            "{suffix}: {f:#}"
        );
        // The reason, on the root and on the rule, names the file.
        let reason = root["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == "timestamps_inconsistent")
            .unwrap_or_else(|| panic!("{suffix}: no reason: {:#}", root["reasons"]));
        assert_eq!(reason["path"], LIVE);
        assert!(root["rule_verdicts"][0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "timestamps_inconsistent"));
        // Only the back-dated file: Nspmon.exe's SI and FN agree.
        let nspmon = root["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "WINNT/system32/Windows Media/Server/Nspmon.exe")
            .unwrap();
        assert_eq!(nspmon["created"], FN);
        assert!(!nspmon["notes"]
            .to_string()
            .contains("timestamps_inconsistent"));
        // The SI times are evidence of nothing: context, with the note; FN created is used.
        let inst = &root["system"]["rules"][0]["installed"];
        let ev = inst["evidence"].as_array().unwrap();
        for e in ev.iter().filter(|e| e["time"] == SI) {
            assert_eq!(e["path"], LIVE, "{e}");
            assert_eq!(e["bound"], "context", "never used: {e}");
            assert!(e["note"]
                .as_str()
                .unwrap()
                .starts_with("timestamps_inconsistent"));
        }
        assert!(ev
            .iter()
            .any(|e| e["field"] == "si_created" && e["path"] == LIVE && e["time"] == SI));
        let fn_created = ev
            .iter()
            .find(|e| e["field"] == "fn_created" && e["path"] == LIVE)
            .unwrap();
        assert_eq!(fn_created["time"], FN);
        assert_eq!(fn_created["bound"], "approximate");
        for k in ["earliest", "latest", "best"] {
            assert_ne!(inst[k], SI, "{suffix} {k}");
        }
        assert!(
            !inst["summary"].as_str().unwrap().contains("2001"),
            "{inst}"
        );
    }
    // p1 holds the update log and the hives: the answer is theirs, as in the folder scan.
    let inst = &volume(&v, "#p1")["system"]["rules"][0]["installed"];
    assert_eq!(inst["best"], "2004-03-17T15:15:02.421Z");
    assert_eq!(inst["best_source"], "update_log");
    assert_eq!(inst["consistent"], true);
    assert!(
        inst["summary"]
            .as_str()
            .unwrap()
            .contains("live file, backup copy agree"),
        "{inst}"
    );
    // p2 has only file-system times: the best guess is the $FILE_NAME time, not the SI one.
    let inst = &volume(&v, "#p2")["system"]["rules"][0]["installed"];
    assert_eq!(inst["best"], FN);
    assert!(inst["earliest"].is_null() && inst["latest"].is_null());
    assert!(inst["summary"]
        .as_str()
        .unwrap()
        .contains("only file-system times"));
}

#[test]
fn the_timeline_of_a_back_dated_file_has_separate_si_and_fn_events() {
    let tmp = tempfile::tempdir().unwrap();
    let img = backdated_image(tmp.path());
    let out = kbscan()
        .args(["scan", "-q", "--rule", "MS04-008", "-f", "timeline"])
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Sorted: by datetime (fixed width, so as text), then root, path, description.
    let key = |e: &Value| {
        ["datetime", "root", "path", "timestamp_desc"].map(|k| e[k].as_str().unwrap().to_owned())
    };
    for w in events.windows(2) {
        assert!(
            key(&w[0]) <= key(&w[1]),
            "not sorted: {} then {}",
            w[0],
            w[1]
        );
        assert!(w[0]["timestamp"].as_i64() <= w[1]["timestamp"].as_i64());
    }
    for (suffix, _) in VOLUMES {
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["root"].as_str().unwrap().ends_with(suffix) && e["path"] == LIVE)
            .collect();
        let at = |desc: &str| {
            let found: Vec<&&Value> = mine
                .iter()
                .filter(|e| e["timestamp_desc"] == desc)
                .collect();
            assert_eq!(found.len(), 1, "{suffix} {desc}: {mine:#?}");
            *found[0]
        };
        for desc in [
            "Creation Time",
            "Content Modification Time",
            "Last Access Time",
            "Metadata Modification Time",
        ] {
            let si = at(&format!("$SI {desc}"));
            assert_eq!(si["datetime"], "2001-08-15T12:00:00.000000Z");
            assert_eq!(si["timestamp"], 997_876_800_000_000i64);
            assert_eq!(si["source"], "live_file");
            assert_eq!(si["rule"], "MS04-008");
            assert!(si["note"]
                .as_str()
                .unwrap_or_else(|| panic!("no note on {si}"))
                .starts_with("timestamps_inconsistent"));
            let fname = at(&format!("$FN {desc}"));
            assert_eq!(fname["datetime"], "2004-03-17T15:15:04.000000Z");
            assert_eq!(fname["timestamp"], 1_079_536_504_000_000i64);
            assert!(fname.get("note").is_none(), "{fname}");
        }
        assert_eq!(mine.len(), 8, "{suffix}: four SI and four FN events");
    }
}

#[test]
fn as_of_on_the_back_dated_image_follows_the_evidence_not_the_si_times() {
    let tmp = tempfile::tempdir().unwrap();
    let img = backdated_image(tmp.path());
    // 2004-03-10: after the back-dated SI creation and MS04-008's publication, before the
    // install (a date before the publication is `not_yet_published` since verdict integrity
    // round 3). p1: the update log says vulnerable; p2: the SI time alone would have said
    // patched, but it is not evidence.
    let (v, code) = json(&["--as-of", "2004-03-10"], &img);
    let p1 = &volume(&v, "#p1")["as_of"];
    assert_eq!(p1["state"], "vulnerable_at_date", "{p1}");
    assert!(p1["rules"][0]["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("update log"));
    let p2 = &volume(&v, "#p2")["as_of"];
    assert_eq!(p2["state"], "unknown_at_date", "{p2}");
    let m = p2["rules"][0]["reasons"][0]["message"].as_str().unwrap();
    assert!(m.contains(&format!("best guess {FN}")), "{m}");
    assert!(!m.contains("2001"), "{m}");
    assert_eq!(code, 1, "a root was vulnerable at the date");
    // After the install: p1 patched (the key's last-write time bounds it), p2 still unknown.
    let (v, code) = json(&["--as-of", "2004-03-18"], &img);
    assert_eq!(volume(&v, "#p1")["as_of"]["state"], "patched_at_date");
    assert_eq!(volume(&v, "#p2")["as_of"]["state"], "unknown_at_date");
    assert_eq!(code, 2);
}

/// istat's `Created:<TAB>2004-03-17 15:15:04.000000000 (UTC)` as kbscan writes it.
fn istat_time(line: &str) -> Option<(String, String)> {
    let (label, value) = line.split_once(":\t")?;
    let field = match label {
        "Created" => "created",
        "File Modified" => "modified",
        "MFT Modified" => "changed",
        "Accessed" => "accessed",
        _ => return None,
    };
    let value = value.strip_suffix(" (UTC)")?;
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let frac = frac.trim_end_matches('0');
    let dot = if frac.is_empty() { "" } else { "." };
    Some((
        field.to_owned(),
        format!("{}{dot}{frac}Z", secs.replacen(' ', "T", 1)),
    ))
}

/// The SI and FN times sleuthkit's `istat` reads for `path` in the volume at `offset`.
fn sleuthkit_times(img: &Path, offset: u64, path: &str) -> (Value, Value) {
    let o = offset.to_string();
    let out = Command::new("ifind")
        .args(["-o", &o, "-n", path])
        .arg(img)
        .output()
        .unwrap();
    assert!(out.status.success(), "ifind: {out:?}");
    let inode = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = Command::new("istat")
        .args(["-o", &o, "-z", "UTC"])
        .arg(img)
        .arg(&inode)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success(), "istat: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut si, mut fname) = (serde_json::Map::new(), serde_json::Map::new());
    let mut section = None;
    for line in text.lines() {
        if line.starts_with("$STANDARD_INFORMATION Attribute Values") {
            section = Some(0);
        } else if line.starts_with("$FILE_NAME Attribute Values") {
            section = Some(1);
        } else if line.starts_with("Attributes:") {
            break;
        } else if let (Some(s), Some((k, v))) = (section, istat_time(line)) {
            let map = if s == 0 { &mut si } else { &mut fname };
            map.entry(k).or_insert(Value::String(v));
        }
    }
    (Value::Object(si), Value::Object(fname))
}

#[test]
fn kbscan_reads_the_times_sleuthkit_reads() {
    if !common::have_all(&["ifind", "istat"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = backdated_image(tmp.path());
    let (v, _) = json(&[], &img);
    for (suffix, offset) in VOLUMES {
        let (si, fname) = sleuthkit_times(&img, offset, LIVE);
        let f = live_nscm(volume(&v, suffix));
        for t in TIME_FIELDS {
            assert_eq!(f[t], si[t], "{suffix} SI {t}: kbscan vs istat {si}");
            assert_eq!(
                f["name_times"][t], fname[t],
                "{suffix} FN {t}: istat {fname}"
            );
        }
        // And they are the times the image was built with.
        assert_eq!(si["created"], SI);
        assert_eq!(fname["created"], FN);
    }
}
