//! The classic event log reader (`evidence::evt`) on arbitrary bytes: never panics, never
//! hangs, keeps within its bounds, and every record it returns lies in the file.
#![no_main]

use kbscan_core::evidence::evt::{
    kb_evidence, EvtFile, KbId, MAX_MENTIONS, MAX_NOTICES, MAX_RECORDS, MAX_SERVICE_EVENTS,
    MAX_STRINGS, MAX_STRING_UNITS, MIN_RECORD_SIZE,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = EvtFile::open(data);
    assert!(f.len() <= MAX_RECORDS);
    assert!(f.notices.len() <= MAX_NOTICES);
    for r in f.records() {
        assert!(r.length >= MIN_RECORD_SIZE && r.length as usize <= data.len());
        assert!((r.offset as usize) < data.len());
        assert!(r.strings.len() <= MAX_STRINGS);
        assert!(r.strings.iter().all(|s| s.units().len() <= MAX_STRING_UNITS));
        assert!(!r.source.escaped().chars().any(char::is_control));
    }
    if let Some(kb) = KbId::parse("KB832359") {
        let ev = kb_evidence(&f, kb);
        assert!(ev.mentions.len() <= MAX_MENTIONS);
        assert!(ev.service_events.len() <= MAX_SERVICE_EVENTS);
    }
});
