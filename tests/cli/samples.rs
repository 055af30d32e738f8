//! The bundled example systems, scanned by the real binary, in every output format.
//! Expected hashes come from `sha256sum`/`md5sum` (sample_binaries/SHA256SUMS, MD5SUMS).

use crate::common;

use common::*;
use serde_json::Value;

/// One expected finding: path relative to the system, status, location rule, numeric version.
struct Want {
    path: &'static str,
    status: &'static str,
    location_rule: Option<&'static str>,
    file_version: Option<&'static str>,
}

struct System {
    name: &'static str,
    verdict: &'static str,
    exit: i32,
    findings: Vec<Want>,
}

fn w(
    path: &'static str,
    status: &'static str,
    rule: Option<&'static str>,
    v: Option<&'static str>,
) -> Want {
    Want {
        path,
        status,
        location_rule: rule,
        file_version: v,
    }
}

fn systems() -> Vec<System> {
    vec![
        System {
            name: "w2k-sp4-vulnerable",
            verdict: "vulnerable",
            exit: 1,
            findings: vec![
                w(
                    "WINNT/system32/Windows Media/Server/Nscm.exe",
                    "vulnerable",
                    None,
                    Some("4.1.0.3917"),
                ),
                w(
                    "WINNT/system32/Windows Media/Server/Nspmon.exe",
                    "vulnerable",
                    None,
                    Some("4.1.0.3917"),
                ),
            ],
        },
        System {
            name: "w2k-sp4-patched",
            verdict: "patched",
            exit: 0,
            findings: vec![
                w(
                    "WINNT/$NTUninstallKB832359$/Nscm.exe",
                    "vulnerable",
                    Some("ntuninstall"),
                    Some("4.1.0.3917"),
                ),
                w(
                    "WINNT/$NTUninstallKB832359$/Nspmon.exe",
                    "vulnerable",
                    Some("ntuninstall"),
                    Some("4.1.0.3917"),
                ),
                w(
                    "WINNT/system32/Windows Media/Server/Nscm.exe",
                    "patched",
                    None,
                    Some("4.1.0.3934"),
                ),
                w(
                    "WINNT/system32/Windows Media/Server/Nspmon.exe",
                    "patched",
                    None,
                    Some("4.1.0.3934"),
                ),
            ],
        },
        System {
            name: "w2k-later-update",
            verdict: "patched",
            exit: 0,
            findings: vec![
                w(
                    "WINNT/system32/Windows Media/Server/Nscm.exe",
                    "patched",
                    None,
                    Some("4.1.0.3936"),
                ),
                w(
                    "WINNT/system32/Windows Media/Server/Nspmon.exe",
                    "patched",
                    None,
                    Some("4.1.0.3934"),
                ),
            ],
        },
        System {
            name: "odd-version-mismatch",
            verdict: "vulnerable",
            exit: 1,
            findings: vec![w(
                "WINNT/system32/Windows Media/Server/Nscm.exe",
                "vulnerable",
                None,
                Some("4.1.0.3917"),
            )],
        },
        System {
            name: "odd-two-languages",
            verdict: "patched",
            exit: 0,
            findings: vec![w(
                "WINNT/system32/Windows Media/Server/NSCM.EXE",
                "patched",
                None,
                Some("4.1.0.3934"),
            )],
        },
        System {
            name: "odd-no-version",
            verdict: "inconclusive",
            exit: 2,
            findings: vec![w(
                "WINNT/system32/Windows Media/Server/nscm.exe",
                "unknown_version",
                None,
                None,
            )],
        },
        System {
            name: "odd-string-only",
            verdict: "patched",
            exit: 0,
            findings: vec![w(
                "WINNT/system32/Windows Media/Server/Nspmon.exe",
                "patched",
                None,
                None,
            )],
        },
        System {
            name: "backup-copies-only",
            verdict: "not_installed",
            exit: 0,
            findings: vec![
                w(
                    "WINNT/$hf_mig$/KB832359/SP4QFE/Nscm.exe",
                    "vulnerable",
                    Some("hf_mig"),
                    Some("4.1.0.3917"),
                ),
                w(
                    "WINNT/ServicePackFiles/i386/nspmon.exe",
                    "vulnerable",
                    Some("servicepackfiles"),
                    Some("4.1.0.3917"),
                ),
                w(
                    "WINNT/system32/dllcache/nscm.exe",
                    "vulnerable",
                    Some("dllcache"),
                    Some("4.1.0.3917"),
                ),
            ],
        },
    ]
}

