//! Issue 10 cases 4 and 5, from real bytes: hives built at test time with hivexregedit from
//! .reg text (REG_BINARY as `hex:`, REG_DWORD as `dword:`), sample PEs copied into temp trees,
//! and a FAT image built with mkfs.fat and mtools. No crafted registry value and no second
//! Windows folder may turn a vulnerable system into `not_applicable`.

use crate::common;

use std::fs;
use std::process::Command as Proc;

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

const CV: &str = r"[\Microsoft\Windows NT\CurrentVersion]";

/// The vulnerable Windows 2000 SP4 sample with its SOFTWARE (and SYSTEM) hive changed by
/// `.reg` text; scanned with MS04-008.
fn scan_patched_hives(software: &str, system_reg: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("w2k");
    copy_tree(&system("w2k-sp4-vulnerable"), &root);
    let config = root.join("WINNT/system32/config");
    if !software.is_empty() {
        merge_reg(&config.join("SOFTWARE"), software);
    }
    if !system_reg.is_empty() {
        merge_reg(&config.join("SYSTEM"), system_reg);
    }
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    (code, doc["roots"][0].clone())
}

#[test]
fn case5_current_version_of_the_wrong_type_is_not_used() {
    if !have("hivexregedit") {
        return;
    }
    for (what, value) in [
        // "5.0" as UTF-16 bytes, stored as REG_BINARY: 8 bytes.
        ("REG_BINARY", "hex:35,00,2e,00,30,00,00,00"),
        ("REG_DWORD", "dword:00000005"),
    ] {
        let (code, root) = scan_patched_hives(&format!("{CV}\n\"CurrentVersion\"={value}\n"), "");
        assert_eq!(code, 1, "{what}: {root:#}");
        assert_eq!(root["verdict"], "vulnerable", "{what}");
        let c = codes(&root);
        assert!(c.contains(&"registry_value_wrong_type".into()), "{c:?}");
        assert!(!c.contains(&"os_not_affected".into()), "{c:?}");
        let os = &root["system"]["os"];
        assert!(os["current_version"].is_null(), "{what}: {os:#}");
        assert_eq!(os["wrong_type"][0]["found"], what);
        assert_eq!(os["wrong_type"][0]["expected"], "REG_SZ");
        assert!(os["wrong_type"][0]["value"]
            .as_str()
            .unwrap()
            .ends_with(r"CurrentVersion\CurrentVersion"));
    }
    // Also on a Server 2003 identity: still never `not_applicable` from an unusable value.
    let (code, root) = scan_patched_hives(
        &format!(
            "{CV}\n\"CurrentVersion\"=dword:00000005\n\"CurrentBuildNumber\"=\"3790\"\n\"ProductName\"=\"Microsoft Windows Server 2003\"\n"
        ),
        "",
    );
    assert_eq!((code, root["verdict"].as_str()), (1, Some("vulnerable")));
}

#[test]
fn case5_forged_current_version_contradicting_build_and_name_is_a_conflict() {
    if !have("hivexregedit") {
        return;
    }
    let (code, root) = scan_patched_hives(&format!("{CV}\n\"CurrentVersion\"=\"4.0\"\n"), "");
    assert_eq!(code, 1, "{root:#}");
    assert_eq!(root["verdict"], "vulnerable");
    let c = codes(&root);
    assert!(c.contains(&"os_identity_conflict".into()), "{c:?}");
    assert!(!c.contains(&"os_not_affected".into()), "{c:?}");
    let msg = root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "os_identity_conflict")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("CurrentBuildNumber 2195"), "{msg}");

    // ProductType (SYSTEM) against ProductName: a "Server 2003" that says workstation.
    let (code, root) = scan_patched_hives(
        &format!("{CV}\n\"CurrentVersion\"=\"5.2\"\n\"CurrentBuildNumber\"=\"3790\"\n\"ProductName\"=\"Microsoft Windows Server 2003\"\n"),
        "[\\ControlSet001\\Control\\ProductOptions]\n\"ProductType\"=\"WinNT\"\n",
    );
    assert_eq!(code, 1, "{root:#}");
    assert!(codes(&root).contains(&"os_identity_conflict".into()));

    // A consistent Server 2003 identity is still not affected (unchanged behaviour).
    let (code, root) = scan_patched_hives(
        &format!("{CV}\n\"CurrentVersion\"=\"5.2\"\n\"CurrentBuildNumber\"=\"3790\"\n\"ProductName\"=\"Microsoft Windows Server 2003\"\n"),
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(root["verdict"], "not_applicable");
}

