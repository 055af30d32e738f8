//! Issue 10 cases 2, 3, 6 and 9, built from real bytes at test time: the sample PEs copied into
//! temporary trees, SYSTEM and SOFTWARE hives made with `hivexregedit --merge` from .reg text
//! (template tests/fixtures/registry/minimal.hive), symbolic links made here.
#![cfg(unix)]

use crate::common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const SERVER: &str = "WINNT/system32/Windows Media/Server";
const UNINSTALL: &str = "WINNT/$NTUninstallKB832359$";
const PATCHED: &str = "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe";
const VULN: &str = "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe";

fn codes(root: &Value) -> Vec<String> {
    root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether hivexregedit is here (a failure under CI). Not `hivexregedit --help`: it exits 1.
fn hivex() -> bool {
    have("hivexregedit")
}

/// Writes a hive built from `reg` (the body after the header line) at `dest`.
fn hive(dest: &Path, reg: &str) {
    let template = minimal_hive();
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(&template, dest).unwrap();
    merge_reg(dest, reg);
}

/// A Windows 2000 SP4 server whose `nsstation` service has `image_path` (.reg-escaped);
/// `program_files` is the SOFTWARE hive's ProgramFilesDir when given.
fn hives(root: &Path, image_path: &str, program_files: Option<&str>) {
    hives_with(root, &[("nsstation", image_path, 2)], program_files);
}

/// The same server with the given services: (key name, ImagePath .reg-escaped, Start).
fn hives_with(root: &Path, services: &[(&str, &str, u32)], program_files: Option<&str>) {
    let config = root.join("WINNT/system32/config");
    let pf = program_files
        .map(|p| format!("\"ProgramFilesDir\"=\"{p}\"\n"))
        .unwrap_or_default();
    hive(
        &config.join("SOFTWARE"),
        &format!(
            "[\\Microsoft]\n\n[\\Microsoft\\Windows]\n\n[\\Microsoft\\Windows\\CurrentVersion]\n{pf}\n\
             [\\Microsoft\\Windows NT]\n\n[\\Microsoft\\Windows NT\\CurrentVersion]\n\
             \"ProductName\"=\"Microsoft Windows 2000\"\n\"CurrentVersion\"=\"5.0\"\n\
             \"CurrentBuildNumber\"=\"2195\"\n\"CSDVersion\"=\"Service Pack 4\"\n\
             \"SystemRoot\"=\"C:\\\\WINNT\"\n"
        ),
    );
    hive(
        &config.join("SYSTEM"),
        &format!(
            "[\\Select]\n\"Current\"=dword:00000001\n\n[\\ControlSet001]\n\n[\\ControlSet001\\Control]\n\n\
             [\\ControlSet001\\Control\\ProductOptions]\n\"ProductType\"=\"ServerNT\"\n\n\
             [\\ControlSet001\\Services]\n\n{}"
        , services
            .iter()
            .map(|(name, image, start)| format!(
                "[\\ControlSet001\\Services\\{name}]\n\"ImagePath\"=str(2):\"{image}\"\n\"Start\"=dword:{start:08x}\n\n"
            ))
            .collect::<String>()),
    );
}

/// `dir/evidence` with the patched Nscm.exe in its install folder and an old one in
/// `Program Files/WMS`: which one a service starts decides.
fn patched_here_old_elsewhere(dir: &Path) -> PathBuf {
    let root = dir.join("evidence");
    put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
    put(&root, "Program Files/WMS/nscm.exe", VULN);
    root
}

fn put(root: &Path, rel: &str, sample: &str) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::copy(sample_file(sample), &p).unwrap();
    p
}

fn scan(root: &Path, extra: &[&str]) -> (i32, Value) {
    let (code, doc) = scan_json(&[root], extra);
    (code, doc["roots"][0].clone())
}

/// Two live copies differing only in case; the service names the lower-case one.
fn twins(dir: &Path, second: &str) -> PathBuf {
    let root = dir.join("evidence");
    put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
    put(&root, &format!("{SERVER}/nscm.exe"), second);
    root
}

#[test]
fn case_twins_with_a_service_are_inconclusive_unless_both_are_vulnerable() {
    if !hivex() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = twins(dir.path(), VULN);
    hives(
        &root,
        r"C:\\WINNT\\System32\\Windows Media\\Server\\nscm.exe",
        None,
    );
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);
    assert!(codes(&r).contains(&"case_twins".into()), "{:?}", codes(&r));
    // Both twins are what the service could start.
    for p in ["Server/Nscm.exe", "Server/nscm.exe"] {
        assert_eq!(finding(&r, p)["service_image"], "nsstation", "{p}");
    }

    // Both vulnerable: every reading is vulnerable.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    put(&root, &format!("{SERVER}/Nscm.exe"), VULN);
    put(&root, &format!("{SERVER}/nscm.exe"), VULN);
    hives(
        &root,
        r"C:\\WINNT\\System32\\Windows Media\\Server\\nscm.exe",
        None,
    );
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable");
    assert_eq!(code, 1);
    assert!(codes(&r).contains(&"case_twins".into()));
}

