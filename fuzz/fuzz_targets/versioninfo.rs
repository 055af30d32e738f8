//! Our VS_VERSIONINFO reader on arbitrary bytes: never panics, never reads past the data,
//! never returns more than the bytes could hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = kbscan_core::evidence::versioninfo::parse(data) {
        // Every block is at least 6 bytes, so no list can be longer than that allows.
        let blocks: usize = info
            .string_tables
            .iter()
            .map(|t| 1 + t.strings.len())
            .sum();
        assert!(blocks * 6 <= data.len(), "{blocks} blocks from {} bytes", data.len());
        assert!(info.translations.len() * 4 <= data.len());
        if let Some(f) = info.fixed {
            let _ = f.file_version.to_string();
        }
    }
});
