//! Rule-file parsing on arbitrary text: a typed `RuleError` or a rule that satisfies the
//! documented invariants, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kbscan_core::rules::parse_one(text, "fuzz.toml") {
        Ok(rule) => {
            assert!(!rule.files.is_empty());
            assert!(rule.kb.starts_with("KB"));
            for f in &rule.files {
                assert!(!f.name.is_empty() && f.name.is_ascii());
                assert!(!f.name.contains(['/', '\\', '\0']));
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
