//! The report never lands on evidence, a failed write is an error, and arguments are bounded.
//!
//! Every case is built from real files at test time: `-o` as a symbolic link into a root, a
//! hard link to an evidence file, an image root and a link to it, a split set's segment and
//! its next name, the `--software-hive` file, a `kbscan version` input, a place inside a root.
//! Each is refused with exit 2 before anything is opened for writing (checked under strace
//! when it is available), and the evidence keeps its bytes and its mtime.
#![cfg(target_os = "linux")]

use crate::common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const SERVER: &str = "WINNT/system32/Windows Media/Server";

/// A temporary folder holding a copy of a vulnerable system (`root`) and its Nscm.exe path.
struct Case {
    dir: tempfile::TempDir,
    root: PathBuf,
    nscm: PathBuf,
}

fn case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let st = Command::new("cp")
        .arg("-a")
        .arg(system("w2k-sp4-vulnerable"))
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a");
    let nscm = root.join(SERVER).join("Nscm.exe");
    assert!(nscm.is_file());
    Case { dir, root, nscm }
}

/// Bytes, size, mtime (s, ns), inode and link count: what an examiner would compare.
fn fingerprint(p: &Path) -> (Vec<u8>, u64, i64, i64, u64, u64) {
    let m = fs::symlink_metadata(p).unwrap();
    (
        fs::read(p).unwrap(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ino(),
        m.nlink(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Files in `dir` whose name marks them as kbscan's temporary report files.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".kbscan-"))
        .collect()
}

fn strace_available() -> bool {
    common::strace_works()
}

/// Every open call that asks for write access, from an strace log.
fn write_opens(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("open"))
        .filter(|l| {
            ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"]
                .iter()
                .any(|f| l.contains(f))
        })
        .map(str::to_owned)
        .collect()
}

/// Runs kbscan (under strace when it is available); returns (exit code, stderr, the open
/// calls asking for write access, or None without strace).
fn run_traced(args: &[&str], log_dir: &Path) -> (i32, String, Option<Vec<String>>) {
    if strace_available() {
        let log = log_dir.join("strace.log");
        let o = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-s",
                "4096",
                "-e",
                "trace=open,openat,openat2,creat",
                "-o",
            ])
            .arg(&log)
            .arg(env!("CARGO_BIN_EXE_kbscan"))
            .args(args)
            .output()
            .unwrap();
        let text = fs::read_to_string(&log).unwrap();
        let _ = fs::remove_file(&log);
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            Some(write_opens(&text)),
        )
    } else {
        let o = run(args);
        (
            code(&o),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            None,
        )
    }
}

/// `args` must be refused as an output on evidence: exit 2, the message, no open for
/// writing at all, every `protected` file unchanged, and no temporary file left in `dirs`.
fn assert_refused(args: &[&str], log_dir: &Path, protected: &[&Path], dirs: &[&Path]) {
    let before: Vec<_> = protected.iter().map(|p| fingerprint(p)).collect();
    let (code, stderr, writes) = run_traced(args, log_dir);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(
        stderr.contains("refusing to write the report")
            && stderr.contains("never writes into evidence"),
        "{args:?}: {stderr}"
    );
    if let Some(w) = writes {
        assert!(w.is_empty(), "{args:?} opened for writing: {w:#?}");
    }
    for (p, b) in protected.iter().zip(&before) {
        assert!(fingerprint(p) == *b, "{args:?} changed {}", p.display());
    }
    for d in dirs {
        assert!(leftovers(d).is_empty(), "{args:?} left {:?}", leftovers(d));
    }
}

#[test]
fn an_output_that_is_or_reaches_an_evidence_file_is_refused_and_nothing_is_written() {
    let c = case();
    let d = c.dir.path();
    let root = s(&c.root);
    // A symbolic link to a file inside the root.
    let link = d.join("report-link.csv");
    symlink(&c.nscm, &link).unwrap();
    assert_refused(&["scan", "-q", "-o", s(&link), root], d, &[&c.nscm], &[d]);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // A hard link to the evidence file, outside the root.
    let hard = d.join("report-hard.csv");
    fs::hard_link(&c.nscm, &hard).unwrap();
    assert_refused(&["scan", "-q", "-o", s(&hard), root], d, &[&c.nscm], &[d]);
    assert_eq!(
        fs::metadata(&hard).unwrap().ino(),
        fs::metadata(&c.nscm).unwrap().ino()
    );
    // A place inside the root: directly, through `..`, and through a link to the root.
    let inside = c.root.join("report.csv");
    assert_refused(
        &["scan", "-q", "-o", s(&inside), root],
        d,
        &[&c.nscm],
        &[&c.root],
    );
    assert!(!inside.exists());
    let dotdot = format!("{root}/WINNT/../new.csv");
    assert_refused(
        &["scan", "-q", "-o", &dotdot, root],
        d,
        &[&c.nscm],
        &[&c.root],
    );
    let root_link = d.join("root-link");
    symlink(&c.root, &root_link).unwrap();
    let via = root_link.join(SERVER).join("Nscm.exe");
    assert_refused(&["scan", "-q", "-o", s(&via), root], d, &[&c.nscm], &[]);
    assert_refused(&["scan", "-q", "-o", root, root], d, &[&c.nscm], &[d]);
    assert!(!c.root.join(".kbscan").exists());
}