#[test]
fn case5_system_values_of_the_wrong_type_are_noted_not_used() {
    if !have("hivexregedit") {
        return;
    }
    // Select\Current as REG_SZ, ProductType as REG_DWORD, Start as REG_SZ.
    let (code, root) = scan_patched_hives("", "[\\Select]\n\"Current\"=\"1\"\n");
    assert_eq!(code, 1);
    assert_eq!(root["verdict"], "vulnerable");
    assert!(codes(&root).contains(&"registry_value_wrong_type".into()));
    let os = &root["system"]["os"];
    assert!(os["control_set"].is_null());
    assert_eq!(os["wrong_type"][0]["value"], r"SYSTEM\Select\Current");
    assert_eq!(os["wrong_type"][0]["expected"], "REG_DWORD");

    let (code, root) = scan_patched_hives(
        "",
        "[\\ControlSet001\\Control\\ProductOptions]\n\"ProductType\"=dword:00000003\n\n[\\ControlSet001\\Services\\nsstation]\n\"Start\"=\"4\"\n",
    );
    assert_eq!(code, 1);
    let os = &root["system"]["os"];
    assert!(os["product_type"].is_null());
    let wrong = os["wrong_type"].to_string();
    assert!(
        wrong.contains("ProductType") && wrong.contains("Start"),
        "{wrong}"
    );
    // The service is still read (its ImagePath decides), its Start is not used.
    let svc = &root["system"]["rules"][0]["services"][0];
    assert_eq!(svc["name"], "nsstation");
    assert!(svc["start"].is_null());
    assert!(!codes(&root).contains(&"service_disabled".into()));
}

fn roots_by_name(doc: &Value) -> Vec<(String, String, Value)> {
    doc["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["root"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap().to_owned(),
                r["parent_root"].clone(),
            )
        })
        .collect()
}

#[test]
fn case4_two_windows_folders_are_two_systems_in_every_format() {
    let root = system("two-windows");
    let name = root.to_str().unwrap().to_owned();
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    assert_eq!(code, 1);
    let got = roots_by_name(&doc);
    assert_eq!(
        got,
        vec![
            (name.clone(), "not_installed".into(), Value::Null),
            (
                format!("{name}#WINDOWS"),
                "not_applicable".into(),
                Value::String(name.clone())
            ),
            (
                format!("{name}#WINNT"),
                "vulnerable".into(),
                Value::String(name.clone())
            ),
        ]
    );
    let roots = doc["roots"].as_array().unwrap();
    for r in roots {
        assert!(codes(r).contains(&"multiple_windows_installations".into()));
    }
    // Each system its own hives and its own files.
    assert_eq!(roots[1]["system"]["windir"], "WINDOWS");
    assert_eq!(roots[1]["system"]["os"]["current_version"], "5.2");
    assert_eq!(roots[2]["system"]["windir"], "WINNT");
    assert_eq!(roots[2]["system"]["os"]["current_version"], "5.0");
    assert!(findings(&roots[2])
        .iter()
        .all(|f| f["path"].as_str().unwrap().starts_with("WINNT/")));
    assert!(findings(&roots[1])
        .iter()
        .all(|f| f["path"].as_str().unwrap().starts_with("WINDOWS/")));
    assert!(findings(&roots[0]).is_empty());
    assert_eq!(doc["summary"]["verdicts"]["vulnerable"], 1);

    // JSONL: root records name the volume they came from.
    let o = run(&["scan", "--rule", "MS04-008", "-f", "jsonl", &name]);
    assert_eq!(code_of(&o), 1);
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let winnt = lines
        .iter()
        .find(|l| l["record"] == "root" && l["root"] == format!("{name}#WINNT"))
        .expect("ROOT#WINNT record");
    assert_eq!(winnt["verdict"], "vulnerable");
    assert_eq!(winnt["parent_root"], name.as_str());
    assert!(lines
        .iter()
        .any(|l| l["record"] == "finding" && l["root"] == format!("{name}#WINNT")));

    // CSV: the root column names the system.
    let o = run(&["scan", "--rule", "MS04-008", "-f", "csv", &name]);
    let mut rdr = csv::Reader::from_reader(&o.stdout[..]);
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let rows: Vec<(String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[col("root")].to_owned(), r[col("root_verdict")].to_owned())
        })
        .collect();
    assert!(rows.contains(&(format!("{name}#WINNT"), "vulnerable".into())));
    assert!(rows.contains(&(format!("{name}#WINDOWS"), "not_applicable".into())));
    assert!(rows.contains(&(name.clone(), "not_installed".into())));

    // Table: one heading per system.
    let o = run(&["scan", "--rule", "MS04-008", &name]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(&format!("== {name}#WINNT: VULNERABLE")),
        "{text}"
    );
    assert!(text.contains(&format!("== {name}#WINDOWS: NOT_APPLICABLE")));
    assert!(text.contains(&format!("== {name}: NOT_INSTALLED")));
}

fn code_of(o: &std::process::Output) -> i32 {
    o.status.code().unwrap()
}

