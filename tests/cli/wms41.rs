//! Every built-in rule on every sample system: MS04-008's verdicts are those kbscan gave
//! with MS04-008 alone (before issue 13), and the new rules' verdicts are as the files say.

use crate::common;

use common::*;

/// The MS04-008 verdict of each sample system with MS04-008 as the only rule (kbscan before
/// issue 13), which five built-in rules must not change.
const MS04_008_BEFORE: &[(&str, &str)] = &[
    ("backup-copies-only", "not_installed"),
    ("nt4-wms41", "not_applicable"),
    ("odd-no-version", "inconclusive"),
    ("odd-string-only", "patched"),
    ("odd-two-languages", "patched"),
    ("odd-version-mismatch", "vulnerable"),
    ("w2k-claims-update", "vulnerable"),
    ("w2k-later-update", "patched"),
    ("w2k-pro-workstation", "vulnerable"),
    // Verdict integrity round 3, case 1: the stray old live copy counts now, whatever copy
    // the service starts (it was `patched` before, with the copy "not counted").
    ("w2k-service-image", "vulnerable"),
    ("w2k-sp4-patched", "patched"),
    ("w2k-sp4-vulnerable", "vulnerable"),
    ("w2k-unclean-hive", "patched"),
    ("w2k3-server", "not_applicable"),
];

fn rule_verdicts(root: &serde_json::Value) -> Vec<(String, String)> {
    root["rule_verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn ms04_008_verdicts_of_every_sample_system_are_unchanged() {
    for (name, want) in MS04_008_BEFORE {
        let o = run(&["scan", "-q", "-f", "json", system(name).to_str().unwrap()]);
        let doc = json(&o);
        let rv = rule_verdicts(&doc["roots"][0]);
        assert_eq!(rv.len(), 5, "{name}: {rv:?}");
        let ms04 = rv.iter().find(|(r, _)| r == "MS04-008").unwrap();
        assert_eq!(ms04.1, *want, "{name}");
    }
}

#[test]
fn a_later_build_explains_that_it_includes_the_earlier_fix_without_claiming_supersedence() {
    let o = run(&[
        "scan",
        "-q",
        "-f",
        "json",
        system("w2k-later-update").to_str().unwrap(),
    ]);
    let doc = json(&o);
    let root = &doc["roots"][0];
    let rv = rule_verdicts(root);
    assert!(
        rv.contains(&("MS04-008".into(), "patched".into())),
        "{rv:?}"
    );
    assert!(
        rv.contains(&("MS08-076".into(), "patched".into())),
        "{rv:?}"
    );
    let later: Vec<_> = root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "later_update_includes_fix")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(
        later[0].starts_with("Nscm.exe 4.1.0.3936 — installed by KB952068 (MS08-076); includes the MS04-008 fix by version")
            && later[0].contains("the bulletins do not say MS08-076 replaces MS04-008"),
        "{}",
        later[0]
    );
    let nscm = root["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "MS04-008" && f["target"] == "Nscm.exe")
        .unwrap();
    assert_eq!(nscm["lineage"]["kb"], "KB952068");
    assert_eq!(
        nscm["lineage"]["text"],
        "4.1.0.3936 — installed by KB952068 (MS08-076)"
    );
    // An unknown build says so.
    let o = run(&[
        "scan",
        "-q",
        "-f",
        "json",
        system("w2k-sp4-vulnerable").to_str().unwrap(),
    ]);
    let doc = json(&o);
    let f = &doc["roots"][0]["findings"][0];
    assert_eq!(
        f["lineage"]["text"],
        "4.1.0.3917 — not a build any known update shipped"
    );
}

#[test]
fn the_table_has_one_compact_line_of_rule_verdicts_and_any_vulnerable_rule_exits_1() {
    // `--width 0`: the line whole (fitted to 100 columns it wraps before `MS10-025`).
    let sys = system("w2k-sp4-patched");
    let o = run(&["scan", "-q", "--width", "0", sys.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("   rules: MS03-019 not_installed · MS03-022 not_installed · MS04-008 patched · MS08-076 vulnerable · MS10-025 not_installed"),
        "{text}"
    );
    let fitted = String::from_utf8(run(&["scan", "-q", sys.to_str().unwrap()]).stdout).unwrap();
    assert!(
        fitted.contains("   rules: MS03-019 not_installed · MS03-022 not_installed · MS04-008 patched · MS08-076 vulnerable ·\n          MS10-025 not_installed\n"),
        "{fitted}"
    );
    // Selecting MS04-008 alone: patched, exit 0.
    let o = run(&[
        "scan",
        "-q",
        "--rule",
        "MS04-008",
        system("w2k-sp4-patched").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let o = run(&[
        "scan",
        "-q",
        "-f",
        "csv",
        system("w2k-later-update").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
}
