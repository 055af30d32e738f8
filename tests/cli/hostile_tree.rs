//! A tree built to trip a naive scanner: FIFO, link loops, links out of the root, empty and
//! text files and a directory named like the targets. The scan must finish, give each entry
//! the right status, and read nothing outside the root.
#![cfg(unix)]

use crate::common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const SERVER: &str = "WINNT/system32/Windows Media/Server";
const VULN_NSPMON: &str = "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe";
const PATCHED_NSCM: &str = "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe";

fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Builds the hostile tree; returns (temp dir holding root and outside, root, outside file).
fn hostile() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    // A real vulnerable PE outside the root: if kbscan ever read it, the verdict would say so.
    let secret = outside.join("nspmon.exe");
    fs::copy(sample_file(VULN_NSPMON), &secret).unwrap();

    let server = root.join(SERVER);
    fs::create_dir_all(&server).unwrap();
    mkfifo(&server.join("nscm.exe"));
    symlink(&secret, server.join("nspmon.exe")).unwrap(); // absolute, pointing out of the root
    fs::create_dir_all(root.join("loop")).unwrap();
    symlink("b", root.join("loop/a")).unwrap();
    symlink("a", root.join("loop/b")).unwrap();
    symlink(".", root.join("loop/self")).unwrap();
    symlink("..", root.join("loop/up")).unwrap();
    symlink("NSCM.EXE", root.join("loop/NSCM.EXE")).unwrap(); // a link to itself, named like a target
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("empty/nscm.exe"), b"").unwrap();
    fs::create_dir_all(root.join("text")).unwrap();
    fs::write(root.join("text/Nspmon.exe"), b"This is not a program.\n").unwrap();
    fs::create_dir_all(root.join("dir/Nscm.exe/inner")).unwrap();
    // A relative link that climbs out of the root to the same outside file.
    fs::create_dir_all(root.join("escape")).unwrap();
    symlink("../../outside/nspmon.exe", root.join("escape/Nspmon.exe")).unwrap();
    (dir, root, secret)
}

fn status_of<'a>(root: &'a Value, path: &str) -> &'a Value {
    let f = finding(root, path);
    assert_eq!(f["path"], path);
    f
}

fn check_common(root: &Value) {
    let fifo = status_of(root, &format!("{SERVER}/nscm.exe"));
    assert_eq!(fifo["status"], "skipped");
    assert!(fifo["notes"].to_string().contains("FIFO"), "{fifo:#}");
    assert!(fifo["sha256"].is_null());

    let abs = status_of(root, &format!("{SERVER}/nspmon.exe"));
    assert_eq!(abs["status"], "skipped");
    assert!(abs["sha256"].is_null());
    assert!(abs["link_target"].as_str().unwrap().contains("outside"));

    let empty = status_of(root, "empty/nscm.exe");
    assert_eq!(empty["status"], "error");
    assert_eq!(empty["error_kind"], "too_short");
    assert_eq!(empty["size"], 0);
    assert_eq!(
        empty["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );

    let text = status_of(root, "text/Nspmon.exe");
    assert_eq!(text["status"], "error");
    assert_eq!(text["error_kind"], "not_pe");

    let dir = status_of(root, "dir/Nscm.exe");
    assert_eq!(dir["status"], "skipped");
    assert!(dir["notes"].to_string().contains("directory"));

    let self_link = status_of(root, "loop/NSCM.EXE");
    assert_eq!(self_link["status"], "skipped");

    let escape = status_of(root, "escape/Nspmon.exe");
    assert_eq!(escape["status"], "skipped");
    assert!(escape["sha256"].is_null());

    // Nothing outside the root was judged: no finding is vulnerable, no path leaves the root.
    for f in findings(root) {
        assert_ne!(f["status"], "vulnerable", "{f:#}");
        assert!(!f["path"].as_str().unwrap().contains(".."), "{f:#}");
    }
    assert_eq!(root["verdict"], "inconclusive");
}

#[test]
fn hostile_tree_without_following_links() {
    let (_dir, root, _secret) = hostile();
    let start = Instant::now();
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the scan must not block"
    );
    assert_eq!(code, 2, "unjudged live candidates and nothing vulnerable");
    let r = &doc["roots"][0];
    check_common(r);
    assert!(finding(r, "loop/NSCM.EXE")["notes"]
        .to_string()
        .contains("not followed"));
    assert_eq!(findings(r).len(), 7, "{r:#}");
}

#[test]
fn hostile_tree_following_links_stays_inside() {
    let (_dir, root, _secret) = hostile();
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008", "--follow-symlinks"]);
    assert_eq!(code, 2);
    let r = &doc["roots"][0];
    check_common(r);
    let abs = finding(r, &format!("{SERVER}/nspmon.exe"));
    assert!(
        abs["notes"].to_string().contains("absolute path"),
        "{abs:#}"
    );
    let esc = finding(r, "escape/Nspmon.exe");
    assert!(
        esc["notes"].to_string().contains("outside the root"),
        "{esc:#}"
    );
    let selfl = finding(r, "loop/NSCM.EXE");
    assert!(
        selfl["notes"].to_string().contains("cannot be resolved"),
        "{selfl:#}"
    );
    // The loops are notices, not endless walks.
    let notices = r["notices"].to_string();
    assert!(
        notices.contains("loop/a") && notices.contains("loop/self"),
        "{notices}"
    );
}

#[test]
fn links_inside_the_root_are_followed_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let server = root.join(SERVER);
    fs::create_dir_all(&server).unwrap();
    fs::create_dir_all(root.join("store")).unwrap();
    fs::copy(sample_file(PATCHED_NSCM), root.join("store/real.bin")).unwrap();
    symlink("../../../../store/real.bin", server.join("Nscm.exe")).unwrap();

    // Not followed: the live copy was not read, so neither not_installed nor exit 0
    // (issue 10 case 6).
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    assert_eq!(code, 2);
    let r = &doc["roots"][0];
    assert_eq!(finding(r, "Server/Nscm.exe")["status"], "skipped");
    assert_eq!(r["verdict"], "inconclusive");
    assert!(r["reasons"].to_string().contains("live_copy_not_read"));

    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008", "--follow-symlinks"]);
    assert_eq!(code, 0);
    let r = &doc["roots"][0];
    let f = finding(r, "Server/Nscm.exe");
    assert_eq!(f["status"], "patched");
    assert!(
        f["link_target"]
            .as_str()
            .unwrap()
            .contains("store/real.bin"),
        "{f:#}"
    );
    assert_eq!(r["verdict"], "patched");
}

