//! `kbscan updates`' report in every format: the table (per root its summary line, one row
//! per update record and, below a record that is not consistent, one line per file that
//! decided it), CSV (one row per listed file, a record without files one row), one JSON
//! document, JSON Lines (`record`: examination, update, root, summary) and a printable HTML
//! page. The timeline has no times to show (the records' `InstalledDate` is local text of no
//! known zone) and refuses. Texts are escaped as the scan printers escape them: names (`path`,
//! `root`) are escaped in the model, everything else here.

use std::io::Write;

use serde_json::{json, Value};

use crate::escape::escape_str as esc;
use crate::model::updates::{AuditedFile, AuditedUpdate, FileStatus, UpdateStatus, UpdatesReport};
use crate::{Error, Style};

/// The CSV columns, in order. Part of the interface: add at the end only.
pub const COLUMNS: &[&str] = &[
    "root",
    "windir",
    "update",
    "key",
    "product",
    "level",
    "update_status",
    "entry",
    "file_name",
    "location",
    "recorded_version",
    "path",
    "live_version",
    "file_status",
    "newer_by",
    "reason",
    "pending_reboot",
    "installed_date",
    "description",
];

fn o(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// What one file line says after its status.
fn file_detail(f: &AuditedFile) -> String {
    let mut s = format!(
        "{} recorded {}",
        f.name.as_deref().unwrap_or("?"),
        f.recorded_version.as_deref().unwrap_or("-")
    );
    if let Some(v) = &f.live_version {
        s.push_str(&format!(", live {v}"));
    }
    if let Some(n) = &f.newer_by {
        s.push_str(&format!(" (as recorded by {n})"));
    }
    if let Some(r) = &f.reason {
        s.push_str(&format!(": {r}"));
    }
    if let Some(p) = &f.pending_reboot {
        s.push_str(&format!("; {}", p.describe()));
    }
    s
}

/// The table.
pub fn table(report: &UpdatesReport, style: Style, w: &mut dyn Write) -> Result<(), Error> {
    crate::guarded(w, false, |w| {
        let _ = style;
        for r in &report.roots {
            let windir = r
                .windir
                .as_deref()
                .map(|d| format!(" (Windows folder {d})"))
                .unwrap_or_default();
            writeln!(w, "{}{windir}", r.root)?;
            for e in &r.errors {
                writeln!(w, "  error: {}", esc(e))?;
            }
            if r.audit.audited {
                writeln!(w, "  {}", r.audit.counts.sentence())?;
            } else {
                writeln!(w, "  not audited")?;
            }
            for n in &r.audit.notes {
                writeln!(w, "  note: {}", esc(n))?;
            }
            if !r.audit.updates.is_empty() {
                let width = r
                    .audit
                    .updates
                    .iter()
                    .map(|u| esc(&u.update).chars().count())
                    .max()
                    .unwrap_or(6)
                    .max(6);
                writeln!(
                    w,
                    "  {:<13} {:<width$} {:>5}  KEY",
                    "STATUS", "UPDATE", "FILES"
                )?;
                for u in &r.audit.updates {
                    writeln!(
                        w,
                        "  {:<13} {:<width$} {:>5}  {}",
                        u.status.as_str(),
                        esc(&u.update),
                        u.files.len(),
                        esc(&u.key)
                    )?;
                    if u.status == UpdateStatus::Consistent {
                        continue;
                    }
                    for f in u.files.iter().filter(|f| f.status != FileStatus::Current) {
                        let at = f
                            .path
                            .clone()
                            .unwrap_or_else(|| esc(f.location.as_deref().unwrap_or("?")));
                        writeln!(
                            w,
                            "      {:<9} {at}: {}",
                            f.status.as_str(),
                            esc(&file_detail(f))
                        )?;
                    }
                }
            }
            writeln!(w)?;
        }
        writeln!(w, "Summary: {}", report.counts.sentence())?;
        Ok(())
    })
}

fn update_cells(root: &str, windir: &str, u: &AuditedUpdate) -> Vec<String> {
    vec![
        root.to_owned(),
        windir.to_owned(),
        u.update.clone(),
        u.key.clone(),
        u.product.clone(),
        o(&u.level),
        u.status.as_str().to_owned(),
    ]
}

/// CSV: one row per listed file; a record without files, and a root with no record, one row.
/// `excel`: a UTF-8 byte order mark first (the audit has no time column to reshape: dates are
/// the text the record holds).
pub fn csv(report: &UpdatesReport, excel: bool, w: &mut dyn Write) -> Result<(), Error> {
    if excel {
        w.write_all(crate::csv_out::BOM)?;
    }
    let mut out = crate::csv_out::writer(w);
    out.write_record(COLUMNS).map_err(crate::csv_out::csv_err)?;
    // root, windir and path hold escaped names.
    let names = [0usize, 1, 11];
    for r in &report.roots {
        let windir = o(&r.windir);
        if r.audit.updates.is_empty() {
            let mut cells = vec![r.root.clone(), windir.clone()];
            cells.resize(COLUMNS.len(), String::new());
            cells[15] = if r.audit.audited {
                "no update record".to_owned()
            } else {
                format!("not audited: {}", r.audit.notes.join("; "))
            };
            crate::csv_out::row_names(&mut out, &cells, &names)?;
        }
        for u in &r.audit.updates {
            let tail = [o(&u.installed_date), o(&u.description)];
            if u.files.is_empty() {
                let mut cells = update_cells(&r.root, &windir, u);
                cells.resize(COLUMNS.len() - 2, String::new());
                cells.extend(tail.iter().cloned());
                crate::csv_out::row_names(&mut out, &cells, &names)?;
            }
            for f in &u.files {
                let mut cells = update_cells(&r.root, &windir, u);
                cells.extend([
                    f.entry.clone(),
                    o(&f.name),
                    o(&f.location),
                    o(&f.recorded_version),
                    o(&f.path),
                    o(&f.live_version),
                    f.status.as_str().to_owned(),
                    o(&f.newer_by),
                    o(&f.reason),
                    f.pending_reboot
                        .as_ref()
                        .map(|p| p.describe())
                        .unwrap_or_default(),
                ]);
                cells.extend(tail.iter().cloned());
                crate::csv_out::row_names(&mut out, &cells, &names)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// One JSON document.
pub fn document(report: &UpdatesReport, w: &mut dyn Write) -> Result<(), Error> {
    crate::json::document(report, w)
}

/// The JSON Lines records, not yet escaped.
fn records(report: &UpdatesReport) -> Result<Value, Error> {
    let enc = crate::json::encode;
    let mut out = vec![json!({
        "record": "examination",
        "examination": serde_json::to_value(&report.examination).map_err(enc)?,
    })];
    for r in &report.roots {
        for u in &r.audit.updates {
            let mut v = serde_json::to_value(u).map_err(enc)?;
            if let Value::Object(m) = &mut v {
                m.insert("record".into(), json!("update"));
                m.insert(
                    "root".into(),
                    serde_json::to_value(crate::escape::Name(&r.root)).map_err(enc)?,
                );
            }
            out.push(v);
        }
        out.push(json!({
            "record": "root",
            "root": serde_json::to_value(crate::escape::Name(&r.root)).map_err(enc)?,
            "windir": r.windir.as_deref().map(crate::escape::Name),
            "audited": r.audit.audited,
            "truncated": r.audit.truncated,
            "counts": serde_json::to_value(r.audit.counts).map_err(enc)?,
            "notes": r.audit.notes,
            "errors": r.errors,
        }));
    }
    out.push(json!({
        "record": "summary",
        "counts": serde_json::to_value(report.counts).map_err(enc)?,
        "sentence": report.counts.sentence(),
        "exit_code": report.exit_code,
    }));
    Ok(Value::Array(out))
}

/// JSON Lines: the examination, one line per update record (with its root), one per root,
/// then the summary.
pub fn lines(report: &UpdatesReport, w: &mut dyn Write) -> Result<(), Error> {
    let Value::Array(records) = crate::json::escaped(|| records(report))? else {
        return Err(Error::Encode("the records are not a list".to_owned()));
    };
    for v in &records {
        serde_json::to_writer(&mut *w, v).map_err(crate::json::encode)?;
        writeln!(w)?;
    }
    Ok(())
}

/// The HTML page: the examination record, the summary, then per root a printable table of
/// every listed file (no script, no sorting).
pub fn html(report: &UpdatesReport, w: &mut dyn Write) -> Result<(), Error> {
    use crate::html::{html as h, path};
    let ev = |t: &str| h(&esc(t));
    let ex = &report.examination;
    let title = match &ex.case {
        Some(c) => format!("kbscan update audit, case {}", h(c)),
        None => "kbscan update audit".to_owned(),
    };
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"kbscan {}\">\n<title>{title}</title>\n\
         <style>{}</style>\n</head>\n<body>\n<header><h1>{title}</h1>\n\
         <p>Every update record of the SOFTWARE hive compared with the live files.</p></header>",
        h(ex.version),
        crate::html::STYLE
    )?;
    crate::html::examination(w, ex)?;
    writeln!(
        w,
        "<section id=\"summary\"><h2>Summary</h2><p>{}</p></section>",
        ev(&report.counts.sentence())
    )?;
    for (i, r) in report.roots.iter().enumerate() {
        writeln!(
            w,
            "<section class=\"root\" id=\"root-{i}\"><h2>{}</h2>",
            path(&r.root)
        )?;
        let mut rows = vec![(
            "audit",
            if r.audit.audited {
                ev(&r.audit.counts.sentence())
            } else {
                "not audited".to_owned()
            },
        )];
        if let Some(d) = &r.windir {
            rows.push(("Windows folder", path(d)));
        }
        for e in &r.errors {
            rows.push(("error", format!("<span class=\"error\">{}</span>", ev(e))));
        }
        for n in &r.audit.notes {
            rows.push(("note", ev(n)));
        }
        crate::html::kv(w, &rows)?;
        if r.audit.updates.is_empty() {
            writeln!(w, "</section>")?;
            continue;
        }
        writeln!(
            w,
            "<table class=\"findings\"><thead><tr><th>update</th><th>status</th><th>file</th>\
             <th>recorded</th><th>live</th><th>file status</th><th>note</th></tr></thead><tbody>"
        )?;
        for u in &r.audit.updates {
            let head = format!(
                "<td>{}<br><span class=\"hash\">{}</span></td><td>{}</td>",
                ev(&u.update),
                ev(&u.key),
                h(u.status.as_str())
            );
            if u.files.is_empty() {
                writeln!(w, "<tr>{head}<td colspan=\"5\">no file list</td></tr>")?;
            }
            for f in &u.files {
                let at = match &f.path {
                    Some(p) => path(p),
                    None => ev(&format!(
                        "{}\\{}",
                        f.location.as_deref().unwrap_or("?"),
                        f.name.as_deref().unwrap_or("?")
                    )),
                };
                let mut note = f.reason.as_deref().map(ev).unwrap_or_default();
                if let Some(n) = &f.newer_by {
                    note = format!("as recorded by {}", ev(n));
                }
                if let Some(p) = &f.pending_reboot {
                    if !note.is_empty() {
                        note.push_str("; ");
                    }
                    note.push_str(&ev(&p.describe()));
                }
                writeln!(
                    w,
                    "<tr>{head}<td>{at}</td><td>{}</td><td>{}</td><td>{}</td><td>{note}</td></tr>",
                    ev(f.recorded_version.as_deref().unwrap_or("-")),
                    ev(f.live_version.as_deref().unwrap_or("-")),
                    h(f.status.as_str()),
                )?;
            }
        }
        writeln!(w, "</tbody></table></section>")?;
    }
    writeln!(w, "</body>\n</html>")?;
    Ok(())
}

/// The timeline has nothing to put on a time line here.
pub fn no_timeline() -> Error {
    Error::Usage(
        "--format timeline has no times for the update audit (a record's InstalledDate is \
         local text of no known zone); use table, csv, json, jsonl or html"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::examination::{Examination, Executable};
    use crate::model::time::Timestamp;
    use crate::model::updates::{AuditCounts, AuditedRoot, SystemAudit};
    use crate::model::ToolInfo;

    /// A report whose record texts come from a hostile hive.
    fn hostile() -> UpdatesReport {
        let file = AuditedFile {
            entry: "0".into(),
            name: Some("=cmd|' /C calc'!A0".into()),
            location: Some("%SystemRoot%\\x1b".into()),
            recorded_version: Some("1.0\u{1b}[2J".into()),
            path: None,
            live_version: None,
            status: FileStatus::Missing,
            newer_by: None,
            reason: Some("no file\r\nfake,row".into()),
            pending_reboot: None,
        };
        let update = AuditedUpdate {
            key: "Microsoft\\Updates\\P\\K\u{202e}".into(),
            update: "K\u{202e}".into(),
            product: "P".into(),
            level: None,
            description: Some("<script>".into()),
            installed_date: None,
            status: UpdateStatus::FileMissing,
            files: vec![file],
        };
        let audit = SystemAudit {
            audited: true,
            counts: AuditCounts::of(std::slice::from_ref(&update)),
            updates: vec![update],
            ..Default::default()
        };
        let ex = Examination {
            tool: "kbscan",
            version: "0",
            executable: Executable::default(),
            command_line: Vec::new(),
            started: Timestamp::from_unix_secs(0),
            finished: Timestamp::from_unix_secs(0),
            host: None,
            case: None,
            examiner: None,
            rules: Vec::new(),
            images: Vec::new(),
        };
        let root = AuditedRoot {
            root: "r".into(),
            windir: Some("WINNT".into()),
            errors: Vec::new(),
            audit,
        };
        UpdatesReport::new(ToolInfo::this(), ex, vec![root])
    }

    #[test]
    fn hostile_record_texts_are_escaped_in_every_format() {
        let r = hostile();
        assert_eq!(r.exit_code, 0, "a missing file alone is not contradicted");
        let mut out = Vec::new();
        table(&r, Style::default(), &mut out).unwrap();
        let t = String::from_utf8(out).unwrap();
        assert!(t.contains("K\\u{202e}"), "{t}");
        assert!(!t.contains('\u{1b}') && !t.contains('\r') && !t.contains('\u{202e}'));
        let mut out = Vec::new();
        csv(&r, false, &mut out).unwrap();
        let c = String::from_utf8(out).unwrap();
        assert_eq!(c.lines().count(), 2, "{c}");
        assert!(c.contains(",'=cmd|"), "formula neutralised: {c}");
        let mut out = Vec::new();
        html(&r, &mut out).unwrap();
        let h = String::from_utf8(out).unwrap();
        assert!(!h.contains('\u{1b}') && !h.contains('\u{202e}'));
        assert!(h.contains("no file\\x0d\\x0afake,row"), "{h}");
        let mut out = Vec::new();
        lines(&r, &mut out).unwrap();
        let l = String::from_utf8(out).unwrap();
        assert!(!l.contains('\u{1b}') && !l.contains("\\u001b"), "{l}");
        assert_eq!(l.lines().count(), 4);
    }
}