#[test]
fn an_output_equal_to_an_image_or_any_of_its_segments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A file root is read as an image: its bytes need not be a real disk for the refusal.
    let img = d.join("mbr.img");
    fs::write(&img, vec![0x5a; 64 * 1024]).unwrap();
    assert_refused(&["scan", "-q", "-o", s(&img), s(&img)], d, &[&img], &[d]);
    let link = d.join("image-link");
    symlink(&img, &link).unwrap();
    assert_refused(&["scan", "-q", "-o", s(&link), s(&img)], d, &[&img], &[d]);
    assert_refused(&["scan", "-q", "-o", s(&img), s(&link)], d, &[&img], &[d]);
    // A split set: every segment, and the next name, which would join the set.
    let split = d.join("split");
    fs::create_dir(&split).unwrap();
    let segs: Vec<PathBuf> = (1..=3)
        .map(|i| split.join(format!("disk.{i:03}")))
        .collect();
    for sg in &segs {
        fs::write(sg, vec![0x11; 4096]).unwrap();
    }
    let protected: Vec<&Path> = segs.iter().map(PathBuf::as_path).collect();
    for sg in &segs {
        assert_refused(
            &["scan", "-q", "-o", s(sg), s(&segs[0])],
            d,
            &protected,
            &[&split],
        );
    }
    let next = split.join("disk.004");
    assert_refused(
        &["scan", "-q", "-o", s(&next), s(&segs[0])],
        d,
        &protected,
        &[&split],
    );
    assert!(!next.exists());
    // An EWF set: every segment file.
    let ewf = d.join("ewf");
    fs::create_dir(&ewf).unwrap();
    let parts: Vec<PathBuf> = ["case.E01", "case.E02"]
        .iter()
        .map(|n| ewf.join(n))
        .collect();
    for p in &parts {
        fs::write(p, b"EVF\x09\x0d\x0a\xff\x00").unwrap();
    }
    let protected: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
    for p in &parts {
        assert_refused(
            &["scan", "-q", "-o", s(p), s(&parts[0])],
            d,
            &protected,
            &[&ewf],
        );
    }
}

/// A VMDK descriptor names its extent files; they hold the disk, so `-o` on any of them is
/// refused like the descriptor itself (made by qemu-img: a monolithicFlat and a split sparse
/// set).
#[test]
fn an_output_equal_to_a_vmdk_extent_file_is_refused() {
    if !common::have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (sub, extent) in [
        ("monolithicFlat", "disk-flat.vmdk"),
        ("twoGbMaxExtentSparse", "disk-s001.vmdk"),
    ] {
        let vdir = d.join(sub);
        fs::create_dir(&vdir).unwrap();
        let desc = vdir.join("disk.vmdk");
        let st = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "vmdk", "-o"])
            .arg(format!("subformat={sub}"))
            .arg(&desc)
            .arg("1M")
            .status()
            .unwrap();
        assert!(st.success(), "qemu-img create {sub}");
        let ext = vdir.join(extent);
        assert!(
            ext.is_file(),
            "{sub}: {:?}",
            fs::read_dir(&vdir).unwrap().collect::<Vec<_>>()
        );
        for target in [&desc, &ext] {
            assert_refused(
                &["scan", "-q", "-o", s(target), s(&desc)],
                d,
                &[&desc, &ext],
                &[&vdir],
            );
        }
    }
}

