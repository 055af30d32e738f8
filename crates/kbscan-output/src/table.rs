//! Text for people: a verdict line and reasons per root, a table of findings that fits 100
//! columns, then the evidence behind each finding. Text from evidence is escaped so it cannot
//! drive the terminal.
//!
//! Over 400 lines: the scan, `version` and `rules` tables share the wrapping and string-table
//! helpers here; splitting them would only move those helpers.

use std::io::Write;

use tabled::builder::Builder;

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

/// Display columns of a text: a CJK character takes two, a combining mark none.
trait Cols {
    fn cols(&self) -> usize;
}

impl Cols for str {
    fn cols(&self) -> usize {
        unicode_width::UnicodeWidthStr::width(self)
    }
}

impl Cols for String {
    fn cols(&self) -> usize {
        self.as_str().cols()
    }
}

/// A table with `|` between columns and a rule under the head (psql's look), fitted to
/// `WIDTH`: a cell wraps at spaces, or inside a word after a `/` or `_`, never elsewhere while
/// any column can give room that way.
fn render(builder: Builder) -> String {
    let rows: Vec<Vec<String>> = builder.into();
    boxed(&rows, &[], Some(WIDTH))
}

/// `rows` (the first the head) as a psql-style table within `width` (`None`: as wide as the
/// cells). A column in `paths` holds paths: its cells break only after a `/`, so a name with a
/// space (`Windows Media`) stays on one line.
fn boxed(rows: &[Vec<String>], paths: &[usize], width: Option<usize>) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    if cols == 0 {
        return String::new();
    }
    // " a | b | c ": one space at each end, three between columns.
    let overhead = 2 + 3 * (cols - 1);
    let widths = plan_widths(rows, paths, overhead, width);
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<Vec<String>> = (0..cols)
            .map(|c| {
                let t = row.get(c).map_or("", String::as_str);
                if paths.contains(&c) {
                    wrap_path(t, widths[c])
                } else {
                    wrap_text(t, widths[c], widths[c])
                }
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            let parts: Vec<String> = (0..cols)
                .map(|c| {
                    let t = cells[c].get(l).map_or("", String::as_str);
                    format!("{t}{}", " ".repeat(widths[c].saturating_sub(t.cols())))
                })
                .collect();
            text.push(' ');
            text.push_str(parts.join(" | ").trim_end());
            text.push('\n');
        }
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
            text.push_str(&rule.join("+"));
            text.push('\n');
        }
    }
    text.pop();
    text
}

/// Where a word may break inside: after a path separator or an underscore.
const BREAKS: [char; 3] = ['/', '\\', '_'];

/// The words of `text` as lines break between them: at spaces, except the space inside a
/// path (`WINNT/system32/Windows Media/Server`, `C:\WINNT\Windows Media\nscm.exe`: a word
/// holding a separator, not ending a clause, followed by another holding one), which stays
/// with its path; such a path breaks after a separator instead.
fn units(text: &str) -> Vec<String> {
    let pathy = |w: &str| w.contains(['/', '\\']);
    let mut out: Vec<String> = Vec::new();
    let mut glue = false;
    for word in text.split([' ', '\n']).filter(|w| !w.is_empty()) {
        match out.last_mut() {
            Some(last) if glue && pathy(word) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_owned()),
        }
        glue = pathy(word) && !word.ends_with([',', ';', ':', ')', '.']);
    }
    out
}

