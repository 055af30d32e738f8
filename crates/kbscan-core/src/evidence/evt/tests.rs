//! Logs built by the test writer (`writer.rs`, from the format description): normal, wrapped,
//! dirty, cut, damaged and hostile, each read back.

use super::writer::{self, Event};
use super::*;

const BOOT: u32 = 1_079_532_131; // 2004-03-17T14:02:11Z
const INSTALL: u32 = 1_079_536_502; // 2004-03-17T15:15:02Z
const STOP: u32 = 1_079_536_840; // 2004-03-17T15:20:40Z
const REBOOT: u32 = 1_079_536_925; // 2004-03-17T15:22:05Z

/// 6005 and 6009 carry the full ID the event log service writes: severity "informational"
/// (bits 30–31 = 01) over the code Event Viewer shows. Only the code is compared.
const INFORMATIONAL: u32 = 0x4000_0000;

/// A System log around an install of KB832359. The record naming the update uses the source
/// `NtServicePack` and ID 1: no ID that update.exe writes has been sourced, and nothing here
/// reads the ID of a mention.
fn system_log() -> Vec<Event> {
    let mut hotfix = Event::new(3, INSTALL, 1, "NtServicePack", &["KB832359"]);
    hotfix.sid = writer::local_system_sid();
    hotfix.data = b"\x01\x02\x03".to_vec();
    vec![
        Event::new(
            1,
            BOOT,
            INFORMATIONAL | 6009,
            "EventLog",
            &["5.00.", "2195", "Service Pack 4", "Uniprocessor Free"],
        ),
        Event::new(2, BOOT, INFORMATIONAL | 6005, "EventLog", &[]),
        hotfix,
        Event::new(4, STOP, INFORMATIONAL | 6006, "EventLog", &[]),
        Event::new(
            5,
            REBOOT,
            INFORMATIONAL | 6009,
            "EventLog",
            &["5.00.", "2195", "Service Pack 4", "Uniprocessor Free"],
        ),
        Event::new(6, REBOOT, INFORMATIONAL | 6005, "EventLog", &[]),
    ]
}

/// Many events, of varied sizes, for wrapping.
fn many(n: u32) -> Vec<Event> {
    (1..=n)
        .map(|i| {
            let text = "x".repeat((i as usize * 7) % 23);
            Event::new(
                i,
                BOOT + i,
                7035,
                "Service Control Manager",
                &[&text, "start"],
            )
        })
        .collect()
}

fn numbers(f: &EvtFile<'_>) -> Vec<u32> {
    f.records().map(|r| r.record_number).collect()
}

fn text(s: &str) -> WideText {
    WideText(s.encode_utf16().collect())
}

#[test]
fn a_normal_log_reads_every_field() {
    let w = writer::normal(&system_log());
    let f = EvtFile::open(&w.bytes);
    assert!(f.notices.is_empty(), "{:?}", f.notices);
    let h = f.header.expect("header");
    assert_eq!((h.start_offset, h.end_offset), (0x30, w.eof_at as u32));
    assert_eq!((h.current_record_number, h.oldest_record_number), (7, 1));
    assert!(!h.dirty() && !h.wrapped());
    assert_eq!(
        f.mode,
        ReadMode::Walked {
            from: 0x30,
            eof_at: w.eof_at as u32,
            eof_from_header: true
        }
    );
    let recs: Vec<Record> = f.records().collect();
    assert_eq!(recs.len(), 6);
    let offsets: Vec<usize> = recs.iter().map(|r| r.offset as usize).collect();
    assert_eq!(offsets, w.offsets);
    let r = &recs[2];
    assert_eq!(r.record_number, 3);
    assert_eq!(
        r.time_generated.timestamp().to_string(),
        "2004-03-17T15:15:02Z"
    );
    assert_eq!(
        r.time_generated.datetime().unix_timestamp(),
        i64::from(INSTALL)
    );
    assert_eq!(r.time_written, EvtTime(INSTALL));
    assert_eq!(r.event_id, EventId(1));
    assert_eq!(r.event_type, EventType::Information);
    assert_eq!(r.source, text("NtServicePack"));
    assert_eq!(r.computer, text("W2K-SERVER1"));
    assert_eq!(r.user_sid.as_deref(), Some("S-1-5-18"));
    assert_eq!(r.strings, vec![text("KB832359")]);
    assert_eq!(r.data_length, 3);
    assert!(r.issues.is_empty() && !r.wraps);
    let boot = &recs[0];
    assert_eq!(boot.event_id.code(), 6009);
    assert_eq!(boot.event_id.0, 0x4000_1779);
    assert_eq!(boot.strings.len(), 4);
    assert_eq!(boot.strings[2].escaped(), "Service Pack 4");
    assert_eq!(recs[1].strings, Vec::<WideText>::new());
}

