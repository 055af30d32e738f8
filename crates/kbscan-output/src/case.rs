//! A case's summary (`kbscan case`): the matrix of systems × rules in four formats (table,
//! CSV, JSON, HTML), and each item's JSON report (the scan's JSON document with the item's
//! record, `case_item`, beside its fields).
//!
//! Every text in the case model is already escaped (names, errors: see `model::case`), so it
//! is written as it is, then made safe for its format (CSV formula prefix, HTML entities).

use std::io::Write;

use serde::Serialize;

use crate::model::case::{CaseItem, CaseReport, CaseSystem};
use crate::model::{Report, Verdict};
use crate::Error;

/// The formats a case summary is written in, each as `case.EXT` in the output folder.
pub const CASE_FORMATS: &[(&str, CaseFn)] = &[
    ("txt", case_table),
    ("csv", case_csv),
    ("json", case_json),
    ("html", case_html),
];

/// Renders a case summary in one format; `Style` matters to the table alone.
pub type CaseFn = fn(&CaseReport, crate::Style, &mut dyn Write) -> Result<(), Error>;

/// An item's report: `case_item` first, then the scan's JSON document's own fields, so a
/// reader of `kbscan scan -f json` reads it unchanged.
#[derive(Serialize)]
struct ItemDocument<'a> {
    case_item: &'a CaseItem,
    #[serde(flatten)]
    report: &'a Report,
}

/// An item's JSON report: the scan's document with the item's record.
pub fn write_case_item(item: &CaseItem, report: &Report, w: &mut dyn Write) -> Result<(), Error> {
    crate::json::document(
        &ItemDocument {
            case_item: item,
            report,
        },
        w,
    )
}

/// The verdict a cell's word names, for colour (none for `failed`).
fn verdict_of(word: &str) -> Option<Verdict> {
    [
        Verdict::Vulnerable,
        Verdict::Inconclusive,
        Verdict::Patched,
        Verdict::NotInstalled,
        Verdict::NotApplicable,
    ]
    .into_iter()
    .find(|v| v.as_str() == word)
}

/// A cell's text: the verdict, and the state at the date when there is one.
fn cell_text(verdict: &str, as_of: Option<&str>) -> String {
    match as_of {
        Some(a) => format!("{verdict} ({a})"),
        None => verdict.to_owned(),
    }
}

/// The matrix's rows: one per system, one for an item with no system (failed).
fn rows(report: &CaseReport) -> Vec<(&CaseItem, Option<&CaseSystem>)> {
    let mut out = Vec::new();
    for item in &report.items {
        if item.systems.is_empty() {
            out.push((item, None));
        }
        for s in &item.systems {
            out.push((item, Some(s)));
        }
    }
    out
}

/// The word in a rule's column for `system` (the item's status when it has no system).
fn rule_cell<'a>(
    item: &'a CaseItem,
    system: Option<&'a CaseSystem>,
    rule: &str,
) -> (String, Option<&'a str>) {
    match system {
        None => (item.status.clone(), None),
        Some(s) => match s.cells.iter().find(|c| c.rule == rule) {
            Some(c) => (c.verdict.clone(), c.as_of.as_deref()),
            // A rule the item's report does not hold cannot be told.
            None => ("-".to_owned(), None),
        },
    }
}

