//! The Authenticode reader (`evidence::authenticode`, over the DER reader `evidence::der`) on
//! arbitrary bytes, read as a whole PE file (layout, image hash, certificate table, PKCS#7) and
//! as a bare certificate table and SignedData: never panics, never reads past the input, and
//! every length it reports lies within it.
#![no_main]

use kbscan_core::evidence::authenticode::{examine, parse_signed_data, parse_table, HEAD};
use kbscan_core::model::described::SignatureState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(HEAD)];
    let (hashes, auth) = examine(&data, data.len() as u64, head).expect("reads from memory");
    assert_eq!(hashes.sha1.len(), 40);
    if let Some(a) = auth {
        let s = &a.signature;
        assert!(s.entries <= kbscan_core::evidence::authenticode::MAX_ENTRIES);
        if s.state == SignatureState::Unreadable {
            assert!(s.error.is_some());
        }
        if let Some(d) = &s.signed_digest {
            assert!(d.len() <= 2 * data.len());
        }
    }
    if let Ok(sig) = parse_table(data) {
        assert!(sig.entries >= 1);
    }
    let _ = parse_signed_data(data);
});
