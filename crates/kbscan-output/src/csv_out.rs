//! CSV for spreadsheets: a header row, one row per finding, a stable column order.
//!
//! Every cell is evidence-safe in two steps (docs/output.md, *CSV*): its text is escaped with
//! `escape::escape_str` (the name columns hold names escaped when they entered the model, and
//! are taken as they are), so no control character, CR or newline is left; then a cell a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`) is prefixed with `'`,
//! and so is a cell that starts with `'` itself, so `=a` (`'=a`) and `'=a` (`''=a`) stay
//! distinct: dropping one leading `'` gives the cell back.
//!
//! `--excel` (`Style::excel`): a UTF-8 byte order mark first, so Excel reads the text as
//! UTF-8, and times as `YYYY-MM-DD hh:mm:ss` UTC, which Excel parses as dates; the plain CSV
//! (no mark, RFC 3339 with fractions) stays the default for pipelines.
//!
//! Over 400 lines: the scan, `version` and `rules` CSV layouts, each a fixed column list with
//! its row builder, share the neutralisation and escaping here.

use std::io::Write;

use super::{opt, string_tables_text};
use crate::escape::escape_str;
use crate::model::described::VersionReport;
use crate::model::rule::RuleSet;
use crate::model::time::Timestamp;
use crate::model::{Report, RootReport};
use crate::Error;

/// The scan columns, in order. Part of the interface: add at the end only.
pub const SCAN_COLUMNS: &[&str] = &[
    "root",
    "root_verdict",
    "path",
    "name",
    "rule",
    "kb",
    "target",
    "status",
    "location",
    "location_rule",
    "version",
    "version_source",
    "file_version",
    "file_version_string",
    "product_version",
    "product_version_string",
    "required_version",
    "size",
    "published_size",
    "sha256",
    "md5",
    "modified",
    "accessed",
    "created",
    "changed",
    "pe_format",
    "machine",
    "link_time",
    "link_target",
    "string_tables",
    "notes",
    "error",
    "error_kind",
    "abs_path",
    "service_image",
    "os_product",
    "os_version",
    "os_service_pack",
    "os_product_type",
    "update_recorded",
    "root_reasons",
    "rule_verdicts",
    "backup_set_written",
    "as_of_state",
    "comparison",
    "counts",
    "counts_why",
];

/// The columns after the root's (`root_cells`): the finding's comparison and whether it counts.
const FINDING_TAIL: usize = 3;

/// The scan columns that hold escaped names (see `escape`), written as they are.
const NAME_COLUMNS: &[&str] = &["root", "path", "name", "link_target", "abs_path"];

/// Prefixes `'` to a cell a spreadsheet would run as a formula, and to one that starts with
/// `'`, so the prefix is always removable: the cell is the text without its first `'`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\'') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The cell text: escaped, unless the column holds a name (already escaped), then neutralised.
fn cell(text: &str, is_name: bool) -> String {
    if is_name {
        neutralise(text).into_owned()
    } else {
        neutralise(&escape_str(text)).into_owned()
    }
}

pub(crate) fn writer(w: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().from_writer(w)
}

/// A row of text cells (no names).
fn row(out: &mut csv::Writer<&mut dyn Write>, cells: &[String]) -> Result<(), Error> {
    row_names(out, cells, &[])
}

/// A row whose cells at `names` hold escaped names.
pub(crate) fn row_names(
    out: &mut csv::Writer<&mut dyn Write>,
    cells: &[String],
    names: &[usize],
) -> Result<(), Error> {
    out.write_record(
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| cell(c, names.contains(&i))),
    )
    .map_err(csv_err)
}

pub(crate) fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Write(io),
        other => Error::Encode(format!("{other:?}")),
    }
}

/// The per-root system columns at the end of every row.
fn root_cells(root: &RootReport, excel: bool) -> Vec<String> {
    let os = &root.system.os;
    let recorded = if root.system.software_read() {
        let any = root
            .system
            .rules
            .iter()
            .any(|r| !r.update_records.is_empty());
        if any { "yes" } else { "no" }.to_owned()
    } else {
        String::new()
    };
    // `MS04-008:live_patched`: each reason with the rule that gave it (a root's own, bare).
    let codes: Vec<String> = root
        .reasons
        .iter()
        .map(|r| match &r.rule {
            Some(rule) => format!("{rule}:{}", r.code.as_str()),
            None => r.code.as_str().to_owned(),
        })
        .collect();
    // Every rule's verdict for the root, also for rules that found no file (and so have no
    // row of their own): `MS03-022=patched MS04-008=vulnerable`.
    let verdicts: Vec<String> = root
        .rule_verdicts
        .iter()
        .map(|v| format!("{}={}", v.rule, v.verdict.as_str()))
        .collect();
    vec![
        opt(&os.product_name),
        opt(&os.current_version),
        opt(&os.csd_version),
        opt(&os.product_type),
        recorded,
        codes.join(" "),
        verdicts.join(" "),
        // A root read from a backup set: the moment its verdict describes.
        time_cell(root.backup.as_ref().and_then(|b| b.written), excel),
        // `--as-of`: the root's state at the date (empty without it).
        root.as_of
            .as_ref()
            .map(|a| a.state.as_str().to_owned())
            .unwrap_or_default(),
    ]
}