fn check_json_root(sys: &System, root: &Value) {
    let sha = manifest("SHA256SUMS");
    let md5 = manifest("MD5SUMS");
    assert_eq!(root["verdict"], sys.verdict, "{}: {root:#}", sys.name);
    assert!(!root["reasons"].as_array().unwrap().is_empty());
    let got = findings(root);
    assert_eq!(got.len(), sys.findings.len(), "{}: {root:#}", sys.name);
    for (f, want) in got.iter().zip(&sys.findings) {
        let ctx = format!("{} {}", sys.name, want.path);
        assert_eq!(f["path"], want.path, "{ctx}");
        assert_eq!(f["status"], want.status, "{ctx}");
        assert_eq!(f["rule"], "MS04-008", "{ctx}");
        assert_eq!(f["kb"], "KB832359", "{ctx}");
        assert_eq!(f["required_version"], "4.1.0.3934", "{ctx}");
        assert_eq!(
            f["location"],
            if want.location_rule.is_some() {
                "backup"
            } else {
                "live"
            },
            "{ctx}"
        );
        assert_eq!(f["location_rule"].as_str(), want.location_rule, "{ctx}");
        assert_eq!(f["file_version"].as_str(), want.file_version, "{ctx}");
        let key = format!("systems/{}/{}", sys.name, want.path);
        assert_eq!(
            f["sha256"].as_str(),
            sha.get(&key).map(String::as_str),
            "{ctx}"
        );
        assert_eq!(
            f["md5"].as_str(),
            md5.get(&key).map(String::as_str),
            "{ctx}"
        );
        let on_disk = std::fs::metadata(system(sys.name).join(want.path))
            .unwrap()
            .len();
        assert_eq!(f["size"].as_u64(), Some(on_disk), "{ctx}");
        assert!(f["modified"].as_str().unwrap().ends_with('Z'), "{ctx}");
        assert_eq!(f["name"], want.path.rsplit('/').next().unwrap(), "{ctx}");
        assert!(
            f["abs_path"].as_str().unwrap().ends_with(want.path),
            "{ctx}"
        );
    }
}

#[test]
fn every_example_system_in_json() {
    for sys in systems() {
        let (code, doc) = scan_json(&[&system(sys.name)], &["--rule", "MS04-008"]);
        assert_eq!(code, sys.exit, "{}", sys.name);
        assert_eq!(doc["summary"]["exit_code"], sys.exit);
        assert_eq!(doc["tool"]["name"], "kbscan");
        assert_eq!(doc["rules"][0]["id"], "MS04-008");
        check_json_root(&sys, &doc["roots"][0]);
    }
}

#[test]
fn all_systems_at_once_exit_1_and_keep_each_verdict() {
    let all = systems();
    let paths: Vec<_> = all.iter().map(|s| system(s.name)).collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let (code, doc) = scan_json(&refs, &["--rule", "MS04-008"]);
    assert_eq!(code, 1, "vulnerable wins over errors");
    for (sys, root) in all.iter().zip(doc["roots"].as_array().unwrap()) {
        check_json_root(sys, root);
    }
    let s = &doc["summary"];
    assert_eq!(s["roots"], all.len());
    assert_eq!(s["verdicts"]["vulnerable"], 2);
    assert_eq!(s["verdicts"]["patched"], 4);
    assert_eq!(s["verdicts"]["inconclusive"], 1);
    assert_eq!(s["verdicts"]["not_installed"], 1);
    assert_eq!(s["findings"]["unknown_version"], 1);
}

