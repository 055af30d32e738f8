//! Updates waiting for a reboot: SYSTEM `PendingFileRenameOperations`, written into real hives
//! with hivexregedit, beside staged files in copies of the sample systems. The verdict stays the
//! live file's, the reason `update_pending_reboot` names both versions in every format, and
//! `--as-of` never counts the staged file; paths outside the root are reported, never read.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{copy_tree, have, json, kbscan, merge_reg, system};

const SERVER: &str = "WINNT/system32/Windows Media/Server";

/// `hex(7):` data of a REG_MULTI_SZ holding `strings` (each NUL-terminated, then the list's
/// terminating NUL), as regedit writes it.
pub(crate) fn multi_sz(strings: &[&str]) -> String {
    let mut bytes = Vec::new();
    for s in strings {
        for u in s.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        bytes.extend_from_slice(&[0, 0]);
    }
    bytes.extend_from_slice(&[0, 0]);
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hex(7):{}", hex.join(","))
}

/// Writes `PendingFileRenameOperations` (`data` as the .reg text gives it) into the copy's
/// SYSTEM hive, current control set ControlSet001.
pub(crate) fn set_pending(root: &Path, data: &str) {
    merge_reg(
        &root.join("WINNT/system32/config/SYSTEM"),
        &format!(
            "[\\ControlSet001\\Control\\Session Manager]\n\"PendingFileRenameOperations\"={data}\n"
        ),
    );
}

/// A copy of sample system `name` under `dir`.
fn copy_of(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(name);
    copy_tree(&system(name), &root);
    root
}

fn scan(root: &Path, format: &str, extra: &[&str]) -> (i32, String) {
    let o = kbscan()
        .args(["scan", "-q", "-f", format, "--rule", "MS04-008"])
        .args(extra)
        .arg(root)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn scan_json(root: &Path, extra: &[&str]) -> Value {
    let o = kbscan()
        .args(["scan", "-q", "-f", "json", "--rule", "MS04-008"])
        .args(extra)
        .arg(root)
        .output()
        .unwrap();
    json(&o)
}

fn pending_reasons(root: &Value) -> Vec<String> {
    root["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "update_pending_reboot")
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The headline case: the registry records KB832359, the live Nscm.exe is the old 4.1.0.3917,
/// and the fixed 4.1.0.3934 is staged beside it with a pending rename onto it. Also a
/// deletion, and a pair whose staged file is on another drive (not read).
fn staged_fix(dir: &Path) -> PathBuf {
    let root = copy_of(dir, "w2k-claims-update");
    std::fs::copy(
        system("w2k-server1").join(SERVER).join("Nscm.exe"),
        root.join(SERVER).join("SET1A.tmp"),
    )
    .unwrap();
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\SET1A.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
            "\\??\\C:\\WINNT\\temp\\gone.tmp",
            "",
            "\\??\\D:\\staging\\Nspmon.exe",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nspmon.exe",
        ]),
    );
    root
}