#[test]
fn case_twins_without_a_service_are_inconclusive_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = twins(dir.path(), VULN);
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);
    assert!(codes(&r).contains(&"case_twins".into()));
    // Both patched: a note, and patched.
    let dir = tempfile::tempdir().unwrap();
    let root = twins(dir.path(), PATCHED);
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "patched");
    assert_eq!(code, 0);
    assert!(codes(&r).contains(&"case_twins".into()));
    // A vulnerable copy elsewhere still makes it vulnerable.
    let dir = tempfile::tempdir().unwrap();
    let root = twins(dir.path(), VULN);
    put(&root, "Program Files/WMS/Nscm.exe", VULN);
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable");
    assert_eq!(code, 1);
}

#[test]
fn a_service_that_starts_a_backup_copy_makes_it_live() {
    if !hivex() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
    put(&root, &format!("{UNINSTALL}/nscm.exe"), VULN);
    hives(&root, r"C:\\WINNT\\$NTUninstallKB832359$\\nscm.exe", None);
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    let c = codes(&r);
    assert!(c.contains(&"service_image_started".into()), "{c:?}");
    assert!(!c.contains(&"service_image_missing".into()), "{c:?}");
    let f = finding(&r, "$NTUninstallKB832359$/nscm.exe");
    assert_eq!(f["location"], "live");
    assert_eq!(f["location_rule"], "service");
    assert_eq!(f["location_folder"], "$NTUninstallKB832359$");
    assert_eq!(f["service_image"], "nsstation");
    // The table says live:service.
    let o = run(&["scan", "--rule", "MS04-008", root.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("live:service"), "{table}");
}

fn link_to_uninstall_copy(dir: &Path) -> PathBuf {
    let root = dir.join("evidence");
    put(&root, &format!("{UNINSTALL}/Nscm.exe"), VULN);
    fs::create_dir_all(root.join(SERVER)).unwrap();
    symlink(
        "../../../$NTUninstallKB832359$/Nscm.exe",
        root.join(SERVER).join("Nscm.exe"),
    )
    .unwrap();
    root
}

#[test]
fn a_live_link_not_read_is_inconclusive_and_followed_it_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let root = link_to_uninstall_copy(dir.path());
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2, "exit 0 would say every candidate was judged");
    assert!(codes(&r).contains(&"live_copy_not_read".into()));

    let (code, r) = scan(&root, &["--rule", "MS04-008", "--follow-symlinks"]);
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    let f = finding(&r, "Server/Nscm.exe");
    assert_eq!(f["location"], "live");
    assert_eq!(f["status"], "vulnerable");

    // An absolute link is refused even when following: still not read.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fs::create_dir_all(root.join(SERVER)).unwrap();
    symlink("/nonexistent/Nscm.exe", root.join(SERVER).join("Nscm.exe")).unwrap();
    let (code, r) = scan(&root, &["--rule", "MS04-008", "--follow-symlinks"]);
    assert_eq!(r["verdict"], "inconclusive");
    assert_eq!(code, 2);
    assert!(codes(&r).contains(&"live_copy_not_read".into()));
}

#[test]
fn a_linked_install_folder_is_inconclusive_and_followed_it_is_live() {
    for folder in ["Windows Media", "Server"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        // The real folder holds the old file at a backup path; the install path links to it.
        let store = format!("{UNINSTALL}/wms/Server");
        put(&root, &format!("{store}/Nscm.exe"), VULN);
        let (link, target) = if folder == "Server" {
            fs::create_dir_all(root.join("WINNT/system32/Windows Media")).unwrap();
            (
                root.join("WINNT/system32/Windows Media/Server"),
                "../../$NTUninstallKB832359$/wms/Server",
            )
        } else {
            fs::create_dir_all(root.join("WINNT/system32")).unwrap();
            (
                root.join("WINNT/system32/Windows Media"),
                "../$NTUninstallKB832359$/wms",
            )
        };
        symlink(target, &link).unwrap();

        let (code, r) = scan(&root, &["--rule", "MS04-008"]);
        assert_eq!(r["verdict"], "inconclusive", "{folder}: {r:#}");
        assert_eq!(code, 2, "{folder}");
        assert!(codes(&r).contains(&"live_copy_not_read".into()), "{folder}");

        let (code, r) = scan(&root, &["--rule", "MS04-008", "--follow-symlinks"]);
        assert_eq!(r["verdict"], "vulnerable", "{folder}: {r:#}");
        assert_eq!(code, 1, "{folder}");
        let f = finding(&r, &format!("{SERVER}/Nscm.exe"));
        assert_eq!(f["location"], "live", "{folder}");
        assert_eq!(f["path"], format!("{SERVER}/Nscm.exe"));
    }
}

