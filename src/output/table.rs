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
use crate::error::Error;
use crate::escape::escape_str as esc;
use crate::model::described::VersionReport;
use crate::model::system::{HiveInfo, SystemEvidence};
use crate::model::{Finding, Report, RootReport, StringTable};
use crate::rules::RuleSet;

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
    let room = WIDTH.saturating_sub(indent).max(20);
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

fn hive_text(h: &HiveInfo) -> String {
    match &h.error {
        Some(e) => format!("{}: {}", h.path, esc(e)),
        None => format!(
            "{} (regf {}, {})",
            h.path,
            esc(h.format_version.as_deref().unwrap_or("?")),
            if h.validated {
                "validated"
            } else {
                "NOT validated: read as found"
            }
        ),
    }
}

/// The registry evidence of a root, when there is any.
fn system_lines(out: &mut dyn Write, sys: &SystemEvidence) -> std::io::Result<()> {
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
        wrapped(out, "   os:       ", 13, &esc(&text))?;
    }
    for (name, hive) in [
        ("SOFTWARE", &sys.software_hive),
        ("SYSTEM", &sys.system_hive),
    ] {
        if let Some(h) = hive {
            wrapped(out, &format!("   {name:<9} "), 13, &hive_text(h))?;
        }
    }
    for rr in &sys.rules {
        for u in &rr.update_records {
            wrapped(
                out,
                "   record:   ",
                13,
                &format!("{} {}", esc(&rr.kb), esc(&u.key)),
            )?;
        }
        for svc in &rr.services {
            let text = format!(
                "{} ({}): {} [{}]",
                esc(&svc.name),
                esc(&svc.file),
                esc(svc.image_path.as_deref().unwrap_or("no ImagePath")),
                svc.start_type.unwrap_or("?")
            );
            wrapped(out, "   service:  ", 13, &text)?;
        }
    }
    for n in &sys.notes {
        wrapped(out, "   registry: ", 13, &esc(n))?;
    }
    Ok(())
}

fn findings_table(root: &RootReport) -> String {
    let mut b = Builder::default();
    b.push_record(["#", "path", "rule", "status", "location", "version", "size"]);
    for (i, f) in root.findings.iter().enumerate() {
        b.push_record([
            (i + 1).to_string(),
            f.path.clone(),
            esc(&f.rule),
            f.status.as_str().to_owned(),
            esc(&f.location.label()),
            esc(&f.version_label()),
            opt(&f.file.size),
        ]);
    }
    render(b)
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

fn evidence(out: &mut dyn Write, i: usize, f: &Finding) -> std::io::Result<()> {
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
        ("modified", file.modified.clone()),
        ("accessed", file.accessed.clone()),
        ("created", file.created.clone()),
        ("changed", file.changed.clone()),
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
        wrapped(
            out,
            &format!("{pad}{:<12}", "note"),
            pad.len() + 12,
            &esc(n),
        )?;
    }
    if let Some(e) = &f.error {
        let kind = f.error_kind.map(|k| k.as_str()).unwrap_or_default();
        let text = format!("{} [{kind}]", esc(e));
        wrapped(out, &format!("{pad}{:<12}", "error"), pad.len() + 12, &text)?;
    }
    Ok(())
}

pub fn scan(report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let rules: Vec<String> = report
        .rules
        .iter()
        .map(|r| format!("{} ({})", esc(&r.id), esc(&r.kb)))
        .collect();
    writeln!(
        out,
        "kbscan {} - rules: {}",
        report.tool.version,
        rules.join(", ")
    )?;
    for root in &report.roots {
        writeln!(out)?;
        writeln!(
            out,
            "== {}: {}",
            root.root,
            root.verdict.as_str().to_uppercase()
        )?;
        for r in &root.reasons {
            wrapped(out, "   - ", 5, &esc(&r.message))?;
        }
        system_lines(out, &root.system)?;
        if root.rule_verdicts.len() > 1 {
            // issue 13: one compact line, one verdict per rule.
            writeln!(out, "   rules: {}", rule_verdicts_line(&root.rule_verdicts))?;
        }
        // issue 14: when each rule's update was installed, and the state at --as-of.
        for rr in &root.system.rules {
            if let Some(i) = &rr.installed {
                let text = format!("{}: {}", rr.rule, i.summary);
                wrapped(out, "   installed: ", 16, &esc(&text))?;
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
            wrapped(out, "   ", 5, &esc(&head))?;
            for r in rules {
                wrapped(out, "     - ", 7, &esc(&r))?;
            }
        }
        if !root.findings.is_empty() {
            writeln!(out, "{}", findings_table(root))?;
            writeln!(out, "  Evidence:")?;
            for (i, f) in root.findings.iter().enumerate() {
                evidence(out, i, f)?;
            }
        }
        for e in &root.errors {
            let at = if e.path.is_empty() { "(root)" } else { &e.path };
            wrapped(out, &format!("  error: {at}: "), 4, &esc(&e.message))?;
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
            image.verdict.as_str().to_uppercase(),
            esc(&image.format),
            image.partition_table.unwrap_or("-"),
            image.volumes.join(", ")
        )?;
        if let Some(e) = &image.error {
            wrapped(out, "   error: ", 10, &esc(e))?;
        }
        for n in &image.notices {
            wrapped(out, "   notice: ", 11, &esc(n))?;
        }
    }
    let s = &report.summary;
    writeln!(out)?;
    let summary = format!(
        "Summary: {} root(s): {} vulnerable, {} patched, {} inconclusive, {} not installed, \
         {} not applicable; \
         findings: {} vulnerable, {} patched, {} unknown version, {} error, {} skipped; \
         {} path error(s); exit code {}",
        s.roots,
        s.verdicts.vulnerable,
        s.verdicts.patched,
        s.verdicts.inconclusive,
        s.verdicts.not_installed,
        s.verdicts.not_applicable,
        s.findings.vulnerable,
        s.findings.patched,
        s.findings.unknown_version,
        s.findings.error,
        s.findings.skipped,
        s.errors,
        s.exit_code
    );
    wrapped(out, "", 0, &summary)?;
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
            ("md5", file.md5.clone()),
            ("modified", file.modified.clone()),
            ("pe", file.pe.as_ref().map(|p| esc(&p.summary()))),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                writeln!(out, "{pad}{k:<16}{v}")?;
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

/// `MS03-022 patched · MS10-025 vulnerable (withdrawn release suspected)`.
pub fn rule_verdicts_line(rvs: &[crate::model::RuleVerdict]) -> String {
    rvs.iter()
        .map(|rv| {
            let withdrawn = rv
                .reasons
                .iter()
                .any(|r| r.code == crate::model::ReasonCode::WithdrawnReleaseSuspected);
            format!(
                "{} {}{}",
                esc(&rv.rule),
                rv.verdict.as_str(),
                if withdrawn {
                    " (withdrawn release suspected)"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The build lineage table.
pub fn lineage(l: &crate::lineage::Lineage, out: &mut dyn Write) -> Result<(), Error> {
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
                f.fixed_version.to_string(),
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
            if let Some(by) = &f.judged_by {
                writeln!(
                    out,
                    "  {}: no sourced fixed version of its own; judged by {} ({})",
                    esc(&f.name),
                    esc(by),
                    f.fixed_version
                )?;
            }
            if let Some(pl) = &f.product_line {
                writeln!(out, "  {}: product line {}", esc(&f.name), esc(pl))?;
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
