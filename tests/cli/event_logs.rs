//! The event log as a second witness (`SysEvent.Evt` under `%windir%\system32\config`, written
//! at test time by the EVT writer that libevt's `evtexport` reads back: tests/library/evt.rs):
//! records naming the update and the boots are install-time evidence and timeline events, a
//! fix is `patched_at_date` only from the first boot after its install, and a log whose times
//! run backwards is noted.

#[path = "../../crates/kbscan-core/src/evidence/evt/writer.rs"]
pub(crate) mod writer;

use std::path::Path;

use crate::common::{copy_tree, json, kbscan, system};
use writer::Event;

/// Unix seconds of a UTC time.
fn at(text: &str) -> u32 {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("a time");
    u32::try_from(t.unix_timestamp()).expect("fits")
}

/// w2k-server1 (KB832359 installed 2004-03-17, update log and registry) with another System log:
/// boots on 2004-03-10 and 2004-03-20, and a record naming the update on 2004-03-17.
fn server_with_log(dir: &Path, events: &[Event]) -> std::path::PathBuf {
    let root = dir.join("w2k-server1");
    copy_tree(&system("w2k-server1"), &root);
    // The bundled log is replaced by this one.
    let log = writer::normal(events);
    std::fs::write(root.join("WINNT/system32/config/SysEvent.Evt"), &log.bytes).unwrap();
    root
}

fn events() -> Vec<Event> {
    vec![
        Event::new(
            1,
            at("2004-03-10T08:00:00Z"),
            6009,
            "EventLog",
            &["5.00.", "2195", "Service Pack 4", "Uniprocessor Free"],
        ),
        Event::new(2, at("2004-03-10T08:00:01Z"), 6005, "EventLog", &[]),
        Event::new(
            3,
            at("2004-03-17T15:15:30Z"),
            4377,
            "NtServicePack",
            &["KB832359"],
        ),
        Event::new(4, at("2004-03-19T18:00:00Z"), 6006, "EventLog", &[]),
        Event::new(5, at("2004-03-20T09:00:00Z"), 6005, "EventLog", &[]),
    ]
}

