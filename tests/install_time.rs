//! Install-time evidence, `--as-of` and `--format timeline` (issue 14) over the example system
//! `w2k-server1` (MS04-008 installed 2004-03-17 10:15:02 EST: update log, key times set in the
//! hive bytes, InstalledDate, time zone) and copies of it made conflicting.

mod common;

use std::path::Path;

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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
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
        ("2004-03-01", "vulnerable_at_date", 1),
        // Within the hour daylight saving time leaves open around the log's moment.
        ("2004-03-17T15:00:00Z", "unknown_at_date", 2),
        ("2004-03-18", "patched_at_date", 0),
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
    copy_dir(&system("w2k-server1"), &root);
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
