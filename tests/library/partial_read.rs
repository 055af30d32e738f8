//! A file too large to hold whole gives the PE reader only its headers and resource section
//! (`evidence::partial`), with the same answer as the whole file would give (issue 11,
//! case 8; the scan through the CLI, in bounded memory, is tests/cli/partial_read.rs).

use std::path::PathBuf;

use crate::common::samples;
use kbscan_core::evidence::{partial, pe};

fn sample_pes() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![samples()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("exe")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn answer(r: Result<pe::PeVersionData, kbscan_core::error::InspectError>) -> String {
    match r {
        Ok(d) => format!("{d:?}"),
        Err(e) => format!("{} {e}", e.kind().as_str()),
    }
}

#[test]
fn the_partial_reader_answers_as_the_whole_file_does() {
    let files = sample_pes();
    assert!(files.len() >= 9, "{files:?}");
    let mut compared = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let mut cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
        cuts.extend(0..0x400.min(bytes.len()));
        cuts.push(bytes.len());
        for cut in cuts {
            let part = bytes[..cut].to_vec();
            let whole = answer(pe::inspect(&part));
            let partial = answer(partial::inspect_reader(&part, cut as u64));
            assert_eq!(partial, whole, "{} cut at {cut}", f.display());
            compared += 1;
        }
    }
    assert!(compared > 5000);
}
