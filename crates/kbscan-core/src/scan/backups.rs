//! A backup file through the driver: every data set of a `.bkf` is a point in time, each of
//! its volumes a root (`backup.bkf#set2`, or `backup.bkf#set2/D:` when the set holds several)
//! scanned like any other source; the file gets its report with each set's verdict at its
//! write date and one line per rule across the sets.

use std::path::Path;

use super::Scanner;
use crate::backup::mtf::{Backup, DataSet, Operation};
use crate::backup::source::{BackupSource, Scope};
use crate::escape::escape_bytes;
use crate::judge::system;
use crate::model::backup::{BackupReport, BackupSet, RuleAcrossSets, SetRuleVerdict};
use crate::model::{combine, PathMessage, RootReport, Verdict};
use crate::source::host::open_evidence;
use crate::source::Source;

fn operation_name(op: Operation) -> &'static str {
    match op {
        Operation::Transfer => "transfer",
        Operation::Copy => "copy",
        Operation::Normal => "normal",
        Operation::Differential => "differential",
        Operation::Incremental => "incremental",
        Operation::Daily => "daily",
    }
}

impl Scanner<'_> {
    /// Scans a backup file: every volume of every set a root, plus the file's own report.
    /// Never fails: a file that cannot be read as MTF gives one unreadable root.
    pub fn backup(
        &self,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> (Vec<RootReport>, BackupReport) {
        let shown = escape_bytes(path.as_os_str().as_encoded_bytes());
        let mut report = BackupReport {
            path: shown.clone(),
            format: "mtf",
            size: None,
            sets: Vec::new(),
            rules: Vec::new(),
            verdict: Verdict::Inconclusive,
            notices: Vec::new(),
            error: None,
        };
        let opened = open_evidence(path).and_then(|f| {
            let len = f.metadata()?.len();
            Ok((f, len))
        });
        let backup = match opened {
            Ok((f, len)) => {
                report.size = Some(len);
                Backup::open(f, len).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let backup = match backup {
            Ok(b) => b,
            Err(e) => {
                let message = format!("cannot read the backup: {e}");
                report.error = Some(message.clone());
                return (vec![self.unreadable(shown, message)], report);
            }
        };
        report.notices = notice_lines(&backup.notices);
        let mut roots = Vec::new();
        for (i, set) in backup.sets.iter().enumerate() {
            let (set_roots, entry) = self.backup_set(&backup, i, set, &shown, progress);
            report.sets.push(entry);
            roots.extend(set_roots);
        }
        if backup.sets.is_empty() {
            let message = "the backup holds no data set".to_owned();
            report.error = Some(message.clone());
            roots.push(self.unreadable(shown, message));
        }
        report.rules = self
            .rules
            .rules
            .iter()
            .map(|r| {
                let per_set: Vec<_> = report
                    .sets
                    .iter()
                    .filter_map(|s| {
                        let v = s.rule_verdicts.iter().find(|v| v.rule == r.id)?;
                        Some((s.number, s.written, v.verdict))
                    })
                    .collect();
                RuleAcrossSets::of(&r.id, &per_set)
            })
            .collect();
        report.verdict = combine(roots.iter().map(|r| r.verdict));
        (roots, report)
    }

    /// One set: its volumes scanned, an incomplete set's roots kept from every clean verdict.
    fn backup_set<R: crate::source::ReadAt>(
        &self,
        backup: &Backup<R>,
        index: usize,
        set: &DataSet,
        shown: &str,
        progress: &mut dyn FnMut(u64),
    ) -> (Vec<RootReport>, BackupSet) {
        // Sets are numbered by their place in the file: the number a set records can repeat.
        let number = u16::try_from(index + 1).unwrap_or(u16::MAX);
        let base = format!("{shown}#set{number}");
        let text =
            |s: Option<&crate::backup::mtf::block::MtfString>| s.map(|s| escape_bytes(&s.bytes()));
        let volumes: Vec<crate::model::backup::BackupVolume> = set
            .volumes
            .iter()
            .map(|v| crate::model::backup::BackupVolume {
                device: text(v.volb.device.as_ref()).unwrap_or_default(),
                volume: text(v.volb.volume.as_ref()),
                machine: text(v.volb.machine.as_ref()),
            })
            .collect();
        let mut notices = notice_lines(&set.notices);
        if set.number() != number {
            notices.push(format!(
                "the set records the number {}; it is the {number}th set in the file",
                set.number()
            ));
        }
        let scopes: Vec<(Scope, String)> = match set.volumes.len() {
            0 => vec![(Scope::Set, base.clone())],
            1 => vec![(Scope::Volume(0), base.clone())],
            _ => (0..set.volumes.len())
                .map(|v| (Scope::Volume(v), format!("{base}/{}", volumes[v].device)))
                .collect(),
        };
        let mut roots = Vec::new();
        let mut time_basis = crate::model::time::TimeBasis::Utc;
        for (scope, name) in scopes {
            let Some(src) = BackupSource::new(backup, index, scope, name.clone()) else {
                continue;
            };
            time_basis = src.time_basis();
            if let Some(note) = time_basis.note() {
                if !notices.iter().any(|n| n == note) {
                    notices.push(note.to_owned());
                }
            }
            let mut found = self.source(&src, name, progress);
            for r in &mut found {
                r.notices.extend(src.unplaced.iter().map(|u| PathMessage {
                    path: String::new(),
                    message: format!(
                        "an entry at offset {} of the backup is not placed: {}",
                        u.offset, u.why
                    ),
                }));
            }
            roots.extend(found);
        }
        let origin = crate::model::backup::BackupOrigin {
            path: shown.to_owned(),
            set: number,
            written: set.write_date().and_then(|d| d.timestamp()),
        };
        for r in &mut roots {
            r.backup = Some(origin.clone());
        }
        let complete = set.complete();
        // An incremental, differential or daily set holds only the files changed since an
        // earlier backup, and a set whose kind is not recorded may be one: a file it lacks
        // may be on the system all the same.
        let partial = match set.operation() {
            Some(Operation::Normal | Operation::Copy | Operation::Transfer) => None,
            Some(op) => Some(format!(
                "a{} {} set holds only the files changed since an earlier backup",
                if op == Operation::Incremental {
                    "n"
                } else {
                    ""
                },
                operation_name(op)
            )),
            None => Some("the set does not record whether it is a full backup".to_owned()),
        };
        if let Some(why) = &partial {
            for r in &mut roots {
                system::incomplete_backup_set(r, why);
            }
        }
        if !complete {
            let why = match &set.end {
                crate::backup::mtf::SetEnd::Eset { .. } => {
                    "it is marked aborted or damaged, or entries of it could not be read".to_owned()
                }
                crate::backup::mtf::SetEnd::FileEnds => {
                    "the file ends before the set's ESET".to_owned()
                }
                crate::backup::mtf::SetEnd::NextMedium { .. } => {
                    "it continues on another medium".to_owned()
                }
                crate::backup::mtf::SetEnd::NewSet { .. } => {
                    "a new set starts before its ESET".to_owned()
                }
                crate::backup::mtf::SetEnd::Stopped(why) => format!("reading stopped: {why}"),
            };
            for r in &mut roots {
                system::incomplete_backup_set(r, &why);
            }
        }
        let rule_verdicts = self
            .rules
            .rules
            .iter()
            .map(|rule| SetRuleVerdict {
                rule: rule.id.clone(),
                verdict: combine(
                    roots
                        .iter()
                        .flat_map(|r| r.rule_verdicts.iter())
                        .filter(|v| v.rule == rule.id)
                        .map(|v| v.verdict),
                ),
            })
            .collect();
        let entry = BackupSet {
            number,
            name: text(set.name()),
            description: text(set.description()),
            user: text(set.user()),
            written: set.write_date().and_then(|d| d.timestamp()),
            time_basis,
            operation: set.operation().map(operation_name),
            volumes,
            roots: roots.iter().map(|r| r.root.clone()).collect(),
            complete,
            verdict: combine(roots.iter().map(|r| r.verdict)),
            rule_verdicts,
            notices,
        };
        (roots, entry)
    }
}

fn notice_lines(n: &crate::backup::mtf::Notices) -> Vec<String> {
    // Plain text: the printers escape notices.
    let mut out: Vec<String> = n.list.iter().map(|x| x.to_string()).collect();
    if n.dropped > 0 {
        out.push(format!("{} more notices not kept", n.dropped));
    }
    out
}