#[test]
fn service_paths_resolve_as_windows_would() {
    if !hivex() {
        return;
    }
    // %ProgramFiles% from the SOFTWARE hive, quoted with arguments.
    let dir = tempfile::tempdir().unwrap();
    let root = patched_here_old_elsewhere(dir.path());
    hives(
        &root,
        r#"\"%ProgramFiles%\\WMS\\nscm.exe\" -service"#,
        Some(r"C:\\Program Files"),
    );
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(finding(&r, "WMS/nscm.exe")["service_image"], "nsstation");
    assert_eq!(
        r["system"]["rules"][0]["services"][0]["resolved_path"],
        "program files/wms/nscm.exe"
    );

    // Without ProgramFilesDir: unresolved, a note and a reason; the service decides nothing.
    let dir = tempfile::tempdir().unwrap();
    let root = patched_here_old_elsewhere(dir.path());
    hives(&root, r"%ProgramFiles%\\WMS\\nscm.exe", None);
    let (_, r) = scan(&root, &["--rule", "MS04-008"]);
    let c = codes(&r);
    assert!(c.contains(&"service_image_unresolved".into()), "{c:?}");
    assert!(!c.contains(&"service_image_started".into()), "{c:?}");
    assert_eq!(r["verdict"], "vulnerable", "both live copies count");
    assert!(r["system"]["notes"]
        .to_string()
        .contains("not resolved to a file under the root"));

    // \SystemRoot\ and \??\ forms.
    for image in [
        r"\\SystemRoot\\System32\\Windows Media\\Server\\nscm.exe",
        r"\\??\\C:\\WINNT\\System32\\Windows Media\\Server\\nscm.exe",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = patched_here_old_elsewhere(dir.path());
        hives(&root, image, None);
        let (code, r) = scan(&root, &["--rule", "MS04-008"]);
        // The service starts the patched copy; the old one elsewhere still counts (verdict
        // integrity round 3, case 1: before, it was not counted and this was `patched`).
        assert_eq!(r["verdict"], "vulnerable", "{image}: {r:#}");
        assert_eq!(code, 1);
        assert!(codes(&r).contains(&"service_image_started".into()));
        assert_eq!(
            finding(&r, "Server/Nscm.exe")["service_image"],
            "nsstation",
            "{image} resolved"
        );
    }

    // An 8.3 alias this (host) volume does not record: unresolved, not "missing".
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
    hives(&root, r"C:\\PROGRA~1\\WMS\\nscm.exe", None);
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    let c = codes(&r);
    assert!(c.contains(&"service_image_unresolved".into()), "{c:?}");
    assert!(!c.contains(&"service_image_missing".into()), "{c:?}");
    // The copy the service runs was not judged: never patched over the patched copy found.
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);

    // Another drive: the same; disabled, the service runs nothing and the copy found decides.
    for (start, verdict, exit) in [(2, "inconclusive", 2), (4, "patched", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
        hives_with(&root, &[("nsstation", r"D:\\WMS\\nscm.exe", start)], None);
        let (code, r) = scan(&root, &["--rule", "MS04-008"]);
        assert_eq!(r["verdict"], verdict, "Start {start}: {r:#}");
        assert_eq!(code, exit);
        assert!(codes(&r).contains(&"service_image_unresolved".into()));
    }
}

const NSUM_PATCHED: &str = "w2k-wms-fully-patched/WINNT/system32/Windows Media/Server/nsum.exe";
const NSUM_OLD: &str = "w2k-ms10-025-withdrawn/WINNT/system32/Windows Media/Server/nsum.exe";

