//! Verdict integrity, round 3: the copies Windows could run, and what time can prove. Each
//! case is built from real bytes: the sample systems copied into a temporary folder, their
//! real sample PE files, hives edited with hivexregedit (`common::merge_reg`), update logs
//! written as text. Ambiguity is never resolved in favour of `patched`, `patched_at_date`,
//! `not_applicable` or `not_installed`.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const SERVER: &str = "WINNT/system32/Windows Media/Server";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            let mut p = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&dest, p).unwrap();
        }
    }
}

/// A copy of the sample system `name` in a temporary folder.
fn sample_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(name);
    copy_dir(&system(name), &root);
    (tmp, root)
}

/// `kbscan scan -q -f json ARGS ROOT` with every built-in rule: (the JSON, the exit code).
fn scan(root: &Path, args: &[&str]) -> (Value, i32) {
    let out = kbscan()
        .args(["scan", "-q", "-f", "json"])
        .args(args)
        .arg(root)
        .output()
        .unwrap();
    (
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        }),
        out.status.code().unwrap(),
    )
}

fn rule<'a>(root: &'a Value, id: &str) -> &'a Value {
    root["rule_verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

fn codes_of(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn as_of_rule<'a>(root: &'a Value, id: &str) -> &'a Value {
    root["as_of"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("no as_of rule {id}"))
}

/// The real PE bytes of a sample file with its numeric file version (VS_FIXEDFILEINFO, found
/// by its signature 0xFEEF04BD) set to `v`: a build outside the rule's product line.
fn with_version(rel: &str, v: [u16; 4]) -> Vec<u8> {
    let mut b = std::fs::read(sample_file(rel)).unwrap();
    let sig = [0xbd, 0x04, 0xef, 0xfe];
    let at = b
        .windows(4)
        .position(|w| w == sig)
        .expect("VS_FIXEDFILEINFO");
    let ms = (u32::from(v[0]) << 16) | u32::from(v[1]);
    let ls = (u32::from(v[2]) << 16) | u32::from(v[3]);
    b[at + 8..at + 12].copy_from_slice(&ms.to_le_bytes());
    b[at + 12..at + 16].copy_from_slice(&ls.to_le_bytes());
    b
}

fn hivex() -> bool {
    have("hivexregedit")
}