fn as_of(root: &Path, date: &str) -> (String, String) {
    let o = kbscan()
        .args([
            "scan", "-q", "-f", "json", "--rule", "MS04-008", "--as-of", date,
        ])
        .arg(root)
        .output()
        .unwrap();
    let doc = json(&o);
    let rule = &doc["roots"][0]["as_of"]["rules"][0];
    (
        rule["state"].as_str().unwrap().to_owned(),
        rule["reasons"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn records_naming_the_update_and_boots_are_evidence_and_timeline_events() {
    let dir = tempfile::tempdir().unwrap();
    let root = server_with_log(dir.path(), &events());
    let o = kbscan()
        .args(["scan", "-q", "-f", "json", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let doc = json(&o);
    let ev = doc["roots"][0]["system"]["rules"][0]["installed"]["evidence"]
        .as_array()
        .unwrap()
        .clone();
    let of = |field: &str| -> Vec<&serde_json::Value> {
        ev.iter().filter(|e| e["field"] == field).collect()
    };
    let mention = of("event_mention");
    assert_eq!(mention.len(), 1, "{ev:#?}");
    assert_eq!(mention[0]["source"], "event_log");
    assert_eq!(
        mention[0]["bound"], "context",
        "an unsourced ID is not an install"
    );
    assert_eq!(mention[0]["time"], "2004-03-17T15:15:30Z");
    assert!(mention[0]["says"]
        .as_str()
        .unwrap()
        .contains("event ID 4377"));
    let boots: Vec<&str> = of("boot")
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert_eq!(
        boots,
        [
            "2004-03-10T08:00:00Z",
            "2004-03-10T08:00:01Z",
            "2004-03-20T09:00:00Z"
        ]
    );
    // The install time itself still comes from the update log and the registry.
    let inst = &doc["roots"][0]["system"]["rules"][0]["installed"];
    assert_eq!(inst["best_source"], "update_log");
    let o = kbscan()
        .args(["scan", "-q", "-f", "timeline", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // `timestamp_desc` names the log and the record.
    let descs = |d: &str| lines.iter().filter(|l| l["timestamp_desc"] == d).count();
    assert_eq!(descs("Boot (SysEvent.Evt record 1)"), 1);
    assert_eq!(descs("Boot (SysEvent.Evt record 2)"), 1);
    assert_eq!(descs("Boot (SysEvent.Evt record 5)"), 1);
    assert_eq!(descs("Event Log Record (SysEvent.Evt record 3)"), 1);
    // The HTML report lists the event evidence too.
    let o = kbscan()
        .args(["scan", "-q", "-f", "html", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(html.contains("<th>event log</th>"), "{html}");
    assert!(
        html.contains("event log record 3 (source NtServicePack"),
        "{html}"
    );
    assert!(
        html.contains("event log record 5: the event log service started"),
        "{html}"
    );
    // JSONL carries the same evidence as JSON.
    let o = kbscan()
        .args(["scan", "-q", "-f", "jsonl", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let jsonl = String::from_utf8(o.stdout).unwrap();
    assert!(jsonl.contains("\"field\":\"event_mention\""), "{jsonl}");
    assert!(jsonl.contains("\"field\":\"boot\""), "{jsonl}");
    assert!(lines
        .iter()
        .any(|l| l["source"] == "event_log"
            && l["message"].as_str().unwrap().contains("SysEvent.Evt")));
}

/// A fix whose files were in use runs from the next boot: between the install (2004-03-17)
/// and the first boot after it (2004-03-20) the state is unknown, not patched; without the
/// event log the install moment stands.
#[test]
fn a_fix_is_patched_at_a_date_only_after_the_first_boot_after_its_install() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    copy_tree(&system("w2k-server1"), &plain);
    std::fs::remove_file(plain.join("WINNT/system32/config/SysEvent.Evt")).unwrap();
    assert_eq!(as_of(&plain, "2004-03-18").0, "patched_at_date");
    let root = server_with_log(dir.path(), &events());
    let (state, why) = as_of(&root, "2004-03-18");
    assert_eq!(state, "unknown_at_date", "{why}");
    assert!(why.contains("2004-03-20T09:00:00Z"), "{why}");
    assert_eq!(as_of(&root, "2004-03-21").0, "patched_at_date");
    assert_eq!(as_of(&root, "2004-03-15").0, "vulnerable_at_date");
    // No boot after the install: the log ends before one, or the files (patched now) were
    // replaced without a restart; either way the install moment stands.
    let no_boot: Vec<Event> = events().into_iter().take(4).collect();
    let dir2 = tempfile::tempdir().unwrap();
    let root2 = server_with_log(dir2.path(), &no_boot);
    assert_eq!(as_of(&root2, "2004-03-18").0, "patched_at_date");
}

/// Record numbers and times grow together; a log whose times run backwards is said to be so
/// on its evidence and in the system's notes.
#[test]
fn a_log_whose_times_run_backwards_is_noted() {
    let mut ev = events();
    ev[3].time_generated = at("2004-02-01T00:00:00Z");
    ev[3].time_written = ev[3].time_generated;
    let dir = tempfile::tempdir().unwrap();
    let root = server_with_log(dir.path(), &ev);
    let o = kbscan()
        .args(["scan", "-q", "-f", "json", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let doc = json(&o);
    let notes = doc["roots"][0]["system"]["notes"].to_string();
    assert!(notes.contains("times run backwards"), "{notes}");
    let ev = &doc["roots"][0]["system"]["rules"][0]["installed"]["evidence"];
    assert!(ev
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "event_log")
        .all(|e| e["note"].as_str().unwrap_or_default().contains("backwards")));
    // Its records bear on the install (one names the update, one boot follows it): the
    // witness cannot be trusted, `install_time_conflict`, and `--as-of` after the boot is no
    // longer `patched_at_date`.
    let root_reasons = doc["roots"][0]["reasons"].as_array().unwrap();
    let conflict = root_reasons
        .iter()
        .find(|r| r["code"] == "install_time_conflict")
        .unwrap_or_else(|| panic!("{root_reasons:#?}"));
    assert!(
        conflict["message"]
            .as_str()
            .unwrap()
            .contains("run backwards"),
        "{conflict}"
    );
    assert_eq!(
        doc["roots"][0]["verdict"], "patched",
        "the verdict does not change"
    );
    let inst = &doc["roots"][0]["system"]["rules"][0]["installed"];
    assert_eq!(inst["consistent"], false);
    assert_eq!(as_of(&root, "2004-03-21").0, "unknown_at_date");
    // Before the install too: the registry key bounds it only from above, so with the
    // witnesses in conflict the date cannot be placed before every source.
    assert_eq!(as_of(&root, "2004-03-15").0, "unknown_at_date");
}

/// A record naming the update more than a day before the first update.exe run the update log
/// records: the two witnesses disagree, and it is said, not averaged.
#[test]
fn a_mention_before_the_update_log_is_a_conflict() {
    let ev = vec![
        Event::new(
            1,
            at("2004-03-01T08:00:00Z"),
            6009,
            "EventLog",
            &["5.00.", "2195", "Service Pack 4", "Uniprocessor Free"],
        ),
        Event::new(2, at("2004-03-01T08:00:01Z"), 6005, "EventLog", &[]),
        Event::new(
            3,
            at("2004-03-05T12:00:00Z"),
            4377,
            "NtServicePack",
            &["KB832359"],
        ),
        Event::new(4, at("2004-03-19T18:00:00Z"), 6006, "EventLog", &[]),
        Event::new(5, at("2004-03-20T09:00:00Z"), 6005, "EventLog", &[]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let root = server_with_log(dir.path(), &ev);
    let o = kbscan()
        .args(["scan", "-q", "-f", "json", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let doc = json(&o);
    let r = &doc["roots"][0];
    assert_eq!(r["verdict"], "patched");
    let conflict = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "install_time_conflict")
        .unwrap_or_else(|| panic!("{}", r["reasons"]));
    let m = conflict["message"].as_str().unwrap();
    assert!(m.contains("record 3"), "{m}");
    assert!(m.contains("2004-03-05T12:00:00Z"), "{m}");
    assert_eq!(r["system"]["rules"][0]["installed"]["consistent"], false);
    // The update log's moment is still what `best` says: reported, not averaged.
    assert_eq!(
        r["system"]["rules"][0]["installed"]["best_source"],
        "update_log"
    );
    assert_eq!(as_of(&root, "2004-03-21").0, "unknown_at_date");
    // Within a day of the first run it is no conflict.
    let mut near = ev.clone();
    near[2].time_generated = at("2004-03-16T20:00:00Z");
    near[2].time_written = near[2].time_generated;
    let dir2 = tempfile::tempdir().unwrap();
    let root2 = server_with_log(dir2.path(), &near);
    let o = kbscan()
        .args(["scan", "-q", "-f", "json", "--rule", "MS04-008"])
        .arg(&root2)
        .output()
        .unwrap();
    let doc = json(&o);
    assert!(!doc["roots"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "install_time_conflict"));
    assert_eq!(as_of(&root2, "2004-03-21").0, "patched_at_date");
}

/// The example system's System log (`sample_binaries/systems/w2k-server1/WINNT/system32/config/
/// SysEvent.Evt`) is what the writer makes of [`events`]: the boot before the install, a record
/// naming KB832359 at the install, the clean shutdown and the boot after it
/// (`KBSCAN_WRITE_SAMPLE_EVT=1` writes it again).
#[test]
fn the_example_event_log_is_the_writers_output() {
    let path = system("w2k-server1").join("WINNT/system32/config/SysEvent.Evt");
    let want = writer::normal(&events()).bytes;
    if std::env::var_os("KBSCAN_WRITE_SAMPLE_EVT").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    assert!(
        std::fs::read(&path).unwrap() == want,
        "{} is stale: run with KBSCAN_WRITE_SAMPLE_EVT=1",
        path.display()
    );
}

/// The event logs are read once per system, whatever the number of rules: a log too large to
/// read is one note, not one per rule, and a log whose times run backwards is noted once.
#[test]
fn the_logs_are_read_once_per_system() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = events();
    ev[3].time_generated = at("2004-02-01T00:00:00Z");
    ev[3].time_written = ev[3].time_generated;
    let root = server_with_log(dir.path(), &ev);
    // A sparse Application log one byte over the bound.
    std::fs::File::create(root.join("WINNT/system32/config/AppEvent.Evt"))
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    let o = kbscan()
        .args(["scan", "-q", "-f", "json"])
        .arg(&root)
        .output()
        .unwrap();
    let doc = json(&o);
    let rules = doc["roots"][0]["rule_verdicts"].as_array().unwrap().len();
    assert!(rules > 1, "every built-in rule is loaded");
    let notes: Vec<String> = doc["roots"][0]["system"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let count = |s: &str| notes.iter().filter(|n| n.contains(s)).count();
    assert_eq!(count("AppEvent.Evt: larger than"), 1, "{notes:#?}");
    assert_eq!(count("times run backwards"), 1, "{notes:#?}");
}
