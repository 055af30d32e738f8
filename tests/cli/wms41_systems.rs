//! The four example systems of the WMS 4.1 bulletin line (issue 13, item 4), scanned with every
//! built-in rule in every output format: `w2k-wms-fully-patched`, `w2k-ms10-025-withdrawn`,
//! `w2k-ms04-008-only` and `w2k-iis-nsiislog-unpatched` (built by sample_binaries/build.sh,
//! described in sample_binaries/README.md).

use crate::common;

use common::*;
use serde_json::Value;

/// One example system: its root verdict, exit code and the verdict of each built-in rule.
struct Expect {
    name: &'static str,
    verdict: &'static str,
    exit: i32,
    rules: [(&'static str, &'static str); 5],
    /// The table's compact `rules:` line.
    line: &'static str,
}

const SYSTEMS: &[Expect] = &[
    Expect {
        name: "w2k-wms-fully-patched",
        verdict: "patched",
        exit: 0,
        rules: [
            ("MS03-019", "patched"),
            ("MS03-022", "patched"),
            ("MS04-008", "patched"),
            ("MS08-076", "patched"),
            ("MS10-025", "patched"),
        ],
        line: "   rules: MS03-019 patched · MS03-022 patched · MS04-008 patched · MS08-076 patched · MS10-025 patched",
    },
    Expect {
        name: "w2k-ms10-025-withdrawn",
        verdict: "vulnerable",
        exit: 1,
        rules: [
            ("MS03-019", "not_installed"),
            ("MS03-022", "not_installed"),
            ("MS04-008", "patched"),
            ("MS08-076", "patched"),
            ("MS10-025", "vulnerable"),
        ],
        line: "   rules: MS03-019 not_installed · MS03-022 not_installed · MS04-008 patched · MS08-076 patched · MS10-025 vulnerable (withdrawn release suspected)",
    },
    Expect {
        name: "w2k-ms04-008-only",
        verdict: "vulnerable",
        exit: 1,
        rules: [
            ("MS03-019", "not_installed"),
            ("MS03-022", "not_installed"),
            ("MS04-008", "patched"),
            ("MS08-076", "vulnerable"),
            ("MS10-025", "vulnerable"),
        ],
        line: "   rules: MS03-019 not_installed · MS03-022 not_installed · MS04-008 patched · MS08-076 vulnerable · MS10-025 vulnerable",
    },
    Expect {
        name: "w2k-iis-nsiislog-unpatched",
        verdict: "vulnerable",
        exit: 1,
        rules: [
            ("MS03-019", "inconclusive"),
            ("MS03-022", "vulnerable"),
            ("MS04-008", "not_installed"),
            ("MS08-076", "not_installed"),
            ("MS10-025", "not_installed"),
        ],
        line: "   rules: MS03-019 inconclusive · MS03-022 vulnerable · MS04-008 not_installed · MS08-076 not_installed · MS10-025 not_installed",
    },
];

/// A scan in `fmt`; a table unwrapped (`--width 0`), so each rule-verdicts line is whole.
fn scan(fmt: &str, name: &str) -> (i32, Vec<u8>) {
    let o = run(&[
        "scan",
        "-q",
        "--width",
        "0",
        "-f",
        fmt,
        system(name).to_str().unwrap(),
    ]);
    (code(&o), o.stdout)
}