/// Case 1: the update's own folder holds the old Nscm.exe while the registry records KB832359
/// and the nsstation service starts a patched copy in `Program Files/WMS 4.1 copy/`. Every
/// live copy counts: vulnerable, exit 1; the service only adds the copy it starts.
#[test]
fn a_service_never_hides_a_copy() {
    if !hivex() {
        return;
    }
    let (_tmp, root) = sample_copy("w2k-service-image");
    let server = root.join(SERVER).join("Nscm.exe");
    let copy = root.join("Program Files/WMS 4.1 copy/Nscm.exe");
    // The old build in the install folder, the patched one in the copy the service starts.
    std::fs::copy(
        sample_file("w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe"),
        &server,
    )
    .unwrap();
    std::fs::copy(
        sample_file("w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe"),
        &copy,
    )
    .unwrap();
    merge_reg(
        &root.join("WINNT/system32/config/SYSTEM"),
        "[\\ControlSet001\\Services\\nsstation]\n\"ImagePath\"=str(2):\"C:\\\\Program Files\\\\WMS 4.1 copy\\\\nscm.exe\"\n",
    );
    let (v, code) = scan(&root, &["--rule", "MS04-008"]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    let c = codes_of(r);
    assert!(c.contains(&"live_vulnerable".to_owned()), "{c:?}");
    assert!(c.contains(&"service_image_started".to_owned()), "{c:?}");
    assert!(c.contains(&"registry_claims_update".to_owned()), "{c:?}");
    assert!(!r.to_string().contains("not counted in the verdict"));
    let started = finding(r, "WMS 4.1 copy/Nscm.exe");
    assert_eq!(started["service_image"], "nsstation");
    assert_eq!(started["status"], "patched");
    assert_eq!(finding(r, "Server/Nscm.exe")["status"], "vulnerable");
    // The table says so too.
    let out = kbscan()
        .args(["scan", "--width", "0", "--rule", "MS04-008"])
        .arg(&root)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    // No copy is shown as one that does not count, in a row or an evidence block (the
    // summary's count of them is 0).
    assert!(!table.contains("| not counted"), "{table}");
    assert!(!table.contains(", not counted:"), "{table}");
    assert!(table.contains(" 0 not counted,"), "{table}");
    assert!(
        findings(r).iter().all(|f| f["counts"] == "counted"),
        "{r:#}"
    );
}

/// Case 2: patched 4.1.x copies beside live copies of versions outside the rule's product
/// line (4.2.0.0, 9.0.0.3000, 10.0.0.0): the rule is inconclusive, exit 2.
#[test]
fn a_live_copy_that_could_not_be_judged_keeps_the_rule_from_patched() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("evidence");
    let patched = "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe";
    std::fs::create_dir_all(root.join(SERVER)).unwrap();
    std::fs::copy(sample_file(patched), root.join(SERVER).join("Nscm.exe")).unwrap();
    for (i, v) in [[4, 2, 0, 0], [9, 0, 0, 3000], [10, 0, 0, 0]]
        .iter()
        .enumerate()
    {
        let dir = root.join(format!("Program Files/WMS {i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Nscm.exe"), with_version(patched, *v)).unwrap();
        // Each alone beside the patched copy keeps MS04-008 from patched.
        let one = tmp.path().join(format!("one{i}"));
        std::fs::create_dir_all(one.join(SERVER)).unwrap();
        std::fs::copy(sample_file(patched), one.join(SERVER).join("Nscm.exe")).unwrap();
        std::fs::create_dir_all(one.join("Program Files/WMS")).unwrap();
        std::fs::write(
            one.join("Program Files/WMS/Nscm.exe"),
            with_version(patched, *v),
        )
        .unwrap();
        let (v1, code) = scan(&one, &["--rule", "MS04-008"]);
        let r = &v1["roots"][0];
        assert_eq!(r["verdict"], "inconclusive", "{v:?}: {r:#}");
        assert_eq!(code, 2, "{v:?}");
        assert!(codes_of(r).contains(&"live_unjudged".to_owned()));
        assert_eq!(finding(r, "WMS/Nscm.exe")["status"], "unknown_version");
    }
    let (v, code) = scan(&root, &["--rule", "MS04-008"]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);
}

/// Case 2 over every sample system and every output format: no root or rule is `patched`
/// while one of its live copies is unjudged, and the exit code is the one the README's
/// exit-code rules give for the verdicts (1 if a root is vulnerable; else 2 if one is
/// inconclusive or a candidate was not judged; else 0), the same in every format.
#[test]
fn no_sample_is_patched_over_an_unjudged_live_copy() {
    let mut names: Vec<String> = std::fs::read_dir(samples().join("systems"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 20);
    let mut by_code: std::collections::BTreeMap<i32, Vec<PathBuf>> = Default::default();
    for name in &names {
        let (v, code) = scan(&system(name), &[]);
        let mut any_vulnerable = false;
        let mut any_unsure = false;
        for root in v["roots"].as_array().unwrap() {
            any_vulnerable |= root["verdict"] == "vulnerable";
            any_unsure |= root["verdict"] == "inconclusive";
            for rv in root["rule_verdicts"].as_array().unwrap() {
                let unjudged = findings(root).iter().any(|f| {
                    f["rule"] == rv["rule"]
                        && f["location"] == "live"
                        && (f["status"] == "unknown_version" || f["status"] == "error")
                });
                if unjudged {
                    assert_ne!(rv["verdict"], "patched", "{name} {}", rv["rule"]);
                    assert_ne!(root["verdict"], "patched", "{name}");
                }
            }
            any_unsure |= findings(root)
                .iter()
                .any(|f| f["status"] == "unknown_version" || f["status"] == "error");
        }
        let want = if any_vulnerable {
            1
        } else if any_unsure {
            2
        } else {
            0
        };
        assert_eq!(code, want, "{name}");
        by_code.entry(code).or_default().push(system(name));
    }
    // Every format gives the exit code the JSON gives: the samples grouped by their code
    // (0, 1, 2), each group scanned at once in each format.
    assert!(by_code.len() >= 2, "{by_code:?}");
    for (code, roots) in &by_code {
        for format in ["table", "csv", "jsonl", "html", "timeline"] {
            let out = kbscan()
                .args(["scan", "-q", "-f", format])
                .args(roots)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(*code), "-f {format}: {roots:?}");
        }
    }
}