/// The `-o` guard reads a descriptor as the reader does (one parser): an extent named
/// without quotes (`RW 2048 FLAT b-flat.vmdk 0`, read by kbscan and other readers) is
/// protected as a quoted one, also from the CSV examination record written beside the
/// report; beside a descriptor kbscan cannot read, which another reader might take to name
/// any file there, nothing is written at all.
#[test]
fn the_output_guard_reads_a_vmdk_descriptor_as_the_reader_does() {
    if !common::have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vdir = d.join("set");
    fs::create_dir(&vdir).unwrap();
    let desc = vdir.join("d.vmdk");
    let st = Command::new("qemu-img")
        .args([
            "create",
            "-q",
            "-f",
            "vmdk",
            "-o",
            "subformat=monolithicFlat",
        ])
        .arg(&desc)
        .arg("1M")
        .status()
        .unwrap();
    assert!(st.success(), "qemu-img create");
    let text = fs::read_to_string(&desc).unwrap();
    assert!(text.contains("FLAT \"d-flat.vmdk\" 0"), "{text}");
    // The extent renamed, named bare; a second extent whose name is the record of `-o r.csv`.
    fs::rename(vdir.join("d-flat.vmdk"), vdir.join("b-flat.vmdk")).unwrap();
    fs::write(vdir.join("r.csv.examination.json"), vec![0u8; 512]).unwrap();
    let bare = text.replace(
        "RW 2048 FLAT \"d-flat.vmdk\" 0",
        "RW 2048 FLAT b-flat.vmdk 0\nRW 1 FLAT r.csv.examination.json 0",
    );
    assert_ne!(bare, text);
    fs::write(&desc, &bare).unwrap();
    let ext = vdir.join("b-flat.vmdk");
    let side = vdir.join("r.csv.examination.json");
    let (code, doc) = scan_json(&[&desc], &["-q", "--rule", "MS04-008"]);
    assert_eq!(doc["images"][0]["segments"], 3, "{code}: {doc}");
    assert_refused(
        &["scan", "-q", "-o", s(&ext), s(&desc)],
        d,
        &[&desc, &ext, &side],
        &[&vdir],
    );
    assert_refused(
        &[
            "scan",
            "-q",
            "-f",
            "csv",
            "-o",
            s(&vdir.join("r.csv")),
            s(&desc),
        ],
        d,
        &[&desc, &ext, &side],
        &[&vdir],
    );
    // Unreadable (a quote inside a bare name): no file beside it may be written.
    fs::write(&desc, bare.replace("b-flat.vmdk 0", "b-fl\"at.vmdk 0")).unwrap();
    let other = vdir.join("anything.json");
    assert_refused(
        &["scan", "-q", "-o", s(&other), s(&desc)],
        d,
        &[&desc, &ext, &side],
        &[&vdir],
    );
    assert!(!other.exists());
    // A readable descriptor keeps only its files: a report beside it is written.
    fs::write(&desc, &bare).unwrap();
    let o = run(&[
        "scan",
        "-q",
        "--rule",
        "MS04-008",
        "-o",
        s(&other),
        s(&desc),
    ]);
    assert!(other.is_file(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn an_output_equal_to_a_hive_a_rule_file_or_a_version_input_is_refused() {
    let c = case();
    let d = c.dir.path();
    let hive = d.join("SOFTWARE.exported");
    fs::copy(
        system("w2k-sp4-patched").join("WINNT/system32/config/SOFTWARE"),
        &hive,
    )
    .unwrap();
    let root = s(&c.root);
    for flag in ["--software-hive", "--system-hive"] {
        assert_refused(
            &["scan", "-q", flag, s(&hive), "-o", s(&hive), root],
            d,
            &[&hive, &c.nscm],
            &[d],
        );
    }
    let hive_link = d.join("hive-hard");
    fs::hard_link(&hive, &hive_link).unwrap();
    assert_refused(
        &[
            "scan",
            "-q",
            "--software-hive",
            s(&hive),
            "-o",
            s(&hive_link),
            root,
        ],
        d,
        &[&hive],
        &[d],
    );
    // `kbscan version -o X X`, by the same name and by a hard link.
    let exe = d.join("copy.exe");
    fs::copy(&c.nscm, &exe).unwrap();
    assert_refused(&["version", "-o", s(&exe), s(&exe)], d, &[&exe], &[d]);
    let exe_link = d.join("copy-hard.exe");
    fs::hard_link(&exe, &exe_link).unwrap();
    assert_refused(&["version", "-o", s(&exe_link), s(&exe)], d, &[&exe], &[d]);
    // A missing input is compared by name: `version -o X X` never creates X.
    let missing = d.join("missing.exe");
    assert_refused(&["version", "-o", s(&missing), s(&missing)], d, &[], &[d]);
    assert!(!missing.exists());
    // A rule file is an input too.
    let rules = d.join("extra.toml");
    fs::copy(repo().join("rules/ms04-008.toml"), &rules).unwrap();
    assert_refused(
        &["rules", "--rules", s(&rules), "-o", s(&rules)],
        d,
        &[&rules],
        &[d],
    );
}

#[test]
fn a_normal_output_is_written_whole_and_replaces_an_unrelated_file() {
    let c = case();
    let d = c.dir.path();
    let out_dir = d.join("reports");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("findings.json");
    let evidence = fingerprint(&c.nscm);
    // Created new.
    let (rc, stderr, writes) =
        run_traced(&["scan", "-q", "-f", "json", "-o", s(&out), s(&c.root)], d);
    assert_eq!(rc, 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["roots"][0]["verdict"], "vulnerable");
    assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o022, 0);
    // Under strace: the one open for writing is a new temporary file beside the target.
    if let Some(w) = writes {
        assert_eq!(w.len(), 1, "{w:#?}");
        let line = &w[0];
        for f in ["O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_CLOEXEC"] {
            assert!(line.contains(f), "{f} missing: {line}");
        }
        assert!(!line.contains("O_TRUNC"), "{line}");
        assert!(
            line.contains(&format!("\"{}/.findings.json.kbscan-", out_dir.display())),
            "{line}"
        );
    }
    // An existing unrelated file is refused without --force, and left as it was.
    fs::write(&out, b"old report").unwrap();
    let old_ino = fs::metadata(&out).unwrap().ino();
    let o = run(&["scan", "-q", "-f", "csv", "-o", s(&out), s(&c.root)]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the file exists; give --force to replace it"),
        "{err}"
    );
    assert_eq!(fs::read(&out).unwrap(), b"old report");
    assert!(!d.join("reports/findings.json.examination.json").exists());
    // With --force it is replaced (a new inode: never written through).
    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-q",
        "-f",
        "csv",
        "--force",
        "-o",
        s(&out),
        s(&c.root),
    ]);
    assert_eq!(code(&o), 1);
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("root,root_verdict,"), "{text}");
    assert_ne!(fs::metadata(&out).unwrap().ino(), old_ino);
    // A link outside the root to an unrelated file: the report goes where it leads.
    let target = out_dir.join("real.txt");
    fs::write(&target, b"x").unwrap();
    let link = out_dir.join("via-link.txt");
    symlink(&target, &link).unwrap();
    let o = run(&["rules", "-o", s(&link)]);
    assert_eq!(code(&o), 2, "an existing file behind a link is refused too");
    assert_eq!(fs::read(&target).unwrap(), b"x");
    let o = run(&["rules", "--force", "-o", s(&link)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read_to_string(&target).unwrap().contains("MS04-008"));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(leftovers(&out_dir).is_empty(), "{:?}", leftovers(&out_dir));
    assert!(fingerprint(&c.nscm) == evidence);
}