fn rule_verdicts(root: &Value) -> Vec<(String, String)> {
    root["rule_verdicts"]
        .as_array()
        .expect("rule_verdicts array")
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn want_rules(e: &Expect) -> Vec<(String, String)> {
    e.rules
        .iter()
        .map(|(r, v)| (r.to_string(), v.to_string()))
        .collect()
}

/// The reason codes of one rule's verdict.
fn rule_reason_codes(root: &Value, rule: &str) -> Vec<String> {
    root["rule_verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no rule verdict for {rule}: {root:#}"))["reasons"]
        .as_array()
        .expect("rule_verdicts[].reasons array")
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn wms41_systems_give_their_rule_verdicts_in_json() {
    let sha = manifest("SHA256SUMS");
    for e in SYSTEMS {
        let (exit, out) = scan("json", e.name);
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(exit, e.exit, "{}", e.name);
        assert_eq!(doc["summary"]["exit_code"], e.exit, "{}", e.name);
        let root = &doc["roots"][0];
        assert_eq!(root["verdict"], e.verdict, "{}", e.name);
        assert_eq!(rule_verdicts(root), want_rules(e), "{}", e.name);
        // Every finding is one of the committed files, with the manifest's hash.
        assert!(!findings(root).is_empty(), "{}", e.name);
        for f in findings(root) {
            let key = format!("systems/{}/{}", e.name, f["path"].as_str().unwrap());
            assert_eq!(f["sha256"], sha[&key].as_str(), "{key}");
        }
    }
}

#[test]
fn wms41_systems_give_their_rule_verdicts_in_jsonl() {
    for e in SYSTEMS {
        let (exit, out) = scan("jsonl", e.name);
        assert_eq!(exit, e.exit, "{}", e.name);
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        let roots: Vec<&Value> = lines.iter().filter(|l| l["record"] == "root").collect();
        assert_eq!(roots.len(), 1, "{}", e.name);
        assert_eq!(roots[0]["verdict"], e.verdict, "{}", e.name);
        assert_eq!(rule_verdicts(roots[0]), want_rules(e), "{}", e.name);
        for f in lines.iter().filter(|l| l["record"] == "finding") {
            assert_eq!(f["root_verdict"], e.verdict, "{}", e.name);
        }
        let summary = lines.last().unwrap();
        assert_eq!(summary["record"], "summary");
        assert_eq!(summary["exit_code"], e.exit, "{}", e.name);
    }
}

/// CSV has one row per finding and no per-rule verdict column, so a rule's verdict shows as
/// the statuses of its live copies: all patched, some vulnerable, some that could not be
/// judged (inconclusive), or none at all (not installed).
#[test]
fn wms41_systems_give_their_rule_verdicts_in_csv() {
    for e in SYSTEMS {
        let (exit, out) = scan("csv", e.name);
        assert_eq!(exit, e.exit, "{}", e.name);
        let mut rdr = csv::Reader::from_reader(&out[..]);
        let headers = rdr.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{}", e.name);
        for row in &rows {
            assert_eq!(&row[col("root_verdict")], e.verdict, "{}", e.name);
        }
        // Every rule's verdict is in the file, also for rules that found no file.
        let verdicts: Vec<&str> = rows[0][col("rule_verdicts")].split(' ').collect();
        for (rule, verdict) in e.rules {
            let want = format!("{rule}={verdict}");
            assert!(
                verdicts.contains(&want.as_str()),
                "{}: want {want} in {verdicts:?}",
                e.name
            );
        }
        for (rule, verdict) in e.rules {
            let live: Vec<&str> = rows
                .iter()
                .filter(|r| &r[col("rule")] == rule && &r[col("location")] == "live")
                .map(|r| r.get(col("status")).unwrap())
                .collect();
            let ok = match verdict {
                "patched" => !live.is_empty() && live.iter().all(|s| *s == "patched"),
                "vulnerable" => live.contains(&"vulnerable"),
                "inconclusive" => {
                    !live.contains(&"vulnerable")
                        && live
                            .iter()
                            .any(|s| *s == "unknown_version" || *s == "error")
                }
                "not_installed" => live.is_empty(),
                other => panic!("unexpected verdict {other}"),
            };
            assert!(ok, "{} {rule}: want {verdict}, live rows {live:?}", e.name);
        }
    }
}

#[test]
fn wms41_systems_give_their_rule_verdicts_in_the_table() {
    for e in SYSTEMS {
        let (exit, out) = scan("table", e.name);
        assert_eq!(exit, e.exit, "{}", e.name);
        let text = String::from_utf8(out).unwrap();
        let header = format!(
            "== {}: {}",
            system(e.name).display(),
            e.verdict.to_uppercase()
        );
        assert!(text.contains(&header), "{header}\n{text}");
        assert!(
            text.lines().any(|l| l == e.line),
            "{}: want the line\n{}\nin\n{text}",
            e.name,
            e.line
        );
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("exit code {}", e.exit)), "{text}");
    }
}