/// Case 3: a rule whose verdict is vulnerable or not_installed has no install time; file
/// times of a copy are "file written", never "installed" or "patched".
#[test]
fn nothing_claims_an_install_that_did_not_happen() {
    let out = kbscan()
        .args(["scan"])
        .arg(system("w2k-sp4-patched"))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains("installed around"), "{table}");
    assert!(!table.contains("patched around"), "{table}");
    let (v, _) = scan(&system("w2k-sp4-patched"), &[]);
    let root = &v["roots"][0];
    assert_eq!(rule(root, "MS08-076")["verdict"], "vulnerable");
    for rr in root["system"]["rules"].as_array().unwrap() {
        let Some(inst) = rr["installed"].as_object() else {
            continue;
        };
        let verdict = &rule(root, rr["rule"].as_str().unwrap())["verdict"];
        let summary = inst["summary"].as_str().unwrap();
        if verdict == "vulnerable" || verdict == "not_installed" {
            assert!(summary.starts_with("no install time"), "{summary}");
            assert!(inst["best"].is_null() && inst["earliest"].is_null());
        }
        // Only file-system times: never "installed" or "patched".
        if summary.contains("only file-system times") {
            assert!(summary.starts_with("file written around"), "{summary}");
        }
    }
}

/// The KB832359.log of w2k-server1 with `runs` (header date, last line) instead.
fn write_log(root: &Path, runs: &[(&str, &str)]) {
    let mut text = String::new();
    for (i, (date, last)) in runs.iter().enumerate() {
        text.push_str(&format!("0.156: {date} 10:15:02.421 (local)\r\n"));
        text.push_str(&format!(
            "0.156: c:\\{i}f3c2a7d51e04b6c8d\\update\\update.exe (version 5.4.15.0)\r\n"
        ));
        text.push_str(last);
        text.push_str("\r\n");
    }
    std::fs::write(root.join("WINNT/KB832359.log"), text).unwrap();
}

const OK: &str = "98.015: Update.exe extended error code = 0x0";
const UNINSTALL: &str = "0.200: Hotfix started with following command line: c:\\winnt\\$NTUninstallKB832359$\\spuninst\\spuninst.exe\r\n9.000: Update.exe extended error code = 0x0";
const UNINSTALL_UNCLEAR: &str = "0.200: Hotfix started with following command line: c:\\winnt\\$NTUninstallKB832359$\\spuninst\\spuninst.exe";
/// KB 822798's failure line.
const FAILED: &str = "1448.406: Update.exe extended error code = 0xf01e";

/// Writes the update's key again with `InstalledDate` = `date`, as a (re-)install does: the
/// key is deleted and created anew, so its last-write time is the time of this edit (later
/// than every date here), as the installer's own write would move it forward.
fn set_installed_date(root: &Path, key: &str, date: &str) {
    merge_reg(
        &root.join("WINNT/system32/config/SOFTWARE"),
        &format!("[-{key}]\n\n[{key}]\n\"InstalledDate\"=\"{date}\"\n"),
    );
}

const KB832359_KEY: &str = "\\Microsoft\\Updates\\Windows Media Services\\KB832359";

