//! Registry corroboration and applicability, on the example systems' real hives (built with
//! hivexregedit from sample_binaries/registry/*.reg) and on damaged copies of them.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

fn codes(root: &Value) -> Vec<String> {
    root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

fn scan_one(name: &str) -> (i32, Value) {
    let (code, doc) = scan_json(&[&system(name)], &["--rule", "MS04-008"]);
    (code, doc["roots"][0].clone())
}

#[test]
fn patched_and_recorded_is_corroborated() {
    let (code, root) = scan_one("w2k-sp4-patched");
    assert_eq!(code, 0);
    assert_eq!(root["verdict"], "patched");
    let c = codes(&root);
    assert!(c.contains(&"registry_corroborates".into()), "{c:?}");
    assert!(c.contains(&"uninstall_folder_present".into()), "{c:?}");
    let sys = &root["system"];
    assert_eq!(sys["windir"], "WINNT");
    assert_eq!(sys["os"]["current_version"], "5.0");
    assert_eq!(sys["os"]["csd_version"], "Service Pack 4");
    assert_eq!(sys["os"]["build"], "2195");
    assert_eq!(sys["os"]["product_type"], "ServerNT");
    assert_eq!(sys["os"]["control_set"], "ControlSet001");
    assert_eq!(
        sys["software_hive"]["path"],
        "WINNT/system32/config/SOFTWARE"
    );
    assert_eq!(sys["software_hive"]["validated"], true);
    assert_eq!(sys["software_hive"]["sha256"].as_str().unwrap().len(), 64);
    let rec = &sys["rules"][0]["update_records"][0];
    assert_eq!(
        rec["key"],
        "Microsoft\\Updates\\Windows Media Services\\KB832359"
    );
    assert_eq!(rec["values"]["InstalledBy"], "Administrator");
    assert_eq!(rec["file_list"][0]["FileName"], "nscm.exe");
    assert_eq!(rec["file_list"][1]["Version"], "4.1.0.3934");
    assert_eq!(
        sys["rules"][0]["uninstall_dir"],
        "WINNT/$NTUninstallKB832359$"
    );
    let svc = &sys["rules"][0]["services"];
    assert_eq!(svc[0]["name"], "nsstation");
    assert_eq!(svc[0]["start_type"], "automatic");
    assert_eq!(
        svc[0]["resolved_path"],
        "winnt/system32/windows media/server/nscm.exe"
    );
    assert_eq!(
        svc[1]["resolved_path"],
        "winnt/system32/windows media/server/nspmon.exe"
    );
    assert_eq!(
        finding(&root, "Server/Nscm.exe")["service_image"],
        "nsstation"
    );
}

#[test]
fn registry_claims_the_update_but_the_file_is_old() {
    let (code, root) = scan_one("w2k-claims-update");
    assert_eq!(code, 1);
    assert_eq!(root["verdict"], "vulnerable");
    let r = root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "registry_claims_update")
        .expect("registry_claims_update reason");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("live file is older"));
}

#[test]
fn patched_without_record_means_a_later_update_or_by_hand() {
    let (code, root) = scan_one("w2k-later-update");
    assert_eq!(code, 0);
    assert_eq!(root["verdict"], "patched");
    assert!(codes(&root).contains(&"no_registry_record".into()));
    // Select\Current is 1: ControlSet001 says LanmanNT, ControlSet002 (a trap) says WinNT.
    assert_eq!(root["system"]["os"]["product_type"], "LanmanNT");
    assert!(!codes(&root).contains(&"product_type_not_listed".into()));
}

#[test]
fn nt4_and_server_2003_are_not_applicable_whatever_the_files() {
    for name in ["nt4-wms41", "w2k3-server"] {
        let (code, root) = scan_one(name);
        assert_eq!(code, 0, "{name}");
        assert_eq!(root["verdict"], "not_applicable", "{name}");
        assert!(codes(&root).contains(&"os_not_affected".into()), "{name}");
        // The old files are still reported as evidence.
        assert!(findings(&root).iter().all(|f| f["status"] == "vulnerable"));
    }
    let (_, root) = scan_one("w2k3-server");
    assert_eq!(root["system"]["windir"], "WINDOWS");
    assert_eq!(root["system"]["os"]["current_version"], "5.2");
}

#[test]
fn a_workstation_gets_a_note_not_a_different_verdict() {
    let (code, root) = scan_one("w2k-pro-workstation");
    assert_eq!(code, 1);
    assert_eq!(root["verdict"], "vulnerable");
    let c = codes(&root);
    assert!(c.contains(&"product_type_not_listed".into()), "{c:?}");
    assert!(c.contains(&"service_disabled".into()), "{c:?}");
}

/// Verdict integrity round 3, case 1: the service starts the patched copy, and the stray old
/// live copy still counts (before, it was "not counted" and the root `patched`).
#[test]
fn the_copy_the_service_starts_is_marked_and_the_others_count() {
    let (code, root) = scan_one("w2k-service-image");
    assert_eq!(code, 1);
    assert_eq!(root["verdict"], "vulnerable");
    assert!(codes(&root).contains(&"service_image_started".into()));
    let stray = finding(&root, "WMS 4.1 copy/Nscm.exe");
    assert_eq!(stray["status"], "vulnerable");
    assert_eq!(stray["location"], "live");
    assert!(!stray["notes"].to_string().contains("not counted"));
    assert!(stray["service_image"].is_null());
    assert_eq!(
        finding(&root, "Server/Nscm.exe")["service_image"],
        "nsstation"
    );

    // Without the SYSTEM hive: the same, the old live copy counts.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("sys");
    copy_tree(&system("w2k-service-image"), &copy);
    fs::remove_file(copy.join("WINNT/system32/config/SYSTEM")).unwrap();
    let (code, doc) = scan_json(&[&copy], &["--rule", "MS04-008"]);
    assert_eq!(code, 1);
    assert_eq!(doc["roots"][0]["verdict"], "vulnerable");
}