/// The longest piece a line cannot break inside: a word (a path with its spaces), or a part
/// of one up to and including a `/`, `\` or `_`.
fn longest_piece(text: &str) -> usize {
    units(text)
        .iter()
        .flat_map(|w| {
            w.split_inclusive(BREAKS)
                .map(Cols::cols)
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap_or(0)
}

/// Column widths for `rows` so that a line (with `overhead` columns of lead and separators)
/// fits `width`: the widest columns give room first, each down to its longest piece; when
/// that is not enough, pieces are broken too (each column down to 3).
fn plan_widths(
    rows: &[Vec<String>],
    paths: &[usize],
    overhead: usize,
    width: Option<usize>,
) -> Vec<usize> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let cell = |r: &Vec<String>, c: usize| r.get(c).map_or("", String::as_str).to_owned();
    let mut widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).lines().map(|l| l.cols()).max().unwrap_or(0))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let Some(width) = width else {
        return widths;
    };
    let mut mins: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| {
                    let t = cell(r, c);
                    if paths.contains(&c) {
                        t.split_inclusive('/').map(|p| p.cols()).max().unwrap_or(0)
                    } else {
                        longest_piece(&t)
                    }
                })
                .max()
                .unwrap_or(0)
        })
        .collect();
    let room = width.saturating_sub(overhead);
    if mins.iter().sum::<usize>() > room {
        mins = vec![3; cols];
    }
    shrink(&mut widths, &mins, room, paths);
    widths
}

/// Takes one column at a time from the widest that can still give, until the widths fit
/// `room` or none can give; the columns in `last` (paths, which read worst broken) only when
/// no other can.
fn shrink(widths: &mut [usize], mins: &[usize], room: usize, last: &[usize]) {
    while widths.iter().sum::<usize>() > room {
        let can = |c: &usize| widths[*c] > mins[*c];
        let pick = (0..widths.len())
            .filter(|c| can(c) && !last.contains(c))
            .max_by_key(|&c| (widths[c], std::cmp::Reverse(c)))
            .or_else(|| {
                (0..widths.len())
                    .filter(can)
                    .max_by_key(|&c| (widths[c], std::cmp::Reverse(c)))
            });
        let Some(c) = pick else {
            return;
        };
        widths[c] -= 1;
    }
}