#[test]
fn an_empty_log_has_no_records_and_no_notice() {
    let w = writer::normal(&[]);
    let f = EvtFile::open(&w.bytes);
    assert!(f.is_empty());
    assert!(f.notices.is_empty(), "{:?}", f.notices);
    assert_eq!(f.eof.map(|e| e.begin_record), Some(0x30));
}

#[test]
fn a_wrapped_log_is_read_around_the_end_of_the_file() {
    let events = many(12);
    // The split record cut at every place in its first 64 bytes, including inside its
    // length, its signature and its fixed fields, and in its last bytes.
    let len4 = writer::record(&events[4]).len();
    for cut in (1..64).chain([len4 - 4, len4 - 1]) {
        let w = writer::wrapped(&events, 4, cut, 0x40);
        let f = EvtFile::open(&w.bytes);
        assert!(f.header.is_some_and(|h| h.wrapped()));
        assert!(f.notices.is_empty(), "cut {cut}: {:?}", f.notices);
        assert_eq!(numbers(&f), (1..=12).collect::<Vec<_>>(), "cut {cut}");
        let recs: Vec<Record> = f.records().collect();
        assert!(recs[4].wraps, "cut {cut}");
        assert_eq!(recs.iter().filter(|r| r.wraps).count(), 1);
        assert_eq!(recs[4].strings[1], text("start"));
        assert_eq!(recs[4].offset as usize, w.offsets[4]);
        assert!(
            recs[5].offset < recs[4].offset,
            "continues after the header"
        );
    }
}

#[test]
fn a_wrapped_log_without_its_eof_record_is_scanned_around_the_end() {
    let events = many(12);
    for cut in [4usize, 10, 40] {
        let w = writer::wrapped(&events, 4, cut, 0x40);
        let mut b = w.bytes.clone();
        b[w.eof_at..w.eof_at + 0x28].fill(0);
        let f = EvtFile::open(&b);
        assert_eq!(f.mode, ReadMode::Scanned);
        assert_eq!(numbers(&f), (1..=12).collect::<Vec<_>>(), "cut {cut}");
        assert_eq!(f.notices, vec![Notice::NoEofRecord], "cut {cut}");
        assert_eq!(f.records().filter(|r| r.wraps).count(), 1);
    }
}

#[test]
fn a_wrapped_log_whose_eof_record_is_cut_by_the_end_of_the_file() {
    let events = many(6);
    // All records before the end; the EOF record straddles it.
    let total = writer::size_of(&events);
    for eof_before_end in [4usize, 8, 20, 36] {
        let size = 0x30 + total + 0x28 + 0x40;
        let first_at = size - total - eof_before_end;
        let w = writer::log_at(&events, size, first_at, writer::WRAP);
        let f = EvtFile::open(&w.bytes);
        assert!(f.notices.is_empty(), "{eof_before_end}: {:?}", f.notices);
        assert_eq!(numbers(&f), (1..=6).collect::<Vec<_>>());
        // The same with a dirty header: the cut EOF record is found by searching.
        let mut b = w.bytes.clone();
        b[0x24] |= 1;
        b[0x14..0x18].copy_from_slice(&0x30u32.to_le_bytes());
        let f = EvtFile::open(&b);
        assert_eq!(numbers(&f), (1..=6).collect::<Vec<_>>(), "{eof_before_end}");
        assert!(matches!(
            f.mode,
            ReadMode::Walked {
                eof_from_header: false,
                ..
            }
        ));
    }
}

