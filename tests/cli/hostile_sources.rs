//! Issue 10, cases 10 and 12, for the evidence texts that do not come from file names or PE
//! strings: registry values (hives built with hivexregedit), `--rules` text, E01 header values
//! (made with ewfacquire) and NTFS names with unpaired UTF-16 surrogates (a volume built with
//! mkntfs and tests/images/ntfsput.c). Every format is checked for raw control, bidi and
//! separator characters; the escaped texts are decoded back and compared with the originals.
//! Without the tools the tests are skipped, except under CI (`CI=true`), where they fail.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use kbscan_core::escape::{escape_str, needs_escape, unescape};
use serde_json::Value;

/// ESC sequences, OSC 8 (a terminal hyperlink), a forged CSV row, BS, BEL, bidi controls, line
/// and paragraph separators, C1 controls and an escape-like backslash.
const HOSTILE: &str = "\u{1b}[2J\r\nserver1,patched\r\u{1b}]8;;http://x.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\\u{8}\u{7}\u{202e}exe.txt\u{2066}\u{2069}\u{2028}\u{2029}\u{85}\u{9f}\\x41=";

const FORMATS: [&str; 4] = ["table", "csv", "json", "jsonl"];

fn assert_no_raw(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && needs_escape(c))
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?}\n{text}");
    assert!(!text.contains("server1,patched\n"), "{what}");
}

/// Decodes an escaped text (after the CSV formula prefix, when there is one) to a string.
fn decoded(s: &str) -> String {
    String::from_utf8(unescape(s).expect("an escaped text")).expect("UTF-8")
}

fn kbscan_out(args: &[&str], roots: &[&Path]) -> (i32, String) {
    let o = kbscan().args(args).args(roots).output().unwrap();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        (0..=2).contains(&code),
        "{args:?}: {code} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_no_raw(&String::from_utf8_lossy(&o.stderr), "stderr");
    (code, String::from_utf8(o.stdout).expect("UTF-8 output"))
}

/// Every format of `args`: no raw character anywhere, the CSV one physical line per record.
/// Returns the outputs by format.
fn every_format(args: &[&str], roots: &[&Path]) -> Vec<(&'static str, String)> {
    FORMATS
        .iter()
        .map(|f| {
            let mut a = args.to_vec();
            a.extend(["-f", f]);
            let (_, text) = kbscan_out(&a, roots);
            assert_no_raw(&text, f);
            if *f == "csv" {
                let records = csv::Reader::from_reader(text.as_bytes()).records().count();
                assert_eq!(text.lines().count(), 1 + records, "{text}");
            }
            (*f, text)
        })
        .collect()
}

fn output<'a>(outs: &'a [(&str, String)], format: &str) -> &'a str {
    &outs.iter().find(|(f, _)| *f == format).unwrap().1
}

/// The cells of column `col` in a CSV text, with the formula prefix dropped.
fn csv_column(text: &str, col: &str) -> Vec<String> {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let i = rd
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == col)
        .unwrap_or_else(|| panic!("no column {col}"));
    rd.records()
        .map(|r| {
            let c = r.unwrap()[i].to_owned();
            c.strip_prefix('\'').map(str::to_owned).unwrap_or(c)
        })
        .collect()
}

/// `hex(N):` .reg data for a string: UTF-16LE with its terminating NUL.
fn reg_hex(kind: u8, s: &str) -> String {
    let bytes: Vec<String> = s
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("hex({kind}):{}", bytes.join(","))
}