/// A copy outside every Windows folder is judged on file evidence alone with the volume:
/// never with the Server 2003 system's `not_applicable`.
#[test]
fn case4_a_copy_outside_every_windows_folder_is_judged_on_its_own_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("vol");
    copy_tree(&system("two-windows"), &root);
    // Only Server 2003 keeps WMS files; an old copy sits in Program Files.
    fs::remove_dir_all(root.join("WINNT/system32/Windows Media")).unwrap();
    let outside = root.join("Program Files/Windows Media/Server");
    fs::create_dir_all(&outside).unwrap();
    fs::copy(
        sample_file("w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe"),
        outside.join("Nscm.exe"),
    )
    .unwrap();
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    assert_eq!(code, 1);
    let got = roots_by_name(&doc);
    let volume = &doc["roots"][0];
    assert_eq!(got[0].1, "vulnerable", "{got:?}");
    let c = codes(volume);
    assert!(c.contains(&"outside_windows_folders".into()), "{c:?}");
    assert!(!c.contains(&"os_not_affected".into()), "{c:?}");
    assert_eq!(
        findings(volume)[0]["path"],
        "Program Files/Windows Media/Server/Nscm.exe"
    );
    assert_eq!(got[1].1, "not_applicable"); // WINDOWS: Server 2003 with its own old copy
    assert_eq!(got[2].1, "not_installed"); // WINNT: no files of its own
}

/// A single Windows folder stays one root with exactly the fields it always had.
#[test]
fn case4_one_windows_folder_is_one_root_as_before() {
    let (_, doc) = scan_json(&[&system("w2k-sp4-vulnerable")], &["--rule", "MS04-008"]);
    assert_eq!(doc["roots"].as_array().unwrap().len(), 1);
    let r = &doc["roots"][0];
    assert!(r.get("parent_root").is_none());
    assert!(r["system"]["os"].get("wrong_type").is_none());
    assert!(!codes(r).contains(&"multiple_windows_installations".into()));
}

/// The two-Windows volume inside a FAT image built at test time: `IMAGE`, `IMAGE#WINDOWS`,
/// `IMAGE#WINNT`, and the disk's verdict from all three.
#[test]
fn case4_two_windows_inside_a_fat_image() {
    if !have("mkfs.fat") || !have("mcopy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("two.img");
    let o = Proc::new("mkfs.fat")
        .args([
            "--invariant",
            "-i",
            "4B53434E",
            "-n",
            "KBSCAN",
            "-F",
            "16",
            "-C",
        ])
        .arg(&img)
        .arg("16384")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let src = system("two-windows");
    for top in ["WINNT", "WINDOWS"] {
        let o = Proc::new("mcopy")
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-s", "-i"])
            .arg(&img)
            .arg(src.join(top))
            .arg("::/")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (code, doc) = scan_json(&[&img], &["--rule", "MS04-008"]);
    assert_eq!(code, 1, "{doc:#}");
    let name = img.to_str().unwrap();
    let got = roots_by_name(&doc);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, name);
    assert_eq!(got[1].0, format!("{name}#WINDOWS"));
    assert_eq!(got[1].1, "not_applicable");
    assert_eq!(got[2].0, format!("{name}#WINNT"));
    assert_eq!(got[2].1, "vulnerable");
    assert_eq!(got[2].2, name);
    for r in doc["roots"].as_array().unwrap() {
        assert_eq!(r["image"]["filesystem"], "fat16");
    }
    let image = &doc["images"][0];
    assert_eq!(image["verdict"], "vulnerable");
    assert_eq!(image["volumes"], serde_json::json!([name]));
}

/// Issue 13: kbscan reads every service key of the control set. A hive whose service keys are
/// damaged (40 key cells with their `nk` signature overwritten) still gives a verdict, the
/// other services are still read, and the notes name the first 16 failures and count the
/// rest instead of growing with the damage.
#[test]
fn damaged_service_keys_are_noted_boundedly_and_the_rest_still_read() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("w2k");
    copy_tree(&system("w2k-sp4-vulnerable"), &root);
    let hive = root.join("WINNT/system32/config/SYSTEM");
    let reg: String = (0..40)
        .map(|i| {
            format!("[\\ControlSet001\\Services\\zzbroken{i:02}]\n\"Start\"=dword:00000003\n\n")
        })
        .collect();
    merge_reg(&hive, &reg);
    let mut bytes = fs::read(&hive).unwrap();
    let mut broken = 0;
    for i in 0..40 {
        let name = format!("zzbroken{i:02}");
        let at = bytes
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .unwrap_or_else(|| panic!("{name} not in the hive"));
        // A key node: `nk` at its start, the name at offset 0x4C.
        let nk = at - 0x4C;
        assert_eq!(&bytes[nk..nk + 2], b"nk", "{name}");
        bytes[nk..nk + 2].copy_from_slice(b"xx");
        broken += 1;
    }
    assert_eq!(broken, 40);
    fs::write(&hive, bytes).unwrap();
    let (code, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    let r = &doc["roots"][0];
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    let notes: Vec<String> = r["system"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let named = notes
        .iter()
        .filter(|n| n.starts_with("SYSTEM hive: a key under ControlSet001\\Services:"))
        .count();
    assert_eq!(named, 16, "{notes:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n
                == "SYSTEM hive: 24 more keys under ControlSet001\\Services could not be read"),
        "{notes:#?}"
    );
    // The undamaged services are still read: the station service starts the live copy.
    assert!(
        r["system"]["rules"][0]["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "nsstation"),
        "{r:#}"
    );
}