fn case_table(report: &CaseReport, style: crate::Style, w: &mut dyn Write) -> Result<(), Error> {
    crate::guarded(w, style.color, |out| {
        crate::table::examination(out, style.width, &report.examination)?;
        if let Some(d) = &report.as_of {
            writeln!(out, "  as of       {d}")?;
        }
        writeln!(out)?;
        writeln!(out, "Case")?;
        let mut head = vec![
            ("item".to_owned(), None),
            ("run".to_owned(), None),
            ("system".to_owned(), None),
            ("verdict".to_owned(), None),
        ];
        head.extend(report.rules.iter().map(|r| (r.clone(), None)));
        let mut grid = vec![head];
        for (item, system) in rows(report) {
            let mut row = vec![(item.id.clone(), None), (item.status.clone(), None)];
            match system {
                Some(s) => {
                    row.push((s.system.clone(), None));
                    row.push((
                        cell_text(&s.verdict.to_uppercase(), s.as_of.as_deref()),
                        verdict_of(&s.verdict),
                    ));
                }
                None => {
                    row.push(("-".to_owned(), None));
                    row.push((item.status.to_uppercase(), None));
                }
            }
            for r in &report.rules {
                let (v, a) = rule_cell(item, system, r);
                let colour = verdict_of(&v);
                row.push((cell_text(&v, a), colour));
            }
            grid.push(row);
        }
        crate::table::grid(out, style.color, &grid)?;
        let failed: Vec<&CaseItem> = report.items.iter().filter(|i| i.error.is_some()).collect();
        if !failed.is_empty() {
            writeln!(out)?;
            writeln!(out, "Failed")?;
            for i in failed {
                let text = format!("{}: {}", i.path, i.error.as_deref().unwrap_or_default());
                crate::table::wrapped_to(out, style.width, "  ", 4, &text)?;
            }
        }
        writeln!(out)?;
        crate::table::wrapped_to(out, style.width, "Summary: ", 9, &report.summary.sentence())?;
        Ok(())
    })
}

/// The CSV columns before the rules; then one column per rule (its verdict) and, with
/// `--as-of`, one per rule named `RULE as_of` (its state at the date); then `error`, `report`.
pub const CASE_COLUMNS: &[&str] = &["item", "path", "run", "system", "verdict", "as_of"];

fn case_csv(report: &CaseReport, _: crate::Style, w: &mut dyn Write) -> Result<(), Error> {
    let mut out = crate::csv_out::writer(w);
    let mut head: Vec<String> = CASE_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    head.extend(report.rules.iter().cloned());
    if report.as_of.is_some() {
        head.extend(report.rules.iter().map(|r| format!("{r} as_of")));
    }
    head.push("error".to_owned());
    head.push("report".to_owned());
    // Every cell holds escaped text or a fixed word: written as names (not escaped again).
    let all: Vec<usize> = (0..head.len()).collect();
    crate::csv_out::row_names(&mut out, &head, &all)?;
    for (item, system) in rows(report) {
        let mut row = vec![item.id.clone(), item.path.clone(), item.status.clone()];
        match system {
            Some(s) => {
                row.push(s.system.clone());
                row.push(s.verdict.clone());
                row.push(s.as_of.clone().unwrap_or_default());
            }
            None => {
                row.push(String::new());
                row.push(item.status.clone());
                row.push(String::new());
            }
        }
        let cells: Vec<(String, Option<&str>)> = report
            .rules
            .iter()
            .map(|r| rule_cell(item, system, r))
            .collect();
        row.extend(cells.iter().map(|(v, _)| v.clone()));
        if report.as_of.is_some() {
            row.extend(cells.iter().map(|(_, a)| a.unwrap_or_default().to_owned()));
        }
        row.push(item.error.clone().unwrap_or_default());
        row.push(item.report.clone());
        crate::csv_out::row_names(&mut out, &row, &all)?;
    }
    out.flush()?;
    Ok(())
}

fn case_json(report: &CaseReport, _: crate::Style, w: &mut dyn Write) -> Result<(), Error> {
    crate::json::document(report, w)
}

/// A verdict word as the report's coloured badge (`failed` gets its own).
fn badge(word: &str, as_of: Option<&str>) -> String {
    use crate::html::html;
    let class = if word == "failed" || verdict_of(word).is_some() {
        word
    } else {
        "other"
    };
    let at = as_of
        .map(|a| format!(" <span class=\"mono\">{}</span>", html(a)))
        .unwrap_or_default();
    format!(
        "<span class=\"v v-{}\">{}</span>{at}",
        html(class),
        html(&word.to_uppercase())
    )
}