#[test]
fn the_odd_cases_carry_their_evidence() {
    // Numeric version is the authority; the disagreeing string is a note.
    let (_, doc) = scan_json(&[&system("odd-version-mismatch")], &["--rule", "MS04-008"]);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(f["file_version_string"], "4.1.0.3934");
    assert_eq!(f["version_source"], "fixed");
    assert!(f["notes"].to_string().contains("disagrees"), "{f:#}");

    // Two string tables, each with its own language; a PE32+ file; an upper-case name.
    let (_, doc) = scan_json(&[&system("odd-two-languages")], &["--rule", "MS04-008"]);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(f["name"], "NSCM.EXE");
    assert_eq!(f["pe"]["format"], "PE32+");
    assert_eq!(f["pe"]["machine"], "x86_64");
    let tables = f["string_tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2, "{f:#}");
    assert_eq!(tables[0]["lang"], "0409");
    assert_eq!(tables[0]["codepage"], "04b0");
    assert_eq!(tables[1]["lang"], "0407");
    assert!(tables[1]["strings"]["FileDescription"]
        .as_str()
        .unwrap()
        .contains("für"));
    assert_eq!(tables[1]["strings"]["FileVersion"], "4, 1, 0, 3934");
    // Not the published English size: a note, never a different status.
    assert!(f["notes"].to_string().contains("222384"), "{f:#}");

    // No version resource at all.
    let (_, doc) = scan_json(&[&system("odd-no-version")], &["--rule", "MS04-008"]);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(f["error_kind"], "no_version_resource");
    assert!(f["file_version"].is_null());
    assert_eq!(doc["roots"][0]["reasons"][0]["code"], "live_unjudged");

    // Fixed info invalid: the string is the fallback.
    let (_, doc) = scan_json(&[&system("odd-string-only")], &["--rule", "MS04-008"]);
    let f = &doc["roots"][0]["findings"][0];
    assert!(f["file_version"].is_null());
    assert_eq!(f["version"], "4.1.0.3934");
    assert_eq!(f["version_source"], "string");
    assert_eq!(
        f["file_version_string"],
        "4.1.00.3934 (srv_wms.040115-1200)"
    );
    assert!(f["notes"].to_string().contains("signature"), "{f:#}");

    // The patched English build has exactly the published sizes: no size note.
    let (_, doc) = scan_json(&[&system("w2k-sp4-patched")], &["--rule", "MS04-008"]);
    let root = &doc["roots"][0];
    for name in ["Server/Nscm.exe", "Server/Nspmon.exe"] {
        let f = finding(root, name);
        assert_eq!(f["size"], f["published_size"], "{f:#}");
        assert!(!f["notes"].to_string().contains("differs"), "{f:#}");
    }
    assert_eq!(finding(root, "Server/Nscm.exe")["pe"]["format"], "PE32");
    assert_eq!(finding(root, "Server/Nspmon.exe")["pe"]["format"], "PE32+");
    // The uninstall copies are reported, explained, and not counted.
    let backup = finding(root, "$NTUninstallKB832359$/Nscm.exe");
    assert_eq!(backup["location_folder"], "$NTUninstallKB832359$");
    assert!(backup["notes"].to_string().contains("never counted"));
    assert!(root["reasons"].to_string().contains("backup_ignored"));
}

#[test]
fn jsonl_has_one_finding_per_line_with_its_root() {
    let root = system("w2k-sp4-patched");
    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-f",
        "jsonl",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finds: Vec<_> = lines.iter().filter(|l| l["record"] == "finding").collect();
    assert_eq!(finds.len(), 4);
    for f in &finds {
        assert_eq!(f["root"], root.to_str().unwrap());
        assert_eq!(f["root_verdict"], "patched");
        assert!(f["sha256"].as_str().unwrap().len() == 64);
    }
    let roots: Vec<_> = lines.iter().filter(|l| l["record"] == "root").collect();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0]["verdict"], "patched");
    assert_eq!(lines.last().unwrap()["record"], "summary");
    assert_eq!(lines.last().unwrap()["exit_code"], 0);
}

#[test]
fn csv_has_a_header_and_one_row_per_finding() {
    let sha = manifest("SHA256SUMS");
    for sys in systems() {
        let o = run(&[
            "scan",
            "--rule",
            "MS04-008",
            "-f",
            "csv",
            system(sys.name).to_str().unwrap(),
        ]);
        assert_eq!(code(&o), sys.exit, "{}", sys.name);
        let mut rdr = csv::Reader::from_reader(&o.stdout[..]);
        let headers = rdr.headers().unwrap().clone();
        assert_eq!(&headers[0], "root");
        assert_eq!(&headers[2], "path");
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), sys.findings.len().max(1), "{}", sys.name);
        for (row, want) in rows.iter().zip(&sys.findings) {
            assert_eq!(&row[col("root_verdict")], sys.verdict);
            assert_eq!(&row[col("path")], want.path);
            assert_eq!(&row[col("status")], want.status);
            assert_eq!(&row[col("file_version")], want.file_version.unwrap_or(""));
            let key = format!("systems/{}/{}", sys.name, want.path);
            assert_eq!(&row[col("sha256")], sha[&key].as_str());
        }
    }
}