#[test]
fn an_unclean_hive_is_read_without_validation_and_said_so() {
    let (code, root) = scan_one("w2k-unclean-hive");
    assert_eq!(code, 0);
    assert_eq!(root["verdict"], "patched");
    assert!(codes(&root).contains(&"registry_corroborates".into()));
    let h = &root["system"]["software_hive"];
    assert_eq!(h["validated"], false);
    assert!(
        h["validation_error"].as_str().unwrap().contains("sequence"),
        "{h:#}"
    );
    assert!(root["system"]["notes"]
        .to_string()
        .contains("without validation"));
}

#[test]
fn missing_corrupt_and_truncated_hives_fall_back_to_file_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    copy_tree(&system("w2k-sp4-patched"), &base);
    let hive = fs::read(base.join("WINNT/system32/config/SOFTWARE")).unwrap();

    let mut variants: Vec<(String, Option<Vec<u8>>)> = vec![
        ("missing".into(), None),
        ("garbage".into(), Some(vec![0x41; 8192])),
        ("empty".into(), Some(Vec::new())),
    ];
    for cut in [
        1usize,
        4,
        100,
        511,
        4096,
        4100,
        4128,
        5000,
        8192,
        hive.len() - 1,
    ] {
        if cut < hive.len() {
            variants.push((format!("cut{cut}"), Some(hive[..cut].to_vec())));
        }
    }
    // Damage inside the cells: flip bytes through the data area.
    for at in (4096..hive.len()).step_by(509) {
        let mut h = hive.clone();
        h[at] ^= 0xff;
        h[at.saturating_sub(1)] = 0xff;
        variants.push((format!("flip{at}"), Some(h)));
    }
    for (name, content) in variants {
        let root = dir.path().join(&name);
        copy_tree(&base, &root);
        let path = root.join("WINNT/system32/config/SOFTWARE");
        match &content {
            None => fs::remove_file(&path).unwrap(),
            Some(bytes) => fs::write(&path, bytes).unwrap(),
        }
        let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
        let r = &doc["roots"][0];
        assert_eq!(code, 0, "{name}: {r:#}");
        assert_eq!(r["verdict"], "patched", "{name}");
        let c = codes(r);
        let readable = r["system"]["software_hive"]["error"].is_null() && content.is_some();
        if !readable {
            assert!(c.contains(&"registry_unavailable".into()), "{name}: {c:?}");
            assert!(
                !r["system"]["notes"].as_array().unwrap().is_empty(),
                "{name}"
            );
        }
    }
}

#[test]
fn hives_given_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("files-only");
    copy_tree(&system("w2k-sp4-patched"), &root);
    let config = root.join("WINNT/system32/config");
    let hives = dir.path().join("exported");
    fs::create_dir_all(&hives).unwrap();
    fs::rename(config.join("SOFTWARE"), hives.join("software.hiv")).unwrap();
    fs::rename(config.join("SYSTEM"), hives.join("system.hiv")).unwrap();

    let (_, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    assert!(codes(&doc["roots"][0]).contains(&"registry_unavailable".into()));

    let sw = hives.join("software.hiv");
    let sy = hives.join("system.hiv");
    let (code, doc) = scan_json(
        &[&root],
        &[
            "--rule",
            "MS04-008",
            "--software-hive",
            sw.to_str().unwrap(),
            "--system-hive",
            sy.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    let r = &doc["roots"][0];
    assert!(codes(r).contains(&"registry_corroborates".into()));
    assert_eq!(r["system"]["software_hive"]["origin"], "argument");
    assert_eq!(r["system"]["os"]["product_type"], "ServerNT");
}

#[test]
fn reasons_are_counted_in_the_summary_and_shown_in_table_and_csv() {
    let names = [
        "w2k-sp4-patched",
        "w2k-claims-update",
        "nt4-wms41",
        "w2k-unclean-hive",
    ];
    let paths: Vec<_> = names.iter().map(|n| system(n)).collect();
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let (code, doc) = scan_json(&refs, &["--rule", "MS04-008"]);
    assert_eq!(code, 1);
    let s = &doc["summary"];
    assert_eq!(s["reasons"]["registry_corroborates"], 2);
    assert_eq!(s["reasons"]["registry_claims_update"], 1);
    assert_eq!(s["reasons"]["os_not_affected"], 1);
    assert_eq!(s["verdicts"]["not_applicable"], 1);

    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        system("w2k-claims-update").to_str().unwrap(),
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("registry claims KB832359 is installed"),
        "{text}"
    );
    assert!(
        text.contains(r"C:\WINNT\System32\Windows Media\Server\nscm.exe"),
        "{text}"
    );
    assert!(text.contains("Service Pack 3"));

    let o = run(&[
        "scan",
        "--rule",
        "MS04-008",
        "-f",
        "csv",
        system("nt4-wms41").to_str().unwrap(),
    ]);
    let mut rdr = csv::Reader::from_reader(&o.stdout[..]);
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let row = rdr.records().next().unwrap().unwrap();
    assert_eq!(&row[col("root_verdict")], "not_applicable");
    assert_eq!(&row[col("os_version")], "4.0");
    assert!(row[col("root_reasons")].contains("os_not_affected"));
}