#[test]
fn a_staged_fix_is_reported_and_the_verdict_stays_the_live_files() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = copy_of(&dir.path().join("plain"), "w2k-claims-update");
    let before = scan_json(&plain, &[]);
    let root = staged_fix(dir.path());
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    // The same verdict and rule verdicts as without the pending operations.
    assert_eq!(r["verdict"], "vulnerable");
    assert_eq!(r["verdict"], before["roots"][0]["verdict"]);
    assert_eq!(
        r["rule_verdicts"][0]["verdict"],
        before["roots"][0]["rule_verdicts"][0]["verdict"]
    );
    let msgs = pending_reasons(r);
    let nscm = msgs
        .iter()
        .find(|m| m.contains("Nscm.exe:"))
        .unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(nscm.contains("4.1.0.3917"), "{nscm}");
    assert!(nscm.contains("version 4.1.0.3934"), "{nscm}");
    assert!(nscm.contains("SET1A.tmp"), "{nscm}");
    assert!(nscm.contains("pair 1"), "{nscm}");
    // The pair whose staged file is on D: is named, and its file never read.
    let nspmon = msgs
        .iter()
        .find(|m| m.contains("Nspmon.exe:"))
        .unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(nspmon.contains("version not read"), "{nspmon}");
    assert!(nspmon.contains("not under the root"), "{nspmon}");
    // The rule's own list carries them too.
    let rule = &r["rule_verdicts"][0];
    assert!(rule["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "update_pending_reboot"));
    // The operations as read.
    let p = &r["system"]["pending_renames"];
    assert_eq!(
        p["value"],
        "ControlSet001\\Control\\Session Manager\\PendingFileRenameOperations"
    );
    assert!(p["key_last_written"].is_string(), "{p}");
    let ops = p["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "{p}");
    assert_eq!(ops[0]["replace_prefix"], true);
    assert_eq!(ops[0]["target_path"], format!("{SERVER}/Nscm.exe"));
    assert_eq!(ops[0]["source_path"], format!("{SERVER}/SET1A.tmp"));
    assert_eq!(ops[0]["staged"]["version"], "4.1.0.3934");
    assert_eq!(ops[1]["target"], Value::Null, "a deletion: {p}");
    assert!(ops[2]["unresolved"].as_str().unwrap().contains("D:"), "{p}");
    let notes = r["system"]["notes"].to_string();
    assert!(notes.contains("pair 3"), "{notes}");
}

#[test]
fn every_format_shows_the_pending_update() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = staged_fix(dir.path());
    for (format, want) in [
        ("table", "is replaced at the next boot by the staged file"),
        ("csv", "update_pending_reboot"),
        ("jsonl", "update_pending_reboot"),
        ("html", "update_pending_reboot"),
    ] {
        // The table's lines whole (`--width 0`), so a sentence is found unbroken.
        let extra: &[&str] = if format == "table" {
            &["--width", "0"]
        } else {
            &[]
        };
        let (code, out) = scan(&root, format, extra);
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains(want), "{format}: {out}");
    }
    let (_, table) = scan(&root, "table", &["--width", "0"]);
    assert!(table.contains("pending:  pair 1:"), "{table}");
    let (_, html) = scan(&root, "html", &[]);
    assert!(html.contains("pending rename"), "{html}");
    assert!(html.contains("4.1.0.3934"), "{html}");
    let (_, tl) = scan(&root, "timeline", &[]);
    let rows: Vec<Value> = tl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["source"] == "pending_rename")
        .collect();
    assert_eq!(rows.len(), 3, "{tl}");
    assert_eq!(rows[0]["timestamp_desc"], "Pending File Rename Registered");
    let nscm = rows
        .iter()
        .find(|r| r["path"] == format!("{SERVER}/Nscm.exe"))
        .unwrap();
    assert_eq!(nscm["rule"], "MS04-008");
    assert!(
        nscm["message"]
            .as_str()
            .unwrap()
            .contains("staged file version 4.1.0.3934"),
        "{nscm}"
    );
}

#[test]
fn as_of_never_counts_the_staged_file() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = staged_fix(dir.path());
    for date in ["2004-03-10", "2004-06-01", "2026-01-01"] {
        let v = scan_json(&root, &["--as-of", date]);
        let a = &v["roots"][0]["as_of"];
        assert_eq!(a["state"], "vulnerable_at_date", "{date}: {a}");
        let rule = &a["rules"][0];
        assert!(
            rule["reasons"].as_array().unwrap().iter().any(|r| r["code"]
                == "update_pending_reboot"
                && r["message"]
                    .as_str()
                    .unwrap()
                    .contains("never the staged one")),
            "{date}: {rule}"
        );
    }
}

#[test]
fn an_older_or_unreadable_staged_file_changes_nothing() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // w2k-server1 is patched (4.1.0.3934 live); the old build is staged onto Nscm.exe, and a
    // text file onto Nspmon.exe.
    let root = copy_of(dir.path(), "w2k-server1");
    let before = scan_json(&root, &["--as-of", "2004-06-01"]);
    std::fs::copy(
        system("w2k-claims-update").join(SERVER).join("Nscm.exe"),
        root.join(SERVER).join("old.tmp"),
    )
    .unwrap();
    std::fs::write(root.join(SERVER).join("junk.tmp"), b"not a program").unwrap();
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\old.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\junk.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nspmon.exe",
        ]),
    );
    let v = scan_json(&root, &["--as-of", "2004-06-01"]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], before["roots"][0]["verdict"]);
    assert_eq!(r["verdict"], "patched");
    assert_eq!(r["as_of"]["state"], before["roots"][0]["as_of"]["state"]);
    let msgs = pending_reasons(r);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("version 4.1.0.3917") && m.contains("below the fixed")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("junk.tmp") && m.contains("version not read")),
        "{msgs:?}"
    );
}