#[test]
fn table_shows_verdicts_rows_and_evidence_with_whole_paths() {
    for sys in systems() {
        let o = run(&[
            "scan",
            "--rule",
            "MS04-008",
            system(sys.name).to_str().unwrap(),
        ]);
        assert_eq!(code(&o), sys.exit, "{}", sys.name);
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.contains(&format!(": {}", sys.verdict.to_uppercase())),
            "{text}"
        );
        for want in &sys.findings {
            assert!(text.contains(want.status), "{text}");
            let key = format!("systems/{}/{}", sys.name, want.path);
            assert!(
                text.contains(manifest("SHA256SUMS")[&key].as_str()),
                "{text}"
            );
        }
        // Into a pipe the findings table keeps to 100 columns; a path too long for its
        // column breaks only after a `/` (it used to break mid-name): each row's path, its
        // continuation lines joined, is the whole path.
        let mut paths: Vec<String> = Vec::new();
        for l in text.lines().filter(|l| l.contains(" | ")) {
            let cells: Vec<&str> = l.split(" | ").map(str::trim).collect();
            if cells[0].parse::<usize>().is_ok() {
                paths.push(cells[1].to_owned());
            } else if let (Some(p), true, false) =
                (paths.last_mut(), cells[0].is_empty(), cells[1].is_empty())
            {
                assert!(p.ends_with('/'), "a path broken inside a name: {p} | {l}");
                p.push_str(cells[1]);
            }
        }
        for want in &sys.findings {
            assert!(
                paths.iter().any(|p| p == want.path),
                "{} not whole in a row: {paths:?}\n{text}",
                want.path
            );
        }
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("exit code {}", sys.exit)), "{text}");
    }
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-f",
        "json",
        "-o",
        out.to_str().unwrap(),
        system("w2k-sp4-vulnerable").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["roots"][0]["verdict"], "vulnerable");
}

#[test]
fn refuses_to_write_the_report_into_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-o",
        out.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(!out.exists());
    assert!(String::from_utf8_lossy(&o.stderr).contains("never writes into evidence"));
}