#[test]
fn hostile_registry_values_are_escaped_and_decode_back_in_every_format() {
    if !have("hivexregedit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("server1");
    copy_tree(&system("w2k-sp4-patched"), &root);
    let config = root.join("WINNT/system32/config");
    let product = format!("Microsoft Windows 2000 {HOSTILE}");
    let csd = format!("Service Pack 4{HOSTILE}");
    // The hostile text as the service's arguments: the program is still nscm.exe, which is
    // how kbscan finds the service (issue 13), and the whole value must come out escaped.
    let image = format!("C:\\WINNT\\System32\\Windows Media\\Server\\nscm.exe {HOSTILE}");
    let by = format!("Administrator{HOSTILE}");
    // A NUL inside REG_SZ data: Windows' string APIs, and kbscan, read up to it.
    let typ = format!("Update\u{0}{HOSTILE}");
    merge_reg(
        &config.join("SOFTWARE"),
        &format!(
            "[\\Microsoft\\Windows NT\\CurrentVersion]\n\"ProductName\"={}\n\"CSDVersion\"={}\n\n\
             [\\Microsoft\\Updates\\Windows Media Services\\KB832359]\n\"InstalledBy\"={}\n\"Type\"={}\n",
            reg_hex(1, &product),
            reg_hex(1, &csd),
            reg_hex(1, &by),
            reg_hex(1, &typ),
        ),
    );
    merge_reg(
        &config.join("SYSTEM"),
        &format!(
            "[\\ControlSet001\\Services\\nsstation]\n\"ImagePath\"={}\n",
            reg_hex(2, &image)
        ),
    );
    let outs = every_format(&["scan", "-q"], &[&root]);
    let check = |sys: &Value, what: &str| {
        let os = &sys["os"];
        assert_eq!(
            decoded(os["product_name"].as_str().unwrap()),
            product,
            "{what}"
        );
        assert_eq!(decoded(os["csd_version"].as_str().unwrap()), csd, "{what}");
        let rule = sys["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| !r["update_records"].as_array().unwrap().is_empty())
            .unwrap_or_else(|| panic!("{what}: {sys:#}"));
        let svc = rule["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "nsstation")
            .unwrap_or_else(|| panic!("{what}: {rule:#}"));
        assert_eq!(
            decoded(svc["image_path"].as_str().unwrap()),
            image,
            "{what}"
        );
        let values = &rule["update_records"][0]["values"];
        assert_eq!(
            decoded(values["InstalledBy"].as_str().unwrap()),
            by,
            "{what}"
        );
        assert_eq!(values["Type"], "Update", "{what}: read up to the NUL");
    };
    let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
    check(&doc["roots"][0]["system"], "json");
    let root_line = output(&outs, "jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["record"] == "root")
        .unwrap();
    check(&root_line["system"], "jsonl");
    let csv = output(&outs, "csv");
    for (col, want) in [("os_product", &product), ("os_service_pack", &csd)] {
        for cell in csv_column(csv, col) {
            assert_eq!(&decoded(&cell), want, "csv {col}");
        }
    }
    // Fitted to 100 columns the escaped text (longer than a line) breaks after a `/` or `\`;
    // with `--width 0` it is whole on its line.
    let table = output(&outs, "table");
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    let (_, whole) = kbscan_out(&["scan", "-q", "--width", "0"], &[&root]);
    assert_no_raw(&whole, "table --width 0");
    assert!(whole.contains(&escape_str(HOSTILE)), "{whole}");
}

#[test]
fn hostile_rules_text_is_escaped_by_rules_and_scan_in_every_format() {
    // TOML basic strings with every character written as \uXXXX.
    let toml_str = |s: &str| -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                out.push(c);
            } else {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
        }
        out.push('"');
        out
    };
    let text = format!("Title {HOSTILE}\u{0}end");
    let rule = format!(
        "schema = 1\nid = \"TEST-HOSTILE\"\nkb = \"KB999998\"\ntitle = {t}\nsummary = {t}\n\
         affected = [{t}, \"plain\"]\nnot_affected = [{t}]\n\n[[files]]\nname = \"Nscm.exe\"\n\
         description = {t}\nfixed_version = \"4.1.0.3936\"\n",
        t = toml_str(&text)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.toml");
    fs::write(&file, rule).unwrap();
    let file = file.to_str().unwrap();
    let rules = every_format(&["rules", "--rules", file], &[]);
    let scan = every_format(
        &["scan", "-q", "--rules", file, "--rule", "TEST-HOSTILE"],
        &[&system("w2k-sp4-patched")],
    );
    // The rule's texts decode back from `kbscan rules` JSON and JSON Lines.
    let doc: Value = serde_json::from_str(output(&rules, "json")).unwrap();
    let all = doc
        .as_array()
        .or_else(|| doc["rules"].as_array())
        .unwrap_or_else(|| panic!("{doc:#}"));
    let r = all.iter().find(|r| r["id"] == "TEST-HOSTILE").unwrap();
    let mut seen = 0;
    let mut walk = vec![r];
    while let Some(v) = walk.pop() {
        match v {
            Value::String(s) if s.starts_with("Title") => {
                assert_eq!(decoded(s), text);
                seen += 1;
            }
            Value::Array(a) => walk.extend(a),
            Value::Object(o) => walk.extend(o.values()),
            _ => {}
        }
    }
    assert!(seen >= 4, "title, summary, affected, description: {r:#}");
    let line = output(&rules, "jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == "TEST-HOSTILE")
        .unwrap();
    assert_eq!(decoded(line["title"].as_str().unwrap()), text);
    // CSV: every cell that holds the text decodes back to it.
    let csv = output(&rules, "csv");
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let mut cells = 0;
    for rec in rd.records() {
        for cell in rec.unwrap().iter() {
            let cell = cell.strip_prefix('\'').unwrap_or(cell);
            if cell.starts_with("Title") {
                assert_eq!(decoded(cell), text);
                cells += 1;
            }
        }
    }
    assert!(cells >= 1, "{csv}");
    // The scan's findings name the rule; its title, where shown, is escaped.
    let doc: Value = serde_json::from_str(output(&scan, "json")).unwrap();
    assert_eq!(doc["roots"][0]["findings"][0]["rule"], "TEST-HOSTILE");
    assert!(output(&scan, "table").contains("TEST-HOSTILE"));
}

/// An E01 of tests/images/mbr.img.gz made by ewfacquire with `value` as case number,
/// description, examiner and notes.
fn e01(dir: &Path, value: &str) -> PathBuf {
    let raw = dir.join("mbr.img");
    let mut data = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(fs::File::open(repo().join("tests/images/mbr.img.gz")).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    fs::write(&raw, data).unwrap();
    let out = dir.join("e01");
    fs::create_dir_all(&out).unwrap();
    // A UTF-8 locale: ewfacquire reads its arguments in the locale's encoding.
    let o = Command::new("ewfacquire")
        .env("LC_ALL", "C.UTF-8")
        .args(["-u", "-q", "-f", "encase6", "-c", "fast", "-b", "64"])
        .arg("-t")
        .arg(out.join("disk"))
        .args([
            "-C", value, "-D", value, "-e", value, "-E", "EV-1", "-N", value,
        ])
        .arg(&raw)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("disk.E01")
}

#[test]
fn hostile_e01_header_values_are_escaped_in_every_format() {
    if !have("ewfacquire") {
        return;
    }
    // ewfacquire writes its arguments into the header as they are, except that the header is
    // lines of tab-separated values: a CR, LF or TAB in a value splits it (tested below) and
    // an argument cannot hold a NUL.
    let value: String = HOSTILE.replace(['\r', '\n'], "");
    // kbscan reports the UTF-16 `header2` copy, which holds every character as given; the
    // ASCII `header` copy has each character outside ASCII as 0x1A (SUB).
    let reported = value.clone();
    let dir = tempfile::tempdir().unwrap();
    let image = e01(dir.path(), &value);
    let outs = every_format(&["scan", "-q"], &[&image]);
    let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
    let line = output(&outs, "jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["record"] == "image")
        .unwrap();
    for (what, img) in [("json", &doc["images"][0]), ("jsonl", &line)] {
        let m = &img["container_metadata"];
        for field in ["case_number", "examiner", "description", "notes"] {
            let got = m[field]
                .as_str()
                .unwrap_or_else(|| panic!("{what} {field}: {m:#}"));
            assert_eq!(decoded(got), reported, "{what} {field}");
        }
        assert_eq!(m["evidence_number"], "EV-1");
    }
    // With CR and LF the header's rows shift; whatever is read is still escaped.
    let dir = tempfile::tempdir().unwrap();
    let image = e01(dir.path(), HOSTILE);
    every_format(&["scan", "-q"], &[&image]);
}

/// An NTFS volume whose folders `X\uD800` and `X\uDC00` (unpaired surrogates, which NTFS
/// allows) each hold the vulnerable Nscm.exe.
fn surrogate_volume(dir: &Path) -> PathBuf {
    let (vol, ntfsput) = ntfs_volume(dir, 8);
    let pe = sample_file("w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe");
    for units in ["58,d800", "58,dc00"] {
        ntfsput(&["putu", pe.to_str().unwrap(), "/WINNT", units, "Nscm.exe"]);
    }
    vol
}

#[test]
fn ntfs_names_with_unpaired_surrogates_stay_distinct_in_every_format() {
    if !have("mkntfs") || !have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vol = surrogate_volume(dir.path());
    let outs = every_format(&["scan", "-q"], &[&vol]);
    let want = ["WINNT/X\\u{d800}/Nscm.exe", "WINNT/X\\u{dc00}/Nscm.exe"];
    for (format, text) in &outs {
        for w in want {
            let w = if format.starts_with("json") {
                w.replace('\\', "\\\\")
            } else {
                w.to_owned()
            };
            assert!(text.contains(&w), "{format}: {w}\n{text}");
        }
        assert!(!text.contains('\u{fffd}'), "{format}");
    }
    let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
    let mut paths: Vec<String> = doc["roots"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| findings(r).iter())
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, want);
    // Decoded, they are the names' generalized UTF-8 bytes: distinct.
    let raw: Vec<Vec<u8>> = paths.iter().map(|p| unescape(p).unwrap()).collect();
    assert_eq!(raw[0], b"WINNT/X\xed\xa0\x80/Nscm.exe");
    assert_eq!(raw[1], b"WINNT/X\xed\xb0\x80/Nscm.exe");
    let mut csv_paths = csv_column(output(&outs, "csv"), "path");
    csv_paths.sort();
    csv_paths.dedup();
    assert_eq!(csv_paths, want);
}

#[test]
fn a_backup_folder_with_bad_bytes_is_reported_losslessly() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("server1");
    let pe = sample_file("w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe");
    let mut want = Vec::new();
    for folder in [
        &b"$NTUninstall\xffKB1$"[..],
        b"$NTUninstall\xfeKB1$",
        b"$NTUninstall\x1b[2J$",
    ] {
        let d = root.join("WINNT").join(std::ffi::OsStr::from_bytes(folder));
        fs::create_dir_all(&d).unwrap();
        fs::copy(&pe, d.join("Nscm.exe")).unwrap();
        want.push(folder.to_vec());
    }
    let outs = every_format(&["scan", "-q"], &[&root]);
    let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
    let jsonl: Vec<Value> = output(&outs, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["record"] == "finding")
        .collect();
    for list in [findings(&doc["roots"][0]), &jsonl] {
        let mut got: Vec<Vec<u8>> = list
            .iter()
            .map(|f| {
                assert_eq!(f["location_rule"], "ntuninstall", "{f:#}");
                unescape(f["location_folder"].as_str().unwrap()).unwrap()
            })
            .collect();
        got.sort();
        got.dedup();
        let mut w = want.clone();
        w.sort();
        assert_eq!(got, w);
    }
    let table = output(&outs, "table");
    assert!(table.contains("($NTUninstall\\xffKB1$)"), "{table}");
    assert!(table.contains("($NTUninstall\\xfeKB1$)"), "{table}");
}

/// A differencing VHD (qemu-img cannot write one): a dynamic VHD re-typed as a child naming
/// `parent` (UTF-16 code units), checksums made right.
fn child_vhd(dir: &Path, parent: &[u16]) -> PathBuf {
    let p = dir.join(format!("child-{:04x}.vhd", parent[1]));
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "vpc", "-o", "subformat=dynamic"])
        .arg(&p)
        .arg("4M")
        .status()
        .unwrap();
    assert!(st.success());
    let mut b = fs::read(&p).unwrap();
    let n = b.len();
    let fix = |s: &mut [u8], at: usize| {
        s[at..at + 4].fill(0);
        let sum = !s.iter().fold(0u32, |a, &x| a.wrapping_add(u32::from(x)));
        s[at..at + 4].copy_from_slice(&sum.to_be_bytes());
    };
    for start in [0, n - 512] {
        b[start + 60..start + 64].copy_from_slice(&4u32.to_be_bytes());
        fix(&mut b[start..start + 512], 64);
    }
    let hdr = u64::from_be_bytes(b[16..24].try_into().unwrap()) as usize;
    let name: Vec<u8> = parent.iter().flat_map(|u| u.to_be_bytes()).collect();
    b[hdr + 64..hdr + 64 + name.len()].copy_from_slice(&name);
    fix(&mut b[hdr..hdr + 1024], 36);
    fs::write(&p, b).unwrap();
    p
}

#[test]
fn vhd_parent_names_keep_unpaired_surrogates_and_are_escaped() {
    if !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut msgs = Vec::new();
    for s in [0xd800u16, 0xdc00] {
        let mut parent = vec![u16::from(b'X'), s];
        parent.extend("\u{1b}[2J\u{202e}.vhd".encode_utf16());
        let p = child_vhd(dir.path(), &parent);
        let outs = every_format(&["scan", "-q"], &[&p]);
        let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
        let msg = decoded(doc["images"][0]["error"].as_str().unwrap());
        // The message quotes the parent name escaped: decoded once, the name's escape.
        let want = format!("\"X\\u{{{s:04x}}}\\x1b[2J\\u{{202e}}.vhd\"");
        assert!(msg.contains(&want), "{msg}");
        msgs.push(msg);
    }
    assert_ne!(msgs[0], msgs[1]);
}

#[test]
fn a_parent_root_is_written_as_the_name_it_is() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"two\xff\\x41windows"));
    copy_tree(&system("two-windows"), &root);
    let outs = every_format(&["scan", "-q"], &[&root]);
    let doc: Value = serde_json::from_str(output(&outs, "json")).unwrap();
    let lines: Vec<Value> = output(&outs, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["record"] == "root")
        .collect();
    for (what, roots) in [
        ("json", doc["roots"].as_array().unwrap()),
        ("jsonl", &lines),
    ] {
        let top = roots
            .iter()
            .find(|r| r.get("parent_root").is_none())
            .unwrap()["root"]
            .clone();
        assert!(
            top.as_str().unwrap().ends_with("two\\xff\\x5cx41windows"),
            "{top}"
        );
        let children: Vec<&Value> = roots.iter().filter_map(|r| r.get("parent_root")).collect();
        assert!(!children.is_empty(), "{what}");
        for p in children {
            assert_eq!(p, &top, "{what}");
        }
    }
}