#[test]
fn hostile_values_are_notes_and_nothing_outside_the_root_is_read() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A value of the wrong type.
    let root = copy_of(&dir.path().join("a"), "w2k-claims-update");
    set_pending(&root, "\"\\\\??\\\\C:\\\\x\"");
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable");
    assert!(
        r["system"]["notes"]
            .to_string()
            .contains("not REG_MULTI_SZ"),
        "{}",
        r["system"]["notes"]
    );
    assert!(pending_reasons(r).is_empty());
    // Paths that climb out of the root, a network share and a source without a target.
    let root = copy_of(&dir.path().join("b"), "w2k-claims-update");
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\..\\..\\..\\etc\\passwd",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
            "\\\\server\\share\\Nspmon.exe",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nspmon.exe",
            "\\??\\C:\\WINNT\\dangling.tmp",
        ]),
    );
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable");
    let ops = r["system"]["pending_renames"]["operations"]
        .as_array()
        .unwrap();
    // The source left without a target before the list's end is a deletion (the data cannot
    // tell them apart: MoveFileEx writes a deletion as the source and an empty string).
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[2]["target"], Value::Null);
    assert_eq!(ops[2]["source_path"], Value::Null, "not there");
    for op in &ops[..2] {
        assert!(op["unresolved"].is_string(), "{op}");
        assert_eq!(op["source_path"], Value::Null, "{op}");
        assert_eq!(op["staged"]["version"], Value::Null, "{op}");
    }
    let notes = r["system"]["notes"].to_string();
    assert!(notes.contains("does not name a file"), "{notes}");
    assert!(notes.contains("network path"), "{notes}");
    // A staged file that is a link (to a file outside the root) is not followed.
    let root = copy_of(&dir.path().join("c"), "w2k-claims-update");
    std::os::unix::fs::symlink("/etc/hostname", root.join(SERVER).join("link.tmp")).unwrap();
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\link.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
        ]),
    );
    let v = scan_json(&root, &[]);
    let op = &v["roots"][0]["system"]["pending_renames"]["operations"][0];
    assert!(
        op["staged"]["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{op}"
    );
    assert_eq!(op["staged"]["version"], Value::Null);
}

/// The same inside a disk image: an NTFS volume built by mkntfs and libntfs-3g holding the
/// staged fix, the pending operation naming its folder by the 8.3 alias the volume records.
#[test]
fn a_staged_fix_inside_an_ntfs_image() {
    if !have("hivexregedit") || !have("mkntfs") || !have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = copy_of(&dir.path().join("tree"), "w2k-claims-update");
    std::fs::copy(
        system("w2k-server1").join(SERVER).join("Nscm.exe"),
        root.join(SERVER).join("SET1A.tmp"),
    )
    .unwrap();
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\WINDOW~1\\Server\\SET1A.tmp",
            "!\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nscm.exe",
        ]),
    );
    let (vol, ntfsput) = crate::common::ntfs_volume(dir.path(), 16);
    ntfsput(&["copy", root.to_str().unwrap()]);
    ntfsput(&["dosname", "/WINNT/system32/Windows Media", "WINDOW~1"]);
    let v = scan_json(&vol, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable", "{r:#}");
    let op = &r["system"]["pending_renames"]["operations"][0];
    assert_eq!(op["source_path"], format!("{SERVER}/SET1A.tmp"), "{op}");
    assert_eq!(op["staged"]["version"], "4.1.0.3934", "{op}");
    let msgs = pending_reasons(r);
    assert!(
        msgs.iter()
            .any(|m| m.contains("4.1.0.3917") && m.contains("version 4.1.0.3934")),
        "{msgs:?}"
    );
}

/// Many operations: all are listed, only the first 512 placed under the root, and a note says
/// so.
#[test]
fn many_operations_are_bounded() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = copy_of(dir.path(), "w2k-claims-update");
    // Short names: hivexregedit writes a value as one cell, so it must stay under the 16,344
    // bytes a regf 1.5 cell may hold without big-data records (the value after this one).
    let names: Vec<String> = (0..600).map(|i| format!("C:\\f{i}")).collect();
    let mut parts: Vec<&str> = Vec::new();
    for n in &names {
        parts.push(n);
        parts.push("");
    }
    // The list's own terminator follows; a deletion is the source and an empty string.
    set_pending(&root, &multi_sz(&parts));
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable");
    let ops = r["system"]["pending_renames"]["operations"]
        .as_array()
        .unwrap();
    assert_eq!(ops.len(), 600, "{}", r["system"]["notes"]);
    assert_eq!(ops[511]["unresolved"], Value::Null, "{}", ops[511]);
    assert!(ops[512]["unresolved"]
        .as_str()
        .unwrap()
        .contains("not placed"));
    assert!(r["system"]["notes"]
        .to_string()
        .contains("the first 512 are placed"));
    // A value hivexregedit writes as one cell of more than 16,344 bytes, where a regf 1.5 hive
    // needs big-data records: not readable, a note, the scan goes on.
    let long: Vec<String> = (0..600)
        .map(|i| format!("\\??\\C:\\WINNT\\temp\\f{i}.tmp"))
        .collect();
    let parts: Vec<&str> = long.iter().map(String::as_str).collect();
    let root = copy_of(&dir.path().join("big"), "w2k-claims-update");
    set_pending(&root, &multi_sz(&parts));
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], "vulnerable");
    assert!(
        r["system"]["notes"].to_string().contains("cannot be read"),
        "{}",
        r["system"]["notes"]
    );
}