#[test]
fn a_dirty_log_is_read_to_its_eof_record_not_to_the_header_end() {
    let events = system_log();
    let w = writer::dirty(&events, 2);
    let f = EvtFile::open(&w.bytes);
    assert!(f.header.is_some_and(|h| h.dirty()));
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(
        f.notices,
        vec![Notice::HeaderNotCurrent {
            start: 0x30,
            end: w.offsets[2] as u32,
            eof_at: w.eof_at as u32
        }]
    );
    // A clean header pointing at a record instead of the EOF record: searched for as well.
    let mut b = w.bytes.clone();
    b[0x24] = 0;
    let f = EvtFile::open(&b);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_dirty_wrapped_log_with_a_stale_header() {
    let events = many(10);
    let w = writer::wrapped(&events, 6, 16, 0x20);
    let mut b = w.bytes.clone();
    // The header as it was three records earlier: EndOffset at record 8's place.
    b[0x14..0x18].copy_from_slice(&(w.offsets[7] as u32).to_le_bytes());
    b[0x24..0x28].copy_from_slice(&(writer::WRAP | writer::DIRTY).to_le_bytes());
    let f = EvtFile::open(&b);
    assert_eq!(numbers(&f), (1..=10).collect::<Vec<_>>());
    assert!(f
        .notices
        .iter()
        .all(|n| matches!(n, Notice::HeaderNotCurrent { .. })));
}

#[test]
fn a_log_cut_inside_a_record_is_scanned_and_the_cut_record_named() {
    let events = system_log();
    let w = writer::normal(&events);
    let cut_at = w.offsets[5] + 30;
    let f = EvtFile::open(&w.bytes[..cut_at]);
    assert_eq!(f.mode, ReadMode::Scanned);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5]);
    assert!(f.notices.contains(&Notice::NoEofRecord), "{:?}", f.notices);
    assert!(f.notices.iter().any(|n| matches!(
        n,
        Notice::Record {
            error: RecordError::Truncated { .. },
            ..
        }
    )));
    // Cut inside the first 12 bytes of the last record: still named.
    let f = EvtFile::open(&w.bytes[..w.offsets[5] + 9]);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5]);
}

#[test]
fn without_a_header_the_records_are_scanned() {
    let events = system_log();
    let w = writer::normal(&events);
    let mut b = w.bytes.clone();
    b[4..8].copy_from_slice(b"XXXX");
    let f = EvtFile::open(&b);
    assert!(f.header.is_none());
    assert_eq!(f.mode, ReadMode::Scanned);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
    assert!(matches!(
        f.notices[0],
        Notice::Header(HeaderError::BadSignature { .. })
    ));
    // Version 3.0, sizes wrong, too short.
    for (at, v) in [(8usize, 3u32), (0, 0x40), (0x2c, 0)] {
        let mut b = w.bytes.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let f = EvtFile::open(&b);
        assert!(f.header.is_none());
        assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
    }
    let f = EvtFile::open(&w.bytes[..20]);
    assert_eq!(
        f.notices,
        vec![Notice::Header(HeaderError::TooShort { len: 20 })]
    );
}

/// Overwrites the u32 at `field` of record `i`.
fn poke(w: &writer::Written, i: usize, field: usize, v: u32) -> Vec<u8> {
    let mut b = w.bytes.clone();
    let at = w.offsets[i] + field;
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    b
}

#[test]
fn a_record_with_a_bad_length_is_a_notice_and_the_next_one_is_read() {
    let w = writer::normal(&system_log());
    for bad in [0u32, 1, 59, 61, u32::MAX, 0x7fff_fff0, 1 << 20] {
        let b = poke(&w, 2, 0, bad);
        let f = EvtFile::open(&b);
        assert_eq!(numbers(&f), vec![1, 2, 4, 5, 6], "length {bad}");
        assert!(
            f.notices.iter().any(
                |n| matches!(n, Notice::Record { offset, .. } if *offset as usize == w.offsets[2])
            ),
            "length {bad}: {:?}",
            f.notices
        );
        assert!(f.notices.iter().any(|n| matches!(n, Notice::Gap { .. })));
        assert!(f.notices.iter().any(|n| matches!(
            n,
            Notice::NumberGap {
                previous: 2,
                found: 4,
                ..
            }
        )));
    }
    // A trailing length that disagrees, and a broken signature.
    let len = writer::record(&system_log()[2]).len();
    let b = poke(&w, 2, len - 4, 0);
    assert_eq!(numbers(&EvtFile::open(&b)), vec![1, 2, 4, 5, 6]);
    let b = poke(&w, 2, 4, 0x1234_5678);
    assert_eq!(numbers(&EvtFile::open(&b)), vec![1, 2, 4, 5, 6]);
    // The last record's length running past the EOF record.
    let last = writer::record(&system_log()[5]).len() as u32;
    let b = poke(&w, 5, 0, last + 8);
    let f = EvtFile::open(&b);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5]);
    assert!(f.notices.iter().any(|n| matches!(
        n,
        Notice::Record {
            error: RecordError::PastEof { .. },
            ..
        }
    )));
}

