//! Issue 15: the examination record in every format, the summary-first table, `--brief`,
//! paths never broken inside a name, colours only when asked or on a terminal.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use sha2::{Digest, Sha256};

fn kbscan() -> Command {
    let mut c = Command::new(cargo_bin("kbscan"));
    c.env_remove("NO_COLOR");
    c
}

fn systems() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("sample_binaries/systems")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

const SERVER: &str = "sample_binaries/systems/w2k-sp4-vulnerable";

fn run(args: &[&str]) -> (String, i32) {
    let out = kbscan().args(args).output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

fn sha256_hex(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

#[test]
fn json_carries_the_examination_record() {
    let (text, code) = run(&[
        "scan",
        "-f",
        "json",
        "--case",
        "2024-017\x1b[2J",
        "--examiner",
        "A. N. Examiner",
        "--rule",
        "MS04-008",
        SERVER,
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ex = &v["examination"];
    assert_eq!(ex["tool"], "kbscan");
    assert_eq!(ex["version"], env!("CARGO_PKG_VERSION"));
    // The executable's hash is that of the binary that ran.
    let exe = std::fs::read(cargo_bin("kbscan")).unwrap();
    assert_eq!(ex["executable"]["sha256"], sha256_hex(&exe));
    // The case is escaped, never a raw escape sequence.
    assert_eq!(ex["case"], "2024-017\\x1b[2J");
    assert_eq!(ex["examiner"], "A. N. Examiner");
    assert!(ex["host"].as_str().is_some_and(|h| !h.is_empty()));
    let started = ex["started"].as_str().unwrap();
    let finished = ex["finished"].as_str().unwrap();
    assert!(started.ends_with('Z') && finished.ends_with('Z'));
    assert!(started <= finished, "{started} {finished}");
    let cmd: Vec<&str> = ex["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&cmd[1..3], ["scan", "-f"]);
    assert!(cmd.contains(&"2024-017\\x1b[2J"), "{cmd:?}");
    let rules = ex["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["id"], "MS04-008");
    assert_eq!(rules[0]["source"], "built-in:ms04-008.toml");
    let text = std::fs::read("rules/ms04-008.toml").unwrap();
    assert_eq!(rules[0]["sha256"], sha256_hex(&text));
}

#[test]
fn a_rules_file_is_hashed_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string("rules/ms04-008.toml")
        .unwrap()
        .replace("id = \"MS04-008\"", "id = \"LOCAL-1\"");
    assert!(rule.contains("LOCAL-1"));
    let path = dir.path().join("local.toml");
    std::fs::write(&path, &rule).unwrap();
    let (text, _) = run(&[
        "scan",
        "-f",
        "json",
        "--rules",
        path.to_str().unwrap(),
        "--rule",
        "LOCAL-1",
        SERVER,
    ]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r = &v["examination"]["rules"][0];
    assert_eq!(r["id"], "LOCAL-1");
    assert_eq!(r["source"], path.to_str().unwrap());
    assert_eq!(r["sha256"], sha256_hex(rule.as_bytes()));
}

#[test]
fn jsonl_starts_with_the_examination_record() {
    let (text, _) = run(&["scan", "-f", "jsonl", "--case", "C-1", SERVER]);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["record"], "examination");
    assert_eq!(first["case"], "C-1");
    assert_eq!(
        first["rules"].as_array().unwrap().len(),
        crate::common::builtin_rules().len()
    );
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["record"] == "examination")
            .count(),
        1
    );
    assert_eq!(records.last().unwrap()["record"], "summary");
}

#[test]
fn csv_gets_its_record_in_a_sidecar_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("findings.csv");
    let status = kbscan()
        .args(["scan", "-q", "-f", "csv", "--examiner", "E", "-o"])
        .arg(&out)
        .arg(SERVER)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("root,root_verdict,"), "{csv}");
    let side = dir.path().join("findings.csv.examination.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(side).unwrap()).unwrap();
    assert_eq!(v["examination"]["examiner"], "E");
    // Nothing else was left beside them (no temporary files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn brief_keeps_the_case_and_the_examiner() {
    let (text, code) = run(&[
        "scan",
        "--brief",
        "--case",
        "K-9",
        "--examiner",
        "A. Jones",
        SERVER,
    ]);
    assert_eq!(code, 1);
    let summary = text.find("\nSummary\n").unwrap();
    let head = &text[..summary];
    assert!(head.contains("\nExamination\n"), "{text}");
    assert!(head.contains("\n  case        K-9\n"), "{text}");
    assert!(head.contains("\n  examiner    A. Jones\n"), "{text}");
    assert!(head.contains("\n  started     "), "{text}");
}

#[test]
fn csv_on_standard_output_gives_its_record_on_standard_error() {
    let out = kbscan()
        .args([
            "scan",
            "-q",
            "-f",
            "csv",
            "--case",
            "K-9",
            "--examiner",
            "E",
        ])
        .arg(SERVER)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("root,root_verdict,"), "{csv}");
    assert!(!csv.contains("K-9"), "the CSV itself stays plain rows");
    let err = String::from_utf8(out.stderr).unwrap();
    let line = err
        .lines()
        .find(|l| l.starts_with("{\"examination\":"))
        .unwrap_or_else(|| panic!("no record on standard error: {err}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["examination"]["case"], "K-9");
    assert_eq!(v["examination"]["examiner"], "E");
    assert!(v["examination"]["rules"].as_array().unwrap().len() >= 5);
}

#[test]
fn the_sidecar_is_refused_inside_evidence_like_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let status = kbscan()
        .args(["scan", "-q", "-f", "csv", "-o"])
        .arg(root.join("x.csv"))
        .arg(&root)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

#[test]
fn case_and_examiner_are_bounded() {
    let long = "x".repeat(257);
    let out = kbscan()
        .args(["scan", "--case", &long, SERVER])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--case") && err.contains("at most 256"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_table_starts_with_the_record_and_the_summary() {
    // `--width 0`: one line per root in the matrix (the fitted layouts: tests/cli/first_read.rs).
    let mut args = vec![
        "scan".to_owned(),
        "--width".into(),
        "0".into(),
        "--case".into(),
        "K-9".into(),
    ];
    args.extend(systems().iter().map(|p| p.display().to_string()));
    let out = kbscan().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("kbscan "), "{}", lines[0]);
    assert_eq!(lines[1], "Examination");
    assert!(text.contains("\n  case        K-9\n"));
    assert!(text.contains("\n  rule        MS04-008 built-in:ms04-008.toml (sha256 "));
    let summary = lines.iter().position(|l| *l == "Summary").unwrap();
    let first_root = lines.iter().position(|l| l.starts_with("== ")).unwrap();
    assert!(summary < first_root);
    // One summary line per root, before any root's section, with its verdict and reason.
    let row = lines[summary..first_root]
        .iter()
        .find(|l| l.contains("/w2k-ms10-025-withdrawn "))
        .unwrap();
    assert!(row.contains("VULNERABLE"), "{row}");
    // MS10-025's verdict in the column headed by the rule and its KB.
    let head = lines[summary + 1];
    let col = head.find("MS10-025 (KB980858)").unwrap();
    assert!(
        row[col..].starts_with("vulnerable (withdrawn release suspected)"),
        "{head}\n{row}"
    );
    assert!(row.contains("MS10-025 live_vulnerable"), "{row}");
    assert!(lines[summary..first_root]
        .iter()
        .any(|l| l.starts_with("Summary: 25 root(s): ")));
    // The default keeps the evidence blocks.
    assert!(text.contains("  Evidence:\n"));
    assert!(text.contains("      sha256      "));
    // No colour into a pipe.
    assert!(!text.contains('\x1b'));
}

#[test]
fn brief_has_no_evidence_blocks_and_fits_100_columns() {
    let mut args = vec!["scan".to_owned(), "--brief".into()];
    args.extend(systems().iter().map(|p| p.display().to_string()));
    let (text, code) = {
        let out = kbscan().args(&args).output().unwrap();
        (String::from_utf8(out.stdout).unwrap(), out.status.code())
    };
    assert_eq!(code, Some(1));
    // At 100 columns the summary stacks each root (name, verdicts, reason): about 15 lines
    // for each root, the record and the summary included.
    let n = text.lines().count();
    let roots = text.matches("\n== ").count();
    assert!(roots >= 24, "{text}");
    assert!(
        n <= 15 * roots + 20,
        "--brief is {n} lines for {roots} roots:\n{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // The examination record stays (the report, however short, says what examined what).
    assert!(text.lines().take(3).any(|l| l == "Examination"), "{text}");
    assert!(text.lines().any(|l| l == "Summary"), "{text}");
    assert!(!text.contains("Evidence:"));
    // No evidence blocks: the only hashes are the record's (kbscan itself, the rule files).
    assert!(!text.contains("      sha256      "));
    // Every root still has its section and each file its row.
    assert_eq!(text.matches("\n== ").count(), 25);
    // A file's row: its path whole, the statuses wrapped in their column.
    let row = "\n    WINNT/system32/Windows Media/Server/Nscm.exe    live  4.1.0.3917  15872  MS04-008 vulnerable,\n";
    assert!(text.contains(row), "{text}");
    let at = text.find(row).unwrap() + row.len();
    assert!(
        text[at..].starts_with(&format!("{}MS08-076 vulnerable\n", " ".repeat(77))),
        "{}",
        &text[at..at + 200]
    );
    // `--width 0`: one line per file.
    args.extend(["--width".into(), "0".into()]);
    let out = kbscan().args(&args).output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains(
        "\n    WINNT/system32/Windows Media/Server/Nscm.exe  live  4.1.0.3917  15872  MS04-008 vulnerable, MS08-076 vulnerable\n"
    ));
}

/// Into a file or a pipe the table keeps to 100 columns; a path in the findings table breaks
/// only after a `/`, never inside a name (`Windows Media` stays whole); `--width 0` never
/// breaks a line.
#[test]
fn paths_in_the_findings_table_break_only_after_a_slash() {
    let (text, _) = run(&["scan", "--width", "80", SERVER]);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(' ') && l.contains(" | MS0"))
        .collect();
    assert!(!rows.is_empty(), "{text}");
    for l in text.lines().filter(|l| l.contains(" | ")) {
        let path = l.split(" | ").nth(1).unwrap().trim_end();
        assert!(
            path.is_empty() || path == "path" || path.ends_with('/') || path.ends_with(".exe"),
            "a path broken inside a name: {l}"
        );
    }
    let (whole, _) = run(&["scan", "--width", "0", SERVER]);
    assert!(
        whole.contains("| WINNT/system32/Windows Media/Server/Nscm.exe "),
        "{whole}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let (always, _) = run(&["scan", "--color", "always", SERVER]);
    assert!(always.contains("\x1b[1;31mVULNERABLE\x1b[0m"), "{always}");
    // Only the table's own colour sequences: every other escape character is gone.
    let stripped = always
        .replace("\x1b[1;31m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[0m", "");
    assert!(!stripped.contains('\x1b'));
    let (never, _) = run(&["scan", "--color", "never", SERVER]);
    assert!(!never.contains('\x1b'));
    // auto into a pipe: none, NO_COLOR or not.
    let out = kbscan()
        .env("NO_COLOR", "1")
        .args(["scan", SERVER])
        .output()
        .unwrap();
    assert!(!out.stdout.contains(&0x1b));
}