/// The UTF-8 byte order mark: Excel reads a CSV file as UTF-8 only when it starts with it
/// (without, `—` shows as `â€”`).
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A time cell: RFC 3339 (full precision) by default; `YYYY-MM-DD hh:mm:ss` UTC for Excel.
fn time_cell(t: Option<Timestamp>, excel: bool) -> String {
    match t {
        Some(t) if excel => t.spreadsheet_text(),
        Some(t) => t.to_string(),
        None => String::new(),
    }
}

/// Roots without findings get one row with the finding columns empty, so every root's
/// verdict is in the file. `excel`: a byte order mark first and times Excel parses.
pub fn scan(report: &Report, excel: bool, w: &mut dyn Write) -> Result<(), Error> {
    if excel {
        w.write_all(BOM)?;
    }
    let names: Vec<usize> = (0..SCAN_COLUMNS.len())
        .filter(|&i| NAME_COLUMNS.contains(&SCAN_COLUMNS[i]))
        .collect();
    let mut out = writer(w);
    out.write_record(SCAN_COLUMNS).map_err(csv_err)?;
    for root in &report.roots {
        if root.findings.is_empty() {
            let mut cells = vec![String::new(); SCAN_COLUMNS.len()];
            cells[0].clone_from(&root.root);
            cells[1] = root.verdict.as_str().to_owned();
            let tail = root_cells(root, excel);
            let end = SCAN_COLUMNS.len() - FINDING_TAIL;
            cells.splice(end - tail.len()..end, tail);
            row_names(&mut out, &cells, &names)?;
        }
        for f in &root.findings {
            let cells = vec![
                root.root.clone(),
                root.verdict.as_str().to_owned(),
                f.path.clone(),
                f.name.clone(),
                f.rule.clone(),
                f.kb.clone(),
                f.target.clone(),
                f.status.as_str().to_owned(),
                f.location.class_str().to_owned(),
                f.location.rule.unwrap_or_default().to_owned(),
                opt(&f.version),
                f.version_source
                    .map(|s| s.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                opt(&f.file_version),
                opt(&f.file_version_string),
                opt(&f.product_version),
                opt(&f.product_version_string),
                f.required_version.to_string(),
                opt(&f.file.size),
                opt(&f.published_size),
                opt(&f.file.sha256),
                opt(&f.file.md5),
                time_cell(f.file.modified, excel),
                time_cell(f.file.accessed, excel),
                time_cell(f.file.created, excel),
                time_cell(f.file.changed, excel),
                f.file
                    .pe
                    .as_ref()
                    .map(|p| p.format.to_owned())
                    .unwrap_or_default(),
                f.file
                    .pe
                    .as_ref()
                    .map(|p| p.machine.clone())
                    .unwrap_or_default(),
                time_cell(f.file.pe.as_ref().and_then(|p| p.link_time), excel),
                opt(&f.link_target),
                string_tables_text(&f.string_tables),
                f.notes.join(" | "),
                opt(&f.error),
                f.error_kind
                    .map(|k| k.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                f.abs_path.clone(),
                opt(&f.service_image),
            ];
            let mut cells = cells;
            cells.extend(root_cells(root, excel));
            cells.extend([
                f.comparison.as_str().to_owned(),
                f.counting.state.as_str().to_owned(),
                f.counting
                    .why
                    .map(|w| w.as_str().to_owned())
                    .unwrap_or_default(),
            ]);
            row_names(&mut out, &cells, &names)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// One row per string of each string table (a file with none gets one row), so a
/// spreadsheet can filter by language and name.
pub fn versions(report: &VersionReport, w: &mut dyn Write) -> Result<(), Error> {
    let mut out = writer(w);
    let header = [
        "path",
        "size",
        "sha256",
        "md5",
        "modified",
        "pe_format",
        "machine",
        "link_time",
        "resource",
        "resource_lang",
        "file_version",
        "product_version",
        "flags",
        "os",
        "file_type",
        "table",
        "lang",
        "codepage",
        "name",
        "value",
        "error",
        "note",
        "sha1",
        "image_sha1",
        "image_sha256",
        "signature",
        "signer_subject",
        "signing_time",
        "timestamp_time",
        "signed_digest_matches",
    ];
    out.write_record(header).map_err(csv_err)?;
    for f in &report.files {
        let file = &f.file;
        let base = [
            f.path.clone(),
            opt(&file.size),
            opt(&file.sha256),
            opt(&file.md5),
            opt(&file.modified),
            file.pe
                .as_ref()
                .map(|p| p.format.to_owned())
                .unwrap_or_default(),
            file.pe
                .as_ref()
                .map(|p| p.machine.clone())
                .unwrap_or_default(),
            file.pe
                .as_ref()
                .and_then(|p| p.link_time)
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ];
        let mut wrote = false;
        for r in &f.resources {
            let fixed = [
                r.name.clone(),
                r.lang.clone(),
                r.fixed
                    .as_ref()
                    .map(|x| x.file_version.to_string())
                    .unwrap_or_default(),
                r.fixed
                    .as_ref()
                    .map(|x| x.product_version.to_string())
                    .unwrap_or_default(),
                r.fixed
                    .as_ref()
                    .map(|x| x.flags.join("|"))
                    .unwrap_or_default(),
                r.fixed.as_ref().map(|x| x.os.clone()).unwrap_or_default(),
                r.fixed
                    .as_ref()
                    .map(|x| x.file_type.clone())
                    .unwrap_or_default(),
            ];
            let mut pairs: Vec<[String; 5]> = Vec::new();
            for t in &r.string_tables {
                for (k, v) in &t.strings {
                    pairs.push([
                        t.key.clone(),
                        opt(&t.lang),
                        opt(&t.codepage),
                        k.clone(),
                        v.clone(),
                    ]);
                }
            }
            if pairs.is_empty() {
                pairs.push(Default::default());
            }
            for p in pairs {
                let mut cells: Vec<String> = base.to_vec();
                cells.extend(fixed.iter().cloned());
                cells.extend(p);
                cells.push(opt(&r.error));
                cells.push(opt(&f.note));
                cells.extend(signature_cells(f));
                row_names(&mut out, &cells, &[0])?;
                wrote = true;
            }
        }
        if !wrote {
            let mut cells: Vec<String> = base.to_vec();
            let sig = signature_cells(f);
            cells.resize(header.len() - 2 - sig.len(), String::new());
            cells.push(opt(&f.error));
            cells.push(opt(&f.note));
            cells.extend(sig);
            row_names(&mut out, &cells, &[0])?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The last columns of `kbscan version`'s rows: SHA-1 and the Authenticode facts.
fn signature_cells(f: &crate::model::described::DescribedFile) -> [String; 8] {
    let a = f.authenticode.as_ref();
    let s = a.map(|a| &a.signature);
    [
        opt(&f.sha1),
        a.and_then(|a| a.image_sha1.clone()).unwrap_or_default(),
        a.and_then(|a| a.image_sha256.clone()).unwrap_or_default(),
        s.map(|s| s.state.as_str().to_owned()).unwrap_or_default(),
        s.and_then(|s| s.signer_subject.clone()).unwrap_or_default(),
        opt(&s.and_then(|s| s.signing_time)),
        opt(&s.and_then(|s| s.timestamp_time)),
        opt(&s.and_then(|s| s.digest_matches)),
    ]
}

pub fn rules(rules: &RuleSet, w: &mut dyn Write) -> Result<(), Error> {
    let mut out = writer(w);
    out.write_record([
        "rule",
        "kb",
        "cves",
        "title",
        "file",
        "fixed_version",
        "size",
        "install_dir",
        "source",
        "product_line",
        "judged_by",
        "file_sources",
    ])
    .map_err(csv_err)?;
    for r in &rules.rules {
        for f in &r.files {
            row(
                &mut out,
                &[
                    r.id.clone(),
                    r.kb.clone(),
                    r.cves.join(" "),
                    r.title.clone(),
                    f.name.clone(),
                    f.fixed_text(),
                    opt(&f.size),
                    opt(&f.install_dir),
                    r.source.clone(),
                    opt(&f.product_line),
                    opt(&f.fixed.judged_by()),
                    cites(&f.sources),
                ],
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The lineage table: one row per build.
pub fn lineage(l: &crate::model::lineage::Lineage, w: &mut dyn Write) -> Result<(), Error> {
    let mut out = writer(w);
    out.write_record([
        "file",
        "version",
        "size",
        "size_build",
        "date",
        "time",
        "time_zone",
        "bulletin",
        "kb",
        "release",
        "component",
        "sources",
    ])
    .map_err(csv_err)?;
    for b in &l.builds {
        row(
            &mut out,
            &[
                b.file.clone(),
                opt(&b.version),
                opt(&b.size),
                opt(&b.size_build),
                opt(&b.date),
                opt(&b.time),
                opt(&b.time_zone),
                b.bulletin.clone(),
                b.kb.clone(),
                opt(&b.release),
                b.component.clone(),
                cites(&b.sources),
            ],
        )?;
    }
    out.flush()?;
    Ok(())
}

/// `ref l.N: "quote"; …`, for one-line formats.
pub(crate) fn cites(c: &[crate::model::rule::Cite]) -> String {
    c.iter()
        .map(|c| match c.line {
            Some(n) => format!("{} l.{n}: {:?}", c.source, c.quote),
            None => format!("{}: {:?}", c.source, c.quote),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One row per finding, for a spreadsheet.
pub(crate) const PRINTER: crate::Printer = crate::Printer {
    name: "csv",
    help: "One row per finding, header row first",
    scan: |r, style, w| scan(r, style.excel, w),
    versions: Some(versions),
    rules: Some(rules),
    lineage: Some(lineage),
    updates: Some(|r, s, w| crate::updates::csv(r, s.excel, w)),
    sidecar: true,
};