fn case_html(report: &CaseReport, _: crate::Style, out: &mut dyn Write) -> Result<(), Error> {
    use crate::html::{html, kv, path, STYLE};
    let ex = &report.examination;
    let title = match &ex.case {
        Some(c) => format!("kbscan case {}", html(c)),
        None => "kbscan case".to_owned(),
    };
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"kbscan {}\">\n<title>{title}</title>\n\
         <style>{STYLE}\n.v-failed {{ color: #fff; background: #555; }}\n\
         section.root {{ break-before: auto; }}</style>\n</head>\n<body>\n\
         <header><h1>{title}</h1></header>",
        html(ex.version)
    )?;
    let mut record = vec![
        ("kbscan", html(ex.version)),
        ("host", html(ex.host.as_deref().unwrap_or("?"))),
        ("started", html(&ex.started.to_string())),
        ("finished", html(&ex.finished.to_string())),
        (
            "command line",
            format!(
                "<span class=\"mono\">{}</span>",
                html(&ex.command_line.join(" "))
            ),
        ),
    ];
    if let Some(e) = &ex.examiner {
        record.insert(1, ("examiner", html(e)));
    }
    if let Some(d) = &report.as_of {
        record.push(("as of", html(d)));
    }
    for r in &ex.rules {
        record.push((
            "rule",
            format!(
                "{} {} <span class=\"hash\">sha256 {}</span>",
                html(&r.id),
                html(&r.source),
                html(&r.sha256)
            ),
        ));
    }
    writeln!(out, "<section id=\"examination\"><h2>Examination</h2>")?;
    kv(out, &record)?;
    writeln!(
        out,
        "</section>\n<section id=\"matrix\"><h2>Systems × rules</h2>"
    )?;
    write!(
        out,
        "<table><thead><tr><th>item</th><th>run</th><th>system</th><th>verdict</th>"
    )?;
    for r in &report.rules {
        write!(out, "<th>{}</th>", html(r))?;
    }
    writeln!(out, "<th>report</th></tr></thead><tbody>")?;
    for (item, system) in rows(report) {
        write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            html(&item.id),
            html(&item.status)
        )?;
        match system {
            Some(s) => write!(
                out,
                "<td>{}</td><td>{}</td>",
                path(&s.system),
                badge(&s.verdict, s.as_of.as_deref())
            )?,
            None => write!(
                out,
                "<td>{}</td><td>{}</td>",
                path(&item.path),
                badge(&item.status, None)
            )?,
        }
        for r in &report.rules {
            let (v, a) = rule_cell(item, system, r);
            write!(out, "<td>{}</td>", badge(&v, a))?;
        }
        if item.report.is_empty() {
            writeln!(out, "<td>-</td></tr>")?;
        } else {
            writeln!(
                out,
                "<td><a href=\"{0}\">{1}</a></td></tr>",
                html(&item.report),
                path(&item.report)
            )?;
        }
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "<p>{}.</p>", html(&report.summary.sentence()))?;
    writeln!(out, "</section>")?;
    let failed: Vec<&CaseItem> = report.items.iter().filter(|i| i.error.is_some()).collect();
    if !failed.is_empty() {
        writeln!(out, "<section id=\"failed\"><h2>Failed items</h2>")?;
        let rows: Vec<(&str, String)> = failed
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    format!(
                        "{}: <span class=\"error\">{}</span>",
                        path(&i.path),
                        html(i.error.as_deref().unwrap_or_default())
                    ),
                )
            })
            .collect();
        kv(out, &rows)?;
        writeln!(out, "</section>")?;
    }
    writeln!(
        out,
        "<footer>kbscan {}; case run {} to {}.</footer>\n</body>\n</html>",
        html(ex.version),
        html(&ex.started.to_string()),
        html(&ex.finished.to_string())
    )?;
    Ok(())
}