/// A path in lines of at most `room` columns, broken only after a `/` (a name longer than
/// `room` alone at the line's end).
fn wrap_path(path: &str, room: usize) -> Vec<String> {
    let room = room.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for part in path.split_inclusive('/') {
        if !line.is_empty() && line.cols() + part.cols() > room {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(part);
    }
    lines.push(line);
    lines
        .into_iter()
        .flat_map(|l| {
            if l.cols() <= room {
                vec![l]
            } else {
                wrap_text(&l, room, room)
            }
        })
        .collect()
}

/// Word-wraps `text` into lines of at most `first` characters (the first line) and `room`
/// (the others): at spaces; a word too long for a line moves whole to the next, and one too
/// long for any line breaks after a `/` or `_` (a path's folders), or, a piece still too long
/// (a hash in a narrow column), at the line's end.
pub(crate) fn wrap_text(text: &str, first: usize, room: usize) -> Vec<String> {
    let (first, room) = (first.max(1), room.max(1));
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    let limit = |lines: &Vec<String>| if lines.is_empty() { first } else { room };
    for word in units(text) {
        let word = word.as_str();
        let wlen = word.cols();
        // The whole word on the next line when it fits there but not here.
        if len > 0 && len + 1 + wlen > limit(&lines) && wlen <= room {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        let mut pieces: Vec<String> = Vec::new();
        for p in word.split_inclusive(BREAKS) {
            if p.cols() <= room {
                pieces.push(p.to_owned());
            } else {
                // At the line's end, by display columns (a CJK character takes two).
                let (mut piece, mut w) = (String::new(), 0);
                for ch in p.chars() {
                    let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                    if !piece.is_empty() && w + cw > room {
                        pieces.push(std::mem::take(&mut piece));
                        w = 0;
                    }
                    piece.push(ch);
                    w += cw;
                }
                pieces.push(piece);
            }
        }
        for (i, p) in pieces.iter().enumerate() {
            let sep = usize::from(i == 0 && len > 0);
            let plen = p.cols();
            if len > 0 && len + sep + plen > limit(&lines) {
                lines.push(std::mem::take(&mut line));
                len = 0;
            } else if sep == 1 {
                line.push(' ');
                len += 1;
            }
            line.push_str(p);
            len += plen;
        }
    }
    lines.push(line);
    lines
}

/// Word-wraps `text` after `first` (already printed, `indent` wide) so lines stay within
/// `WIDTH`; a word longer than a line (a hash, a path) is kept whole.
fn wrapped(out: &mut dyn Write, first: &str, indent: usize, text: &str) -> std::io::Result<()> {
    wrapped_to(out, Some(WIDTH), first, indent, text)
}

/// [`wrapped`] to `width`, or one unwrapped line when `width` is `None` (`--width 0`). The
/// text breaks at spaces, and inside a word only after a `/` or `_` ([`wrap_text`]); a lead
/// `first` too long to leave room is wrapped on lines of its own.
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
    let mut lead_len = first.cols();
    let mut lead = first.to_owned();
    if lead_len + 20 > width {
        let lead_lines = wrap_text(first.trim_end(), width, width.saturating_sub(indent).max(1));
        for (i, l) in lead_lines.iter().enumerate() {
            let pad = if i == 0 {
                ""
            } else {
                &" ".repeat(indent.min(width / 2))
            };
            writeln!(out, "{pad}{l}")?;
        }
        lead = " ".repeat(indent);
        lead_len = indent;
    }
    let first_room = width.saturating_sub(lead_len).max(1);
    for (i, l) in wrap_text(text, first_room, room).iter().enumerate() {
        if i == 0 {
            writeln!(out, "{lead}{l}")?;
        } else {
            writeln!(out, "{}{l}", " ".repeat(indent))?;
        }
    }
    Ok(())
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

/// The findings of a root, one row each, within `width` (`None`: rows as long as they need):
/// a path too long for its column is broken after a `/`, never inside a name (unless a name
/// alone is wider than the column can be).
fn findings_table(root: &RootReport, width: Option<usize>) -> String {
    let mut rows = vec![
        ["#", "path", "rule", "status", "location", "version", "size"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for (i, f) in root.findings.iter().enumerate() {
        rows.push(vec![
            (i + 1).to_string(),
            f.path.clone(),
            esc(&f.rule),
            f.status_cell(),
            esc(&f.location.label()),
            esc(&f.version_label()),
            opt(&f.file.size),
        ]);
    }
    boxed(&rows, &[1], width)
}

fn tables_lines(
    out: &mut dyn Write,
    width: Option<usize>,
    indent: &str,
    tables: &[StringTable],
) -> std::io::Result<()> {
    for t in tables {
        writeln!(out, "{indent}strings [{}]", esc(&t.key))?;
        for (k, v) in &t.strings {
            let lead = format!("{indent}  {:<18} ", esc(k));
            wrapped_to(out, width, &lead, indent.len() + 21, &esc(v))?;
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
    // Each line of the block within the width: `key        value`, the value wrapped under
    // itself.
    wrapped_to(out, width, &format!("  [{}] ", i + 1), 6, &f.path)?;
    let mut field = |k: &str, v: &str| wrapped_to(out, width, &format!("{pad}{k:<12}"), 18, v);
    field(
        "rule",
        &format!(
            "{} {} ({}), fixed in {}",
            esc(&f.rule),
            esc(&f.kb),
            esc(&f.target),
            f.required_version
        ),
    )?;
    let loc = match (&f.location.rule, &f.location.folder) {
        // `backup:<rule>`, or `live:service` for a copy a service starts there (issue 10 case 3).
        (Some(_), Some(folder)) => format!("{} ({folder})", f.location.label()),
        _ => "live".to_owned(),
    };
    field("status", &format!("{} ({loc})", f.status.as_str()))?;
    field(
        "judged",
        &format!(
            "{}, {}",
            f.comparison.as_str().replace('_', " "),
            f.counting.label()
        ),
    )?;
    if f.file_version.is_some() || f.file_version_string.is_some() {
        field(
            "file ver",
            &format!(
                "{} (numeric), {} (string)",
                f.file_version
                    .map_or_else(|| "-".to_owned(), |v| v.to_string()),
                f.file_version_string
                    .as_deref()
                    .map(esc)
                    .unwrap_or_else(|| "-".into())
            ),
        )?;
        field(
            "product ver",
            &format!(
                "{} (numeric), {} (string)",
                f.product_version
                    .map_or_else(|| "-".to_owned(), |v| v.to_string()),
                f.product_version_string
                    .as_deref()
                    .map(esc)
                    .unwrap_or_else(|| "-".into())
            ),
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
            field(k, &v)?;
        }
    }
    tables_lines(out, width, pad, &f.string_tables)?;
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
fn brief_rows(out: &mut dyn Write, width: Option<usize>, root: &RootReport) -> std::io::Result<()> {
    let mut rows: Vec<Vec<(String, Option<Verdict>)>> = Vec::new();
    let mut last: Option<&str> = None;
    for f in &root.findings {
        let status = format!("{} {}", esc(&f.rule), f.status_cell());
        if last == Some(f.path.as_str()) {
            if let Some(row) = rows.last_mut() {
                row[4].0.push_str(", ");
                row[4].0.push_str(&status);
            }
            continue;
        }
        last = Some(&f.path);
        rows.push(vec![
            (f.path.clone(), None),
            (esc(&f.location.label()), None),
            (esc(&f.version_label()), None),
            (opt(&f.file.size), None),
            (status, None),
        ]);
    }
    grid_to(out, "    ", &[0], width, false, &rows)
}

/// Rows of cells, each column padded to its widest cell (colours do not count).
pub(crate) fn grid(
    out: &mut dyn Write,
    color: bool,
    rows: &[Vec<(String, Option<Verdict>)>],
) -> std::io::Result<()> {
    grid_to(out, "  ", &[], None, color, rows)
}

/// A cell of a grid: its text, and the verdict that colours it.
type Cell = (String, Option<Verdict>);

/// The widest text of each column.
fn natural_widths(rows: &[Vec<Cell>]) -> Vec<usize> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|(t, _)| t.cols())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// [`grid`] after `lead` within `width`: each cell wrapped in its column ([`plan_widths`]),
/// those of the columns in `paths` only after a `/`.
pub(crate) fn grid_to(
    out: &mut dyn Write,
    lead: &str,
    paths: &[usize],
    width: Option<usize>,
    color: bool,
    rows: &[Vec<Cell>],
) -> std::io::Result<()> {
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|(t, _)| t.clone()).collect())
        .collect();
    let cols = natural_widths(rows).len();
    let overhead = lead.len() + 2 * cols.saturating_sub(1);
    let widths = plan_widths(&texts, paths, overhead, width);
    for row in rows {
        grid_row(out, lead, paths, &widths, color, row)?;
    }
    Ok(())
}

/// One row of a grid, at `widths`, after `lead`: a cell wider than its column wraps
/// ([`wrap_text`]) onto the row's next lines.
fn grid_row(
    out: &mut dyn Write,
    lead: &str,
    paths: &[usize],
    widths: &[usize],
    color: bool,
    row: &[Cell],
) -> std::io::Result<()> {
    let cells: Vec<Vec<String>> = row
        .iter()
        .enumerate()
        .map(|(c, (t, _))| {
            let w = widths.get(c).copied().unwrap_or(usize::MAX);
            if t.cols() <= w {
                vec![t.clone()]
            } else if paths.contains(&c) {
                wrap_path(t, w)
            } else {
                wrap_text(t, w, w)
            }
        })
        .collect();
    let height = cells.iter().map(Vec::len).max().unwrap_or(1);
    for l in 0..height {
        let mut line = String::from(lead);
        for (c, (_, v)) in row.iter().enumerate() {
            let text = cells[c].get(l).map_or("", String::as_str);
            let last = c + 1 == row.len();
            match v {
                Some(v) if !text.is_empty() => line.push_str(&paint(color, *v, text)),
                _ => line.push_str(text),
            }
            if !last {
                let w = widths.get(c).copied().unwrap_or(0);
                line.push_str(&" ".repeat(w.saturating_sub(text.cols()) + 2));
            }
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
    let mut line = |k: &str, v: &str| wrapped_to(out, width, &format!("  {k:<12}"), 14, v);
    line("kbscan", &format!("{} {at} ({exe})", ex.version))?;
    if let Some(c) = &ex.case {
        line("case", c)?;
    }
    if let Some(e) = &ex.examiner {
        line("examiner", e)?;
    }
    line("host", ex.host.as_deref().unwrap_or("?"))?;
    writeln!(out, "  started     {}", ex.started)?;
    writeln!(out, "  finished    {}", ex.finished)?;
    wrapped_to(out, width, "  command     ", 14, &ex.command_line.join(" "))?;
    for r in &ex.rules {
        wrapped_to(
            out,
            width,
            "  rule        ",
            14,
            &format!("{} {} (sha256 {})", r.id, r.source, r.sha256),
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
    // A matrix whose columns but the free-text last fit the width, leaving the decisive
    // reason at least 20 columns (wrapped in them): with one-line heads, else with two-line.
    let fitted = |rows: &[Vec<Cell>]| -> Option<Vec<usize>> {
        let mut w = natural_widths(rows);
        let n = w.len();
        let fixed = w[..n - 1].iter().sum::<usize>() + 2 + 2 * (n - 1);
        match style.width {
            None => Some(w),
            Some(width) if fixed + 20 <= width => {
                w[n - 1] = w[n - 1].min(width - fixed);
                Some(w)
            }
            Some(_) => None,
        }
    };
    let mut rows = vec![one_line];
    rows.extend(body.iter().cloned());
    if let Some(w) = fitted(&rows) {
        for r in &rows {
            grid_row(out, "  ", &[], &w, style.color, r)?;
        }
    } else {
        let folded_heads = |first: &str, second: &str, last: &str| {
            [
                head(
                    heads.iter().map(|(id, _)| id.clone()).collect(),
                    first,
                    "verdict",
                    second,
                ),
                head(
                    heads.iter().map(|(_, kb)| kb.clone()).collect(),
                    "",
                    "",
                    last,
                ),
            ]
        };
        let mut rows = folded_heads("root", "decisive", "reason").to_vec();
        rows.extend(body.iter().cloned());
        if let Some(w) = fitted(&rows) {
            for r in &rows {
                grid_row(out, "  ", &[], &w, style.color, r)?;
            }
        } else {
            stacked_summary(out, style, folded_heads("", "", ""), &body)?;
        }
    }
    let counts = report.summary.sentence();
    wrapped_to(out, style.width, "Summary: ", 9, &counts)
}

/// The summary on a terminal too narrow for a matrix row per root: the heads (without the
/// root and reason columns), then per root its name, its row of verdicts under the heads,
/// and its decisive reason, each wrapped to the width.
fn stacked_summary(
    out: &mut dyn Write,
    style: Layout,
    heads: [Vec<Cell>; 2],
    body: &[Vec<Cell>],
) -> std::io::Result<()> {
    // Each row without its first (root) and last (reason) cell.
    let inner = |r: &Vec<Cell>| r[1..r.len() - 1].to_vec();
    let mut rows: Vec<Vec<Cell>> = heads.iter().map(inner).collect();
    rows.extend(body.iter().map(inner));
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|(t, _)| t.clone()).collect())
        .collect();
    let cols = natural_widths(&rows).len();
    let widths = plan_widths(&texts, &[], 4 + 2 * cols.saturating_sub(1), style.width);
    writeln!(out, "  root")?;
    for h in &rows[..2] {
        grid_row(out, "    ", &[], &widths, false, h)?;
    }
    writeln!(out, "    decisive reason")?;
    for r in body {
        wrapped_to(out, style.width, "  ", 4, &r[0].0)?;
        grid_row(out, "    ", &[], &widths, style.color, &inner(r))?;
        if let Some((reason, _)) = r.last() {
            wrapped_to(out, style.width, "    ", 6, reason)?;
        }
    }
    Ok(())
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
    // The record stays with --brief: the report, however short, says who examined what.
    examination(out, width, &report.examination)?;
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
                let line = rule_verdicts_line(&root.rule_verdicts);
                wrapped_to(out, width, "   rules: ", 10, &line)?;
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
            brief_rows(out, width, root)?;
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
            let text = format!("{}: {}", n.path, esc(&n.message));
            wrapped_to(out, width, "  notice: ", 4, &text)?;
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
            tables_lines(out, Some(WIDTH), pad2, &r.string_tables)?;
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
        wrapped(out, &format!("  [{}] ", d.id), 4, &d.location())?;
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
        wrapped(
            out,
            "",
            2,
            &format!("{} ({}): {}", esc(&r.id), esc(&r.kb), esc(&r.title)),
        )?;
        if !r.cves.is_empty() {
            wrapped(out, "  CVE: ", 4, &esc(&r.cves.join(", ")))?;
        }
        for a in &r.affected {
            wrapped(out, "  affected: ", 4, &esc(a))?;
        }
        for a in &r.not_affected {
            wrapped(out, "  not affected: ", 4, &esc(a))?;
        }
        if let Some(p) = &r.published {
            wrapped(out, "  published: ", 4, &esc(p))?;
        }
        if !r.supersedes.is_empty() {
            wrapped(out, "  supersedes: ", 4, &esc(&r.supersedes.join(", ")))?;
        }
        if !r.superseded_by.is_empty() {
            wrapped(
                out,
                "  superseded by: ",
                4,
                &esc(&r.superseded_by.join(", ")),
            )?;
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
            wrapped(
                out,
                &format!("  registry ({}): ", esc(&k.form.to_string())),
                4,
                &esc(&k.key),
            )?;
        }
        if r.registry_same_as_withdrawn {
            wrapped(
                out,
                "  ",
                4,
                "the registry records are the same as a withdrawn release's: only the file version tells them apart",
            )?;
        }
        for d in &r.sources {
            let mut what = vec![];
            what.extend(d.language.clone());
            what.extend(d.authority.clone());
            wrapped(
                out,
                &format!("  source [{}]: ", esc(&d.id)),
                4,
                &format!("{} ({})", esc(&d.location()), esc(&what.join(", "))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_then_after_slashes_within_the_room() {
        let text = "live copy WINNT/system32/Windows Media/Server/Nscm.exe is 4.1.0.3917";
        for room in [12, 20, 33, 60] {
            for l in wrap_text(text, room, room) {
                assert!(l.cols() <= room, "{room}: {l:?}");
            }
        }
        assert_eq!(
            wrap_text(text, 30, 30),
            [
                "live copy WINNT/system32/",
                "Windows Media/Server/Nscm.exe",
                "is 4.1.0.3917"
            ]
        );
        // A hash longer than the room breaks at the line's end, nowhere else.
        let h = "a".repeat(25);
        assert_eq!(
            wrap_text(&h, 10, 10),
            ["a".repeat(10), "a".repeat(10), "a".repeat(5)]
        );
        // Display columns: a CJK character takes two.
        assert!(wrap_text("日本語のファイル属性", 8, 8)
            .iter()
            .all(|l| l.cols() <= 8));
    }

    #[test]
    fn a_space_inside_a_path_is_no_break() {
        let text =
            r"service nsstation: C:\WINNT\System32\Windows Media\Server\nscm.exe [automatic]";
        assert_eq!(
            wrap_text(text, 50, 50),
            [
                "service nsstation:",
                r"C:\WINNT\System32\Windows Media\Server\nscm.exe",
                "[automatic]"
            ]
        );
        // Words that only end a clause with a path are not glued.
        assert_eq!(units("in WINNT/x, then Windows Media/y").len(), 5);
    }

    #[test]
    fn paths_break_only_after_a_slash() {
        assert_eq!(
            wrap_path("WINNT/system32/Windows Media/Server/Nscm.exe", 20),
            ["WINNT/system32/", "Windows Media/", "Server/Nscm.exe"]
        );
    }
}
