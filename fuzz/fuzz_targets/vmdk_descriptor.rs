//! The VMDK descriptor parser (`image::container::vmdk_descriptor`), which both the reader
//! and the `-o` guard ask, on arbitrary bytes: never panics, and whatever it accepts stays
//! within its bounds — every extent name relative and below the descriptor's folder, the
//! disk's size representable in bytes.
#![no_main]

use kbscan_core::image::container::vmdk_descriptor::{parse, ExtentKind, MAX_EXTENTS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(d) = parse(data) else { return };
    assert!(!d.extents.is_empty() && d.extents.len() <= MAX_EXTENTS);
    assert!(d.sectors().checked_mul(512).is_some());
    for e in &d.extents {
        assert!(e.sectors > 0);
        assert_eq!(e.name.is_none(), e.kind == ExtentKind::Zero);
        if let Some(n) = &e.name {
            assert!(!n.starts_with('/') && !n.contains('\\') && !n.contains('"'));
            assert!(n.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
            assert!(!n.chars().any(char::is_control));
        }
    }
    // One reading: the same bytes give the same descriptor.
    assert_eq!(parse(data).ok(), Some(d));
});
