//! `-o` never takes a name an image set would adopt as its next segment: a report written as
//! `case.E02` beside a one-segment `case.E01` would make every later scan of the image fail
//! ("segment 2 is missing") and other EWF tools see a damaged set. The EWF set is made by
//! ewfacquire; the split raw sets are the test disk cut with split(1)-like names.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn raw_disk(dir: &Path, name: &str) -> std::path::PathBuf {
    let mut gz = flate2::read::GzDecoder::new(
        fs::File::open(repo().join("tests/images/mbr.img.gz")).unwrap(),
    );
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut gz, &mut data).unwrap();
    let p = dir.join(name);
    fs::write(&p, data).unwrap();
    p
}

/// `-o target` with `root` scanned: refused before anything is written, `target` not made.
fn refused(root: &Path, target: &Path) {
    let o = kbscan()
        .args(["scan", "--rule", "MS04-008", "-q", "-o"])
        .arg(target)
        .arg(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 2, "{}: {stderr}", target.display());
    assert!(
        stderr.contains("would join the segments of the image set"),
        "{}: {stderr}",
        target.display()
    );
    assert!(!target.exists(), "{} was created", target.display());
}

fn accepted(root: &Path, target: &Path) {
    let o = kbscan()
        .args(["scan", "--rule", "MS04-008", "-q", "-o"])
        .arg(target)
        .arg(root)
        .output()
        .unwrap();
    assert_ne!(
        code(&o),
        2,
        "{}: {}",
        target.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(target.is_file());
}

#[test]
fn a_report_never_takes_the_next_name_of_a_split_raw_set() {
    let dir = tempfile::tempdir().unwrap();
    let first = raw_disk(dir.path(), "disk.001");
    refused(&first, &dir.path().join("disk.002"));
    refused(&first, &dir.path().join("disk.1000"));
    // Two-digit sets grow to three digits (disk.99 → disk.100), as the reader follows them.
    let two = tempfile::tempdir().unwrap();
    let first = raw_disk(two.path(), "disk.01");
    refused(&first, &two.path().join("disk.02"));
    refused(&first, &two.path().join("disk.100"));
    accepted(&first, &two.path().join("disk.report.json"));
}

#[test]
fn a_report_never_takes_a_segment_name_of_an_ewf_set() {
    if !have("ewfacquire") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk(dir.path(), "disk.raw");
    let st = Command::new("ewfacquire")
        .args(["-u", "-t"])
        .arg(dir.path().join("case"))
        .args(["-f", "encase6", "-c", "none", "-q"])
        .arg(&raw)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "ewfacquire: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let e01 = dir.path().join("case.E01");
    assert!(e01.is_file());
    assert!(!dir.path().join("case.E02").exists(), "one segment only");
    for name in ["case.E02", "case.e02", "case.E99", "case.EAA", "case.FAB"] {
        refused(&e01, &dir.path().join(name));
    }
    accepted(&e01, &dir.path().join("case-report.txt"));
    // The set still reads as one whole segment.
    let o = kbscan()
        .args(["scan", "--rule", "MS04-008", "-q", "-f", "json"])
        .arg(&e01)
        .output()
        .unwrap();
    assert_eq!(json(&o)["images"][0]["segments"], 1);
}

/// A CSV report's examination record goes beside it as FILE.examination.json: beside a device
/// or a FIFO there is no such place. Refused before anything is opened (a FIFO without a
/// reader would block the open), and nothing made beside it.
#[test]
fn no_examination_record_beside_a_device_or_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    for target in [Path::new("/dev/null"), fifo.as_path()] {
        let o = kbscan()
            .args(["scan", "--rule", "MS04-008", "-q", "-f", "csv", "-o"])
            .arg(target)
            .arg(system("w2k-sp4-patched"))
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 2, "{}: {stderr}", target.display());
        assert!(
            stderr.contains("no place for the examination record"),
            "{stderr}"
        );
        let beside = format!("{}.examination.json", target.display());
        assert!(!Path::new(&beside).exists(), "{beside} was made");
    }
    // JSON carries its record inside: written to the device as before.
    let o = kbscan()
        .args([
            "scan",
            "--rule",
            "MS04-008",
            "-q",
            "-f",
            "json",
            "-o",
            "/dev/null",
        ])
        .arg(system("w2k-sp4-patched"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
}