/// Issue 13: the MS04-008 bulletins never give the Station service's key name, so a service
/// is found by the file its ImagePath starts, whatever it is called; unrelated services are
/// not reported.
#[test]
fn a_service_of_any_name_that_starts_the_file_decides() {
    if !hivex() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = patched_here_old_elsewhere(dir.path());
    hives_with(
        &root,
        &[
            (
                "StationRenamed",
                r"C:\\Program Files\\WMS\\NSCM.EXE -service",
                2,
            ),
            (
                "W32Time",
                r"%SystemRoot%\\System32\\svchost.exe -k netsvcs",
                2,
            ),
        ],
        None,
    );
    let (code, r) = scan(&root, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    assert!(codes(&r).contains(&"service_image_started".into()));
    assert_eq!(
        finding(&r, "WMS/nscm.exe")["service_image"],
        "StationRenamed"
    );
    let svcs = r["system"]["rules"][0]["services"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(svcs.len(), 1, "{svcs:#?}");
    assert_eq!(svcs[0]["name"], "StationRenamed");
    assert_eq!(svcs[0]["file"], "Nscm.exe");
    assert_eq!(svcs[0]["matched_by"], "image_name");
}

/// Issue 13, thinking as the attacker: the sourced `nsunicast` service starts a renamed old
/// nsum.exe while a patched nsum.exe sits where a scanner looks. Windows runs the renamed
/// copy, which kbscan did not judge: never `patched`. Disabled, the service runs nothing.
#[test]
fn a_named_service_that_starts_a_renamed_copy_is_not_patched() {
    if !hivex() {
        return;
    }
    let image = r"%SystemRoot%\\System32\\Windows Media\\Server\\nsum_old.exe";
    let evidence = |start: u32| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        put(&root, &format!("{SERVER}/nsum.exe"), NSUM_PATCHED);
        put(&root, &format!("{SERVER}/nsum_old.exe"), NSUM_OLD);
        hives_with(&root, &[("nsunicast", image, start)], None);
        (dir, root)
    };
    let (_dir, root) = evidence(2);
    let (code, r) = scan(&root, &["--rule", "MS10-025"]);
    assert_eq!(r["verdict"], "inconclusive", "{r:#}");
    assert_eq!(code, 2);
    let c = codes(&r);
    assert!(c.contains(&"service_image_not_judged".into()), "{c:?}");
    assert!(!c.contains(&"service_image_missing".into()), "{c:?}");
    let svc = &r["system"]["rules"][0]["services"][0];
    assert_eq!(svc["matched_by"], "service_name", "{svc:#}");
    // The table says why, with the path of the copy not read.
    let o = run(&["scan", "--rule", "MS10-025", root.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("nsum_old.exe"), "{table}");

    // The same with the service disabled: the patched copy decides, the reason stays.
    let (_dir, root) = evidence(4);
    let (code, r) = scan(&root, &["--rule", "MS10-025"]);
    assert_eq!(r["verdict"], "patched", "{r:#}");
    assert_eq!(code, 0);
    assert!(codes(&r).contains(&"service_image_not_judged".into()));
}

/// Issue 13: a service whose ImagePath names the program by its 8.3 aliases
/// (`WINDOW~1\SERVER\NSCM~1.EXE`) runs Nscm.exe when the volume records those aliases: on an
/// NTFS volume made with mkntfs and tests/images/ntfsput.c (which sets the DOS names), the
/// alias is looked up and the copy the service starts, whatever it is called, is marked.
#[test]
fn a_service_named_by_8_3_aliases_is_found_on_an_ntfs_volume() {
    if !hivex() || !have("mkntfs") || !have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    // The service starts the patched copy; the old one elsewhere still counts (verdict
    // integrity round 3, case 1: before, it was not counted and this was `patched`). The
    // alias is proven found by the copy marked as the service's image.
    put(&root, &format!("{SERVER}/Nscm.exe"), PATCHED);
    put(&root, "Program Files/WMS/Nscm.exe", VULN);
    hives_with(
        &root,
        &[(
            "StationAlias",
            r"C:\\WINNT\\SYSTEM32\\WINDOW~1\\SERVER\\NSCM~1.EXE",
            2,
        )],
        None,
    );
    let (vol, ntfsput) = ntfs_volume(dir.path(), 16);
    ntfsput(&["copy", root.to_str().unwrap()]);
    ntfsput(&["dosname", "/WINNT/system32/Windows Media", "WINDOW~1"]);
    ntfsput(&["dosname", &format!("/{SERVER}/Nscm.exe"), "NSCM~1.EXE"]);
    // A file whose DOS name is NSCM.EXE (`fsutil file setshortname` can give any): Windows
    // opens it by that name too, so it is a candidate, judged as Nscm.exe.
    let vuln = sample_file(VULN);
    ntfsput(&["put", vuln.to_str().unwrap(), "/Other/innocent.dat"]);
    ntfsput(&["dosname", "/Other/innocent.dat", "NSCM.EXE"]);
    let (code, r) = scan(&vol, &["--rule", "MS04-008"]);
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    assert_eq!(code, 1);
    let svc = &r["system"]["rules"][0]["services"][0];
    assert_eq!(svc["name"], "StationAlias", "{r:#}");
    assert_eq!(svc["matched_by"], "image_name");
    assert_eq!(
        finding(&r, "Server/Nscm.exe")["service_image"],
        "StationAlias"
    );
    let disguised = finding(&r, "Other/innocent.dat");
    assert_eq!(disguised["target"], "Nscm.exe", "{disguised:#}");
    assert_eq!(disguised["status"], "vulnerable");
    assert!(codes(&r).contains(&"service_image_started".into()));
}