#[test]
fn offsets_and_counts_inside_a_record_are_checked() {
    let w = writer::normal(&system_log());
    let len = writer::record(&system_log()[2]).len() as u32;
    let read3 = |b: &[u8]| {
        EvtFile::open(b)
            .records()
            .find(|r| r.record_number == 3)
            .expect("record 3")
    };
    // StringOffset past the record, or inside the fixed part.
    for off in [len, len + 100, u32::MAX, 0x10] {
        let r = read3(&poke(&w, 2, 0x24, off));
        assert!(r.strings.is_empty());
        assert_eq!(r.issues, vec![RecordIssue::StringsOutside { offset: off }]);
    }
    // SID and data offsets past the record.
    let r = read3(&poke(&w, 2, 0x2c, len - 2));
    assert_eq!(r.user_sid, None);
    assert!(matches!(r.issues[..], [RecordIssue::BadSid { .. }]));
    let r = read3(&poke(&w, 2, 0x28, u32::MAX));
    assert!(matches!(r.issues[..], [RecordIssue::BadSid { .. }]));
    let r = read3(&poke(&w, 2, 0x34, u32::MAX - 1));
    assert!(matches!(r.issues[..], [RecordIssue::DataOutside { .. }]));
    assert_eq!(r.strings, vec![text("KB832359")]);
    // NumStrings huge: what is there is read, the rest named missing.
    let mut b = w.bytes.clone();
    let at = w.offsets[2] + 0x1a;
    b[at..at + 2].copy_from_slice(&200u16.to_le_bytes());
    let r = read3(&b);
    assert_eq!(r.strings[0], text("KB832359"));
    assert!(r.strings.len() < 200);
    assert!(r
        .issues
        .iter()
        .any(|i| matches!(i, RecordIssue::StringsMissing { declared: 200, .. })));
    b[at..at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    let r = read3(&b);
    assert!(r.strings.len() <= MAX_STRINGS);
    assert!(r
        .issues
        .contains(&RecordIssue::TooManyStrings { declared: u16::MAX }));
}

#[test]
fn strings_and_names_without_a_terminator_are_kept_and_named() {
    // The last string fills the record to its end with no NUL.
    let mut e = Event::new(1, BOOT, 1, "Src", &[]);
    e.strings = vec!["abc".into()];
    let mut r = writer::record(&e);
    let so = u32::from_le_bytes([r[0x24], r[0x25], r[0x26], r[0x27]]) as usize;
    // Overwrite the string's NUL and the padding with text.
    let var_end = r.len() - 4;
    for i in (so + 6..var_end).step_by(2) {
        r[i] = b'Z';
        r[i + 1] = 0;
    }
    let rec = decode_record(&r, 0x30);
    assert_eq!(rec.strings.len(), 1);
    assert!(rec.strings[0].to_string_lossy().starts_with("abcZ"));
    assert_eq!(
        rec.issues,
        vec![RecordIssue::UnterminatedString { index: 0 }]
    );
    // A source name running to the end of the record.
    let mut r = writer::record(&Event::new(1, BOOT, 1, "S", &[]));
    let var_end = r.len() - 4;
    for i in (0x38..var_end).step_by(2) {
        r[i] = b'A';
        r[i + 1] = 0;
    }
    let rec = decode_record(&r, 0x30);
    assert!(rec.issues.contains(&RecordIssue::UnterminatedSource));
    assert!(rec.issues.contains(&RecordIssue::UnterminatedComputer));
    assert!(rec.source.units().iter().all(|&u| u == u16::from(b'A')));
}

#[test]
fn text_is_decoded_losslessly() {
    // An unpaired surrogate and an escape character survive as escapes.
    let mut r = writer::record(&Event::new(1, BOOT, 1, "S", &["ab"]));
    let so = u32::from_le_bytes([r[0x24], r[0x25], r[0x26], r[0x27]]) as usize;
    r[so..so + 2].copy_from_slice(&0xd800u16.to_le_bytes());
    r[so + 2..so + 4].copy_from_slice(&0x1bu16.to_le_bytes());
    let rec = decode_record(&r, 0x30);
    assert_eq!(rec.strings[0].units(), &[0xd800, 0x1b]);
    assert_eq!(rec.strings[0].escaped(), "\\u{d800}\\x1b");
    assert_eq!(
        crate::escape::unescape(&rec.strings[0].escaped()),
        Some(rec.strings[0].to_bytes())
    );
}

#[test]
fn long_strings_are_cut_at_the_bound() {
    let long = "k".repeat(MAX_STRING_UNITS + 10);
    let e = Event::new(1, BOOT, 1, "S", &[&long, "after"]);
    let rec = decode_record(&writer::record(&e), 0x30);
    assert_eq!(rec.strings[0].units().len(), MAX_STRING_UNITS);
    assert_eq!(rec.strings[1], text("after"));
    assert_eq!(rec.issues, vec![RecordIssue::StringCut { index: 0 }]);
}

#[test]
fn two_eof_records_the_newest_wins() {
    // A dirty log whose header points nowhere, with a stale EOF record left in the space
    // after the real one.
    let events = system_log();
    let w = writer::normal(&events);
    let mut b = w.bytes.clone();
    let at = w.eof_at + 0x28 + 0x40;
    let stale = writer::eof_record(0x30, at as u32, 3, 1);
    b[at..at + 0x28].copy_from_slice(&stale);
    b[0x24] = 1;
    let f = EvtFile::open(&b);
    assert_eq!(f.eof.map(|e| e.offset), Some(w.eof_at as u32));
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
    assert!(f
        .notices
        .iter()
        .any(|n| matches!(n, Notice::SeveralEofRecords { count: 2, .. })));
}

#[test]
fn an_eof_record_naming_an_oldest_record_outside_the_file_falls_back_to_scanning() {
    let w = writer::normal(&system_log());
    let mut b = w.bytes.clone();
    let at = w.eof_at + 20;
    b[at..at + 4].copy_from_slice(&0xffff_0000u32.to_le_bytes());
    let f = EvtFile::open(&b);
    assert_eq!(f.mode, ReadMode::Scanned);
    assert_eq!(numbers(&f), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn kb_mentions_and_the_service_events() {
    let w = writer::normal(&system_log());
    let f = EvtFile::open(&w.bytes);
    let kb = KbId::parse("KB832359").expect("kb");
    let ev = kb_evidence(&f, kb);
    assert_eq!(ev.mentions.len(), 1);
    let m = &ev.mentions[0];
    assert_eq!((m.record_number, m.string_index), (3, 0));
    assert_eq!(
        m.time_generated.timestamp().to_string(),
        "2004-03-17T15:15:02Z"
    );
    assert_eq!(m.source, text("NtServicePack"));
    let kinds: Vec<(ServiceEventKind, u32)> = ev
        .service_events
        .iter()
        .map(|e| (e.kind, e.time_generated.0))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ServiceEventKind::OsVersion, BOOT),
            (ServiceEventKind::Started, BOOT),
            (ServiceEventKind::Stopped, STOP),
            (ServiceEventKind::OsVersion, REBOOT),
            (ServiceEventKind::Started, REBOOT),
        ]
    );
    assert_eq!(ev.boots().count(), 4);
    assert_eq!(ev.service_events[0].strings[2], text("Service Pack 4"));
    assert!(!ev.truncated);
    // Another update is not named; 6005 from another source is not the service's.
    assert!(kb_evidence(&f, KbId::parse("KB83235").expect("kb"))
        .mentions
        .is_empty());
    let mut other = system_log();
    other[1].source = "NotEventLog".into();
    let f2b = writer::normal(&other);
    let ev = kb_evidence(&EvtFile::open(&f2b.bytes), kb);
    assert_eq!(ev.service_events.len(), 4);
}