/// Case 4: install (2004-03-17), uninstall with spuninst (2004-05-01), re-install
/// (2004-07-01). Between the uninstall and the re-install: vulnerable_at_date; while the
/// first install was in place: unknown_at_date; after the re-install: patched_at_date.
#[test]
fn an_uninstall_counts() {
    if !hivex() {
        return;
    }
    let (_tmp, root) = sample_copy("w2k-server1");
    write_log(
        &root,
        &[
            ("2004/03/17", OK),
            ("2004/05/01", UNINSTALL),
            ("2004/07/01", OK),
        ],
    );
    // The re-install writes InstalledDate again (and hivexregedit the key's time: now).
    set_installed_date(&root, KB832359_KEY, "7/1/2004");
    for (date, state, code, reason) in [
        (
            "2004-04-01",
            "unknown_at_date",
            2,
            "removed_install_at_date",
        ),
        ("2004-06-01", "vulnerable_at_date", 1, "uninstalled_at_date"),
        ("2004-07-03", "patched_at_date", 1, "patched_at_date"),
    ] {
        let (v, _) = scan(&root, &["--rule", "MS04-008", "--as-of", date]);
        let a = as_of_rule(&v["roots"][0], "MS04-008");
        assert_eq!(a["state"], state, "{date}: {a:#}");
        assert_eq!(a["reasons"][0]["code"], reason, "{date}: {a:#}");
        let _ = code;
    }
    let (v, code) = scan(&root, &["--rule", "MS04-008", "--as-of", "2004-06-01"]);
    assert_eq!(code, 1);
    assert_eq!(v["roots"][0]["as_of"]["state"], "vulnerable_at_date");
    let inst = &v["roots"][0]["system"]["rules"][0]["installed"];
    assert!(
        inst["best"].as_str().unwrap().starts_with("2004-07-01"),
        "{inst:#}"
    );
    // An uninstall whose outcome the log does not give: unknown, never vulnerable or patched.
    write_log(
        &root,
        &[
            ("2004/03/17", OK),
            ("2004/05/01", UNINSTALL_UNCLEAR),
            ("2004/07/01", OK),
        ],
    );
    let (v, code) = scan(&root, &["--rule", "MS04-008", "--as-of", "2004-06-01"]);
    let a = as_of_rule(&v["roots"][0], "MS04-008");
    assert_eq!(a["state"], "unknown_at_date", "{a:#}");
    assert_eq!(a["reasons"][0]["code"], "removed_install_at_date");
    assert_eq!(code, 2);
}

/// Case 5: a first run that failed (KB 822798's `extended error code = 0xf01e`), then a
/// successful run a month later, no InstalledDate: the install is the second run.
#[test]
fn a_failed_run_is_not_an_install() {
    if !hivex() {
        return;
    }
    let (_tmp, root) = sample_copy("w2k-server1");
    write_log(&root, &[("2004/03/17", FAILED), ("2004/04/17", OK)]);
    merge_reg(
        &root.join("WINNT/system32/config/SOFTWARE"),
        &format!("[-{KB832359_KEY}]\n"),
    );
    let (v, code) = scan(&root, &["--rule", "MS04-008", "--as-of", "2004-04-01"]);
    let r = &v["roots"][0];
    let a = as_of_rule(r, "MS04-008");
    assert_eq!(a["state"], "vulnerable_at_date", "{a:#}");
    assert_eq!(code, 1);
    let inst = &r["system"]["rules"][0]["installed"];
    assert!(
        inst["best"].as_str().unwrap().starts_with("2004-04-17"),
        "{inst:#}"
    );
    let failed = inst["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["says"].as_str().unwrap_or_default().contains("failed"))
        .expect("the failed run is listed");
    assert_eq!(failed["bound"], "context");
    let (v, code) = scan(&root, &["--rule", "MS04-008", "--as-of", "2004-04-19"]);
    assert_eq!(
        as_of_rule(&v["roots"][0], "MS04-008")["state"],
        "patched_at_date"
    );
    assert_eq!(code, 0, "patched at that date");
    // Two runs, neither saying success: the install is not dated before the last one.
    write_log(
        &root,
        &[
            (
                "2004/03/17",
                "0.171: Installing Windows Media Services Update (KB832359)",
            ),
            (
                "2004/04/17",
                "0.171: Installing Windows Media Services Update (KB832359)",
            ),
        ],
    );
    let (v, _) = scan(&root, &["--rule", "MS04-008", "--as-of", "2004-04-01"]);
    assert_eq!(
        as_of_rule(&v["roots"][0], "MS04-008")["state"],
        "vulnerable_at_date"
    );
}

/// Case 6: a log header and InstalledDate of 2003-06-01, before the fixed files were built
/// (2004-01-15): install_time_conflict, and never patched_at_date before that floor.
#[test]
fn no_patch_before_the_fix_existed() {
    if !hivex() {
        return;
    }
    let (_tmp, root) = sample_copy("w2k-server1");
    write_log(&root, &[("2003/06/01", OK)]);
    set_installed_date(&root, KB832359_KEY, "6/1/2003");
    let (v, _) = scan(&root, &["--rule", "MS04-008", "--as-of", "2003-12-01"]);
    let r = &v["roots"][0];
    let rv = rule(r, "MS04-008");
    assert_eq!(rv["verdict"], "patched");
    let conflict = rv["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["code"] == "install_time_conflict"
                && x["message"]
                    .as_str()
                    .unwrap()
                    .contains("before the fix existed")
        })
        .expect("install_time_conflict");
    assert!(conflict["message"].as_str().unwrap().contains("2004-01-15"));
    for date in ["2003-12-01", "2004-02-01", "2004-03-10", "2004-06-01"] {
        let (v, _) = scan(&root, &["--rule", "MS04-008", "--as-of", date]);
        let a = as_of_rule(&v["roots"][0], "MS04-008");
        assert_ne!(a["state"], "patched_at_date", "{date}: {a:#}");
    }
}

