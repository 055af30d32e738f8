//! Races and mounts: a folder swapped for a link to a folder outside the root while kbscan
//! walks (issue 11, case 2), and mount points inside a root (case 3).
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const NSCM: &str = "WINNT/system32/Windows Media/Server/Nscm.exe";
const NSPMON: &str = "WINNT/system32/Windows Media/Server/Nspmon.exe";

fn hash(rel: &str) -> String {
    manifest("SHA256SUMS")[&format!("systems/{rel}")].clone()
}

/// Atomically exchanges two paths (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).expect("renameat2 RENAME_EXCHANGE");
}

#[test]
fn a_folder_swapped_for_a_link_while_scanning_is_never_read_outside_the_root() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let outside = t.path().join("outside");
    // Inside: X/Server/Nscm.exe, patched. Outside: Server/Nscm.exe, vulnerable.
    fs::create_dir_all(root.join("X/Server")).unwrap();
    fs::copy(
        sample_file(&format!("w2k-sp4-patched/{NSCM}")),
        root.join("X/Server/Nscm.exe"),
    )
    .unwrap();
    fs::create_dir_all(outside.join("Server")).unwrap();
    fs::copy(
        sample_file(&format!("w2k-sp4-vulnerable/{NSCM}")),
        outside.join("Server/Nscm.exe"),
    )
    .unwrap();
    let inside_hash = hash(&format!("w2k-sp4-patched/{NSCM}"));
    let outside_hash = hash(&format!("w2k-sp4-vulnerable/{NSCM}"));
    assert_ne!(inside_hash, outside_hash);
    // The link waits outside the root; each exchange puts it (or the folder) at root/X.
    let stage = t.path().join("stage");
    std::os::unix::fs::symlink(&outside, &stage).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps, x, stage) = (stop.clone(), swaps.clone(), root.join("X"), stage.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                exchange(&x, &stage);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let started = Instant::now();
    let (mut scans, mut found_inside, mut with_errors) = (0, 0, 0);
    let root_s = root.to_str().unwrap();
    while started.elapsed() < Duration::from_secs(4) || scans < 20 {
        let threads = if scans % 2 == 0 { "1" } else { "2" };
        let mut args = vec!["scan", "-q", "-f", "json", "-j", threads];
        if scans % 3 == 0 {
            args.push("--follow-symlinks");
        }
        args.push(root_s);
        let o = kbscan().args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            !text.contains(&outside_hash),
            "scan {scans} read the file outside the root:\n{text}"
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        let r = &doc["roots"][0];
        // The inside copy is patched for MS04-008 (other advisories may judge it otherwise):
        // a `vulnerable` MS04-008 finding could only come from the outside copy.
        for f in findings(r).iter().filter(|f| f["rule"] == "MS04-008") {
            assert_ne!(f["status"], "vulnerable", "scan {scans}: {f:#}");
            if f["status"] == "patched" {
                assert_eq!(f["path"], "X/Server/Nscm.exe");
                assert_eq!(f["sha256"].as_str(), Some(inside_hash.as_str()));
                found_inside += 1;
            }
        }
        if !r["errors"].as_array().unwrap().is_empty() || r["verdict"] == "inconclusive" {
            with_errors += 1;
        }
        scans += 1;
        if scans > 2000 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    eprintln!(
        "{scans} scans, {} swaps: the inside file judged in {found_inside}, errors in {with_errors}, never the outside file",
        swaps.load(Ordering::Relaxed)
    );
    assert!(swaps.load(Ordering::Relaxed) > 100);
    // Between exchanges X is the folder inside about half the time: a scan that never read the
    // inside copy would pass every check above without having walked the swapped folder.
    assert!(
        found_inside > 0,
        "in {scans} scans the patched file inside the root was never judged"
    );
}

/// Whether this test may mount (root); under CI it must.
fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    common::require(
        "root (to build mount points)",
        root,
        "run the tests as root",
    )
}

/// Unmounts on drop, even when the test fails.
struct Mounted(Vec<PathBuf>);

impl Drop for Mounted {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(p)
                .status();
        }
    }
}

fn mount(args: &[&str], at: &Path, m: &mut Mounted) {
    let st = std::process::Command::new("mount")
        .args(args)
        .arg(at)
        .status()
        .expect("run mount");
    assert!(st.success(), "mount {args:?} {}", at.display());
    m.0.push(at.to_path_buf());
}

#[test]
fn mount_points_inside_a_root_are_a_notice_and_not_walked_unless_asked() {
    if !can_mount() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let outside = t.path().join("outside");
    fs::create_dir_all(root.join("WINNT/system32/Windows Media/Server")).unwrap();
    fs::copy(
        sample_file(&format!("w2k-sp4-patched/{NSPMON}")),
        root.join(NSPMON),
    )
    .unwrap();
    fs::create_dir_all(outside.join("Server")).unwrap();
    let vuln = sample_file(&format!("w2k-sp4-vulnerable/{NSCM}"));
    fs::copy(&vuln, outside.join("Server/Nscm.exe")).unwrap();
    let outside_hash = hash(&format!("w2k-sp4-vulnerable/{NSCM}"));
    for d in ["bind", "tmp", "file"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("file/Nscm.exe"), b"").unwrap();
    let mut m = Mounted(Vec::new());
    // A bind mount of a folder outside (same device: seen by its mount id), a tmpfs (another
    // device) holding a copy, and a file bind-mounted over a candidate.
    mount(
        &["--bind", outside.to_str().unwrap()],
        &root.join("bind"),
        &mut m,
    );
    mount(&["-t", "tmpfs", "tmpfs"], &root.join("tmp"), &mut m);
    fs::copy(&vuln, root.join("tmp/Nscm.exe")).unwrap();
    mount(
        &["--bind", outside.join("Server/Nscm.exe").to_str().unwrap()],
        &root.join("file/Nscm.exe"),
        &mut m,
    );

    for threads in ["1", "2"] {
        let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008", "-j", threads]);
        let r = &doc["roots"][0];
        let text = r.to_string();
        assert!(!text.contains(&outside_hash), "{r:#}");
        let notices: Vec<&str> = r["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["message"].as_str().unwrap().contains("mount point"))
            .map(|n| n["path"].as_str().unwrap())
            .collect();
        assert_eq!(notices, ["bind", "tmp"], "{r:#}");
        let f: Vec<&Value> = findings(r).iter().collect();
        let mounted = f.iter().find(|f| f["path"] == "file/Nscm.exe").unwrap();
        assert_eq!(mounted["status"], "error", "{mounted:#}");
        assert!(
            mounted["sha256"].is_null() && mounted["size"].is_null(),
            "{mounted:#}"
        );
        assert!(
            mounted["error"]
                .as_str()
                .unwrap_or_default()
                .contains("mounted"),
            "{mounted:#}"
        );
        assert!(
            !f.iter()
                .any(|f| f["rule"] == "MS04-008" && f["status"] == "vulnerable"),
            "{r:#}"
        );
        assert_eq!(code, 2, "the mounted candidate is unjudged: {r:#}");
    }
    // --cross-mounts walks them: the copies outside are found (and vulnerable).
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008", "--cross-mounts"]);
    let r = &doc["roots"][0];
    let vulnerable: Vec<&str> = findings(r)
        .iter()
        .filter(|f| f["rule"] == "MS04-008" && f["status"] == "vulnerable")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        vulnerable,
        ["bind/Server/Nscm.exe", "file/Nscm.exe", "tmp/Nscm.exe"],
        "{r:#}"
    );
    assert_eq!(code, 1);
    drop(m);
}