#[test]
fn a_failed_command_leaves_no_report_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = d.join("bad.toml");
    fs::write(&bad, "schema = 1\nid = ").unwrap();
    let out = d.join("out.txt");
    fs::write(&out, b"keep me").unwrap();
    let o = run(&["rules", "--rules", s(&bad), "--force", "-o", s(&out)]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.toml"));
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
    let fresh = d.join("fresh.txt");
    let o = run(&["rules", "--rules", s(&bad), "-o", s(&fresh)]);
    assert_eq!(code(&o), 2);
    assert!(!fresh.exists());
    assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
}

/// Runs `kbscan ARGS` through `sh -c` with a shell redirection of standard output.
fn with_redirect(redirect: &str, args: &[&str]) -> (i32, String) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" \"$@\" {redirect}"))
        .arg(env!("CARGO_BIN_EXE_kbscan"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_failed_write_is_exit_2_with_a_message_and_a_broken_pipe_is_quiet() {
    let c = case();
    let root = s(&c.root);
    // Standard output closed: refused before the scan, not lost silently.
    let (code, stderr) = with_redirect(">&-", &["scan", "-q", root]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("standard output is closed"), "{stderr}");
    let (code, stderr) = with_redirect(">&-", &["rules"]);
    assert_eq!(code, 2, "{stderr}");
    // With -o, a closed standard output does not matter.
    let out = c.dir.path().join("r.txt");
    let (code, stderr) = with_redirect(">&-", &["rules", "-o", s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(fs::read_to_string(&out).unwrap().contains("MS04-008"));
    // Redirected to /dev/null on purpose: fine, the exit code is the verdict.
    let (code, stderr) = with_redirect(">/dev/null", &["scan", "-q", root]);
    assert_eq!(code, 1, "{stderr}");
    // A full device, as standard output and as -o.
    let (code, stderr) = with_redirect(">/dev/full", &["scan", "-q", root]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let o = run(&["scan", "--rule", "MS04-008", "-q", "-o", "/dev/full", root]);
    assert_eq!(common::code(&o), 2);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("/dev/full") && stderr.contains("No space"),
        "{stderr}"
    );
    // `| head -c 10`: the reader goes away; kbscan stops quietly, exit code the verdict.
    let all = samples().join("systems");
    let roots: Vec<PathBuf> = fs::read_dir(&all)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbscan"))
        .arg("scan")
        .args(["-q", "-f", "json"])
        .args(&roots)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here; kbscan is still writing a report of several kilobytes.
    let o = child.wait_with_output().unwrap();
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1));
    let (code, stderr) = with_redirect("| head -c 10 >/dev/null", &["scan", "-f", "json", root]);
    assert_eq!(code, 0, "(head's status) {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// Runs kbscan and checks it finishes within `limit`.
fn quick(args: &[&str], limit: Duration) -> std::process::Output {
    let t = Instant::now();
    let o = run(args);
    assert!(t.elapsed() < limit, "{args:?} took {:?}", t.elapsed());
    o
}

#[test]
fn arguments_are_bounded_with_clear_errors() {
    let c = case();
    let root = s(&c.root);
    let limit = Duration::from_secs(20);
    // --max-size at the top of u64 does not wrap: the scan is the same as with the default.
    let o = quick(
        &[
            "scan",
            "--rule",
            "MS04-008",
            "-q",
            "-f",
            "json",
            "--max-size",
            "18446744073709551615",
            root,
        ],
        limit,
    );
    assert_eq!(code(&o), 1);
    let big = json(&o);
    let (_, normal) = scan_json(&[&c.root], &["--rule", "MS04-008", "-q"]);
    for (a, b) in findings(&big["roots"][0])
        .iter()
        .zip(findings(&normal["roots"][0]))
    {
        assert_eq!(a["status"], b["status"], "{a:#}");
        assert_eq!(a["sha256"], b["sha256"]);
        assert_ne!(a["error_kind"], "changed", "{a:#}");
    }
    // Suffixes: 64M reads the files; 1K is too small for them.
    let o = quick(
        &[
            "scan",
            "--rule",
            "MS04-008",
            "-q",
            "-f",
            "json",
            "--max-size",
            "64M",
            root,
        ],
        limit,
    );
    assert_eq!(code(&o), 1);
    let o = quick(
        &[
            "scan",
            "--rule",
            "MS04-008",
            "-q",
            "-f",
            "json",
            "--max-size",
            "1K",
            root,
        ],
        limit,
    );
    let doc = json(&o);
    assert!(findings(&doc["roots"][0])
        .iter()
        .any(|f| f["error_kind"] == "too_large"));
    for bad in ["18446744073709551616", "16777216T", "12X", "1.5G"] {
        let o = quick(
            &["scan", "--rule", "MS04-008", "--max-size", bad, root],
            limit,
        );
        assert_eq!(code(&o), 2, "{bad}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("--max-size"), "{bad}: {e}");
    }
    // -j: 1 to 256.
    for bad in ["0", "257", "1000", "18446744073709551615"] {
        let o = quick(&["scan", "--rule", "MS04-008", "-j", bad, root], limit);
        assert_eq!(code(&o), 2, "-j {bad}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("from 1 to 256"), "-j {bad}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    let o = quick(
        &["scan", "--rule", "MS04-008", "-q", "-j", "256", root],
        limit,
    );
    assert_eq!(code(&o), 1);
    // Rule files: a device, a FIFO (nobody writes to it), a folder, one too large.
    let fifo = c.dir.path().join("rules.fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let huge = c.dir.path().join("huge.toml");
    fs::File::create(&huge)
        .unwrap()
        .set_len(10 * 1024 * 1024 * 1024)
        .unwrap();
    let cases = [
        ("/dev/zero", "a character device"),
        (s(&fifo), "a FIFO"),
        (s(c.dir.path()), "a folder"),
        (s(&huge), "too large"),
    ];
    for (path, why) in cases {
        let o = quick(&["rules", "--rules", path], Duration::from_secs(10));
        assert_eq!(code(&o), 2, "{path}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(why) && e.contains(path), "{path}: {e}");
    }
    // Hives given as arguments: a FIFO and a device are not read (and do not block).
    for hive in [s(&fifo), "/dev/zero"] {
        let o = quick(
            &[
                "scan",
                "--rule",
                "MS04-008",
                "-q",
                "-f",
                "json",
                "--software-hive",
                hive,
                root,
            ],
            limit,
        );
        let doc = json(&o);
        let err = doc["roots"][0]["system"]["software_hive"]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(err.contains("not a regular file"), "{hive}: {doc:#}");
    }
}