#[test]
fn kb_ids_are_parsed_and_matched_as_whole_names() {
    assert_eq!(KbId::parse("kb832359").map(KbId::number), Some(832_359));
    assert_eq!(KbId::parse(" Q832359 ").map(KbId::number), Some(832_359));
    assert_eq!(
        KbId::parse("832359").map(|k| k.to_string()),
        Some("KB832359".into())
    );
    for bad in ["", "KB", "KBx1", "KB123456789", "é1", "aé", "KB-1", "Q"] {
        assert_eq!(KbId::parse(bad), None, "{bad}");
    }
    let kb = KbId::parse("KB832359").expect("kb");
    for yes in [
        "KB832359",
        "kb832359",
        "Windows 2000 Hotfix KB832359 was installed",
        "(KB832359)",
        "WindowsMedia-KB832359-x86-ENU.exe",
        "Q832359",
        "$NtUninstallKB832359$",
        "XKB832359",
    ] {
        assert!(kb.named_in(&text(yes)), "{yes}");
    }
    for no in [
        "KB8323590",
        "KB83235",
        "KB 832359",
        "832359",
        "AQ832359",
        "",
    ] {
        assert!(!kb.named_in(&text(no)), "{no}");
    }
}

#[test]
fn the_event_log_source_is_matched_without_case_or_spaces() {
    for yes in ["EventLog", "eventlog", "Event Log", "EVENTLOG"] {
        assert!(is_event_log_source(&text(yes)), "{yes}");
    }
    for no in ["EventLogX", "Event", "", "Eventlog\u{0}"] {
        assert!(!is_event_log_source(&text(no)), "{no}");
    }
}

