//! Whole-file version extraction: pelite's header and resource walk, then our own
//! VS_VERSIONINFO reader, exactly as `kbscan_core::evidence::inspect` calls it.
//!
//! libfuzzer-sys installs a panic hook that aborts before unwinding, so the `catch_unwind`
//! inside `pe::inspect` cannot hide a panic here: any panic, in pelite or in kbscan, is a
//! finding (which is what we want to learn about).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The image is placed at an input-chosen offset modulo 8, so every alignment of the
    // buffer and of the PE header inside it is exercised (pelite reads structures in place).
    let shift = usize::from(data.first().copied().unwrap_or(0) % 8);
    let mut buf = vec![0u8; data.len() + 16];
    let start = (shift + 8 - (buf.as_ptr() as usize) % 8) % 8;
    buf[start..start + data.len()].copy_from_slice(data);
    let image = &buf[start..start + data.len()];
    match kbscan_core::evidence::pe::inspect(image) {
        Ok(pe) => {
            for r in &pe.resources {
                if let Ok(info) = &r.info {
                    // Nothing can describe more string tables than there are bytes.
                    assert!(info.string_tables.len() <= data.len());
                }
            }
        }
        Err(e) => {
            // A typed error with a stable kind and a message.
            assert!(!e.kind().as_str().is_empty());
            let _ = e.to_string();
        }
    }
    // The same bytes straight into our version reader (a PE is as hostile as any input).
    let _ = kbscan_core::evidence::versioninfo::parse(data);
});