/// Case 7: MS10-025's withdrawn v1 (2010-04-13 … 2010-04-21) writes the same keys as the
/// fixing v2 (2010-04-27). nsum.exe 4.1.0.3939 live, every install-time source saying
/// 2010-04-14: at 2010-04-20 only the withdrawn release could have been installed.
#[test]
fn ms10_025_withdrawn_window() {
    if !hivex() {
        return;
    }
    let (_tmp, root) = sample_copy("w2k-wms-fully-patched");
    std::fs::write(
        root.join("WINNT/KB980858.log"),
        format!("0.156: 2010/04/14 10:15:02.421 (local)\r\n{OK}\r\n"),
    )
    .unwrap();
    set_installed_date(
        &root,
        "\\Microsoft\\Updates\\Windows Media Services 4.1\\KB980858_WM41",
        "4/14/2010",
    );
    let (v, _) = scan(&root, &["--rule", "MS10-025", "--as-of", "2010-04-20"]);
    let r = &v["roots"][0];
    assert_eq!(
        rule(r, "MS10-025")["verdict"],
        "patched",
        "nsum.exe 4.1.0.3939"
    );
    assert!(codes_of(rule(r, "MS10-025")).contains(&"withdrawn_release_dated".to_owned()));
    let a = as_of_rule(r, "MS10-025");
    assert_eq!(a["state"], "vulnerable_at_date", "{a:#}");
    assert_eq!(a["reasons"][0]["code"], "withdrawn_release_at_date");
    assert!(a["reasons"][0]["message"].as_str().unwrap().contains("v1"));
    // After the fixing release: nothing dates the fix, so unknown, never patched.
    let (v, _) = scan(&root, &["--rule", "MS10-025", "--as-of", "2010-05-01"]);
    let a = as_of_rule(&v["roots"][0], "MS10-025");
    assert_eq!(a["state"], "unknown_at_date", "{a:#}");
}

/// Case 8: on a date before a bulletin's publication no fix existed: `not_yet_published`,
/// left out of the root's state and exit code.
#[test]
fn a_bulletin_that_did_not_exist_yet() {
    let (v, code) = scan(&system("w2k-sp4-patched"), &["--as-of", "2004-03-01"]);
    let r = &v["roots"][0];
    assert_eq!(as_of_rule(r, "MS08-076")["state"], "not_yet_published");
    assert_eq!(as_of_rule(r, "MS04-008")["state"], "not_yet_published");
    let others: Vec<&Value> = r["as_of"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["state"] != "not_yet_published")
        .collect();
    assert!(
        others.iter().all(|x| x["state"] != "vulnerable_at_date"),
        "{r:#}"
    );
    assert_ne!(r["as_of"]["state"], "vulnerable_at_date");
    assert_ne!(code, 1);

    let (v, code) = scan(&system("w2k-wms-fully-patched"), &["--as-of", "2009-01-01"]);
    let r = &v["roots"][0];
    assert_eq!(as_of_rule(r, "MS10-025")["state"], "not_yet_published");
    assert_eq!(
        as_of_rule(r, "MS10-025")["reasons"][0]["code"],
        "not_yet_published"
    );
    let states: Vec<&str> = r["as_of"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["state"].as_str().unwrap())
        .filter(|s| *s != "not_yet_published")
        .collect();
    let want_code = if states.contains(&"vulnerable_at_date") {
        1
    } else if states.contains(&"unknown_at_date") {
        2
    } else {
        0
    };
    assert_eq!(code, want_code, "{states:?}");
}

