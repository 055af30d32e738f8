//! `PendingFileRenameOperations` (REG_MULTI_SZ source/target pairs) on arbitrary bytes: never
//! panics, keeps at most `MAX_PAIRS` pairs, numbers them in order, and every text shown is
//! escaped (no control characters), whatever the value holds.
#![no_main]

use kbscan_core::registry::pending::{parse_pairs, MAX_PAIRS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut notes = Vec::new();
    let ops = parse_pairs(data, &mut notes);
    assert!(ops.len() <= MAX_PAIRS);
    assert!(notes.len() <= 2, "{notes:?}");
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(op.pair, i + 1);
        assert!(!op.source.is_empty());
        assert_eq!(op.target.is_some(), op.raw_target.is_some());
        for text in std::iter::once(&op.source).chain(op.target.iter()) {
            assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        }
    }
    for n in &notes {
        assert!(!n.chars().any(|c| c.is_control()), "{n:?}");
    }
});