#[test]
fn version_command_describes_any_pe() {
    let f = sample_file("odd-two-languages/WINNT/system32/Windows Media/Server/NSCM.EXE");
    let o = run(&["version", "-f", "json", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let doc = json(&o);
    let file = &doc["files"][0];
    let key = "systems/odd-two-languages/WINNT/system32/Windows Media/Server/NSCM.EXE";
    assert_eq!(file["sha256"], manifest("SHA256SUMS")[key].as_str());
    let res = &file["resources"][0];
    assert_eq!(res["fixed"]["file_version"], "4.1.0.3934");
    assert_eq!(res["fixed"]["file_type"], "APP");
    assert_eq!(res["string_tables"].as_array().unwrap().len(), 2);
    assert_eq!(res["translations"].as_array().unwrap().len(), 2);

    // Table and CSV carry the same facts.
    let o = run(&["version", f.to_str().unwrap()]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("4.1.0.3934") && text.contains("040704b0") && text.contains("für"),
        "{text}"
    );
    let o = run(&["version", "-f", "csv", f.to_str().unwrap()]);
    let mut rdr = csv::Reader::from_reader(&o.stdout[..]);
    let rows: Vec<_> = rdr.records().map(Result::unwrap).collect();
    assert!(rows
        .iter()
        .any(|r| &r[16] == "0407" && &r[18] == "FileDescription"));

    // issue 15: a readable PE without a version resource is a fact (exit 0, a note) ...
    let alone = run(&["version", nov_path().to_str().unwrap()]);
    assert_eq!(code(&alone), 0);
    assert!(String::from_utf8_lossy(&alone.stdout).contains("note            no version resource"));
    // ... a missing file beside it: exit 2, and the other still shown.
    let nov = sample_file("odd-no-version/WINNT/system32/Windows Media/Server/nscm.exe");
    let o = run(&[
        "version",
        "-f",
        "json",
        nov.to_str().unwrap(),
        "/nonexistent/x.exe",
    ]);
    assert_eq!(code(&o), 2);
    let doc = json(&o);
    assert_eq!(doc["files"][0]["error_kind"], serde_json::Value::Null);
    assert_eq!(doc["files"][0]["note"], "no version resource");
    assert_eq!(doc["files"][0]["pe"]["format"], "PE32");
    assert_eq!(doc["files"][1]["error_kind"], "io");
}

fn nov_path() -> std::path::PathBuf {
    sample_file("odd-no-version/WINNT/system32/Windows Media/Server/nscm.exe")
}

#[test]
fn version_names_a_16_bit_ne_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut ne = vec![0u8; 0x80];
    ne[..2].copy_from_slice(b"MZ");
    ne[0x3c] = 0x40;
    ne[0x40..0x42].copy_from_slice(b"NE");
    let path = dir.path().join("progman.exe");
    std::fs::write(&path, &ne).unwrap();
    let o = run(&["version", path.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("a 16-bit NE executable, not a PE"), "{err}");
    assert!(!err.contains("no MZ/PE signature"), "{err}");
}

#[test]
fn rules_command_lists_the_builtin_rule() {
    let o = run(&["rules", "-f", "json"]);
    assert_eq!(code(&o), 0);
    let doc = json(&o);
    let ids: Vec<_> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, builtin_rules());
    let ms04 = &doc["rules"][2];
    assert_eq!(ms04["kb"], "KB832359");
    assert_eq!(ms04["files"][0]["fixed_version"], "4.1.0.3934");
    assert_eq!(ms04["published"], "2004-03-09");
    // The sources are shown: documents, quoted rows per file, citations.
    for r in doc["rules"].as_array().unwrap() {
        assert!(!r["sources"].as_array().unwrap().is_empty(), "{r:#}");
        for f in r["files"].as_array().unwrap() {
            let q = &f["sources"][0];
            assert!(q["ref"].is_string() && q["quote"].is_string(), "{f:#}");
        }
    }
    assert_eq!(doc["rules"][0]["files"][0]["judged_by"], "MS03-022");
    assert_eq!(doc["rules"][4]["registry_same_as_withdrawn"], true);
    let o = run(&["rules"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("Nspmon.exe") && text.contains("CAN-2003-0905"),
        "{text}"
    );
    assert!(
        text.contains("source [de]: MicrosoftDocs/security-updates.de-de:"),
        "{text}"
    );
    let o = run(&["rules", "--rule", "ms08-076", "-f", "json"]);
    assert_eq!(json(&o)["rules"].as_array().unwrap().len(), 1);
    let o = run(&["rules", "--rule", "MS99-999"]);
    assert_eq!(code(&o), 2);
    for f in ["table", "csv", "json"] {
        let o = run(&["rules", "--lineage", "-f", f]);
        assert_eq!(code(&o), 0);
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.contains("KB952068") && text.contains("4.1.0.3936"),
            "{f}: {text}"
        );
    }
}

/// Every regular file under `dir` (links not followed), as paths relative to `base`.
fn regular_files(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            regular_files(base, &e.path(), out);
        } else if t.is_file() {
            let rel = e.path().strip_prefix(base).unwrap().to_owned();
            out.push(rel.to_str().unwrap().to_owned());
        }
    }
}

#[test]
fn the_manifests_list_every_sample_file_with_its_hashes() {
    let base = samples();
    let mut files = Vec::new();
    regular_files(&base, &base.join("systems"), &mut files);
    files.sort();
    for (name, tool) in [("SHA256SUMS", "sha256sum"), ("MD5SUMS", "md5sum")] {
        let listed = manifest(name);
        let mut keys: Vec<_> = listed.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, files, "{name} lists exactly the files under systems/");
        let o = std::process::Command::new(tool)
            .args(["--check", "--strict", "--quiet", name])
            .current_dir(&base)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
