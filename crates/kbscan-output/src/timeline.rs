//! `--format timeline` (issue 14): one JSON object per line for every time kbscan read, ready
//! for Timesketch (`message`, `datetime`, `timestamp_desc`, plus `timestamp` in microseconds)
//! with `root`, `rule`, `path`, `source` and, where it applies, `note`. Sorted by time, then
//! root, path and description; `datetime` always has six fractional digits so that a plain
//! text sort (`sort`, `jq -s 'sort_by(.datetime)'`) orders the lines the same way.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use crate::model::described::VersionReport;
use crate::model::installed::{Bound, TimeEvidence, TimeField, TimeSource};
use crate::model::time::{Times, Timestamp};
use crate::model::{FileFacts, Finding, Report};
use crate::Error;

/// One event before it is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    nanos: i128,
    root: String,
    path: String,
    desc: String,
    /// Keeps events apart that share the rest (two log lines at one time).
    disc: usize,
    source: &'static str,
    message: String,
    rules: Vec<String>,
    note: Option<String>,
}

/// RFC 3339 UTC with microseconds, e.g. `2004-03-17T09:15:02.000000Z`; `None` outside years
/// 0000–9999.
fn fixed(nanos: i128) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    ))
}

/// Events keyed by (time, root, path, description): one file matched by several rules gives
/// one event naming them all.
#[derive(Default)]
struct Events(BTreeMap<(i128, String, String, String, usize), Event>);

