//! Text for people: a verdict line and reasons per root, a table of findings that fits 100
//! columns, then the evidence behind each finding. Text from evidence is escaped so it cannot
//! drive the terminal.
//!
//! Over 400 lines: the scan, `version` and `rules` tables share the wrapping and string-table
//! helpers here; splitting them would only move those helpers.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::peaker::Priority;
use tabled::settings::{Style, Width};

use super::opt;
use crate::escape::escape_str as esc;
use crate::model::described::VersionReport;
use crate::model::rule::RuleSet;
use crate::model::system::SystemEvidence;
use crate::model::{Finding, Report, RootReport, StringTable, Verdict};
use crate::words::{decisive, hive_text, rule_cell, rule_heads, rule_verdicts_line};
use crate::Error;
use crate::Style as Layout;

/// The width a table is kept within.
pub const WIDTH: usize = 100;

fn render(builder: Builder) -> String {
    let mut t = builder.build();
    t.with(Style::psql());
    t.with(
        Width::wrap(WIDTH)
            .priority(Priority::max(true))
            .keep_words(true),
    );
    t.to_string()
}

/// Word-wraps `text` after `first` (already printed, `indent` wide) so lines stay within
/// `WIDTH`; a word longer than a line (a hash, a path) is kept whole.
fn wrapped(out: &mut dyn Write, first: &str, indent: usize, text: &str) -> std::io::Result<()> {
    wrapped_to(out, Some(WIDTH), first, indent, text)
}

/// [`wrapped`] to `width`, or one unwrapped line when `width` is `None` (a file, a pipe).
pub(crate) fn wrapped_to(
    out: &mut dyn Write,
    width: Option<usize>,
    first: &str,
    indent: usize,
    text: &str,
) -> std::io::Result<()> {
    let Some(width) = width else {
        return writeln!(out, "{first}{text}");
    };
    let room = width.saturating_sub(indent).max(20);
    let mut line = String::new();
    let mut lead = first.to_owned();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            writeln!(out, "{lead}{line}")?;
            lead = " ".repeat(indent);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    writeln!(out, "{lead}{line}")
}

