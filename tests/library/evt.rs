//! The test writer's event logs (crates/kbscan-core/src/evidence/evt/writer.rs) read by an
//! independent reader, libevt's `evtexport` and `evtinfo` (Debian: libevt-utils), and by
//! kbscan: both must see the same records. This proves the writer writes real EVT files, so
//! the unit tests built on it test the reader against the format, not against itself.

use crate::common;

#[path = "../../crates/kbscan-core/src/evidence/evt/writer.rs"]
mod writer;

use std::path::Path;
use std::process::Command;

use kbscan_core::evidence::evt::{EvtFile, EvtTime, ReadMode};
use writer::Event;

const T0: u32 = 1_079_532_131; // 2004-03-17T14:02:11Z

/// A System log with the record kinds the reader cares about: the event log service's boot
/// events (6009 with its version strings, 6005), a record naming KB832359 (source
/// NtServicePack, ID 1: no ID update.exe writes has been sourced), a SID, data, and text
/// beyond ASCII.
fn events(first: u32) -> Vec<Event> {
    let mut v = Vec::new();
    for i in 0..14u32 {
        let n = first + i;
        let t = T0 + 60 * i;
        let e = match i % 4 {
            0 => Event::new(
                n,
                t,
                0x4000_0000 | 6009,
                "EventLog",
                &["5.00.", "2195", "Service Pack 4", "Uniprocessor Free"],
            ),
            1 => Event::new(n, t, 0x4000_0000 | 6005, "EventLog", &[]),
            2 => {
                let mut e = Event::new(
                    n,
                    t,
                    1,
                    "NtServicePack",
                    &["KB832359", "Jos\u{e9} \u{2013} \u{65e5}"],
                );
                e.sid = writer::local_system_sid();
                e.data = vec![1, 2, 3, 4, 5];
                e
            }
            _ => Event::new(
                n,
                t,
                0xc000_1b58,
                "Service Control Manager",
                &["Alerter", "%%1053"],
            ),
        };
        v.push(e);
    }
    v
}

/// One record as `evtexport` prints it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Exported {
    number: u32,
    created: String,
    written: String,
    event_id: u32,
    source: String,
    computer: String,
    strings: Vec<String>,
    sid: Option<String>,
}

/// Parses `evtexport`'s text: blocks separated by blank lines, lines `Key<tabs>: value`.
fn parse_export(text: &str) -> Vec<Exported> {
    let mut out = Vec::new();
    let mut cur: Option<Exported> = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once("\t: ") else {
            if let Some(e) = cur.take() {
                out.push(e);
            }
            continue;
        };
        let key = key.trim_end_matches('\t');
        let e = cur.get_or_insert_with(Exported::default);
        match key {
            "Event number" => e.number = value.parse().expect("event number"),
            "Creation time" => e.created = value.to_owned(),
            "Written time" => e.written = value.to_owned(),
            "Event identifier" => {
                let hex = value.split_whitespace().next().expect("identifier");
                e.event_id = u32::from_str_radix(hex.trim_start_matches("0x"), 16).expect("hex");
            }
            "Source name" => e.source = value.to_owned(),
            "Computer name" => e.computer = value.to_owned(),
            "User security identifier" => e.sid = Some(value.to_owned()),
            k if k.starts_with("String: ") => e.strings.push(value.to_owned()),
            _ => {}
        }
    }
    if let Some(e) = cur {
        out.push(e);
    }
    out
}

/// `evtexport`'s time format: `Mar 17, 2004 14:02:11 UTC`.
fn libevt_time(t: EvtTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = t.datetime();
    format!(
        "{} {:02}, {} {:02}:{:02}:{:02} UTC",
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.day(),
        d.year(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

fn kbscan_view(bytes: &[u8]) -> Vec<Exported> {
    let f = EvtFile::open(bytes);
    f.records()
        .map(|r| Exported {
            number: r.record_number,
            created: libevt_time(r.time_generated),
            written: libevt_time(r.time_written),
            event_id: r.event_id.0,
            source: r.source.to_string_lossy(),
            computer: r.computer.to_string_lossy(),
            strings: r.strings.iter().map(|s| s.to_string_lossy()).collect(),
            sid: r.user_sid.clone(),
        })
        .collect()
}

fn run(tool: &str, path: &Path) -> String {
    let o = Command::new(tool)
        .arg(path)
        .output()
        .expect("run libevt tool");
    assert!(o.status.success(), "{tool} {}: {o:?}", path.display());
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// The events as written, in the form both readers are compared in.
fn intended(events: &[Event]) -> Vec<Exported> {
    events
        .iter()
        .map(|e| Exported {
            number: e.record_number,
            created: libevt_time(EvtTime(e.time_generated)),
            written: libevt_time(EvtTime(e.time_written)),
            event_id: e.event_id,
            source: e.source.clone(),
            computer: e.computer.clone(),
            strings: e.strings.clone(),
            sid: (!e.sid.is_empty()).then(|| "S-1-5-18".to_owned()),
        })
        .collect()
}

/// Writes `bytes`, reads them with evtexport and kbscan, and checks both see the records
/// written (`expected`); returns evtinfo's text.
fn same_records(dir: &Path, name: &str, bytes: &[u8], expected: &[Event]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write log");
    let theirs = parse_export(&run("evtexport", &path));
    let ours = kbscan_view(bytes);
    assert_eq!(
        theirs,
        intended(expected),
        "{name}: evtexport and the writer differ"
    );
    assert_eq!(ours, theirs, "{name}: kbscan and evtexport differ");
    run("evtinfo", &path)
}

#[test]
fn libevt_reads_the_writers_logs_as_kbscan_does() {
    if !common::have_all(&["evtexport", "evtinfo"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ev = events(101);

    let normal = writer::normal(&ev);
    let info = same_records(dir.path(), "normal.evt", &normal.bytes, &ev);
    assert!(info.contains("Number of records\t\t: 14"), "{info}");
    assert!(!info.contains("Is corrupted"), "{info}");

    // Wrapped, the record cut by the end of the file at several places (in its length,
    // signature, fixed part, strings).
    for cut in [4, 8, 20, 60, 100] {
        let w = writer::wrapped(&ev, 5, cut, 0x30);
        assert!(
            matches!(EvtFile::open(&w.bytes).mode, ReadMode::Walked { .. }),
            "cut {cut}"
        );
        let info = same_records(dir.path(), &format!("wrapped-{cut}.evt"), &w.bytes, &ev);
        assert!(info.contains("Has wrapped"), "{info}");
    }

    // Dirty: the header still names the EOF record's place of six records ago.
    let d = writer::dirty(&ev, 8);
    let info = same_records(dir.path(), "dirty.evt", &d.bytes, &ev);
    assert!(info.contains("Is dirty"), "{info}");

    // Cut inside the last record: the EOF record is gone; both read the 13 whole records.
    let cut = &normal.bytes[..normal.offsets[13] + 40];
    same_records(dir.path(), "cut.evt", cut, &ev[..13]);
}
