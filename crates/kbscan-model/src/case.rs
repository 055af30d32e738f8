//! A case: many evidence items (folders, disk images) scanned by `kbscan case`, each with its
//! own JSON report, summed up as a matrix of systems × rules. Plain data like the rest of the
//! model; the item record is also read back (`Deserialize`) to decide whether an item's
//! earlier report still stands for its evidence.
//!
//! Every text field holds text already escaped (`escape::escape_bytes` / `escape_str`, or a
//! root name from the report) and is serialized as a name, so a record read back and written
//! again is never escaped twice.

use serde::{Deserialize, Serialize};

use crate::examination::Examination;
use crate::ToolInfo;

/// One file of an evidence item, as `stat` gave it before the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFile {
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    pub size: u64,
    /// Last modification, Unix nanoseconds (null when the file system gives none).
    pub modified_ns: Option<i64>,
}

/// The metadata of every entry under a folder item: entry count, bytes, and a SHA-256 over
/// each entry's relative name, type, size and modification time (contents are not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeDigest {
    pub entries: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What an evidence item was when it was scanned: enough to tell, on a later run, that it is
/// still the same without scanning it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceIdentity {
    /// `folder` or `image`.
    pub kind: String,
    /// The folder itself, or every file of the image's set (segments, extents, companions).
    pub files: Vec<EvidenceFile>,
    /// The hash the container stores of the whole disk (E01), as it records it.
    #[serde(default, serialize_with = "crate::escape::name_opt")]
    pub stored_md5: Option<String>,
    #[serde(default, serialize_with = "crate::escape::name_opt")]
    pub stored_sha1: Option<String>,
    /// A folder's metadata digest.
    #[serde(default)]
    pub tree: Option<TreeDigest>,
}

/// One rule's cell in a system's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCell {
    /// The rule's ID.
    #[serde(serialize_with = "crate::escape::name")]
    pub rule: String,
    /// The rule's verdict for this system (`vulnerable`, `patched`…; `failed` for an item
    /// that could not be scanned).
    #[serde(serialize_with = "crate::escape::name")]
    pub verdict: String,
    /// The rule's state at `--as-of DATE` (absent without it).
    #[serde(default, serialize_with = "crate::escape::name_opt")]
    pub as_of: Option<String>,
}

/// One system (one root of an item's report): a row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSystem {
    /// The root's name as the item's report gives it (`disk.E01#p1`, a folder path…).
    #[serde(serialize_with = "crate::escape::name")]
    pub system: String,
    /// The root's verdict over every rule.
    #[serde(serialize_with = "crate::escape::name")]
    pub verdict: String,
    /// The root's state at `--as-of DATE`.
    #[serde(default, serialize_with = "crate::escape::name_opt")]
    pub as_of: Option<String>,
    /// One cell per rule of the case, in the case's rule order.
    pub cells: Vec<CaseCell>,
}

/// One evidence item of a case and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseItem {
    /// The manifest's `id`, or the item's file name.
    #[serde(serialize_with = "crate::escape::name")]
    pub id: String,
    /// The evidence as the folder or manifest names it.
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// The item's JSON report, relative to the case's output folder.
    #[serde(serialize_with = "crate::escape::name")]
    pub report: String,
    /// `scanned`, `reused` (an earlier report whose evidence and settings match) or `failed`.
    #[serde(serialize_with = "crate::escape::name")]
    pub status: String,
    /// Why it was scanned again or reused.
    #[serde(serialize_with = "crate::escape::name")]
    pub note: String,
    /// Why it failed.
    #[serde(default, serialize_with = "crate::escape::name_opt")]
    pub error: Option<String>,
    /// The exit code `kbscan scan` would give for this item alone (2 when it failed).
    pub exit_code: i32,
    /// SHA-256 of the settings that decide the verdicts (kbscan's version, the rules' texts,
    /// `--as-of`, `--max-size`, link and mount handling, `--verify-image`).
    pub settings: String,
    /// The evidence's identity before the scan (null when it could not be read).
    pub evidence: Option<EvidenceIdentity>,
    /// Its systems; empty when it failed.
    pub systems: Vec<CaseSystem>,
}

/// An item's report as read back to resume: its `case_item` record (the scan's fields are
/// skipped).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemReportHead {
    pub case_item: CaseItem,
}

/// Counts over a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseCounts {
    pub items: usize,
    pub scanned: usize,
    pub reused: usize,
    pub failed: usize,
    pub systems: usize,
    /// Systems by verdict: vulnerable, patched…
    pub verdicts: std::collections::BTreeMap<String, usize>,
    /// The worst item's exit code (1 over 2 over 0, as `kbscan scan` ranks them).
    pub exit_code: i32,
}

/// The case summary: every item, its systems and their verdicts per rule.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub tool: ToolInfo,
    /// The run that produced this summary (each item's report holds the record of its scan).
    pub examination: Examination,
    /// `--as-of DATE` (RFC 3339 UTC), when given.
    pub as_of: Option<String>,
    /// The matrix's columns: the rule IDs, in order.
    #[serde(serialize_with = "crate::escape::names")]
    pub rules: Vec<String>,
    pub items: Vec<CaseItem>,
    pub summary: CaseCounts,
}

/// `kbscan scan`'s ranking of exit codes: vulnerable (1) wins over incomplete (2), which wins
/// over clean (0).
pub fn worst_exit(codes: impl IntoIterator<Item = i32>) -> i32 {
    let rank = |c: i32| match c {
        crate::exit::VULNERABLE => 2,
        crate::exit::CLEAN => 0,
        _ => 1,
    };
    codes
        .into_iter()
        .max_by_key(|c| rank(*c))
        .unwrap_or(crate::exit::CLEAN)
}

impl CaseCounts {
    pub fn of(items: &[CaseItem]) -> Self {
        let mut c = CaseCounts {
            items: items.len(),
            ..Default::default()
        };
        for i in items {
            match i.status.as_str() {
                "reused" => c.reused += 1,
                "failed" => c.failed += 1,
                _ => c.scanned += 1,
            }
            c.systems += i.systems.len();
            for s in &i.systems {
                *c.verdicts.entry(s.verdict.clone()).or_default() += 1;
            }
        }
        c.exit_code = worst_exit(items.iter().map(|i| i.exit_code));
        c
    }

    /// The counts in one sentence, as the table and the HTML report print them.
    pub fn sentence(&self) -> String {
        let verdicts: Vec<String> = self
            .verdicts
            .iter()
            .map(|(v, n)| format!("{n} {}", v.replace('_', " ")))
            .collect();
        format!(
            "{} item(s): {} scanned, {} reused, {} failed; {} system(s){}{}; exit code {}",
            self.items,
            self.scanned,
            self.reused,
            self.failed,
            self.systems,
            if verdicts.is_empty() { "" } else { ": " },
            verdicts.join(", "),
            self.exit_code
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vulnerable_wins_then_incomplete() {
        assert_eq!(worst_exit([0, 2, 1, 0]), 1);
        assert_eq!(worst_exit([0, 2, 0]), 2);
        assert_eq!(worst_exit([0, 0]), 0);
        assert_eq!(worst_exit([]), 0);
    }
}
