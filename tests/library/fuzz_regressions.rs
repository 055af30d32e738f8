//! Every input the fuzzers ever crashed on, replayed on stable in `cargo test`.
//!
//! Files live in `tests/fuzz-regressions/`, named `<fuzz target>-<what it is>`; the prefix
//! picks the code under test, as in `fuzz/fuzz_targets/<target>.rs`. An input must give a
//! typed result (no panic, no abort: a debug build aborts on misaligned reads, so a
//! regression shows up here as a failed test binary).

use std::fs;
use std::path::PathBuf;

use kbscan_core::evidence::pe;
use kbscan_core::evidence::versioninfo;
use kbscan_core::model::version::FileVersion;
use kbscan_core::rules;

fn inputs() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("directory entry");
            let name = e.file_name().into_string().expect("UTF-8 file name");
            let bytes = fs::read(e.path()).expect("read regression input");
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

/// `image` copied to every placement modulo 8 in memory.
fn placements(image: &[u8]) -> Vec<(Vec<u8>, usize)> {
    (0..8)
        .map(|mod8| {
            let mut buf = vec![0u8; image.len() + 16];
            let start = (mod8 + 8 - (buf.as_ptr() as usize) % 8) % 8;
            buf[start..start + image.len()].copy_from_slice(image);
            (buf, start)
        })
        .collect()
}

fn replay(target: &str, data: &[u8]) -> String {
    match target {
        "pe_inspect" => {
            let mut kinds = Vec::new();
            for (buf, start) in placements(data) {
                let r = pe::inspect(&buf[start..start + data.len()]);
                kinds.push(match &r {
                    Ok(d) => format!("ok:{}", d.resources.len()),
                    Err(e) => e.kind().as_str().to_owned(),
                });
            }
            let _ = versioninfo::parse(data);
            kinds.dedup();
            assert_eq!(kinds.len(), 1, "result depends on placement: {kinds:?}");
            kinds.remove(0)
        }
        "versioninfo" => match versioninfo::parse(data) {
            Ok(_) => "ok".into(),
            Err(e) => format!("corrupt: {e}"),
        },
        "version_string" => {
            let text = String::from_utf8_lossy(data);
            match FileVersion::parse_lenient(&text) {
                Ok(v) => {
                    assert_eq!(FileVersion::parse_lenient(&v.to_string()), Ok(v));
                    "ok".into()
                }
                Err(e) => e.reason.into(),
            }
        }
        "rule_file" => match rules::parse_one(&String::from_utf8_lossy(data), "regression") {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        },
        other => panic!("unknown fuzz target prefix {other:?}"),
    }
}

#[test]
fn every_saved_fuzz_input_gives_a_typed_result() {
    let inputs = inputs();
    assert!(!inputs.is_empty(), "tests/fuzz-regressions/ is empty");
    for (name, data) in &inputs {
        let target = ["pe_inspect", "versioninfo", "version_string", "rule_file"]
            .into_iter()
            .find(|t| name.starts_with(&format!("{t}-")))
            .unwrap_or_else(|| panic!("{name}: no fuzz target prefix"));
        let outcome = replay(target, data);
        eprintln!("{name}: {outcome}");
    }
}

#[test]
fn a_pe_header_at_4_mod_8_is_judged_not_aborted() {
    // The first fuzz finding: `MZ`, e_lfanew = 4, no PE signature. pelite 0.10 made a
    // misaligned `&IMAGE_NT_HEADERS64` before looking at the signature, which aborts a
    // debug build (and is undefined behaviour in release builds).
    let data = fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-regressions/pe_inspect-nt-headers-at-4-mod-8"),
    )
    .expect("regression input");
    assert_eq!(&data[..2], b"MZ");
    assert_eq!(
        u32::from_le_bytes([data[60], data[61], data[62], data[63]]) % 8,
        4
    );
    assert_eq!(replay("pe_inspect", &data), "not_pe");
}

#[test]
fn an_optional_header_size_off_by_two_is_malformed_not_aborted() {
    // The second fuzz finding: a PE32+ header whose SizeOfOptionalHeader is 22. pelite 0.10
    // built the section table slice at a 2-byte-aligned address (an abort in debug builds).
    let data = fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-regressions/pe_inspect-optional-header-size-22"),
    )
    .expect("regression input");
    let nt = u32::from_le_bytes([data[60], data[61], data[62], data[63]]) as usize;
    assert_eq!(&data[nt..nt + 4], b"PE\0\0");
    assert_eq!(u16::from_le_bytes([data[nt + 20], data[nt + 21]]), 22);
    assert_eq!(replay("pe_inspect", &data), "malformed_pe");
}

#[test]
fn a_resource_directory_off_4_byte_alignment_is_read_not_aborted() {
    // The third fuzz finding (also found by tests/mutation.rs): resource data at a file
    // offset that is not a multiple of 4. pelite 0.10 read IMAGE_RESOURCE_DIRECTORY in place
    // at that address (an abort in debug builds); kbscan now hands it an aligned copy.
    let data = fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-regressions/pe_inspect-resource-directory-at-2-mod-4"),
    )
    .expect("regression input");
    let outcome = replay("pe_inspect", &data);
    assert!(
        outcome.starts_with("ok:") || outcome == "malformed_pe",
        "{outcome}"
    );
}