impl Events {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        time: Option<Timestamp>,
        root: &str,
        path: &str,
        desc: String,
        source: &'static str,
        message: String,
        rule: Option<&str>,
        note: Option<String>,
        disc: usize,
    ) {
        let Some(nanos) = time.map(Timestamp::unix_nanos) else {
            return;
        };
        let key = (nanos, root.to_owned(), path.to_owned(), desc.clone(), disc);
        let e = self.0.entry(key).or_insert_with(|| Event {
            nanos,
            root: root.to_owned(),
            path: path.to_owned(),
            desc,
            disc,
            source,
            message,
            rules: Vec::new(),
            note,
        });
        if let Some(r) = rule {
            if !e.rules.iter().any(|x| x == r) {
                e.rules.push(r.to_owned());
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn file_times(
        &mut self,
        root: &str,
        path: &str,
        ff: &FileFacts,
        source: &'static str,
        what: &str,
        rule: Option<&str>,
        note: Option<&str>,
        si_note: Option<&str>,
    ) {
        let ntfs = ff.name_times.is_some();
        let sets: [(&str, Option<&Times>); 2] = [
            (
                if ntfs { "$SI " } else { "" },
                Some(&Times {
                    modified: ff.modified,
                    accessed: ff.accessed,
                    created: ff.created,
                    changed: ff.changed,
                }),
            ),
            ("$FN ", ff.name_times.as_ref()),
        ];
        for (prefix, times) in sets {
            let Some(t) = times else { continue };
            // Back-dated $STANDARD_INFORMATION times carry the finding's note (issue 14).
            let note = if prefix == "$SI " {
                si_note.or(note)
            } else {
                note
            };
            for (value, desc) in [
                (&t.created, "Creation Time"),
                (&t.modified, "Content Modification Time"),
                (&t.accessed, "Last Access Time"),
                (&t.changed, "Metadata Modification Time"),
            ] {
                let desc = format!("{prefix}{desc}");
                self.add(
                    *value,
                    root,
                    path,
                    desc.clone(),
                    source,
                    format!("{what} {path}: {desc}"),
                    rule,
                    note.map(str::to_owned),
                    0,
                );
            }
        }
        if let Some(pe) = &ff.pe {
            self.add(
                pe.link_time,
                root,
                path,
                "PE Link Time".to_owned(),
                "pe_header",
                format!("{what} {path}: PE link time (COFF header)"),
                rule,
                None,
                0,
            );
        }
    }

    fn finding(&mut self, root: &str, f: &Finding) {
        let fat = f.time_basis.note();
        // The note that says why, carried on the SI times' events.
        let backdated = f.si_backdated.as_deref();
        let (source, what) = if f.is_live() {
            ("live_file", "live file")
        } else {
            ("backup_copy", "backup copy")
        };
        // No comparison or counting here: one event names every rule that judges the file,
        // and those may differ per rule (the table, CSV and JSON give them per finding).
        self.file_times(
            root,
            &f.path,
            &f.file,
            source,
            what,
            Some(&f.rule),
            fat,
            backdated,
        );
    }

    fn evidence(&mut self, root: &str, rule: &str, e: &TimeEvidence) {
        // Every source has its arm: a new kind of evidence cannot be filed under another's
        // label.
        let (source, desc, message) = match (e.source, e.field) {
            // File times come from the findings themselves (all four, SI and FN).
            (TimeSource::LiveFile | TimeSource::BackupCopy, _) => return,
            (TimeSource::UpdateLog, TimeField::LogHeader) => (
                "update_log",
                "Update Log Run Start".to_owned(),
                format!(
                    "update log {}: {}{}",
                    e.path,
                    e.says,
                    if e.bound == Bound::Moment {
                        " (install moment)"
                    } else {
                        ""
                    }
                ),
            ),
            (TimeSource::UpdateLog, _) => (
                "update_log",
                "Update Log Line".to_owned(),
                format!(
                    "update log {}: line {}",
                    e.path,
                    e.line.as_deref().unwrap_or("")
                ),
            ),
            (TimeSource::RegistryKey, _) => (
                "registry_key",
                "Registry Key Last Written".to_owned(),
                format!("registry key {} last written", e.path),
            ),
            (TimeSource::RegistryValue, _) => (
                "registry_value",
                "Registry Installed Date".to_owned(),
                format!("registry value {}: {}", e.path, e.says),
            ),
            // `timestamp_desc` names the log and the record, so that Timesketch keeps two
            // records of one second apart and says where each is.
            (TimeSource::EventLog, TimeField::Boot) => (
                "event_log",
                format!("Boot ({})", log_record(e)),
                format!("event log {}: {}", e.path, e.says),
            ),
            (TimeSource::EventLog, _) => (
                "event_log",
                format!("Event Log Record ({})", log_record(e)),
                format!("event log {}: {}", e.path, e.says),
            ),
            (TimeSource::UninstallFolder, field) => {
                let d = field.file_time_label().unwrap_or(field.as_str());
                (
                    "uninstall_folder",
                    d.to_owned(),
                    format!("uninstall folder {}: {d}", e.path),
                )
            }
        };
        // Log lines are distinct events even when two share a time: the line number.
        let disc = e
            .line
            .as_deref()
            .and_then(|l| l.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        self.add(
            Some(e.time),
            root,
            &e.path,
            desc,
            source,
            message,
            Some(rule),
            e.note.clone(),
            disc,
        );
    }

    fn write(self, w: &mut dyn Write) -> Result<(), Error> {
        let mut events: Vec<Event> = self.0.into_values().collect();
        events.sort();
        for e in events {
            let Some(datetime) = fixed(e.nanos) else {
                continue;
            };
            let mut v = json!({
                "message": e.message,
                "datetime": datetime,
                "timestamp": i64::try_from(e.nanos.div_euclid(1000)).unwrap_or(0),
                "timestamp_desc": e.desc,
                "root": e.root,
                "rule": e.rules.join(" "),
                "path": e.path,
                "source": e.source,
                "data_type": "kbscan:time",
            });
            if let Some(n) = e.note {
                v["note"] = json!(n);
            }
            serde_json::to_writer(&mut *w, &v).map_err(|e| Error::Encode(e.to_string()))?;
            writeln!(w)?;
        }
        Ok(())
    }
}

/// `SysEvent.Evt record 12`: the log's file name and the record number of an event-log
/// piece of evidence (its `line` starts with the record number).
fn log_record(e: &TimeEvidence) -> String {
    let log = e.path.rsplit('/').next().unwrap_or(&e.path);
    match e.line.as_deref().and_then(|l| l.split(':').next()) {
        Some(n) => format!("{log} record {n}"),
        None => log.to_owned(),
    }
}

impl Events {
    /// The pending file rename operations of a root, at the Session Manager key's last-write
    /// time (each was registered no later than that), naming the rules whose live copies
    /// they replace, move or delete.
    fn pending(&mut self, root: &crate::model::RootReport) {
        let Some(p) = &root.system.pending_renames else {
            return;
        };
        for op in &p.operations {
            let rules: Vec<&str> = root
                .findings
                .iter()
                .filter(|f| f.is_live() && (op.replaces(&f.path) || op.removes(&f.path)))
                .map(|f| f.rule.as_str())
                .collect();
            let what = match &op.target {
                Some(t) => format!("{} to replace {t}", op.source),
                None => format!("{} to be deleted", op.source),
            };
            let staged = op
                .staged
                .as_ref()
                .map(|s| match s.version {
                    Some(v) => format!("; staged file version {v}"),
                    None => "; staged file version not read".to_owned(),
                })
                .unwrap_or_default();
            let path = op
                .target_path
                .as_deref()
                .or(op.source_path.as_deref())
                .unwrap_or(&op.source);
            let message = format!(
                "SYSTEM {} pair {}: {what}, waiting for the next boot{staged}",
                p.value, op.pair
            );
            let note = Some("registered no later than this (the Session Manager key's last write); not yet carried out when the image was taken".to_owned());
            if rules.is_empty() {
                self.add(
                    p.key_last_written,
                    &root.root,
                    path,
                    "Pending File Rename Registered".to_owned(),
                    "pending_rename",
                    message,
                    None,
                    note,
                    op.pair,
                );
            } else {
                for r in rules {
                    self.add(
                        p.key_last_written,
                        &root.root,
                        path,
                        "Pending File Rename Registered".to_owned(),
                        "pending_rename",
                        message.clone(),
                        Some(r),
                        note.clone(),
                        op.pair,
                    );
                }
            }
        }
    }
}

/// Every time of a scan.
pub fn scan(report: &Report, w: &mut dyn Write) -> Result<(), Error> {
    let mut ev = Events::default();
    for root in &report.roots {
        for f in &root.findings {
            ev.finding(&root.root, f);
        }
        ev.pending(root);
        for rr in &root.system.rules {
            if let Some(inst) = &rr.installed {
                for e in &inst.evidence {
                    ev.evidence(&root.root, &rr.rule, e);
                }
            }
        }
    }
    // A backup set's write date: the moment its verdicts describe.
    for b in &report.backups {
        for s in &b.sets {
            let verdicts: Vec<String> = s
                .rule_verdicts
                .iter()
                .map(|v| format!("{} {}", v.rule, v.verdict.as_str()))
                .collect();
            ev.add(
                s.written,
                s.roots.first().map_or(&b.path, |r| r),
                "",
                "Backup Set Written".to_owned(),
                "backup_set",
                format!(
                    "backup {} set {}{} written: {}",
                    b.path,
                    s.number,
                    s.name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    verdicts.join(", ")
                ),
                None,
                s.time_basis.note().map(str::to_owned),
                0,
            );
        }
    }
    ev.write(w)
}

/// Every time of `kbscan version`'s files (no root, no rule).
pub fn versions(report: &VersionReport, w: &mut dyn Write) -> Result<(), Error> {
    let mut ev = Events::default();
    for f in &report.files {
        ev.file_times("", &f.path, &f.file, "file", "file", None, None, None);
        // The times a signature states (present, not verified).
        if let Some(s) = f.authenticode.as_ref().map(|a| &a.signature) {
            let signer = s.signer_subject.as_deref().unwrap_or("unknown signer");
            ev.add(
                s.signing_time,
                "",
                &f.path,
                "Authenticode signingTime".to_owned(),
                "authenticode",
                format!("signed by {signer}, as the signer stated it (present, not verified)"),
                None,
                None,
                0,
            );
            ev.add(
                s.timestamp_time,
                "",
                &f.path,
                "Authenticode counter-signature time".to_owned(),
                "authenticode",
                format!(
                    "time-stamp ({}) of the signature by {signer} (present, not verified)",
                    s.timestamp_kind.unwrap_or("counter-signature")
                ),
                None,
                None,
                0,
            );
        }
    }
    ev.write(w)
}

/// Timesketch's JSON Lines (rules and lineage, which have no times: plain JSON Lines).
pub(crate) const PRINTER: crate::Printer = crate::Printer {
    name: "timeline",
    help: "One JSON object per time read (file, update log, registry key), sorted, for Timesketch",
    scan: |r, _, w| scan(r, w),
    versions: Some(versions),
    rules: Some(|r, w| crate::json::lines(r.rules.iter(), w)),
    lineage: Some(|l, w| crate::json::lines(l.builds.iter(), w)),
    updates: None,
    sidecar: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_times_sort_as_text() {
        let t = |s| Timestamp::parse(s).unwrap().unix_nanos();
        let a = fixed(t("2004-03-17T09:15:04.5Z")).unwrap();
        let b = fixed(t("2004-03-17T09:15:04Z")).unwrap();
        assert_eq!(a, "2004-03-17T09:15:04.500000Z");
        assert_eq!(b, "2004-03-17T09:15:04.000000Z");
        assert!(b < a);
        assert_eq!(fixed(-1_000_000_000_000_000_000_000), None);
    }
}