/// Breaks a `/`-separated path into lines of at most `room` characters, only after a `/`:
/// a name is never broken (one longer than `room` keeps its own line).
pub fn wrap_at_slash(path: &str, room: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let parts: Vec<&str> = path.split_inclusive('/').collect();
    for part in parts {
        if !line.is_empty() && line.chars().count() + part.chars().count() > room {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(part);
    }
    lines.push(line);
    lines
}

/// SGR sequences for the verdicts: vulnerable (bold red), inconclusive (yellow), patched
/// (green), the rest (plain). The only control sequences a table holds (see `guarded`).
pub const COLORS: [&str; 3] = ["\x1b[1;31m", "\x1b[33m", "\x1b[32m"];
pub const RESET: &str = "\x1b[0m";

/// `text` (a verdict or a status) coloured for `v` when `color`.
fn paint(color: bool, v: Verdict, text: &str) -> String {
    let c = match v {
        Verdict::Vulnerable => COLORS[0],
        Verdict::Inconclusive => COLORS[1],
        Verdict::Patched => COLORS[2],
        Verdict::NotInstalled | Verdict::NotApplicable => return text.to_owned(),
    };
    if color {
        format!("{c}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// The registry evidence of a root, when there is any.
fn system_lines(
    out: &mut dyn Write,
    width: Option<usize>,
    sys: &SystemEvidence,
) -> std::io::Result<()> {
    let os = &sys.os;
    if os.current_version.is_some() || os.product_type.is_some() {
        let text = format!(
            "{} (NT {}, build {}, {}), product type {}",
            os.product_name.as_deref().unwrap_or("Windows"),
            os.current_version.as_deref().unwrap_or("?"),
            os.build.as_deref().unwrap_or("?"),
            os.csd_version.as_deref().unwrap_or("no service pack"),
            os.product_type.as_deref().unwrap_or("?")
        );
        wrapped_to(out, width, "   os:       ", 13, &esc(&text))?;
    }
    for (name, hive) in [
        ("SOFTWARE", &sys.software_hive),
        ("SYSTEM", &sys.system_hive),
    ] {
        if let Some(h) = hive {
            wrapped_to(out, width, &format!("   {name:<9} "), 13, &hive_text(h))?;
        }
    }
    for rr in &sys.rules {
        for u in &rr.update_records {
            wrapped_to(
                out,
                width,
                "   record:   ",
                13,
                &format!("{} {}", esc(&rr.kb), esc(&u.key)),
            )?;
        }
        for svc in &rr.services {
            let text = format!(
                "{}: {} ({}, {}): {} [{}]",
                esc(&rr.rule),
                esc(&svc.name),
                esc(&svc.file),
                svc.matched_by.as_text(),
                esc(svc.image_path.as_deref().unwrap_or("no ImagePath")),
                svc.start.name().unwrap_or("?")
            );
            wrapped_to(out, width, "   service:  ", 13, &text)?;
        }
    }
    // Renames and deletions waiting for the next boot (paths are escaped names already).
    if let Some(p) = &sys.pending_renames {
        for op in &p.operations {
            let what = match &op.target {
                Some(t) => format!("{} -> {t}", op.source),
                None => format!("{} -> (delete)", op.source),
            };
            let staged = match &op.staged {
                Some(st) => match (st.version, &st.error) {
                    (Some(v), _) => format!("; staged file version {v}"),
                    (None, e) => format!(
                        "; staged file: {}",
                        esc(e.as_deref().unwrap_or("version not read"))
                    ),
                },
                None => String::new(),
            };
            let text = format!("pair {}: {what}{staged}", op.pair);
            wrapped_to(out, width, "   pending:  ", 13, &text)?;
        }
    }
    for n in &sys.notes {
        wrapped_to(out, width, "   registry: ", 13, &esc(n))?;
    }
    Ok(())
}

/// The findings of a root, one row each. Paths are never broken inside a name: with a
/// `width` (a terminal) a path too long for its column is broken after a `/`; without one
/// (a file, a pipe) rows are as long as they need.
fn findings_table(root: &RootReport, width: Option<usize>) -> String {
    let build = |room: Option<usize>| {
        let mut b = Builder::default();
        b.push_record(["#", "path", "rule", "status", "location", "version", "size"]);
        for (i, f) in root.findings.iter().enumerate() {
            let path = match room {
                Some(room) => wrap_at_slash(&f.path, room).join("\n"),
                None => f.path.clone(),
            };
            b.push_record([
                (i + 1).to_string(),
                path,
                esc(&f.rule),
                f.status_label(),
                esc(&f.location.label()),
                esc(&f.version_label()),
                opt(&f.file.size),
            ]);
        }
        let mut t = b.build();
        t.with(Style::psql());
        t.to_string()
    };
    let whole = build(None);
    let Some(width) = width else {
        return whole;
    };
    let widest = whole.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    if widest <= width {
        return whole;
    }
    let longest = root
        .findings
        .iter()
        .map(|f| f.path.chars().count())
        .max()
        .unwrap_or(0);
    build(Some(longest.saturating_sub(widest - width).max(20)))
}

fn tables_lines(out: &mut dyn Write, indent: &str, tables: &[StringTable]) -> std::io::Result<()> {
    for t in tables {
        writeln!(out, "{indent}strings [{}]", esc(&t.key))?;
        for (k, v) in &t.strings {
            writeln!(out, "{indent}  {:<18} {}", esc(k), esc(v))?;
        }
    }
    Ok(())
}

fn evidence(
    out: &mut dyn Write,
    width: Option<usize>,
    i: usize,
    f: &Finding,
) -> std::io::Result<()> {
    let pad = "      ";
    writeln!(out, "  [{}] {}", i + 1, f.path)?;
    writeln!(
        out,
        "{pad}{:<12}{} {} ({}), fixed in {}",
        "rule",
        esc(&f.rule),
        esc(&f.kb),
        esc(&f.target),
        f.required_version
    )?;
    let loc = match (&f.location.rule, &f.location.folder) {
        // `backup:<rule>`, or `live:service` for a copy a service starts there (issue 10 case 3).
        (Some(_), Some(folder)) => format!("{} ({folder})", f.location.label()),
        _ => "live".to_owned(),
    };
    writeln!(out, "{pad}{:<12}{} ({loc})", "status", f.status.as_str())?;
    writeln!(
        out,
        "{pad}{:<12}{}, {}",
        "judged",
        f.comparison.as_str().replace('_', " "),
        f.counting.label()
    )?;
    if f.file_version.is_some() || f.file_version_string.is_some() {
        writeln!(
            out,
            "{pad}{:<12}{} (numeric), {} (string)",
            "file ver",
            f.file_version
                .map_or_else(|| "-".to_owned(), |v| v.to_string()),
            f.file_version_string
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| "-".into())
        )?;
        writeln!(
            out,
            "{pad}{:<12}{} (numeric), {} (string)",
            "product ver",
            f.product_version
                .map_or_else(|| "-".to_owned(), |v| v.to_string()),
            f.product_version_string
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| "-".into())
        )?;
    }
    let file = &f.file;
    let fields = [
        ("size", file.size.map(|s| format!("{s} bytes"))),
        ("sha256", file.sha256.clone()),
        ("md5", file.md5.clone()),
        ("modified", file.modified.map(|t| t.to_string())),
        ("accessed", file.accessed.map(|t| t.to_string())),
        ("created", file.created.map(|t| t.to_string())),
        ("changed", file.changed.map(|t| t.to_string())),
        ("pe", file.pe.as_ref().map(|p| esc(&p.summary()))),
        ("link", f.link_target.clone()),
        ("service", f.service_image.as_deref().map(esc)),
        ("path", Some(f.abs_path.clone())),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            writeln!(out, "{pad}{k:<12}{v}")?;
        }
    }
    tables_lines(out, pad, &f.string_tables)?;
    for n in &f.notes {
        wrapped_to(
            out,
            width,
            &format!("{pad}{:<12}", "note"),
            pad.len() + 12,
            &esc(n),
        )?;
    }
    if let Some(e) = &f.error {
        let kind = f.error_kind.map(|k| k.as_str()).unwrap_or_default();
        let text = format!("{} [{kind}]", esc(e));
        wrapped_to(
            out,
            width,
            &format!("{pad}{:<12}", "error"),
            pad.len() + 12,
            &text,
        )?;
    }
    Ok(())
}

/// `--brief`: one row per file (its rules' statuses together), no header, no evidence.
fn brief_rows(out: &mut dyn Write, root: &RootReport) -> std::io::Result<()> {
    let mut rows: Vec<Vec<(String, Option<Verdict>)>> = Vec::new();
    let mut last: Option<&str> = None;
    for f in &root.findings {
        let status = format!("{} {}", esc(&f.rule), f.status_label());
        if last == Some(f.path.as_str()) {
            if let Some(row) = rows.last_mut() {
                row[4].0.push_str(", ");
                row[4].0.push_str(&status);
            }
            continue;
        }
        last = Some(&f.path);
        rows.push(vec![
            (format!("  {}", f.path), None),
            (esc(&f.location.label()), None),
            (esc(&f.version_label()), None),
            (opt(&f.file.size), None),
            (status, None),
        ]);
    }
    grid(out, false, &rows)
}

/// Rows of cells, each column padded to its widest cell (colours do not count).
pub(crate) fn grid(
    out: &mut dyn Write,
    color: bool,
    rows: &[Vec<(String, Option<Verdict>)>],
) -> std::io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|(t, _)| t.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from("  ");
        for (c, (text, v)) in row.iter().enumerate() {
            let last = c + 1 == row.len();
            let pad = if last {
                String::new()
            } else {
                " ".repeat(widths[c] - text.chars().count() + 2)
            };
            match v {
                Some(v) => line.push_str(&paint(color, *v, text)),
                None => line.push_str(text),
            }
            line.push_str(&pad);
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The examination record: program, rules, command line, host, times, case, examiner.
pub(crate) fn examination(
    out: &mut dyn Write,
    width: Option<usize>,
    ex: &crate::model::Examination,
) -> std::io::Result<()> {
    writeln!(out, "Examination")?;
    let exe = match (&ex.executable.sha256, &ex.executable.error) {
        (Some(h), _) => format!("sha256 {h}"),
        (None, Some(e)) => format!("not hashed: {e}"),
        (None, None) => "not hashed".to_owned(),
    };
    let at = ex.executable.path.as_deref().unwrap_or("?");
    writeln!(out, "  kbscan      {} {at} ({exe})", ex.version)?;
    if let Some(c) = &ex.case {
        writeln!(out, "  case        {c}")?;
    }
    if let Some(e) = &ex.examiner {
        writeln!(out, "  examiner    {e}")?;
    }
    writeln!(out, "  host        {}", ex.host.as_deref().unwrap_or("?"))?;
    writeln!(out, "  started     {}", ex.started)?;
    writeln!(out, "  finished    {}", ex.finished)?;
    wrapped_to(out, width, "  command     ", 14, &ex.command_line.join(" "))?;
    for r in &ex.rules {
        writeln!(
            out,
            "  rule        {} {} (sha256 {})",
            r.id, r.source, r.sha256
        )?;
    }
    for i in &ex.images {
        let text = format!("{}: {} ({})", i.path, i.status, i.detail);
        wrapped_to(out, width, "  image       ", 14, &text)?;
    }
    Ok(())
}

/// The summary: a matrix of one row per root (root, overall verdict, then that root's verdict
/// for each loaded rule, under a head `MS04-008 (KB832359)`), ending with the reason that
/// decided the root; then the counts. On a terminal too narrow for one-line heads, each head
/// takes two lines (`MS04-008` over `(KB832359)`).
fn summary(out: &mut dyn Write, style: Layout, report: &Report) -> std::io::Result<()> {
    writeln!(out, "Summary")?;
    let heads = rule_heads(report);
    let n = heads.len();
    // `--as-of`: the date's answer leads, in a column of its own before today's verdict.
    let dated = report.summary.as_of.as_ref();
    let row_of = |first: String,
                  at: Option<&str>,
                  v: Verdict,
                  rules: Vec<(String, Option<Verdict>)>,
                  last: String| {
        let mut row = vec![(first, None)];
        if dated.is_some() {
            row.push((at.unwrap_or("-").to_uppercase(), None));
        }
        row.push((v.as_str().to_uppercase(), Some(v)));
        row.extend(rules);
        row.push((last, None));
        row
    };
    let mut body = Vec::new();
    for root in &report.roots {
        let cells = heads.iter().map(|(id, _)| rule_cell(root, id)).collect();
        let at = root.as_of.as_ref().map(|a| a.state.as_str());
        body.push(row_of(
            root.root.clone(),
            at,
            root.verdict,
            cells,
            decisive(root),
        ));
    }
    let dashes = || vec![("-".to_owned(), None); n];
    for image in &report.images {
        let last = format!("volumes: {}", image.volumes.join(", "));
        body.push(row_of(
            format!("image {}", image.path),
            None,
            image.verdict,
            dashes(),
            last,
        ));
    }
    for b in &report.backups {
        let last = format!("sets: {}", b.sets.len());
        body.push(row_of(
            format!("backup {}", b.path),
            None,
            b.verdict,
            dashes(),
            last,
        ));
    }
    let at_head = dated.map(|a| format!("as of {}", a.date));
    let head = |texts: Vec<String>, first: &str, second: &str, last: &str| {
        let mut row = vec![(first.to_owned(), None)];
        if let Some(h) = &at_head {
            row.push((
                if first.is_empty() {
                    String::new()
                } else {
                    h.clone()
                },
                None,
            ));
        }
        let second = if dated.is_some() && !second.is_empty() {
            "verdict today"
        } else {
            second
        };
        row.push((second.to_owned(), None));
        row.extend(texts.into_iter().map(|t| (t, None)));
        row.push((last.to_owned(), None));
        row
    };
    let one_line = head(
        heads.iter().map(|(id, kb)| format!("{id} {kb}")).collect(),
        "root",
        "verdict",
        "decisive reason",
    );
    // Everything but the free-text last column must fit the terminal with one-line heads.
    let fits = |rows: &[Vec<(String, Option<Verdict>)>]| {
        let w: usize = (0..rows[0].len() - 1)
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.get(c))
                    .map(|(t, _)| t.chars().count() + 2)
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        style.width.is_none_or(|width| w + 2 <= width)
    };
    let mut rows = vec![one_line];
    rows.extend(body.iter().cloned());
    if !fits(&rows) {
        rows = vec![
            head(
                heads.iter().map(|(id, _)| id.clone()).collect(),
                "root",
                "verdict",
                "decisive",
            ),
            head(
                heads.iter().map(|(_, kb)| kb.clone()).collect(),
                "",
                "",
                "reason",
            ),
        ];
        rows.extend(body);
    }
    grid(out, style.color, &rows)?;
    let counts = report.summary.sentence();
    wrapped_to(out, style.width, "Summary: ", 9, &counts)
}

pub fn scan(report: &Report, style: Layout, out: &mut dyn Write) -> Result<(), Error> {
    let width = style.width;
    let rules: Vec<String> = report
        .rules
        .iter()
        .map(|r| format!("{} ({})", esc(&r.id), esc(&r.kb)))
        .collect();
    wrapped_to(
        out,
        width,
        "",
        4,
        &format!(
            "kbscan {} - rules: {}",
            report.tool.version,
            rules.join(", ")
        ),
    )?;
    if !style.brief {
        examination(out, width, &report.examination)?;
    }
    writeln!(out)?;
    summary(out, style, report)?;
    for root in &report.roots {
        if !style.brief {
            writeln!(out)?;
        }
        writeln!(
            out,
            "== {}: {}",
            root.root,
            paint(
                style.color,
                root.verdict,
                &root.verdict.as_str().to_uppercase()
            )
        )?;
        if !style.brief {
            for r in &root.reasons {
                let text = format!("{}{}", r.rule_prefix(), r.message);
                wrapped_to(out, width, "   - ", 5, &esc(&text))?;
            }
            system_lines(out, width, &root.system)?;
            if root.rule_verdicts.len() > 1 {
                // issue 13: one compact line, one verdict per rule.
                writeln!(out, "   rules: {}", rule_verdicts_line(&root.rule_verdicts))?;
            }
            // issue 14: when each rule's update was installed, and the state at --as-of.
            for rr in &root.system.rules {
                if let Some(i) = &rr.installed {
                    let text = format!("{}: {}", rr.rule, i.summary);
                    wrapped_to(out, width, "   installed: ", 16, &esc(&text))?;
                }
            }
            if let Some(a) = &root.as_of {
                let rules: Vec<String> = a
                    .rules
                    .iter()
                    .map(|r| {
                        let why: Vec<&str> = r.reasons.iter().map(|x| x.message.as_str()).collect();
                        format!("{} {}: {}", r.rule, r.state.as_str(), why.join("; "))
                    })
                    .collect();
                let head = format!("as of {}: {}", a.date, a.state.as_str());
                wrapped_to(out, width, "   ", 5, &esc(&head))?;
                for r in rules {
                    wrapped_to(out, width, "     - ", 7, &esc(&r))?;
                }
            }
        }
        if style.brief {
            brief_rows(out, root)?;
            continue;
        }
        if !root.findings.is_empty() {
            writeln!(out, "{}", findings_table(root, width))?;
            {
                writeln!(out, "  Evidence:")?;
                for (i, f) in root.findings.iter().enumerate() {
                    evidence(out, width, i, f)?;
                }
            }
        }
        for e in &root.errors {
            let at = if e.path.is_empty() { "(root)" } else { &e.path };
            wrapped_to(out, width, &format!("  error: {at}: "), 4, &esc(&e.message))?;
        }
        for n in &root.notices {
            writeln!(out, "  notice: {}: {}", n.path, esc(&n.message))?;
        }
        writeln!(
            out,
            "  ({} entries walked, {} candidates)",
            root.stats.entries, root.stats.candidates
        )?;
    }
    for image in &report.images {
        writeln!(out)?;
        writeln!(
            out,
            "== image {}: {} ({}, partition table {}, volumes: {})",
            image.path,
            paint(
                style.color,
                image.verdict,
                &image.verdict.as_str().to_uppercase()
            ),
            esc(&image.format),
            image.partition_table.map_or("-", |t| t.as_str()),
            image.volumes.join(", ")
        )?;
        if let Some(e) = &image.error {
            wrapped_to(out, width, "   error: ", 10, &esc(e))?;
        }
        for n in &image.notices {
            wrapped_to(out, width, "   notice: ", 11, &esc(n))?;
        }
    }
    for b in &report.backups {
        backup(out, width, style.color, b)?;
    }
    Ok(())
}

/// A backup file: each set as a point in time, then each rule across the sets.
fn backup(
    out: &mut dyn Write,
    width: Option<usize>,
    color: bool,
    b: &crate::model::backup::BackupReport,
) -> Result<(), Error> {
    writeln!(out)?;
    writeln!(
        out,
        "== backup {}: {} ({}, {} set(s))",
        b.path,
        paint(color, b.verdict, &b.verdict.as_str().to_uppercase()),
        b.format,
        b.sets.len()
    )?;
    if let Some(e) = &b.error {
        wrapped_to(out, width, "   error: ", 10, &esc(e))?;
    }
    for s in &b.sets {
        let written = s.written.map_or_else(
            || "write date unknown".to_owned(),
            |t| format!("written {t}"),
        );
        writeln!(
            out,
            "   set {}: {} ({written}{}{}): {}",
            s.number,
            s.name.as_deref().unwrap_or("(no name)"),
            s.operation.map(|o| format!(", {o}")).unwrap_or_default(),
            if s.complete { "" } else { ", INCOMPLETE" },
            paint(color, s.verdict, &s.verdict.as_str().to_uppercase())
        )?;
        for n in &s.notices {
            wrapped_to(out, width, "     notice: ", 13, &esc(n))?;
        }
    }
    for r in &b.rules {
        wrapped_to(out, width, &format!("   {}: ", r.rule), 5, &r.text)?;
    }
    for n in &b.notices {
        wrapped_to(out, width, "   notice: ", 11, &esc(n))?;
    }
    Ok(())
}

pub fn versions(report: &VersionReport, out: &mut dyn Write) -> Result<(), Error> {
    for (i, f) in report.files.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", f.path)?;
        let pad = "  ";
        let file = &f.file;
        let fields = [
            ("size", file.size.map(|s| format!("{s} bytes"))),
            ("sha256", file.sha256.clone()),
            ("sha1", f.sha1.clone()),
            ("md5", file.md5.clone()),
            ("modified", file.modified.map(|t| t.to_string())),
            ("pe", file.pe.as_ref().map(|p| esc(&p.summary()))),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                writeln!(out, "{pad}{k:<16}{v}")?;
            }
        }
        if let Some(a) = &f.authenticode {
            for (k, v) in crate::words::authenticode_lines(a) {
                writeln!(out, "{pad}{k:<16}{}", esc(&v))?;
            }
        }
        for r in &f.resources {
            writeln!(
                out,
                "{pad}version resource {} (language {})",
                esc(&r.name),
                esc(&r.lang)
            )?;
            let pad2 = "    ";
            if let Some(x) = &r.fixed {
                writeln!(out, "{pad2}{:<16}{}", "file version", x.file_version)?;
                writeln!(out, "{pad2}{:<16}{}", "product version", x.product_version)?;
                let flags = if x.flags.is_empty() {
                    "none".to_owned()
                } else {
                    x.flags.join(", ")
                };
                writeln!(
                    out,
                    "{pad2}{:<16}{flags} ({:#x}, mask {:#x})",
                    "flags", x.flags_raw, x.flags_mask
                )?;
                writeln!(out, "{pad2}{:<16}{} ({:#x})", "os", x.os, x.os_raw)?;
                writeln!(
                    out,
                    "{pad2}{:<16}{} ({:#x}), subtype {:#x}",
                    "type", x.file_type, x.file_type_raw, x.file_subtype
                )?;
                writeln!(out, "{pad2}{:<16}{:#x}", "file date", x.file_date)?;
            } else {
                writeln!(out, "{pad2}{:<16}none", "fixed info")?;
            }
            tables_lines(out, pad2, &r.string_tables)?;
            if !r.translations.is_empty() {
                let t: Vec<String> = r
                    .translations
                    .iter()
                    .map(|t| format!("{:04x}/{:04x}", t.lang, t.codepage))
                    .collect();
                writeln!(out, "{pad2}{:<16}{}", "translations", t.join(", "))?;
            }
            for w in &r.warnings {
                writeln!(out, "{pad2}{:<16}{}", "warning", esc(w))?;
            }
            if let Some(e) = &r.error {
                writeln!(out, "{pad2}{:<16}{}", "error", esc(e))?;
            }
        }
        if let Some(n) = &f.note {
            writeln!(out, "{pad}{:<16}{}", "note", esc(n))?;
        }
        if let Some(e) = &f.error {
            writeln!(
                out,
                "{pad}{:<16}{} [{}]",
                "error",
                esc(e),
                f.error_kind.map(|k| k.as_str()).unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

/// The build lineage table.
pub fn lineage(l: &crate::model::lineage::Lineage, out: &mut dyn Write) -> Result<(), Error> {
    let mut b = Builder::default();
    b.push_record(["file", "version", "size", "date", "shipped by", "component"]);
    for x in &l.builds {
        let size = match (&x.size, &x.size_build) {
            (Some(s), Some(lang)) => format!("{s} ({lang})"),
            (Some(s), None) => s.to_string(),
            _ => String::new(),
        };
        b.push_record([
            x.file.clone(),
            x.version
                .clone()
                .unwrap_or_else(|| "(unsourced)".to_owned()),
            size,
            opt(&x.date),
            x.shipped_by(),
            x.component.clone(),
        ]);
    }
    writeln!(out, "{}", render(b))?;
    for x in &l.builds {
        for c in &x.sources {
            let at = c.line.map(|n| format!(" l.{n}")).unwrap_or_default();
            wrapped(
                out,
                &format!("{} {}: ", x.file, x.version.as_deref().unwrap_or("?")),
                4,
                &esc(&format!("[{}{at}] {}", c.source, c.quote)),
            )?;
        }
    }
    writeln!(out, "Sources:")?;
    for d in &l.sources {
        writeln!(out, "  [{}] {}", d.id, d.location())?;
    }
    Ok(())
}

pub fn rules(rules: &RuleSet, out: &mut dyn Write) -> Result<(), Error> {
    let mut b = Builder::default();
    b.push_record([
        "rule",
        "kb",
        "file",
        "fixed version",
        "size",
        "install folder",
        "source",
    ]);
    for r in &rules.rules {
        for f in &r.files {
            b.push_record([
                esc(&r.id),
                esc(&r.kb),
                esc(&f.name),
                esc(&f.fixed_text()),
                opt(&f.size),
                esc(&opt(&f.install_dir)),
                esc(&r.source),
            ]);
        }
    }
    writeln!(out, "{}", render(b))?;
    for r in &rules.rules {
        writeln!(out, "{} ({}): {}", esc(&r.id), esc(&r.kb), esc(&r.title))?;
        if !r.cves.is_empty() {
            writeln!(out, "  CVE: {}", esc(&r.cves.join(", ")))?;
        }
        for a in &r.affected {
            writeln!(out, "  affected: {}", esc(a))?;
        }
        for a in &r.not_affected {
            writeln!(out, "  not affected: {}", esc(a))?;
        }
        if let Some(p) = &r.published {
            writeln!(out, "  published: {}", esc(p))?;
        }
        if !r.supersedes.is_empty() {
            writeln!(out, "  supersedes: {}", esc(&r.supersedes.join(", ")))?;
        }
        if !r.superseded_by.is_empty() {
            writeln!(out, "  superseded by: {}", esc(&r.superseded_by.join(", ")))?;
        }
        for f in &r.files {
            if let Some(by) = f.fixed.judged_by() {
                writeln!(
                    out,
                    "  {}: no sourced fixed version of its own; judged by {} ({})",
                    esc(&f.name),
                    esc(by),
                    f.fixed.version()
                )?;
            }
            if let Some(pl) = &f.product_line {
                writeln!(out, "  {}: product line {}", esc(&f.name), esc(pl))?;
            }
            for br in f.fixed.branches() {
                writeln!(
                    out,
                    "  {}: branch {} ({}+): fixed in {}",
                    esc(&f.name),
                    esc(&br.name),
                    br.from,
                    br.fixed_version
                )?;
            }
        }
        for k in &r.registry_records {
            writeln!(
                out,
                "  registry ({}): {}",
                esc(&k.form.to_string()),
                esc(&k.key)
            )?;
        }
        if r.registry_same_as_withdrawn {
            writeln!(
                out,
                "  the registry records are the same as a withdrawn release's: only the file version tells them apart"
            )?;
        }
        for d in &r.sources {
            let mut what = vec![];
            what.extend(d.language.clone());
            what.extend(d.authority.clone());
            writeln!(
                out,
                "  source [{}]: {} ({})",
                esc(&d.id),
                esc(&d.location()),
                esc(&what.join(", "))
            )?;
        }
    }
    Ok(())
}

/// Aligned text for people.
pub(crate) const PRINTER: crate::Printer = crate::Printer {
    name: "table",
    help: "Aligned text for people (fits 100 columns)",
    scan: |r, style, w| crate::guarded(w, style.color, |b| scan(r, style, b)),
    versions: Some(|r, w| crate::guarded(w, false, |b| versions(r, b))),
    rules: Some(|r, w| crate::guarded(w, false, |b| rules(r, b))),
    lineage: Some(|l, w| crate::guarded(w, false, |b| lineage(l, b))),
    updates: Some(crate::updates::table),
    sidecar: false,
};
