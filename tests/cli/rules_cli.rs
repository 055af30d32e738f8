//! User rule files: the scanner is generic, so a second advisory is just data.

use crate::common;

use common::*;

const LATER: &str = r#"
schema = 1
id = "TEST-LATER"
kb = "KB999999"
title = "A hypothetical later update that raised Nscm.exe to 4.1.0.3936"

[[files]]
name = "NSCM.EXE"
fixed_version = "4.1.0.3936"
install_dir = "system32/Windows Media/Server"
"#;

#[test]
fn a_second_rule_is_judged_separately_and_the_most_urgent_wins() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("later.toml");
    std::fs::write(&rule, LATER).unwrap();
    let rule = rule.to_str().unwrap();

    let only = [
        "--rules",
        rule,
        "--rule",
        "MS04-008",
        "--rule",
        "test-later",
    ];
    let (code, doc) = scan_json(&[&system("w2k-sp4-patched")], &only);
    assert_eq!(code, 1);
    let root = &doc["roots"][0];
    assert_eq!(root["verdict"], "vulnerable");
    let rv = root["rule_verdicts"].as_array().unwrap();
    assert_eq!(rv[0]["rule"], "MS04-008");
    assert_eq!(rv[0]["verdict"], "patched");
    assert_eq!(rv[1]["rule"], "TEST-LATER");
    assert_eq!(rv[1]["verdict"], "vulnerable");
    // One file, two findings: one per rule, same hash.
    let nscm: Vec<_> = findings(root)
        .iter()
        .filter(|f| f["path"] == "WINNT/system32/Windows Media/Server/Nscm.exe")
        .collect();
    assert_eq!(nscm.len(), 2);
    assert_eq!(nscm[0]["sha256"], nscm[1]["sha256"]);

    let (code, doc) = scan_json(&[&system("w2k-later-update")], &only);
    assert_eq!(code, 0);
    assert_eq!(doc["roots"][0]["verdict"], "patched");

    let o = run(&["rules", "--rules", rule, "-f", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("TEST-LATER,KB999999"));
}

#[test]
fn a_bad_rule_file_is_a_usage_error_naming_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("bad.toml");
    std::fs::write(&rule, LATER.replace("4.1.0.3936", "4.1.x")).unwrap();
    let o = run(&[
        "scan",
        "--rules",
        rule.to_str().unwrap(),
        system("w2k-sp4-patched").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("bad.toml") && err.contains("line 9") && err.contains("files.fixed_version"),
        "{err}"
    );

    let o = run(&["scan", "--rules", "/nonexistent.toml", "."]);
    assert_eq!(code(&o), 2);
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let o = run(&["scan"]);
    assert_eq!(code(&o), 2);
    let o = run(&["scan", "--format", "xml", "."]);
    assert_eq!(code(&o), 2);
    let o = run(&["scan", "--help"]);
    assert_eq!(code(&o), 0);
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(
        help.contains("Exit codes") && help.contains("at least one root is vulnerable"),
        "{help}"
    );
}

/// A rule whose bulletin gives a fixed build per branch (issue 13's format extension): the
/// copy's own version picks its branch. Branch B's fix (4.1.0.3936) is above 4.1.0.3934, so
/// the MS04-008-patched server is vulnerable here although it is above branch A's fix.
const BRANCHED: &str = r#"
schema = 2
id = "TEST-BRANCH"
kb = "KB999998"
title = "A hypothetical update with two branches of Nscm.exe"

[[files]]
name = "Nscm.exe"
[[files.branches]]
name = "A"
from = "4.1.0.0"
fixed_version = "4.1.0.3920"
[[files.branches]]
name = "B"
from = "4.1.0.3930"
fixed_version = "4.1.0.3936"
"#;

#[test]
fn a_copy_is_judged_against_its_own_branch() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("branched.toml");
    std::fs::write(&rule, BRANCHED).unwrap();
    let rule = rule.to_str().unwrap();
    for (sys, version, branch, required, verdict) in [
        (
            "w2k-sp4-vulnerable",
            "4.1.0.3917",
            "A",
            "4.1.0.3920",
            "vulnerable",
        ),
        (
            "w2k-sp4-patched",
            "4.1.0.3934",
            "B",
            "4.1.0.3936",
            "vulnerable",
        ),
        (
            "w2k-wms-fully-patched",
            "4.1.0.3936",
            "B",
            "4.1.0.3936",
            "patched",
        ),
    ] {
        let root = system(sys);
        let (_, doc) = scan_json(
            &[root.as_path()],
            &["--rules", rule, "--rule", "TEST-BRANCH"],
        );
        let r = &doc["roots"][0];
        assert_eq!(r["rule_verdicts"][0]["rule"], "TEST-BRANCH");
        assert_eq!(r["rule_verdicts"][0]["verdict"], verdict, "{sys}: {r:#}");
        let f = finding(r, "Server/Nscm.exe");
        assert_eq!(f["version"], version, "{sys}");
        assert_eq!(f["required_version"], required, "{sys}");
        assert!(
            f["notes"]
                .to_string()
                .contains(&format!("belongs to the {branch} branch")),
            "{sys}: {f:#}"
        );
    }
    // `kbscan rules` shows the branches in every format.
    let o = run(&[
        "rules",
        "--rules",
        rule,
        "--rule",
        "TEST-BRANCH",
        "-f",
        "json",
    ]);
    let doc = json(&o);
    let text = doc.to_string();
    assert!(text.contains("\"branches\""), "{text}");
    assert!(text.contains("4.1.0.3930"), "{text}");
    for (fmt, want) in [
        (
            "table",
            "Nscm.exe: branch B (4.1.0.3930+): fixed in 4.1.0.3936",
        ),
        (
            "csv",
            "A (4.1.0.0+): 4.1.0.3920; B (4.1.0.3930+): 4.1.0.3936",
        ),
    ] {
        let o = run(&["rules", "--rules", rule, "--rule", "TEST-BRANCH", "-f", fmt]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(want), "{fmt}: {out}");
    }
}

/// Every Microsoft bulletin a built-in rule or the lineage table quotes from a repository is
/// cited in Microsoft's own (`MicrosoftDocs/security-updates.*`), not a personal fork of it.
#[test]
fn bulletins_are_cited_from_microsofts_repositories() {
    let mut seen = 0;
    for args in [
        &["rules", "-f", "json"][..],
        &["rules", "--lineage", "-f", "json"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 0);
        let doc = json(&o);
        let mut sources: Vec<&serde_json::Value> = Vec::new();
        if let Some(rules) = doc["rules"].as_array() {
            for r in rules {
                sources.extend(r["sources"].as_array().unwrap());
            }
        }
        if let Some(s) = doc["lineage"]["sources"].as_array() {
            sources.extend(s);
        }
        for s in sources {
            let (Some(repo), Some(authority)) = (s["repo"].as_str(), s["authority"].as_str())
            else {
                continue;
            };
            if authority.starts_with("microsoft") {
                seen += 1;
                assert!(
                    repo.starts_with("MicrosoftDocs/security-updates."),
                    "{repo} is not Microsoft's repository: {s}"
                );
            }
        }
    }
    assert!(seen >= 20, "only {seen} bulletin sources seen");
}