// Case 9: metamorphic properties. Start from a sample system, apply random ADDITIONS of
// evidence, and check that none moves anything toward clean. Scanned in-process with the
// library (kbscan_core's Scanner, the command's own code), so a case costs a copy and two
// scans. PROPTEST_CASES sets how many (bench/properties.sh runs more).

mod metamorphic {
    use super::*;
    use kbscan_core::model::installed::{parse_as_of, AsOfState};
    use kbscan_core::model::{RootReport, Summary};
    use kbscan_core::scan::{Scanner, Settings};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One addition of evidence.
    #[derive(Debug, Clone)]
    pub enum Add {
        /// A copy of a real sample file (`FILES[src]`) into `DIRS[dir]`, where none was.
        Copy { src: usize, dir: usize },
        /// A run appended to `WINNT/KB832359.log`: 0 success, 1 failure, 2 uninstall,
        /// 3 outcome unclear; `days` after 2004-01-01.
        LogRun { kind: u8, days: u16 },
        /// An update record of KB832359 in SOFTWARE where the sample has none.
        Record { days: u16 },
        /// A new service whose ImagePath points at `DIRS[dir]`/nscm.exe.
        Service { dir: usize },
        /// A later modification time on every file named like a target.
        Touch { secs: u32 },
    }

    const FILES: &[(&str, &str)] = &[
        (
            "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe",
            "Nscm.exe",
        ),
        (
            "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe",
            "Nscm.exe",
        ),
        (
            "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nspmon.exe",
            "Nspmon.exe",
        ),
        (
            "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nspmon.exe",
            "Nspmon.exe",
        ),
        (
            "w2k-server1/WINNT/system32/Windows Media/Server/nsum.exe",
            "nsum.exe",
        ),
        (
            "w2k-wms-fully-patched/WINNT/system32/Windows Media/Server/nsum.exe",
            "nsum.exe",
        ),
    ];
    const DIRS: &[&str] = &[
        "WINNT/system32/Windows Media/Server",
        "Program Files/WMS copy",
        "Temp",
        "WINNT/$NTUninstallKB832359$",
        "WINNT/system32",
    ];

    pub fn add() -> impl Strategy<Value = Add> {
        prop_oneof![
            3 => (0..FILES.len(), 0..DIRS.len()).prop_map(|(src, dir)| Add::Copy { src, dir }),
            3 => (0u8..4, 0u16..4000).prop_map(|(kind, days)| Add::LogRun { kind, days }),
            1 => (0u16..4000).prop_map(|days| Add::Record { days }),
            1 => (0..DIRS.len()).prop_map(|dir| Add::Service { dir }),
            1 => (1u32..100_000_000).prop_map(|secs| Add::Touch { secs }),
        ]
    }

    fn ymd(days: u16) -> (i32, u8, u8) {
        let d = time::Date::from_calendar_date(2004, time::Month::January, 1).unwrap()
            + time::Duration::days(i64::from(days));
        (d.year(), d.month() as u8, d.day())
    }

