//! Memory independent of file size (issue 11, case 8): a candidate is hashed by streaming,
//! in bounded memory (the partial PE reader itself is tested against the whole-file reader
//! in tests/library/partial_read.rs).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};

use crate::common::*;

/// Runs kbscan and returns its exit code, its output and the peak of its own resident memory in
/// KiB.
///
/// Not the child's `ru_maxrss`: Linux carries the peak of the process that started it over at
/// `exec`, so in a test binary shared with tests that hold whole disk images that figure was
/// the test binary's (200 MiB), not kbscan's. The peak is `VmHWM` in the child's
/// `/proc/PID/status`, the high-water mark of the memory it got at `exec`, read once the scan
/// is over: the report (tens of KiB) is written into a pipe of one page, so kbscan is still
/// there, waiting to write the rest, when its first byte arrives.
fn run_measured(args: &[&std::ffi::OsStr]) -> (i32, String, u64) {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kbscan"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // SAFETY: F_SETPIPE_SZ on a pipe descriptor we own; it only changes the pipe's capacity.
    let capacity = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    assert!(capacity > 0, "F_SETPIPE_SZ");
    let mut out = vec![0u8; 1];
    stdout.read_exact(&mut out).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no VmHWM: kbscan had already exited\n{status}"));
    stdout.read_to_end(&mut out).unwrap();
    assert!(
        out.len() > 2 * capacity as usize,
        "a report of {} bytes could have been written whole before the peak was read",
        out.len()
    );
    let code = child.wait().unwrap().code().expect("exit code");
    (code, String::from_utf8(out).unwrap(), peak)
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