#[test]
fn non_utf8_names_are_escaped_not_dropped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let weird = root.join(OsStr::from_bytes(b"WINNT\xff\x1b[2J"));
    fs::create_dir_all(&weird).unwrap();
    fs::copy(sample_file(VULN_NSPMON), weird.join("nspmon.exe")).unwrap();
    let (code, doc) = scan_json(&[root], &["--rule", "MS04-008"]);
    assert_eq!(code, 1);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(f["path"], "WINNT\\xff\\x1b[2J/nspmon.exe");
    assert_eq!(f["status"], "vulnerable");
    // The table escapes the same way: no raw escape byte reaches the terminal.
    let o = run(&["scan", "--rule", "MS04-008", root.to_str().unwrap()]);
    assert!(!o.stdout.contains(&0x1b));
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("WINNT\\xff\\x1b[2J/nspmon.exe"));
}

#[test]
fn a_missing_root_is_reported_and_the_others_are_scanned() {
    let (code, doc) = scan_json(
        &[
            Path::new("/nonexistent/kbscan-root"),
            &system("w2k-sp4-patched"),
        ],
        &["--rule", "MS04-008"],
    );
    assert_eq!(code, 2);
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(roots[0]["verdict"], "inconclusive");
    assert_eq!(roots[0]["reasons"][0]["code"], "root_unreadable");
    assert!(roots[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot scan"));
    assert_eq!(roots[1]["verdict"], "patched");
}

#[test]
fn a_file_too_large_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join(SERVER);
    fs::create_dir_all(&server).unwrap();
    let f = fs::File::create(server.join("nspmon.exe")).unwrap();
    f.set_len(8 << 30).unwrap(); // 8 GiB, sparse: costs no disk
    let start = Instant::now();
    let (code, doc) = scan_json(&[dir.path()], &["--rule", "MS04-008"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(code, 2);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(f["error_kind"], "too_large");
    assert_eq!(f["size"], 8u64 << 30);
    assert!(f["sha256"].is_null());
}

#[test]
fn folders_deeper_than_path_max_are_scanned() {
    // A folder whose path is longer than PATH_MAX (built with bash: dash's cd refuses such
    // paths) cannot be opened by its full path; the walker opens each folder relative to its
    // parent's descriptor, so it is scanned like any other (it used to be an error, "File name
    // too long", and the root `inconclusive`).
    let dir = tempfile::tempdir().unwrap();
    let name = "d".repeat(250);
    let script = format!(
        "cd \"$1\" && for i in $(seq 1 20); do mkdir {name} && cd {name} || exit 1; done && cp \"$2\" Nspmon.exe"
    );
    let sample =
        samples().join("systems/w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe");
    let st = std::process::Command::new("bash")
        .args(["-c", &script, "sh"])
        .arg(dir.path())
        .arg(&sample)
        .status()
        .unwrap();
    assert!(st.success());
    for threads in ["1", "2"] {
        let (code, doc) = scan_json(&[dir.path()], &["--rule", "MS04-008", "-j", threads]);
        let r = &doc["roots"][0];
        assert!(r["errors"].as_array().unwrap().is_empty(), "{r:#}");
        let f = findings(r);
        assert_eq!(f.len(), 1, "{r:#}");
        let path = f[0]["path"].as_str().unwrap();
        assert!(path.len() > 4096 && path.ends_with("/Nspmon.exe"), "{path}");
        assert_eq!(f[0]["status"], "vulnerable", "{r:#}");
        assert_eq!(code, 1);
    }
}

#[test]
fn results_are_the_same_whatever_the_thread_count() {
    let all = samples().join("systems");
    let roots: Vec<_> = std::fs::read_dir(&all)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let refs: Vec<&Path> = roots.iter().map(|p| p.as_path()).collect();
    let strip = |mut v: Value| {
        // Access times may legitimately differ between two reads, and the examination record
        // (command line, times: issue 15) between two runs; nothing else may.
        v.as_object_mut().unwrap().remove("examination");
        for root in v["roots"].as_array_mut().unwrap() {
            for f in root["findings"].as_array_mut().unwrap() {
                f["accessed"] = Value::Null;
            }
        }
        v
    };
    let (c1, one) = scan_json(&refs, &["--rule", "MS04-008", "--threads", "1"]);
    let (c4, four) = scan_json(&refs, &["--rule", "MS04-008", "--threads", "4"]);
    assert_eq!(c1, c4);
    assert_eq!(strip(one), strip(four));
}

/// Reading a symbolic link's target (`readlinkat`) updates the link's access time on a
/// read-write mount: kbscan takes a link's times before it first reads it, so the finding
/// (and the timeline) give the evidence's times, not the scan's. The link's times are set
/// far back (atime = mtime), which a relatime mount then updates on the first read.
#[test]
fn a_links_times_are_taken_before_its_target_is_read() {
    use rustix::fs::{utimensat, AtFlags, Timespec, Timestamps, CWD};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sys");
    copy_tree(&system("w2k-sp4-vulnerable"), &root);
    let server = root.join(SERVER);
    fs::rename(server.join("Nscm.exe"), server.join("Nscm.real")).unwrap();
    let link = server.join("Nscm.exe");
    symlink("Nscm.real", &link).unwrap();
    // 2004-01-02T03:04:05Z
    let t = Timespec {
        tv_sec: 1_073_012_645,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: t,
        last_modification: t,
    };
    utimensat(CWD, &link, &times, AtFlags::SYMLINK_NOFOLLOW).unwrap();
    let (_, doc) = scan_json(&[&root], &["-q", "--rule", "MS04-008"]);
    let f = doc["roots"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == format!("{SERVER}/Nscm.exe"))
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(f["link_target"], "Nscm.real", "{f}");
    assert_eq!(f["accessed"], "2004-01-02T03:04:05Z", "{f}");
    assert_eq!(f["modified"], "2004-01-02T03:04:05Z", "{f}");
}

/// Listing a folder sets its access time on a read-write mount unless it is opened with
/// `O_NOATIME` (allowed to the folder's owner and root): kbscan's folders keep theirs. Set far
/// back (atime = mtime), which a relatime mount would otherwise update on the first listing.
#[test]
fn listing_folders_leaves_their_access_times() {
    use rustix::fs::{utimensat, AtFlags, Timespec, Timestamps, CWD};
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sys");
    copy_tree(&system("w2k-sp4-vulnerable"), &root);
    let me = fs::metadata(&root).unwrap().uid();
    // SAFETY: geteuid has no preconditions.
    let owner = unsafe { libc::geteuid() } == me;
    let t = Timespec {
        tv_sec: 1_073_012_645,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: t,
        last_modification: t,
    };
    let folders = [root.clone(), root.join("WINNT"), root.join(SERVER)];
    for f in &folders {
        utimensat(CWD, f, &times, AtFlags::empty()).unwrap();
    }
    let (_, doc) = scan_json(&[&root], &["-q", "--rule", "MS04-008"]);
    assert_eq!(doc["roots"][0]["verdict"], "vulnerable");
    assert!(owner, "the copy is this user's: O_NOATIME must be allowed");
    for f in &folders {
        assert_eq!(
            fs::metadata(f).unwrap().atime(),
            1_073_012_645,
            "{} was listed with its access time updated",
            f.display()
        );
    }
}

/// An unreadable folder says what happened ("permission denied"), not that the tree changed
/// while the walk ran: that wording is for a real race (a folder replaced by a link or a file,
/// covered by tests/cli/hostile_race.rs). Run as an unprivileged user: as root (which mode 000
/// does not stop) kbscan runs under `setpriv` as nobody.
#[test]
fn an_unreadable_folder_is_permission_denied_not_a_race() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    let root_user = unsafe { libc::geteuid() } == 0;
    if root_user && !have("setpriv") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fs::create_dir_all(root.join("locked")).unwrap();
    fs::create_dir_all(root.join(SERVER)).unwrap();
    for d in [dir.path(), root.as_path()] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kbscan");
    let mut cmd = if root_user {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let out = cmd
        .args(["scan", "-f", "json"])
        .arg(&root)
        .output()
        .unwrap();
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let errors = v["roots"][0]["errors"].as_array().unwrap();
    let locked = errors
        .iter()
        .find(|e| e["path"] == "locked")
        .unwrap_or_else(|| panic!("no error for the locked folder: {v:#}"));
    let message = locked["message"].as_str().unwrap();
    assert!(message.contains("permission denied"), "{message}");
    assert!(!message.contains("changed while the walk ran"), "{message}");
    assert!(stderr.contains("permission denied"), "{stderr}");
}