/// A rename onto a rule's file that is not there yet: said, nothing concluded from it (the
/// rule's verdict is what the live copies give).
#[test]
fn a_rename_onto_a_missing_rule_file_is_said() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = copy_of(dir.path(), "w2k-claims-update");
    std::fs::rename(
        root.join(SERVER).join("Nspmon.exe"),
        root.join(SERVER).join("SET2B.tmp"),
    )
    .unwrap();
    let before = {
        let plain = copy_of(&dir.path().join("plain"), "w2k-claims-update");
        std::fs::remove_file(plain.join(SERVER).join("Nspmon.exe")).unwrap();
        scan_json(&plain, &[])
    };
    set_pending(
        &root,
        &multi_sz(&[
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\SET2B.tmp",
            "\\??\\C:\\WINNT\\system32\\Windows Media\\Server\\Nspmon.exe",
        ]),
    );
    let v = scan_json(&root, &[]);
    let r = &v["roots"][0];
    assert_eq!(r["verdict"], before["roots"][0]["verdict"]);
    let msgs = pending_reasons(r);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].contains("is not there now"), "{}", msgs[0]);
    assert!(msgs[0].contains("version 4.1.0.3917"), "{}", msgs[0]);
}

/// A System log whose only boot is `secs` seconds after the Unix time `base`.
fn log_with_boot(root: &Path, base: i64, secs: i64) {
    use crate::event_logs::writer::{normal, Event};
    let t = u32::try_from(base + secs).unwrap();
    let log = normal(&[Event::new(1, t, 6005, "EventLog", &[])]);
    std::fs::write(root.join("WINNT/system32/config/SysEvent.Evt"), &log.bytes).unwrap();
}

/// Windows carries out the operations at a boot and deletes the value (writing the key): a
/// boot the System log records after the key's last write, with the value still there, says
/// the operation was not carried out at that boot. Said in the reason; the verdict is the
/// live file's either way, and a boot before the last write says nothing.
#[test]
fn a_boot_after_the_registration_is_said_and_changes_no_verdict() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = staged_fix(dir.path());
    let v = scan_json(&root, &[]);
    let plain = &v["roots"][0];
    let written = plain["system"]["pending_renames"]["key_last_written"]
        .as_str()
        .unwrap()
        .to_owned();
    let k = time::OffsetDateTime::parse(&written, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp();
    assert!(pending_reasons(plain)
        .iter()
        .all(|m| !m.contains("records a boot")));
    // A boot a day after the last write.
    log_with_boot(&root, k, 86_400);
    let after = scan_json(&root, &[]);
    let r = &after["roots"][0];
    assert_eq!(r["verdict"], plain["verdict"]);
    assert_eq!(
        r["rule_verdicts"][0]["verdict"],
        plain["rule_verdicts"][0]["verdict"]
    );
    let msgs = pending_reasons(r);
    let nscm = msgs.iter().find(|m| m.contains("Nscm.exe:")).unwrap();
    assert!(nscm.contains("SysEvent.Evt records a boot at"), "{nscm}");
    assert!(nscm.contains("not carried out at that boot"), "{nscm}");
    assert!(nscm.contains(&written), "{nscm}");
    // A boot a day before it: nothing said.
    log_with_boot(&root, k, -86_400);
    let before = scan_json(&root, &[]);
    let msgs = pending_reasons(&before["roots"][0]);
    assert!(!msgs.is_empty());
    assert!(
        msgs.iter().all(|m| !m.contains("records a boot")),
        "{msgs:?}"
    );
}
