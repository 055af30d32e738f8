//! Printers. Each renders a model (`Report`, `VersionReport`, `RuleSet`) and knows nothing of
//! how it was produced, nor of the command line: a new format is a new file here plus one
//! arm in each `write_*`.

mod csv_out;
mod json;
mod table;

use std::io::Write;

use crate::error::Error;
use crate::model::described::VersionReport;
use crate::model::Report;
use crate::rules::RuleSet;

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
}

pub fn write_scan(report: &Report, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    match format {
        Format::Table => table::scan(report, w),
        Format::Csv => csv_out::scan(report, w),
        Format::Json => json::document(report, w),
        Format::Jsonl => json::scan_lines(report, w),
    }
}

pub fn write_versions(
    report: &VersionReport,
    format: Format,
    w: &mut dyn Write,
) -> Result<(), Error> {
    match format {
        Format::Table => table::versions(report, w),
        Format::Csv => csv_out::versions(report, w),
        Format::Json => json::document(report, w),
        Format::Jsonl => json::version_lines(report, w),
    }
}

pub fn write_rules(rules: &RuleSet, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    match format {
        Format::Table => table::rules(rules, w),
        Format::Csv => csv_out::rules(rules, w),
        Format::Json => json::document(&serde_json::json!({ "rules": rules }), w),
        Format::Jsonl => json::lines(rules.rules.iter(), w),
    }
}

/// The build lineage table (`kbscan rules --lineage`), in every format.
pub fn write_lineage(
    l: &crate::lineage::Lineage,
    format: Format,
    w: &mut dyn Write,
) -> Result<(), Error> {
    match format {
        Format::Table => table::lineage(l, w),
        Format::Csv => csv_out::lineage(l, w),
        Format::Json => json::document(&serde_json::json!({ "lineage": l }), w),
        Format::Jsonl => json::lines(l.builds.iter(), w),
    }
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
