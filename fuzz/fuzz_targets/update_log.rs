//! issue 14: the update.exe log parser and the evidence built from it on arbitrary bytes: never
//! panics, stays within its bounds, and every kept line is escaped (no control characters).
#![no_main]

use kbscan_core::evidence::updatelog::{self, MAX_KEPT_LINES, MAX_LINE_CHARS, MAX_RUNS};
use kbscan_core::installtime::log_evidence;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let log = updatelog::parse(data);
    assert!(log.runs.len() <= MAX_RUNS);
    for run in &log.runs {
        assert!(run.lines.len() <= MAX_KEPT_LINES + 2);
        assert!(run.started_local.as_if_utc_nanos().is_some());
        for l in &run.lines {
            assert!(l.text.len() <= MAX_LINE_CHARS * 4 + 3);
            assert!(!l.text.chars().any(|c| c.is_control()), "{:?}", l.text);
        }
    }
    for e in log_evidence(data, "WINNT/KB1.log", None) {
        assert!(e.not_before.is_none_or(|lo| lo <= e.time));
    }
});