#[test]
fn withdrawn_ms10_025_release_is_vulnerable_with_both_reason_codes() {
    let name = "w2k-ms10-025-withdrawn";
    let (exit, out) = scan("json", name);
    assert_eq!(exit, 1);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let root = &doc["roots"][0];
    let codes = rule_reason_codes(root, "MS10-025");
    for want in ["registry_claims_update", "withdrawn_release_suspected"] {
        assert!(codes.iter().any(|c| c == want), "{want} not in {codes:?}");
        // Also among the root's reasons, and counted in the summary.
        assert!(
            root["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["code"] == want),
            "{want}"
        );
        assert_eq!(doc["summary"]["reasons"][want], 1, "{want}");
    }
    // Only MS10-025 carries them: MS04-008 and MS08-076 are recorded and patched.
    for rule in ["MS04-008", "MS08-076"] {
        let c = rule_reason_codes(root, rule);
        assert!(
            c.iter().any(|c| c == "registry_corroborates"),
            "{rule}: {c:?}"
        );
        assert!(
            !c.iter().any(|c| c == "withdrawn_release_suspected"),
            "{rule}: {c:?}"
        );
    }
    // The old live file beside the three keys the bulletin names (the same for v1 and v2).
    let nsum = findings(root)
        .iter()
        .find(|f| f["rule"] == "MS10-025" && f["location"] == "live" && f["target"] == "nsum.exe")
        .expect("live nsum.exe for MS10-025");
    assert_eq!(nsum["status"], "vulnerable");
    assert_eq!(nsum["version"], "4.1.0.3936");
    assert_eq!(nsum["required_version"], "4.1.0.3939");
    assert_eq!(
        nsum["lineage"]["text"],
        "4.1.0.3936 — installed by KB952068 (MS08-076)"
    );
    let rr = root["system"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "MS10-025")
        .unwrap();
    let keys: Vec<String> = rr["update_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    for k in [
        r"microsoft\windows nt\currentversion\hotfix\kb980858_wm41",
        r"microsoft\updates\windows media services 4.1\sp0\kb980858_wm41\filelist",
        r"microsoft\updates\windows media services 4.1\kb980858_wm41",
    ] {
        assert!(keys.iter().any(|h| h == k), "{k} not in {keys:?}");
    }
    assert!(rr["uninstall_dir"]
        .as_str()
        .is_some_and(|d| d.ends_with("$NTUninstallKB980858$")));

    // JSONL and CSV carry both codes too.
    let (_, out) = scan("jsonl", name);
    let text = String::from_utf8(out).unwrap();
    let root_line: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["record"] == "root")
        .unwrap();
    let c = rule_reason_codes(&root_line, "MS10-025");
    assert!(c.iter().any(|c| c == "registry_claims_update"), "{c:?}");
    assert!(
        c.iter().any(|c| c == "withdrawn_release_suspected"),
        "{c:?}"
    );
    let (_, out) = scan("csv", name);
    let mut rdr = csv::Reader::from_reader(&out[..]);
    let headers = rdr.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "root_reasons").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty(), "a CSV without findings");
    for row in rows {
        let codes: Vec<&str> = row[col].split(' ').collect();
        // Each code with the rule that gave it.
        assert!(
            codes.contains(&"MS10-025:registry_claims_update"),
            "{codes:?}"
        );
        assert!(
            codes.contains(&"MS10-025:withdrawn_release_suspected"),
            "{codes:?}"
        );
    }
}

