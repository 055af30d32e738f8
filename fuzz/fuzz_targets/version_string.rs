//! `FileVersion::parse_lenient` on arbitrary text: never panics, and whatever it accepts
//! prints back as `a.b.c.d` text that parses to the same version.
#![no_main]

use kbscan_core::model::version::FileVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = FileVersion::parse_lenient(&text) {
        let shown = v.to_string();
        assert_eq!(FileVersion::parse_lenient(&shown), Ok(v), "{text:?} -> {shown}");
        assert_eq!(shown.split('.').count(), 4);
    }
});