    fn exists_ci(dir: &Path, name: &str) -> bool {
        std::fs::read_dir(dir).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        })
    }

    /// Applies `a` to the copy of sample `name` at `root`; false when it does not apply (the
    /// file is there already, no Windows folder, no hive): then nothing was changed.
    pub fn apply(name: &str, root: &Path, a: &Add, n: usize) -> bool {
        let winnt = root.join("WINNT");
        let software = winnt.join("system32/config/SOFTWARE");
        let system_hive = winnt.join("system32/config/SYSTEM");
        match a {
            Add::Copy { src, dir } => {
                let (rel, file) = FILES[*src];
                let d = root.join(DIRS[*dir]);
                // Replacing a file is not an addition.
                if exists_ci(&d, file) {
                    return false;
                }
                std::fs::create_dir_all(&d).unwrap();
                std::fs::copy(sample_file(rel), d.join(file)).unwrap();
                true
            }
            Add::LogRun { kind, days } => {
                if !winnt.is_dir() {
                    return false;
                }
                let (y, m, d) = ymd(*days);
                let last = match kind {
                    0 => OK,
                    1 => FAILED,
                    2 => UNINSTALL,
                    _ => "0.171: Installing Windows Media Services Update (KB832359)",
                };
                let path = winnt.join("KB832359.log");
                let mut text = std::fs::read_to_string(&path).unwrap_or_default();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push_str("\r\n");
                }
                text.push_str(&format!(
                    "0.100: {y:04}/{m:02}/{d:02} 09:00:00.000 (local)\r\n{last}\r\n"
                ));
                std::fs::write(&path, text).unwrap();
                true
            }
            Add::Record { days } => {
                let reg = repo().join(format!("sample_binaries/registry/{name}/software.reg"));
                let has = std::fs::read_to_string(reg).map_or(true, |t| t.contains("KB832359]"));
                if has || !software.is_file() || !have("hivexregedit") {
                    return false;
                }
                let (y, m, d) = ymd(*days);
                merge_reg(
                    &software,
                    &format!(
                        "[\\Microsoft]\n\n[\\Microsoft\\Updates]\n\n[\\Microsoft\\Updates\\Windows Media Services]\n\n[{KB832359_KEY}]\n\"InstalledDate\"=\"{m}/{d}/{y}\"\n"
                    ),
                );
                true
            }
            Add::Service { dir } => {
                if !system_hive.is_file() || !have("hivexregedit") {
                    return false;
                }
                let image = format!("C:\\\\{}\\\\nscm.exe", DIRS[*dir].replace('/', "\\\\"));
                merge_reg(
                    &system_hive,
                    &format!(
                        "[\\ControlSet001\\Services\\kbscanprop{n}]\n\"ImagePath\"=str(2):\"{image}\"\n\"Start\"=dword:00000002\n"
                    ),
                );
                true
            }
            Add::Touch { secs } => {
                let later =
                    std::time::SystemTime::now() + std::time::Duration::from_secs(u64::from(*secs));
                let mut any = false;
                for d in DIRS {
                    for (_, f) in FILES {
                        let p = root.join(d).join(f);
                        if p.is_file() {
                            let file = std::fs::File::options().write(true).open(&p).unwrap();
                            file.set_modified(later).unwrap();
                            any = true;
                        }
                    }
                }
                any
            }
        }
    }

    /// Severity: clean < incomplete < vulnerable (exit codes 0, 2, 1).
    pub fn severity(code: i32) -> u8 {
        match code {
            0 => 0,
            2 => 1,
            _ => 2,
        }
    }

    fn toward_patched(s: AsOfState) -> Option<u8> {
        match s {
            AsOfState::VulnerableAtDate => Some(0),
            AsOfState::UnknownAtDate => Some(1),
            AsOfState::PatchedAtDate => Some(2),
            _ => None,
        }
    }

    pub const DATES: &[&str] = &[
        "2004-03-20",
        "2004-06-01",
        "2009-01-01",
        "2010-04-20",
        "2011-01-01",
    ];

    /// What the properties compare: per root and rule the verdict, per date the as-of state,
    /// and the exit codes (without and with each date).
    pub struct Seen {
        pub verdicts: BTreeMap<(String, String), String>,
        pub states: BTreeMap<(String, String, &'static str), AsOfState>,
        /// Rules whose install was bounded (a moment or a not-after bound) before.
        pub dated: std::collections::BTreeSet<(String, String)>,
        pub codes: Vec<i32>,
    }

    pub fn observe(rules: &kbscan_core::rules::RuleSet, root: &Path) -> Seen {
        let scanner = Scanner::new(
            rules,
            Settings {
                threads: 1,
                ..Settings::default()
            },
        );
        let mut roots: Vec<RootReport> = scanner.folder(root, &mut |_| {});
        let mut seen = Seen {
            verdicts: BTreeMap::new(),
            states: BTreeMap::new(),
            dated: Default::default(),
            codes: vec![Summary::of(&roots).exit_code],
        };
        for r in &roots {
            let name = r.root.rsplit('#').next().unwrap_or_default().to_owned();
            let name = if r.root.contains('#') {
                name
            } else {
                String::new()
            };
            for rr in &r.system.rules {
                let bounded = rr.installed.as_ref().is_some_and(|i| {
                    i.evidence.iter().any(|e| {
                        matches!(
                            e.bound,
                            kbscan_core::model::installed::Bound::Moment
                                | kbscan_core::model::installed::Bound::NotAfter
                        )
                    })
                });
                if bounded {
                    seen.dated.insert((name.clone(), rr.rule.clone()));
                }
            }
            for rv in &r.rule_verdicts {
                seen.verdicts.insert(
                    (name.clone(), rv.rule.clone()),
                    rv.verdict.as_str().to_owned(),
                );
            }
        }
        for date in DATES {
            let t = parse_as_of(date).unwrap();
            for r in &mut roots {
                let a = kbscan_core::judge::installed::as_of(r, rules, t);
                let name = if r.root.contains('#') {
                    r.root.rsplit('#').next().unwrap_or_default().to_owned()
                } else {
                    String::new()
                };
                for ra in &a.rules {
                    seen.states
                        .insert((name.clone(), ra.rule.clone(), date), ra.state);
                }
                r.as_of = Some(a);
            }
            seen.codes.push(Summary::of(&roots).exit_code);
        }
        seen
    }

    /// The properties: `before` → `after` never moves toward clean.
    pub fn check(before: &Seen, after: &Seen) -> Result<(), String> {
        for (k, b) in &before.verdicts {
            let Some(a) = after.verdicts.get(k) else {
                continue;
            };
            if (b == "vulnerable" || b == "inconclusive")
                && (a == "patched" || a == "not_installed" || a == "not_applicable")
            {
                return Err(format!("{k:?}: verdict {b} -> {a}"));
            }
        }
        for (k, b) in &before.states {
            let (Some(a), Some(rb)) = (after.states.get(k), toward_patched(*b)) else {
                continue;
            };
            // Documented exception: the first evidence that dates the install (a log run, an
            // update record on a rule that had none) may settle unknown_at_date as
            // patched_at_date: dating the install is what it is for. From vulnerable_at_date,
            // or once the install was dated, never.
            let first_dating = *b == AsOfState::UnknownAtDate
                && !before.dated.contains(&(k.0.clone(), k.1.clone()));
            if toward_patched(*a).is_some_and(|ra| ra > rb) && !first_dating {
                return Err(format!("{k:?}: as-of {b:?} -> {a:?}"));
            }
        }
        for (i, (b, a)) in before.codes.iter().zip(&after.codes).enumerate() {
            if severity(*a) < severity(*b) {
                return Err(format!(
                    "exit code {i} (0: no --as-of, then {DATES:?}): {b} -> {a}"
                ));
            }
        }
        Ok(())
    }
}

fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(samples().join("systems"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(40),
        failure_persistence: None,
        ..Default::default()
    })]

    /// Additions of evidence never move a verdict from vulnerable/inconclusive to
    /// patched/not_installed/not_applicable, an --as-of state toward patched_at_date, or the
    /// exit code toward clean. Not a property (documented): a patched copy added where the
    /// rule had no live copy moves not_installed to patched — that copy IS the fix.
    #[test]
    fn additions_never_move_toward_clean(
        sample in 0usize..64,
        adds in proptest::collection::vec(metamorphic::add(), 1..4),
    ) {
        let names = sample_names();
        let name = &names[sample % names.len()];
        let (_tmp, root) = sample_copy(name);
        let rules = kbscan_core::rules::load(&[] as &[&Path]).unwrap();
        let before = metamorphic::observe(&rules, &root);
        let mut applied = Vec::new();
        for (n, a) in adds.iter().enumerate() {
            if metamorphic::apply(name, &root, a, n) {
                applied.push(a.clone());
            }
        }
        let after = metamorphic::observe(&rules, &root);
        if let Err(e) = metamorphic::check(&before, &after) {
            proptest::prop_assert!(false, "{name} with {applied:?}: {e}");
        }
    }
}