#[test]
fn fully_patched_system_is_patched_for_every_rule_corroborated_and_exits_0() {
    let name = "w2k-wms-fully-patched";
    let (exit, out) = scan("json", name);
    assert_eq!(exit, 0);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let root = &doc["roots"][0];
    assert_eq!(root["verdict"], "patched");
    let verdicts = rule_verdicts(root);
    assert_eq!(verdicts.len(), 5, "every built-in rule: {verdicts:?}");
    for (rule, verdict) in verdicts {
        assert_eq!(verdict, "patched", "{rule}");
        let codes = rule_reason_codes(root, &rule);
        // Each update's record is in the SOFTWARE hive and agrees with the live file.
        assert!(
            codes.iter().any(|c| c == "registry_corroborates"),
            "{rule}: {codes:?}"
        );
        assert!(
            !codes.iter().any(|c| c == "withdrawn_release_suspected"),
            "{rule}: {codes:?}"
        );
    }
    // The live copies: each at the version its last update installed, with one finding for
    // every rule that names the file (the [[files]] of rules/*.toml).
    for (path, version, rules) in [
        (
            "Inetpub/Scripts/nsiislog.dll",
            "4.1.0.3932",
            &["MS03-019", "MS03-022"][..],
        ),
        (
            "WINNT/system32/Windows Media/Server/Nscm.exe",
            "4.1.0.3936",
            &["MS04-008", "MS08-076"][..],
        ),
        (
            "WINNT/system32/Windows Media/Server/Nspmon.exe",
            "4.1.0.3934",
            &["MS04-008"][..],
        ),
        (
            "WINNT/system32/Windows Media/Server/nsum.exe",
            "4.1.0.3939",
            &["MS08-076", "MS10-025"][..],
        ),
    ] {
        let live: Vec<&Value> = findings(root)
            .iter()
            .filter(|f| f["path"] == path)
            .collect();
        let mut judged_by: Vec<&str> = live.iter().filter_map(|f| f["rule"].as_str()).collect();
        judged_by.sort_unstable();
        assert_eq!(judged_by, rules, "{path}");
        for f in live {
            assert_eq!(f["location"], "live", "{path}");
            assert_eq!(f["status"], "patched", "{path} {}", f["rule"]);
            assert_eq!(f["version"], version, "{path}");
        }
    }
    // The uninstall folders keep the replaced files; they are reported, never counted.
    let backups: Vec<&Value> = findings(root)
        .iter()
        .filter(|f| f["location"] == "backup")
        .collect();
    assert!(backups.iter().any(|f| f["status"] == "vulnerable"));
    for dir in [
        "$NTUninstallKB832359$",
        "$NTUninstallKB952068_WM41$",
        "$NTUninstallKB980858$",
    ] {
        assert!(
            backups
                .iter()
                .any(|f| f["location_folder"] == dir && f["location_rule"] == "ntuninstall"),
            "{dir}"
        );
    }
    // MS03-019 has no fixed version of its own: MS03-022's build judges it.
    let ms03_019 = findings(root)
        .iter()
        .find(|f| f["rule"] == "MS03-019")
        .unwrap();
    assert!(
        ms03_019["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("judged by MS03-022")),
        "{ms03_019:#}"
    );
}

#[test]
fn ms04_008_only_system_is_patched_for_ms04_008_and_vulnerable_to_ms08_076() {
    let (exit, out) = scan("json", "w2k-ms04-008-only");
    assert_eq!(exit, 1);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let root = &doc["roots"][0];
    let nscm: Vec<&Value> = findings(root)
        .iter()
        .filter(|f| {
            f["location"] == "live"
                && f["target"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("nscm.exe")
        })
        .collect();
    assert_eq!(nscm.len(), 2, "{nscm:?}");
    for f in nscm {
        assert_eq!(f["version"], "4.1.0.3934");
        let want = if f["rule"] == "MS04-008" {
            "patched"
        } else {
            "vulnerable"
        };
        assert_eq!(f["status"], want, "{}", f["rule"]);
        assert_eq!(f["lineage"]["kb"], "KB832359");
    }
    let c = rule_reason_codes(root, "MS04-008");
    assert!(c.iter().any(|c| c == "registry_corroborates"), "{c:?}");
    assert!(c.iter().any(|c| c == "uninstall_folder_present"), "{c:?}");
    let c = rule_reason_codes(root, "MS08-076");
    assert!(c.iter().any(|c| c == "no_registry_record"), "{c:?}");
}

#[test]
fn iis_system_with_an_old_nsiislog_dll_is_vulnerable_to_ms03_022() {
    let (exit, out) = scan("json", "w2k-iis-nsiislog-unpatched");
    assert_eq!(exit, 1);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let root = &doc["roots"][0];
    let f = |rule: &str| {
        findings(root)
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule}"))
    };
    let ms03_022 = f("MS03-022");
    assert_eq!(ms03_022["path"], "Inetpub/Scripts/nsiislog.dll");
    assert_eq!(ms03_022["location"], "live");
    assert_eq!(ms03_022["status"], "vulnerable");
    assert_eq!(ms03_022["version"], "4.1.0.3917");
    assert_eq!(ms03_022["required_version"], "4.1.0.3932");
    // MS03-019 has no sourced fixed version: below MS03-022's it cannot be told.
    let ms03_019 = f("MS03-019");
    assert_eq!(ms03_019["status"], "unknown_version");
    assert!(ms03_019["error"]
        .as_str()
        .unwrap()
        .contains("MS03-019 has no sourced fixed version of nsiislog.dll"));
    assert_eq!(findings(root).len(), 2, "only nsiislog.dll: {root:#}");
}

/// The README's example table is the main command's output, not prose: every example system,
/// its verdict and each built-in rule's, rebuilt here from `kbscan scan -f json` over all of
/// them (run from the repository, as the README's command is, so the names match).
#[test]
fn the_readme_table_is_what_the_main_command_says() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let (_, rest) = readme
        .split_once("<!-- verdicts:begin -->\n")
        .expect("README has the verdicts table");
    let (table, _) = rest.split_once("<!-- verdicts:end -->").unwrap();
    // The command's two globs, each expanded in order as a shell does.
    let mut systems = Vec::new();
    for folder in ["systems", "backups"] {
        let mut names: Vec<String> = std::fs::read_dir(samples().join(folder))
            .unwrap()
            .map(|e| {
                format!(
                    "sample_binaries/{folder}/{}",
                    e.unwrap().file_name().to_string_lossy()
                )
            })
            .collect();
        names.sort();
        systems.extend(names);
    }
    let o = kbscan()
        .current_dir(repo())
        .args(["scan", "-q", "-f", "json"])
        .args(&systems)
        .output()
        .unwrap();
    let doc = json(&o);
    let rules = builtin_rules();
    let mut want = vec![
        format!("| system | verdict | {} |", rules.join(" | ")),
        format!("|---|---|{}", "---|".repeat(rules.len())),
    ];
    for r in doc["roots"].as_array().unwrap() {
        let cells: Vec<String> = rules
            .iter()
            .map(|id| {
                let rv = r["rule_verdicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["rule"] == *id)
                    .unwrap_or_else(|| panic!("{id} missing: {r:#}"));
                let withdrawn = rv["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["code"] == "withdrawn_release_suspected");
                format!(
                    "{}{}",
                    rv["verdict"].as_str().unwrap(),
                    if withdrawn {
                        " (withdrawn release suspected)"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        want.push(format!(
            "| `{}` | **{}** | {} |",
            r["root"]
                .as_str()
                .unwrap()
                .trim_start_matches("sample_binaries/systems/")
                .trim_start_matches("sample_binaries/backups/"),
            r["verdict"].as_str().unwrap(),
            cells.join(" | ")
        ));
    }
    let want = want.join("\n");
    assert_eq!(
        table.trim_end(),
        want,
        "README.md's verdicts table differs from the output; the table should be:\n{want}"
    );
}

/// The summary's decisive reason comes from a rule whose verdict is the root's, and is the
/// reason that decided it: for a `not_applicable` root the registry's `os_not_affected`, not
/// the file evidence kept beside it.
#[test]
fn the_summary_gives_the_reason_that_decided() {
    for (sys, want) in [
        (
            "w2k3-server",
            "NOT_APPLICABLE  not_applicable  not_applicable  not_applicable  not_applicable  not_applicable  MS03-019 os_not_affected: ",
        ),
        (
            "w2k-ms10-025-withdrawn",
            "MS10-025 live_vulnerable: live copy",
        ),
        ("w2k-wms-fully-patched", "MS03-019 live_patched: "),
        ("backup-copies-only", "MS03-019 not_found: "),
    ] {
        // `--width 0`: the summary one line per root (fitted to 100 columns it stacks).
        let o = run(&["scan", "-q", "--width", "0", system(sys).to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout);
        let line = out
            .lines()
            .find(|l| l.contains(&format!("systems/{sys} ")))
            .unwrap_or_else(|| panic!("{sys}: {out}"));
        let squeezed = line.split_whitespace().collect::<Vec<_>>().join("  ");
        let want = want.split_whitespace().collect::<Vec<_>>().join("  ");
        assert!(squeezed.contains(&want), "{sys}: {line}");
    }
}
