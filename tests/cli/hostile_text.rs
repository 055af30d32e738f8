//! Issue 10, cases 10–12: reports that cannot be forged. Hostile evidence is built from the
//! bytes of a real sample PE at test time; every format is checked for raw control, bidi and
//! separator characters, and the escaped text is decoded back and compared.

use crate::common;

use std::path::Path;

use kbscan_core::escape::{needs_escape, unescape};

/// Same length as the sample's CompanyName (44 UTF-16 units), so the string table stays valid.
const COMPANY: &str = "kbscan test fixture (not Microsoft software)";

fn hostile_company() -> String {
    padded("\u{1b}[2J\r\nserver1,patched\u{1b}]8;;\u{7}\u{8}\u{202e}\u{2066}\u{2069}\u{2028}\u{2029}\u{85}\u{9f}\\x41=")
}

/// `start` padded with `A` to the sample CompanyName's UTF-16 length.
fn padded(start: &str) -> String {
    let mut h = String::from(start);
    while h.encode_utf16().count() < COMPANY.len() {
        h.push('A');
    }
    assert_eq!(h.encode_utf16().count(), COMPANY.len());
    h
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A copy of `w2k-sp4-vulnerable` whose live Nscm.exe has the hostile CompanyName, plus the
/// folders `=a` and `'=a` each holding a copy.
fn hostile_system(dir: &Path) -> std::path::PathBuf {
    hostile_system_with(dir, &hostile_company())
}

fn hostile_system_with(dir: &Path, company: &str) -> std::path::PathBuf {
    let root = dir.join("server1");
    let server = root.join("WINNT/system32/Windows Media/Server");
    std::fs::create_dir_all(&server).unwrap();
    let src = common::system("w2k-sp4-vulnerable").join("WINNT/system32/Windows Media/Server");
    let mut pe = std::fs::read(src.join("Nscm.exe")).unwrap();
    let (from, to) = (utf16(COMPANY), utf16(company));
    let at = pe
        .windows(from.len())
        .position(|w| w == from)
        .expect("CompanyName");
    pe[at..at + to.len()].copy_from_slice(&to);
    std::fs::write(server.join("Nscm.exe"), &pe).unwrap();
    for d in ["=a", "'=a"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("Nscm.exe"), &pe).unwrap();
    }
    root
}

fn scan(root: &Path, format: &str) -> String {
    let out = common::kbscan()
        .args(["scan", "-q", "-f", format])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_no_raw(text: &str, format: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && needs_escape(c))
        .collect();
    assert!(bad.is_empty(), "{format}: raw {bad:?}");
}

#[test]
fn hostile_version_strings_are_escaped_and_decode_back_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let root = hostile_system(dir.path());
    let want = hostile_company();
    for format in ["table", "csv", "json", "jsonl"] {
        let text = scan(&root, format);
        assert_no_raw(&text, format);
        assert!(!text.contains("server1,patched\n"), "{format}");
    }
    // JSON: the CompanyName decodes to the original text.
    let v: serde_json::Value = serde_json::from_str(&scan(&root, "json")).unwrap();
    let findings = v["roots"][0]["findings"].as_array().unwrap();
    let company = findings[0]["string_tables"][0]["strings"]["CompanyName"]
        .as_str()
        .unwrap();
    assert_eq!(unescape(company).unwrap(), want.as_bytes());
    // JSON Lines: the same.
    let line = scan(&root, "jsonl");
    // issue 15: the first line is the examination record; the first finding follows it.
    let first: serde_json::Value = line
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["record"] == "finding")
        .unwrap();
    let company = first["string_tables"][0]["strings"]["CompanyName"]
        .as_str()
        .unwrap();
    assert_eq!(unescape(company).unwrap(), want.as_bytes());
    // CSV: one line per row (no CR or newline left in a cell), the string_tables cell decodes.
    let csv = scan(&root, "csv");
    assert_eq!(csv.lines().count(), 1 + findings.len(), "{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "string_tables").unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let rec = rd.records().next().unwrap().unwrap();
    let cell = unescape(&rec[col]).unwrap();
    let cell = String::from_utf8(cell).unwrap();
    assert!(cell.contains(&format!("CompanyName={want}")), "{cell:?}");
}

#[test]
fn csv_formula_cells_stay_distinct_and_reversible() {
    let dir = tempfile::tempdir().unwrap();
    let root = hostile_system(dir.path());
    let csv = scan(&root, "csv");
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let paths: Vec<String> = rd.records().map(|r| r.unwrap()[2].to_owned()).collect();
    assert!(paths.contains(&"'=a/Nscm.exe".to_owned()), "{paths:?}");
    assert!(paths.contains(&"''=a/Nscm.exe".to_owned()), "{paths:?}");
    // Dropping the one leading `'` gives the path back.
    for p in &paths {
        let back = p.strip_prefix('\'').unwrap_or(p);
        assert!(!back.starts_with(['=', '+', '-', '@']) || p.starts_with('\''));
    }
}

#[test]
fn a_nul_inside_a_version_string_ends_it_and_what_comes_before_is_escaped() {
    // The NUL is inside the string's declared length (the table's layout is unchanged). kbscan
    // reads a version string up to its first NUL, as `VerQueryValue` callers do: the rest never
    // reaches the report. What comes before it is escaped and decodes back.
    let before = "Micro\u{1b}]8;;http://x/\u{1b}\\\u{202e}";
    let company = padded(&format!("{before}\u{0}soft\u{0}\u{1b}[2J"));
    let dir = tempfile::tempdir().unwrap();
    let root = hostile_system_with(dir.path(), &company);
    for format in ["table", "csv", "json", "jsonl"] {
        let text = scan(&root, format);
        assert_no_raw(&text, format);
        assert!(!text.contains("x00soft"), "{format}");
    }
    let v: serde_json::Value = serde_json::from_str(&scan(&root, "json")).unwrap();
    let got = v["roots"][0]["findings"][0]["string_tables"][0]["strings"]["CompanyName"]
        .as_str()
        .unwrap();
    assert_eq!(unescape(got).unwrap(), before.as_bytes(), "{got}");
    let csv = scan(&root, "csv");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "string_tables").unwrap();
    let rec = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    let cell = String::from_utf8(unescape(&rec[col]).unwrap()).unwrap();
    assert!(cell.contains(&format!("CompanyName={before}")), "{cell:?}");
}