/// A small deterministic generator (xorshift) for the mutation test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn check_bounds(f: &EvtFile<'_>) {
    assert!(f.len() <= MAX_RECORDS);
    assert!(f.notices.len() <= MAX_NOTICES);
    for r in f.records() {
        assert!(r.strings.len() <= MAX_STRINGS);
        assert!(r
            .strings
            .iter()
            .all(|s| s.units().len() <= MAX_STRING_UNITS));
        assert!(r.length >= MIN_RECORD_SIZE);
        assert!((r.offset as usize) < f.ring.bytes.len());
    }
    let ev = kb_evidence(f, KbId(832_359));
    assert!(ev.mentions.len() <= MAX_MENTIONS);
}

#[test]
fn damaged_logs_never_panic() {
    let bases = [
        writer::normal(&system_log()).bytes,
        writer::wrapped(&many(12), 4, 18, 0x40).bytes,
        writer::dirty(&system_log(), 3).bytes,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for base in &bases {
        for _ in 0..400 {
            let mut b = base.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(b.len());
                match rng.below(4) {
                    0 => b[at] = rng.next() as u8,
                    1 => {
                        let at = at & !3;
                        if at + 4 <= b.len() {
                            let v = [0u32, 0x28, 0x30, 60, u32::MAX, SIGNATURE][rng.below(6)];
                            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                    2 => b.truncate(at),
                    _ => b[at] ^= 0x80,
                }
                if b.is_empty() {
                    break;
                }
            }
            check_bounds(&EvtFile::open(&b));
        }
    }
}

#[test]
fn a_file_of_signatures_stays_bounded() {
    // Every 4 bytes "LfLe": a candidate everywhere, none a record.
    let b = b"LfLe".repeat(50_000);
    let f = EvtFile::open(&b);
    assert!(f.is_empty());
    assert_eq!(f.notices.len(), MAX_NOTICES);
    assert!(f.notices_dropped > 0);
    // A header, then the EOF marks everywhere.
    let mut b = writer::header(0x30, 0x30, 1, 0, 0, 1);
    for _ in 0..20_000 {
        b.extend_from_slice(&writer::eof_record(0x30, 0x30, 1, 0));
    }
    check_bounds(&EvtFile::open(&b));
}

/// The fuzz seeds in `fuzz/seeds/evt/` are the writer's logs; `KBSCAN_WRITE_SEEDS=1` rewrites
/// them (`cargo test -p kbscan-core --lib evt::tests::fuzz_seeds`).
#[test]
fn fuzz_seeds_are_the_writers_logs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/evt");
    let seeds = [
        ("system-normal.evt", writer::normal(&system_log()).bytes),
        ("wrapped.evt", writer::wrapped(&many(12), 4, 18, 0x40).bytes),
    ];
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if std::env::var_os("KBSCAN_WRITE_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).expect("seed directory");
            std::fs::write(&path, &bytes).expect("write seed");
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (KBSCAN_WRITE_SEEDS=1 writes it)", path.display()));
        assert!(
            on_disk == bytes,
            "{} differs from the writer's log",
            path.display()
        );
    }
}
