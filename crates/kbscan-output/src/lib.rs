//! Printers. Each renders a model (`Report`, `VersionReport`, `RuleSet`) and knows nothing of
//! how it was produced, nor of the command line: this crate depends on `kbscan-model` alone,
//! so a printer cannot reach evidence code.

mod csv_out;
mod html;
mod json;
mod table;
mod timeline; // issue 14

use std::io::{self, Write};

use kbscan_model as model;
use kbscan_model::escape;

use crate::model::described::VersionReport;
use crate::model::lineage::Lineage;
use crate::model::rule::RuleSet;
use crate::model::Report;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot write the report: {0}")]
    Write(#[from] io::Error),
    #[error("cannot encode the report: {0}")]
    Encode(String),
    /// A format the command cannot produce (`--format html` for `kbscan version`).
    #[error("{0}")]
    Usage(String),
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people (fits 100 columns).
    Table,
    /// One row per finding, header row first.
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line, each carrying its root.
    Jsonl,
    /// issue 14: one JSON object per time read, for Timesketch (rules: JSON Lines).
    Timeline,
    /// One self-contained, printable HTML page (scans only).
    Html,
}

/// How the table is laid out for its reader, decided by `app/` (never a flag here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Colour the verdicts (ANSI SGR), for a terminal.
    pub color: bool,
    /// The terminal's width to wrap to; `None` (a file, a pipe): lines are not wrapped.
    pub width: Option<usize>,
    /// Stop each root after its findings table (no evidence blocks).
    pub brief: bool,
}

pub fn write_scan(
    report: &Report,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> Result<(), Error> {
    match format {
        Format::Table => guarded(w, style.color, |b| table::scan(report, style, b)),
        Format::Csv => csv_out::scan(report, w),
        Format::Json => json::document(report, w),
        Format::Jsonl => json::scan_lines(report, w),
        Format::Timeline => timeline::scan(report, w),
        Format::Html => html::scan(report, w),
    }
}

/// The examination record alone, as one JSON document (the CSV report's sidecar file).
pub fn write_examination(ex: &crate::model::Examination, w: &mut dyn Write) -> Result<(), Error> {
    json::document(&serde_json::json!({ "examination": ex }), w)
}

fn scan_only() -> Error {
    Error::Usage(
        "--format html is for kbscan scan; use table, csv, json, jsonl or timeline".to_owned(),
    )
}

pub fn write_versions(
    report: &VersionReport,
    format: Format,
    w: &mut dyn Write,
) -> Result<(), Error> {
    match format {
        Format::Table => guarded(w, false, |b| table::versions(report, b)),
        Format::Csv => csv_out::versions(report, w),
        Format::Json => json::document(report, w),
        Format::Jsonl => json::version_lines(report, w),
        Format::Timeline => timeline::versions(report, w),
        Format::Html => Err(scan_only()),
    }
}

pub fn write_rules(rules: &RuleSet, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    match format {
        Format::Table => guarded(w, false, |b| table::rules(rules, b)),
        Format::Csv => csv_out::rules(rules, w),
        Format::Json => json::document(&serde_json::json!({ "rules": rules }), w),
        Format::Jsonl | Format::Timeline => json::lines(rules.rules.iter(), w),
        Format::Html => Err(scan_only()),
    }
}

/// The build lineage table (`kbscan rules --lineage`), in every format.
pub fn write_lineage(l: &Lineage, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    match format {
        Format::Table => guarded(w, false, |b| table::lineage(l, b)),
        Format::Csv => csv_out::lineage(l, w),
        Format::Json => json::document(&serde_json::json!({ "lineage": l }), w),
        Format::Jsonl | Format::Timeline => json::lines(l.builds.iter(), w),
        Format::Html => Err(scan_only()),
    }
}

/// Writes a table through a last check: every evidence text is escaped where it is printed
/// (`escape::escape_str`), so no control, bidi or separator character but the newline can reach
/// the terminal; one that does anyway (a field printed without it) is escaped here, and fails
/// the tests in debug builds. With `color`, the colour sequences the table itself writes
/// ([`table::COLORS`], [`table::RESET`]) are the one exception.
fn guarded(
    w: &mut dyn Write,
    color: bool,
    f: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut buf = Vec::new();
    f(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let mut checked = text.to_string();
    if color {
        for seq in table::COLORS.iter().chain([&table::RESET]) {
            checked = checked.replace(seq, "");
        }
    }
    if !checked
        .chars()
        .any(|c| c != '\n' && crate::escape::needs_escape(c))
    {
        w.write_all(&buf)?;
        return Ok(());
    }
    debug_assert!(false, "unescaped text in a table: {text:?}");
    let safe: String = text
        .split('\n')
        .map(crate::escape::escape_str)
        .collect::<Vec<_>>()
        .join("\n");
    w.write_all(safe.as_bytes())?;
    Ok(())
}

/// `a=b; c=d` rendering of string tables, for one-line formats.
pub(crate) fn string_tables_text(tables: &[crate::model::StringTable]) -> String {
    tables
        .iter()
        .map(|t| {
            let pairs: Vec<String> = t.strings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("[{}] {}", t.key, pairs.join("; "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}
