//! `kbscan updates`: the update audit of every root, through the scan's own driver (the same
//! sources, walk, hives and readers), with no rule loaded: each Windows folder's update
//! records are compared with its live files (`kbscan_core::updates`).

use kbscan_core::model::updates::{AuditedRoot, SystemAudit, UpdatesReport};
use kbscan_core::model::ToolInfo;
use kbscan_core::rules::RuleSet;
use kbscan_core::scan::Scanner;

use super::outfile::Inputs;
use super::progress::Progress;
use super::{record, scan_root};
use crate::cli::UpdatesArgs;
use crate::error::Error;

pub(crate) fn run_updates(a: UpdatesArgs) -> Result<i32, Error> {
    let format = a.output.format;
    if format.updates.is_none() {
        return Err(kbscan_output::updates_refused().into());
    }
    let mut inputs = Inputs::default();
    for root in &a.roots {
        inputs.add_root(root);
    }
    if let Some(h) = &a.software_hive {
        inputs.add(h, "the --software-hive file");
    }
    let mut record = record::start(a.case.as_deref(), a.examiner.as_deref());
    let (mut sink, mut sidecar) = super::open_report(&a.output, &inputs)?;
    // No rule: the walk finds no candidate, and the driver reads each Windows folder's hives
    // and audits its update records.
    let rules = RuleSet { rules: Vec::new() };
    let scanner = Scanner::new(&rules, a.settings()).with_update_audit();
    let progress = Progress::new(a.quiet);
    let mut roots = Vec::new();
    let mut images = Vec::new();
    for root in &a.roots {
        let shown = root.display().to_string();
        progress.root(&shown);
        let mut on_entries = |n| progress.entries(&shown, n);
        let scanned = scan_root(&scanner, root, &mut on_entries);
        images.extend(scanned.image);
        for r in scanned.roots {
            roots.push(audited(r));
        }
    }
    progress.finish();
    if !a.quiet {
        for r in &roots {
            for e in &r.errors {
                progress.message(&format!("kbscan: {}: {e}", r.root));
            }
        }
    }
    record::finish(&mut record, &rules, &images);
    let report = UpdatesReport::new(ToolInfo::this(), record, roots);
    let style = super::style(&a.output, false);
    let written = kbscan_output::write_updates(&report, format, style, sink.writer());
    sink.finish(written, &inputs)?;
    if let Some(mut side) = sidecar.take() {
        let written = kbscan_output::write_examination(&report.examination, side.writer());
        side.finish(written, &inputs)?;
    }
    Ok(report.exit_code)
}

/// One scanned root as the audit reports it: its audit (none: nothing was audited, said so),
/// the system's notes about its hives first, and the errors about the root itself.
fn audited(r: kbscan_core::model::RootReport) -> AuditedRoot {
    let mut audit = r.system.updates.unwrap_or_else(|| SystemAudit {
        notes: vec![
            "no Windows folder with hives under this root: no update record was audited".to_owned(),
        ],
        ..SystemAudit::default()
    });
    let mut notes = r.system.notes;
    notes.append(&mut audit.notes);
    audit.notes = notes;
    AuditedRoot {
        root: r.root,
        windir: r.system.windir,
        errors: r
            .errors
            .into_iter()
            .filter(|e| e.path.is_empty())
            .map(|e| e.message)
            .collect(),
        audit,
    }
}
