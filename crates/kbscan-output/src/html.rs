//! HTML: one self-contained, printable page (issue 15). No external asset and no script: the
//! style sheet is inline, and `@media print` starts each root on a new page (A4 or Letter:
//! the page size is left to the printer). Every text from evidence is escaped twice: first
//! losslessly (`escape::escape_str`, names already escaped in the model), then for HTML
//! (`& < > " '`). Paths break only after a `/` (`<wbr>`), never inside a name.
//!
//! Over 400 lines: the page is one document (record, summary, per-root sections, findings,
//! install-time evidence) with its style sheet; each part is a short function here.

use std::io::Write;

use super::opt;
use crate::escape::escape_str as esc;
use crate::model::{Finding, Report, RootReport, Verdict};
use crate::words::{decisive, hive_text, rule_cell, rule_heads, rule_verdicts_line};
use crate::Error;

pub(crate) const STYLE: &str = r#"
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; margin: 1.5em; color: #111; }
h1 { font-size: 16pt; margin: 0 0 .3em; } h2 { font-size: 13pt; margin: 1.2em 0 .4em; }
h3 { font-size: 11pt; margin: .9em 0 .3em; }
table { border-collapse: collapse; margin: .3em 0 .8em; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
table.kv th { background: none; border: none; font-weight: 600; padding-left: 0; white-space: nowrap; }
table.kv td { border: none; }
.mono, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; }
.hash { overflow-wrap: anywhere; }
.seg { white-space: nowrap; }
.v { font-weight: 700; padding: 0 .3em; border-radius: 3px; }
.v-vulnerable { color: #fff; background: #b00020; }
.v-inconclusive { color: #000; background: #f2c200; }
.v-patched { color: #fff; background: #1b7a2e; }
.v-not_installed, .v-not_applicable { color: #333; background: #ddd; }
.finding { border-left: 3px solid #bbb; padding-left: .6em; margin: .6em 0; break-inside: avoid; }
.error { color: #b00020; }
footer { margin-top: 2em; font-size: 8pt; color: #555; }
@page { margin: 14mm; }
@media print {
  body { margin: 0; font-size: 9pt; }
  section.root { break-before: page; page-break-before: always; }
  .v { -webkit-print-color-adjust: exact; }
}
"#;

/// `& < > " '` as entities: the text is already free of control characters.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An escaped evidence text (not a name) for HTML.
fn ev(text: &str) -> String {
    html(&esc(text))
}

/// A `/`-separated name (already escaped) that breaks only after a `/`.
pub(crate) fn path(p: &str) -> String {
    let segs: Vec<String> = p
        .split_inclusive('/')
        .map(|s| format!("<span class=\"seg\">{}</span>", html(s)))
        .collect();
    format!("<span class=\"mono\">{}</span>", segs.join("<wbr>"))
}

fn verdict(v: Verdict) -> String {
    format!(
        "<span class=\"v v-{0}\">{1}</span>",
        v.as_str(),
        v.as_str().to_uppercase()
    )
}

pub(crate) fn kv(out: &mut dyn Write, rows: &[(&str, String)]) -> std::io::Result<()> {
    writeln!(out, "<table class=\"kv\">")?;
    for (k, v) in rows {
        writeln!(out, "<tr><th>{}</th><td>{v}</td></tr>", html(k))?;
    }
    writeln!(out, "</table>")
}

pub(crate) fn examination(
    out: &mut dyn Write,
    ex: &crate::model::Examination,
) -> std::io::Result<()> {
    writeln!(out, "<section id=\"examination\"><h2>Examination</h2>")?;
    let exe = &ex.executable;
    let mut rows = vec![(
        "kbscan",
        format!(
            "{} {} <span class=\"hash\">sha256 {}</span>{}",
            html(ex.version),
            exe.path.as_deref().map(path).unwrap_or_default(),
            html(exe.sha256.as_deref().unwrap_or("-")),
            exe.error
                .as_deref()
                .map(|e| format!(" (not hashed: {})", html(e)))
                .unwrap_or_default()
        ),
    )];
    if let Some(c) = &ex.case {
        rows.push(("case", html(c)));
    }
    if let Some(e) = &ex.examiner {
        rows.push(("examiner", html(e)));
    }
    rows.push(("host", html(ex.host.as_deref().unwrap_or("?"))));
    rows.push(("started", html(&ex.started.to_string())));
    rows.push(("finished", html(&ex.finished.to_string())));
    rows.push((
        "command line",
        format!(
            "<span class=\"mono\">{}</span>",
            html(&ex.command_line.join(" "))
        ),
    ));
    for r in &ex.rules {
        rows.push((
            "rule",
            format!(
                "{} {} <span class=\"hash\">sha256 {}</span>",
                html(&r.id),
                html(&r.source),
                html(&r.sha256)
            ),
        ));
    }
    for i in &ex.images {
        rows.push((
            "image",
            format!(
                "{}: {} <span class=\"hash\">({})</span>",
                path(&i.path),
                html(i.status.as_str()),
                html(&i.detail)
            ),
        ));
    }
    kv(out, &rows)?;
    writeln!(out, "</section>")
}

/// The summary matrix: one row per root, its overall verdict, its verdict for each loaded
/// rule (a column headed `MS04-008 (KB832359)`), the reason that decided it; then the counts.
fn summary(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "<section id=\"summary\"><h2>Summary</h2>")?;
    let heads = rule_heads(report);
    let rule_ths: String = heads
        .iter()
        .map(|(id, kb)| format!("<th>{} {}</th>", html(id), html(kb)))
        .collect();
    // `--as-of`: the date's answer leads, before today's verdict.
    let dated = report.summary.as_of.as_ref();
    let (at_th, verdict_th) = match dated {
        Some(a) => (
            format!("<th>as of {}</th>", html(&a.date.to_string())),
            "verdict today",
        ),
        None => (String::new(), "verdict"),
    };
    writeln!(
        out,
        "<table><thead><tr><th>root</th>{at_th}<th>{verdict_th}</th>{rule_ths}\
         <th>decisive reason</th></tr></thead><tbody>"
    )?;
    let at_td = |state: Option<&str>| match dated {
        Some(_) => format!("<td>{}</td>", html(&state.unwrap_or("-").to_uppercase())),
        None => String::new(),
    };
    for (i, root) in report.roots.iter().enumerate() {
        let cells: String = heads
            .iter()
            .map(|(id, _)| match rule_cell(root, id) {
                (text, Some(v)) => format!(
                    "<td><span class=\"v v-{}\">{}</span></td>",
                    v.as_str(),
                    html(&text)
                ),
                (text, None) => format!("<td>{}</td>", html(&text)),
            })
            .collect();
        writeln!(
            out,
            "<tr><td><a href=\"#root-{}\">{}</a></td>{}<td>{}</td>{cells}<td>{}</td></tr>",
            i + 1,
            path(&root.root),
            at_td(root.as_of.as_ref().map(|a| a.state.as_str())),
            verdict(root.verdict),
            html(&decisive(root))
        )?;
    }
    for b in &report.backups {
        writeln!(
            out,
            "<tr><td>backup {}</td>{}<td>{}</td>{}<td>sets: {}{}</td></tr>",
            path(&b.path),
            at_td(None),
            verdict(b.verdict),
            "<td>-</td>".repeat(heads.len()),
            b.sets.len(),
            b.error
                .as_deref()
                .map(|e| format!("; {}", ev(e)))
                .unwrap_or_default()
        )?;
    }
    for image in &report.images {
        writeln!(
            out,
            "<tr><td>image {}</td>{}<td>{}</td>{}<td>volumes: {}{}</td></tr>",
            path(&image.path),
            at_td(None),
            verdict(image.verdict),
            "<td>-</td>".repeat(heads.len()),
            html(&image.volumes.join(", ")),
            image
                .error
                .as_deref()
                .map(|e| format!("; {}", ev(e)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "<p>{}.</p>", report.summary.sentence())?;
    writeln!(out, "</section>")
}

/// Event-log records listed per rule in the HTML report (a server's log holds hundreds of
/// boots); the JSON report and the timeline hold every one.
const MAX_EVENT_ROWS: usize = 40;

fn registry(out: &mut dyn Write, root: &RootReport) -> std::io::Result<()> {
    let sys = &root.system;
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(w) = &sys.windir {
        rows.push(("windir", path(w)));
    }
    let os = &sys.os;
    if os.current_version.is_some() || os.product_type.is_some() {
        rows.push((
            "os",
            ev(&format!(
                "{} (NT {}, build {}, {}), product type {}",
                os.product_name.as_deref().unwrap_or("Windows"),
                os.current_version.as_deref().unwrap_or("?"),
                os.build.as_deref().unwrap_or("?"),
                os.csd_version.as_deref().unwrap_or("no service pack"),
                os.product_type.as_deref().unwrap_or("?")
            )),
        ));
    }
    for w in &os.wrong_type {
        rows.push((
            "wrong type",
            ev(&format!(
                "{}: {} expected, {} found ({})",
                w.value, w.expected, w.found, w.data
            )),
        ));
    }
    if let Some(h) = &sys.software_hive {
        rows.push(("SOFTWARE", html(&hive_text(h))));
    }
    if let Some(h) = &sys.system_hive {
        rows.push(("SYSTEM", html(&hive_text(h))));
    }
    for rr in &sys.rules {
        for u in &rr.update_records {
            rows.push(("update record", ev(&format!("{} {}", rr.kb, u.key))));
        }
        for svc in &rr.services {
            rows.push((
                "service",
                ev(&format!(
                    "{}: {} ({}, {}): {} [{}]",
                    rr.rule,
                    svc.name,
                    svc.file,
                    svc.matched_by.as_text(),
                    svc.image_path.as_deref().unwrap_or("no ImagePath"),
                    svc.start.name().unwrap_or("?")
                )),
            ));
        }
        // issue 14: when the update was installed.
        if let Some(i) = &rr.installed {
            rows.push(("installed", ev(&format!("{}: {}", rr.rule, i.summary))));
        }
        if let Some(u) = &rr.uninstall_dir {
            rows.push(("uninstall folder", ev(&format!("{}: {u}", rr.rule))));
        }
        // The event log's records (mentions of the update, boots): the first ones here, all of
        // them in JSON and the timeline.
        if let Some(i) = &rr.installed {
            let events: Vec<_> = i
                .evidence
                .iter()
                .filter(|e| e.source == crate::model::installed::TimeSource::EventLog)
                .collect();
            for e in events.iter().take(MAX_EVENT_ROWS) {
                rows.push((
                    "event log",
                    ev(&format!(
                        "{}: {} {}: {}{}",
                        rr.rule,
                        e.path,
                        e.time,
                        e.says,
                        e.note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    )),
                ));
            }
            if events.len() > MAX_EVENT_ROWS {
                rows.push((
                    "event log",
                    ev(&format!(
                        "{}: {} more event-log records in the JSON report and the timeline",
                        rr.rule,
                        events.len() - MAX_EVENT_ROWS
                    )),
                ));
            }
        }
    }
    // Renames and deletions waiting for the next boot.
    if let Some(p) = &sys.pending_renames {
        for op in &p.operations {
            let what = match &op.target {
                Some(t) => format!("{} → {t}", op.source),
                None => format!("{} → (delete)", op.source),
            };
            let staged = match &op.staged {
                Some(st) => match (st.version, &st.error) {
                    (Some(v), _) => format!("; staged file {} version {v}", st.path),
                    (None, e) => format!(
                        "; staged file {}: {}",
                        st.path,
                        e.as_deref().unwrap_or("version not read")
                    ),
                },
                None => String::new(),
            };
            let placed = match (&op.unresolved, &op.target_path) {
                (Some(u), _) => format!("; not placed: {u}"),
                (None, Some(t)) => format!("; replaces {t}"),
                _ => String::new(),
            };
            rows.push((
                "pending rename",
                ev(&format!("pair {}: {what}{staged}{placed}", op.pair)),
            ));
        }
        if let Some(t) = p.key_last_written {
            rows.push((
                "pending rename",
                ev(&format!(
                    "{}: registered no later than {t} (the Session Manager key's last write), not yet carried out",
                    p.value
                )),
            ));
        }
    }
    for n in &sys.notes {
        rows.push(("note", ev(n)));
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h3>Registry and Windows folder</h3>")?;
    kv(out, &rows)
}

/// One file's evidence, printed once however many rules judge it: a table of the rules that
/// judge it (each finding's rule, status and location, fixed version, notes and error), then
/// the file's own facts (versions, size, hashes, times, PE header, path, string tables).
/// `numbers`: the findings' numbers in the root's findings table, each an anchor
/// (`root-R-fN`) the table links to.
fn file_block(
    out: &mut dyn Write,
    root_no: usize,
    numbers: &[usize],
    group: &[&Finding],
) -> std::io::Result<()> {
    let Some(f) = group.first() else {
        return Ok(());
    };
    let first = numbers.first().copied().unwrap_or(0);
    let shown: Vec<String> = numbers.iter().map(ToString::to_string).collect();
    write!(
        out,
        "<div class=\"finding\" id=\"root-{root_no}-f{first}\">"
    )?;
    for n in numbers.iter().skip(1) {
        write!(out, "<span id=\"root-{root_no}-f{n}\"></span>")?;
    }
    writeln!(out, "<h3>[{}] {}</h3>", shown.join(", "), path(&f.path))?;
    writeln!(
        out,
        "<table class=\"judged\"><thead><tr><th>#</th><th>rule</th><th>status</th>\
         <th>judged</th><th>fixed in</th><th>notes</th></tr></thead><tbody>"
    )?;
    for (n, g) in numbers.iter().zip(group) {
        let loc = match &g.location.folder {
            Some(folder) => format!("{} ({})", ev(&g.location.label()), html(folder)),
            None => ev(&g.location.label()),
        };
        let mut notes: Vec<String> = g.notes.iter().map(|n| ev(n)).collect();
        if let Some(s) = &g.service_image {
            notes.push(format!("service: {}", ev(s)));
        }
        // The lineage, unless a note says it already.
        if let Some(l) = g.lineage.as_ref().filter(|l| !g.notes.contains(&l.text)) {
            notes.push(format!("lineage: {}", ev(&l.text)));
        }
        if let Some(e) = &g.error {
            let kind = g.error_kind.map(|k| k.as_str()).unwrap_or_default();
            notes.push(format!(
                "<span class=\"error\">{} [{}]</span>",
                ev(e),
                html(kind)
            ));
        }
        writeln!(
            out,
            "<tr><td>{n}</td><td>{}</td><td>{} ({loc})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ev(&format!("{} {} ({})", g.rule, g.kb, g.target)),
            html(g.status.as_str()),
            html(&format!(
                "{}, {}",
                g.comparison.as_str().replace('_', " "),
                g.counting.label()
            )),
            html(&g.required_version.to_string()),
            notes.join("<br>")
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    let file = &f.file;
    let hash = |h: &Option<String>| {
        h.as_deref()
            .map(|h| format!("<span class=\"hash\">{}</span>", html(h)))
    };
    let text = |t: &Option<crate::model::time::Timestamp>| t.map(|t| html(&t.to_string()));
    let rows: Vec<(&str, Option<String>)> = vec![
        ("version", Some(ev(&f.version_label()))),
        (
            "file version",
            Some(ev(&format!(
                "{} (numeric), {} (string)",
                opt(&f.file_version),
                f.file_version_string.as_deref().unwrap_or("-")
            ))),
        ),
        (
            "product version",
            Some(ev(&format!(
                "{} (numeric), {} (string)",
                opt(&f.product_version),
                f.product_version_string.as_deref().unwrap_or("-")
            ))),
        ),
        ("size", file.size.map(|s| format!("{s} bytes"))),
        ("sha256", hash(&file.sha256)),
        ("md5", hash(&file.md5)),
        ("modified", text(&file.modified)),
        ("accessed", text(&file.accessed)),
        ("created", text(&file.created)),
        ("changed", text(&file.changed)),
        ("pe", file.pe.as_ref().map(|p| ev(&p.summary()))),
        ("link", f.link_target.as_deref().map(path)),
        ("path", Some(path(&f.abs_path))),
    ];
    let rows: Vec<(&str, String)> = rows
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    kv(out, &rows)?;
    for t in &f.string_tables {
        writeln!(
            out,
            "<table><caption>strings [{}]</caption><tbody>",
            ev(&t.key)
        )?;
        for (k, v) in &t.strings {
            writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", ev(k), ev(v))?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</div>")
}

/// The findings of a root grouped by file (its path in the root, and the file read: the same
/// size and hash), in the order of their first finding, with their numbers (from 1).
fn by_file(findings: &[Finding]) -> Vec<(Vec<usize>, Vec<&Finding>)> {
    let mut groups: Vec<(Vec<usize>, Vec<&Finding>)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let same = |g: &&Finding| {
            g.path == f.path
                && g.abs_path == f.abs_path
                && g.file.sha256 == f.file.sha256
                && g.file.size == f.file.size
        };
        match groups.iter_mut().find(|(_, g)| g.first().is_some_and(same)) {
            Some((numbers, g)) => {
                numbers.push(i + 1);
                g.push(f);
            }
            None => groups.push((vec![i + 1], vec![f])),
        }
    }
    groups
}

fn root_section(out: &mut dyn Write, i: usize, root: &RootReport) -> std::io::Result<()> {
    writeln!(
        out,
        "<section class=\"root\" id=\"root-{}\"><h2>{} {}</h2>",
        i + 1,
        path(&root.root),
        verdict(root.verdict)
    )?;
    if let Some(p) = &root.parent_root {
        writeln!(
            out,
            "<p>a Windows installation on the volume {}</p>",
            path(p)
        )?;
    }
    if let Some(img) = &root.image {
        writeln!(
            out,
            "<p>volume {} of the image {} ({}, {}, offset {}, {} bytes)</p>",
            html(&img.volume),
            path(&img.path),
            html(img.partition_table.as_str()),
            html(img.filesystem),
            img.offset,
            img.length
        )?;
    }
    if !root.reasons.is_empty() {
        writeln!(out, "<h3>Reasons</h3><ul>")?;
        for r in &root.reasons {
            writeln!(
                out,
                "<li><span class=\"mono\">{}{}</span>: {}</li>",
                html(&r.rule_prefix()),
                html(r.code.as_str()),
                ev(&r.message)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    if root.rule_verdicts.len() > 1 {
        writeln!(
            out,
            "<p>rules: {}</p>",
            html(&rule_verdicts_line(&root.rule_verdicts))
        )?;
    }
    // issue 14: the state at --as-of.
    if let Some(a) = &root.as_of {
        writeln!(
            out,
            "<h3>As of {}: {}</h3><ul>",
            ev(&a.date.to_string()),
            html(a.state.as_str())
        )?;
        for r in &a.rules {
            let why: Vec<&str> = r.reasons.iter().map(|x| x.message.as_str()).collect();
            writeln!(
                out,
                "<li>{} {}: {}</li>",
                ev(&r.rule),
                html(r.state.as_str()),
                ev(&why.join("; "))
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    registry(out, root)?;
    if !root.findings.is_empty() {
        writeln!(
            out,
            "<h3>Findings</h3><table><thead><tr><th>#</th><th>path</th><th>rule</th>\
             <th>status</th><th>location</th><th>version</th><th>size</th></tr></thead><tbody>"
        )?;
        for (n, f) in root.findings.iter().enumerate() {
            writeln!(
                out,
                "<tr><td><a href=\"#root-{}-f{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                i + 1,
                n + 1,
                n + 1,
                path(&f.path),
                ev(&f.rule),
                html(&f.status_label()),
                ev(&f.location.label()),
                ev(&f.version_label()),
                opt(&f.file.size)
            )?;
        }
        // Each file once, with every rule that judges it (a file named by three rules is
        // one block, not three copies of its hashes, times and strings).
        writeln!(out, "</tbody></table><h3>Evidence</h3>")?;
        for (numbers, group) in by_file(&root.findings) {
            file_block(out, i + 1, &numbers, &group)?;
        }
    }
    if !root.errors.is_empty() || !root.notices.is_empty() {
        writeln!(out, "<h3>Errors and notices</h3><ul>")?;
        for e in &root.errors {
            let at = if e.path.is_empty() { "(root)" } else { &e.path };
            writeln!(
                out,
                "<li class=\"error\">error: {}: {}</li>",
                path(at),
                ev(&e.message)
            )?;
        }
        for n in &root.notices {
            writeln!(
                out,
                "<li>notice: {}: {}</li>",
                path(&n.path),
                ev(&n.message)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(
        out,
        "<p>{} entries walked, {} candidates.</p></section>",
        root.stats.entries, root.stats.candidates
    )
}

pub fn scan(report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let ex = &report.examination;
    let title = match &ex.case {
        Some(c) => format!("kbscan report, case {}", html(c)),
        None => "kbscan report".to_owned(),
    };
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"generator\" content=\"kbscan {}\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{title}</h1>\n\
         <p>rules: {}</p></header>",
        html(ex.version),
        report
            .rules
            .iter()
            .map(|r| ev(&format!("{} ({})", r.id, r.kb)))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    examination(out, &report.examination)?;
    summary(out, report)?;
    for (i, root) in report.roots.iter().enumerate() {
        root_section(out, i, root)?;
    }
    if !report.images.is_empty() {
        writeln!(out, "<section id=\"images\"><h2>Disk images</h2>")?;
        for image in &report.images {
            let mut rows = vec![
                ("verdict", verdict(image.verdict)),
                ("format", ev(&image.format)),
                ("container", html(image.container)),
                ("segments", image.segments.to_string()),
                ("size", opt(&image.size)),
                (
                    "partition table",
                    html(image.partition_table.map_or("-", |t| t.as_str())),
                ),
                ("volumes", html(&image.volumes.join(", "))),
            ];
            if let Some(v) = &image.verification {
                rows.push((
                    "verification",
                    format!(
                        "{} <span class=\"hash\">({})</span>",
                        html(v.status.as_str()),
                        ev(&v.detail)
                    ),
                ));
            }
            if let Some(m) = &image.container_metadata {
                for (k, v) in [
                    ("case number", &m.case_number),
                    ("evidence number", &m.evidence_number),
                    ("examiner", &m.examiner),
                    ("description", &m.description),
                    ("notes", &m.notes),
                    ("acquired", &m.acquisition_date),
                    ("stored md5", &m.stored_md5),
                    ("stored sha1", &m.stored_sha1),
                ] {
                    if let Some(v) = v {
                        rows.push((k, ev(v)));
                    }
                }
            }
            if let Some(e) = &image.error {
                rows.push(("error", format!("<span class=\"error\">{}</span>", ev(e))));
            }
            for n in &image.notices {
                rows.push(("notice", ev(n)));
            }
            writeln!(out, "<h3>{}</h3>", path(&image.path))?;
            kv(out, &rows)?;
        }
        writeln!(out, "</section>")?;
    }
    if !report.backups.is_empty() {
        writeln!(out, "<section id=\"backups\"><h2>Backups</h2>")?;
        for b in &report.backups {
            let mut rows = vec![
                ("verdict", verdict(b.verdict)),
                ("format", html(b.format)),
                ("size", opt(&b.size)),
            ];
            for s in &b.sets {
                rows.push((
                    "set",
                    format!(
                        "{} {} ({}{}{}): {}",
                        s.number,
                        html(s.name.as_deref().unwrap_or("(no name)")),
                        s.written.map_or_else(
                            || "write date unknown".to_owned(),
                            |t| format!("written {t}")
                        ),
                        s.operation.map(|o| format!(", {o}")).unwrap_or_default(),
                        if s.complete {
                            ""
                        } else {
                            ", <span class=\"error\">incomplete</span>"
                        },
                        verdict(s.verdict)
                    ),
                ));
                for n in &s.notices {
                    rows.push(("notice", ev(n)));
                }
            }
            for r in &b.rules {
                rows.push(("rule", format!("{}: {}", html(&r.rule), html(&r.text))));
            }
            if let Some(e) = &b.error {
                rows.push(("error", format!("<span class=\"error\">{}</span>", ev(e))));
            }
            for n in &b.notices {
                rows.push(("notice", ev(n)));
            }
            writeln!(out, "<h3>{}</h3>", path(&b.path))?;
            kv(out, &rows)?;
        }
        writeln!(out, "</section>")?;
    }
    writeln!(
        out,
        "<footer>kbscan {}; examination {} to {}.</footer>\n</body>\n</html>",
        html(ex.version),
        html(&ex.started.to_string()),
        html(&ex.finished.to_string())
    )?;
    Ok(())
}

/// The printable report page: for scans only.
pub(crate) const PRINTER: crate::Printer = crate::Printer {
    name: "html",
    help: "One self-contained, printable HTML page (scan only)",
    scan: |r, _, w| scan(r, w),
    versions: None,
    rules: None,
    lineage: None,
    updates: Some(|r, _, w| crate::updates::html(r, w)),
    sidecar: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_the_five_characters() {
        assert_eq!(
            html(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(ev("a\u{1b}<b>"), "a\\x1b&lt;b&gt;");
    }

    #[test]
    fn paths_break_only_after_a_slash() {
        let p = path("WINNT/system32/Windows Media/Nscm.exe");
        assert_eq!(p.matches("<wbr>").count(), 3);
        assert!(p.contains("<span class=\"seg\">Windows Media/</span>"));
        assert!(path("a<b/c").contains("a&lt;b/"));
    }
}
