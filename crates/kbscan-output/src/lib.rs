//! Printers. Each renders a model (`Report`, `VersionReport`, `RuleSet`) and knows nothing of
//! how it was produced, nor of the command line: this crate depends on `kbscan-model` alone,
//! so a printer cannot reach evidence code.

mod case;
mod csv_out;
mod html;
mod json;
mod table;
mod timeline;
mod updates;
mod words;

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

/// Renders a scan in one format; `Style` matters to the table alone.
pub type ScanFn = fn(&Report, Style, &mut dyn Write) -> Result<(), Error>;
/// Renders `kbscan version`'s report.
pub type VersionsFn = fn(&VersionReport, &mut dyn Write) -> Result<(), Error>;
/// Renders the loaded rules (`kbscan rules`).
pub type RulesFn = fn(&RuleSet, &mut dyn Write) -> Result<(), Error>;
/// Renders `kbscan updates`' audit; `Style` matters to the table alone.
pub type UpdatesFn =
    fn(&crate::model::updates::UpdatesReport, Style, &mut dyn Write) -> Result<(), Error>;
/// Renders the build lineage table (`kbscan rules --lineage`).
pub type LineageFn = fn(&Lineage, &mut dyn Write) -> Result<(), Error>;

/// One printer, as the command line offers it and as it renders each report. A printer is a
/// file of this crate holding one `Printer` and one line in [`FORMATS`]; the command line
/// takes its `--format` values, their help and its refusals from here.
#[derive(Debug)]
pub struct Printer {
    /// The `--format` value.
    pub name: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    pub scan: ScanFn,
    /// `None`: the format is for scans only (`kbscan version` and `kbscan rules` refuse it).
    pub versions: Option<VersionsFn>,
    pub rules: Option<RulesFn>,
    pub lineage: Option<LineageFn>,
    /// `None`: the format cannot show the update audit (`kbscan updates` refuses it).
    pub updates: Option<UpdatesFn>,
    /// The format has no place for the examination record: written to `-o FILE`, the record
    /// goes beside it, in `FILE.examination.json`.
    pub sidecar: bool,
}

/// Every printer, in the order `--help` lists them; the first is the default.
pub static FORMATS: &[&Printer] = &[
    &table::PRINTER,
    &csv_out::PRINTER,
    &json::DOCUMENT,
    &json::LINES,
    &timeline::PRINTER,
    &html::PRINTER,
];

/// A chosen format: one of [`FORMATS`].
pub type Format = &'static Printer;

/// The printer called `name` (as `--format` spells it).
pub fn format(name: &str) -> Option<Format> {
    FORMATS.iter().copied().find(|p| p.name == name)
}

/// The default format (the table).
pub fn default_format() -> Format {
    FORMATS[0]
}

impl Printer {
    /// Whether this format renders only scans.
    pub fn scan_only(&self) -> bool {
        self.versions.is_none()
    }
}

/// Refuses a scan-only format for another command, naming the formats that command has.
pub fn scan_only(format: Format) -> Error {
    let others: Vec<&str> = FORMATS
        .iter()
        .filter(|p| !p.scan_only())
        .map(|p| p.name)
        .collect();
    Error::Usage(format!(
        "--format {} is for kbscan scan; use {}",
        format.name,
        others.join(", ")
    ))
}

/// How the table is laid out for its reader, decided by `app/` (never a flag here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Colour the verdicts (ANSI SGR), for a terminal.
    pub color: bool,
    /// The width to wrap to (the terminal's, or 100 into a file or a pipe); `None`
    /// (`--width 0`): lines are not wrapped.
    pub width: Option<usize>,
    /// Stop each root after its findings table (no evidence blocks).
    pub brief: bool,
    /// CSV for spreadsheets (`--excel`): a UTF-8 byte order mark, times Excel parses.
    pub excel: bool,
}

/// The width of a table off a terminal (a file, a pipe), in columns.
pub const WIDTH: usize = table::WIDTH;

pub use case::{write_case_item, CaseFn, CASE_COLUMNS, CASE_FORMATS};

pub fn write_scan(
    report: &Report,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> Result<(), Error> {
    (format.scan)(report, style, w)
}

/// The examination record alone, as one JSON document (the sidecar of a report whose format
/// has no place for it).
pub fn write_examination(ex: &crate::model::Examination, w: &mut dyn Write) -> Result<(), Error> {
    json::document(&serde_json::json!({ "examination": ex }), w)
}

/// The examination record as one line of JSON (`{"examination":{…}}`), for standard error when
/// a CSV report goes to standard output.
pub fn examination_line(ex: &crate::model::Examination) -> Result<String, Error> {
    serde_json::to_string(&serde_json::json!({ "examination": ex }))
        .map_err(|e| Error::Encode(e.to_string()))
}

pub fn write_versions(
    report: &VersionReport,
    format: Format,
    w: &mut dyn Write,
) -> Result<(), Error> {
    let f = format.versions.ok_or_else(|| scan_only(format))?;
    f(report, w)
}

pub fn write_rules(rules: &RuleSet, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    let f = format.rules.ok_or_else(|| scan_only(format))?;
    f(rules, w)
}

/// `kbscan updates`' audit.
pub fn write_updates(
    report: &crate::model::updates::UpdatesReport,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> Result<(), Error> {
    let f = format.updates.ok_or_else(updates::no_timeline)?;
    f(report, style, w)
}

/// Why a format without an update printer (the timeline) is refused by `kbscan updates`.
pub fn updates_refused() -> Error {
    updates::no_timeline()
}

/// The update audit's CSV columns.
pub use updates::COLUMNS as UPDATES_COLUMNS;

/// The build lineage table (`kbscan rules --lineage`).
pub fn write_lineage(l: &Lineage, format: Format, w: &mut dyn Write) -> Result<(), Error> {
    let f = format.lineage.ok_or_else(|| scan_only(format))?;
    f(l, w)
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
