//! Memory independent of file size (issue 11, case 8): a candidate is hashed by streaming,
//! and a file too large to hold whole gives the PE reader only its headers and resource
//! section (`evidence::partial`), with the same answer as the whole file would give.

mod common;

use std::path::{Path, PathBuf};

use common::*;
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

/// Peak RSS of a finished child in KiB (its own `rusage`, not the other tests' children).
// The child is reaped by `wait4` (which also gives its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&std::ffi::OsStr]) -> (i32, String, i64) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kbscan"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let out = {
        use std::io::Read;
        let mut s = String::new();
        child.stdout.unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    (libc::WEXITSTATUS(status), out, ru.ru_maxrss)
}

fn sparse_candidate(dir: &Path, size: u64) -> PathBuf {
    let server = dir.join("root/WINNT/system32/Windows Media/Server");
    std::fs::create_dir_all(&server).unwrap();
    let p = server.join("Nspmon.exe");
    std::fs::copy(
        sample_file("w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe"),
        &p,
    )
    .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(size)
        .unwrap();
    p
}

#[test]
fn a_large_candidate_is_hashed_by_streaming_in_bounded_memory() {
    // 96 MiB (sparse): the PE at its start, zeros after. Reading it whole would take 96 MiB.
    let dir = tempfile::tempdir().unwrap();
    let size = 96u64 << 20;
    let p = sparse_candidate(dir.path(), size);
    let root = dir.path().join("root");
    let (code, out, rss_kib) = run_measured(&[
        "scan".as_ref(),
        "-f".as_ref(),
        "json".as_ref(),
        "--max-size".as_ref(),
        "1000000000".as_ref(),
        root.as_os_str(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = finding(&doc["roots"][0], "Nspmon.exe");
    assert_eq!(f["status"], "vulnerable", "{f:#}");
    assert_eq!(f["size"], size);
    assert_eq!(code, 1);
    let want = std::process::Command::new("sha256sum").arg(&p).output();
    if let Ok(o) = want {
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            f["sha256"].as_str(),
            text.split_whitespace().next(),
            "{f:#}"
        );
    }
    assert!(
        rss_kib < 40 * 1024,
        "peak RSS {rss_kib} KiB for a {size}-byte candidate: read whole?"
    );
    eprintln!("peak RSS {rss_kib} KiB for a {} MiB candidate", size >> 20);
}
