//! The driver: any evidence source from walk to verdict, the same way whatever it is —
//! walk → candidates → evidence (stat, bounded read, PE and version) → registry facts →
//! judgement → a `RootReport`. A folder is one source; a disk image is opened by `image`
//! into volumes, each a source scanned as its own root.

mod backups;
mod images;
mod systems;

use std::path::Path;

use crate::escape::escape_bytes;
use crate::evidence::inspect::{self, FileEvidence};
use crate::filter::NameMatcher;
use crate::judge::findings::{self, CandidateInput, Outcome};
use crate::judge::system::{self, RootOutcome};
use crate::model::{Finding, PathMessage, Reason, RootReport, SystemEvidence, WalkStats};
use crate::registry::{self, HiveArgs};
use crate::rules::RuleSet;
use crate::source::host::HostSource;
use crate::source::{Source, SourceError};
use crate::walk::{self, Event};

/// How to scan, decided before anything runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Candidates larger than this are not read.
    pub max_size: u64,
    /// Hives given on the command line instead of found under the root.
    pub hives: HiveArgs,
    /// Follow symbolic links whose target stays inside a folder root.
    pub follow_symlinks: bool,
    /// Threads walking a folder.
    pub threads: usize,
    /// Walk folders on other mounts (another device, a bind mount) inside a folder root.
    pub cross_mounts: bool,
    /// Check a container's stored hashes or checksums before scanning it (`--verify-image`).
    pub verify_image: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_size: inspect::DEFAULT_MAX_SIZE,
            hives: HiveArgs::default(),
            follow_symlinks: false,
            threads: walk::default_threads(),
            cross_mounts: false,
            verify_image: false,
        }
    }
}

/// What a scan needs besides its source: the rules, the names they match, the settings.
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    pub rules: &'a RuleSet,
    pub matcher: NameMatcher,
    pub settings: Settings,
    /// Also audit every update record of each Windows folder (`kbscan updates`), into
    /// `SystemEvidence::updates`.
    pub audit_updates: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(rules: &'a RuleSet, settings: Settings) -> Self {
        Self {
            rules,
            matcher: NameMatcher::new(rules),
            settings,
            audit_updates: false,
        }
    }

    /// This scanner, auditing every update record of each Windows folder it meets
    /// (`crate::updates`) on the same walk, hives and readers.
    pub fn with_update_audit(mut self) -> Self {
        self.audit_updates = true;
        self
    }

    /// Scans a folder on the host as one root (several entries when it holds several Windows
    /// installations: the root, then `ROOT#WINNT`, `ROOT#WINDOWS`…).
    pub fn folder(&self, root: &Path, progress: &mut dyn FnMut(u64)) -> Vec<RootReport> {
        let src = HostSource::new(root, self.settings.follow_symlinks, self.settings.threads)
            .cross_mounts(self.settings.cross_mounts);
        let name = escape_bytes(root.as_os_str().as_encoded_bytes());
        // A host folder can be shared between threads: it is walked by several.
        self.collect(&src, name, progress, |sink| match src.threads() {
            1 => walk::sequential(&src, &self.matcher, sink),
            n => walk::parallel(&src, n, &self.matcher, sink),
        })
    }

    /// Scans one source as one root, walking it on this thread (several entries when it holds
    /// several Windows installations).
    pub fn source<S: Source>(
        &self,
        src: &S,
        name: String,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<RootReport> {
        // Image volumes may be damaged or hostile: a folder met twice is damage, and the
        // whole walk is bounded.
        let bounds = walk::Bounds {
            max_entries: Some(crate::image::MAX_VOLUME_ENTRIES),
            revisit_is_damage: true,
        };
        self.collect(src, name, progress, |sink| {
            walk::sequential_bounded(src, &self.matcher, bounds, sink)
        })
    }

    /// Scans one source as one root with the given walk. Never fails: a source whose root
    /// cannot be read gives an `inconclusive` report carrying the error, so one bad root does
    /// not stop a scan of many.
    fn collect<'s, S: Source>(
        &'s self,
        src: &S,
        name: String,
        progress: &mut dyn FnMut(u64),
        walk: impl FnOnce(&mut dyn FnMut(Event<'s, S::Node>)) -> Result<WalkStats, SourceError>,
    ) -> Vec<RootReport> {
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        let mut notices = Vec::new();
        let mut unfollowed = Vec::new();
        let mut not_walked = Vec::new();
        let result = walk(&mut |event| match event {
            Event::Candidate(c) => findings.extend(self.candidate(src, c)),
            Event::Error { parts, message } => errors.push(PathMessage {
                path: findings::parts_text(&parts),
                message,
            }),
            Event::Notice { parts, message } => notices.push(PathMessage {
                path: findings::parts_text(&parts),
                message,
            }),
            // Issue 10 case 6: a link hiding an install folder is a notice and, for the
            // judgement, a place a live copy may be unread.
            Event::Unfollowed { parts, message } => {
                let path = findings::parts_text(&parts);
                unfollowed.push(path.clone());
                notices.push(PathMessage { path, message });
            }
            Event::NotWalked {
                parts,
                message,
                candidate,
            } => {
                let nw = PathMessage {
                    path: findings::parts_text(&parts),
                    message,
                };
                if !candidate {
                    notices.push(nw.clone());
                }
                not_walked.push(nw);
            }
            Event::Progress { entries } => progress(entries),
        });
        let stats = match result {
            Ok(stats) => stats,
            Err(e) => return vec![self.root_error(name, src.root_failure(), &e)],
        };
        unfollowed.sort();
        let mut windirs = registry::find_windirs(src);
        let mut roots = if windirs.len() < 2 {
            // One Windows (or none): one root, exactly as it always was.
            vec![
                self.finish(name, findings, errors, notices, (stats, unfollowed), || {
                    self.system_evidence(src, windirs.pop())
                }),
            ]
        } else {
            self.split(
                src,
                name,
                windirs,
                findings,
                errors,
                notices,
                (stats, unfollowed),
            )
        };
        // Reparse points the source did not walk, on a rule's install path (issue 12).
        for root in &mut roots {
            system::links_on_install_paths(root, self.rules, &not_walked);
        }
        roots
    }

    /// Stats, reads and inspects one candidate, then judges it against every rule file its
    /// name matches.
    fn candidate<S: Source>(&self, src: &S, c: walk::Candidate<'_, S::Node>) -> Vec<Finding> {
        let outcome = match (&c.skip, src.stat(&c.node)) {
            (Some(why), stat) => {
                let stat = stat.unwrap_or_default();
                Outcome::Skipped {
                    why: why.clone(),
                    times: stat.times,
                    size: stat.size,
                }
            }
            (None, Err(e)) => Outcome::Failed(e.into()),
            (None, Ok(stat)) => {
                let size = stat.size.unwrap_or(0);
                let max = self.settings.max_size;
                let evidence: FileEvidence =
                    inspect::evidence_from_reader(size, stat.times.clone(), max, || {
                        src.open(&c.node, size, max).map_err(Into::into)
                    });
                Outcome::Inspected {
                    times: stat.times,
                    size: stat.size,
                    evidence,
                }
            }
        };
        let rel = findings::parts_text(&c.parts);
        let input = CandidateInput {
            abs_path: src.display_path(&rel, &c.parts),
            parts: &c.parts,
            targets: c.targets,
            link_target: c.link_text,
            outcome,
            time_basis: src.time_basis(),
        };
        let mut out = findings::findings_from(self.rules, &input);
        // issue 14: NTFS $FILE_NAME times beside the $STANDARD_INFORMATION ones.
        if let Some(name) = src.node_times(&c.node).and_then(|t| t.name) {
            for f in &mut out {
                f.file.name_times = Some(name.clone());
            }
        }
        out
    }

    /// Everything after the walk: sorting, registry evidence (`system` reads it), verdict.
    /// The system facts of one Windows folder (hives, OS, services, update records, time
    /// zone), then every install-time gatherer's evidence read with them.
    pub(crate) fn system_evidence<S: Source>(
        &self,
        src: &S,
        windir: Option<registry::Windir<S::Node>>,
    ) -> SystemEvidence {
        let facts = registry::gather_at(src, &self.rules.rules, &self.settings.hives, windir);
        let mut ev = facts.evidence;
        let time_zone = ev.time_zone.clone();
        let ctx = crate::installtime::Context::new(
            src,
            facts.windir.as_ref(),
            facts.software.as_ref(),
            time_zone.as_ref(),
        );
        crate::installtime::gather(&ctx, &self.rules.rules, &mut ev);
        if self.audit_updates {
            let mut env = crate::registry::services::ServiceEnv {
                windir: ev.windir.clone(),
                ..Default::default()
            };
            if let Some(h) = facts.software.as_ref() {
                if let Err(e) = h.with_root(|r| crate::registry::services::read_env(r, &mut env)) {
                    ev.notes.push(format!(
                        "SOFTWARE hive: reading ProgramFilesDir/SystemRoot failed: {e}"
                    ));
                }
            }
            // The staged file of any audited target waiting for the next boot.
            let mut notes = Vec::new();
            let pending = facts
                .pending
                .as_ref()
                .map(|v| crate::registry::pending::place_with(src, &env, v, &|_| true, &mut notes));
            ev.updates = Some(crate::updates::audit(
                src,
                facts.software.as_ref(),
                &env,
                self.settings.max_size,
                pending.as_ref(),
            ));
            if let (Some(u), false) = (ev.updates.as_mut(), notes.is_empty()) {
                u.notes.append(&mut notes);
            }
        }
        ev
    }

    fn finish(
        &self,
        root: String,
        mut findings: Vec<Finding>,
        mut errors: Vec<PathMessage>,
        mut notices: Vec<PathMessage>,
        // The walk's counts, and the links on an install path it did not enter (issue 10).
        (stats, unfollowed): (WalkStats, Vec<String>),
        system: impl FnOnce() -> SystemEvidence,
    ) -> RootReport {
        // Deterministic order whatever the directory order was.
        findings.sort_by(|a, b| (&a.path, &a.rule, &a.target).cmp(&(&b.path, &b.rule, &b.target)));
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        notices.sort_by(|a, b| a.path.cmp(&b.path));
        let system = system();
        let outcome = RootOutcome::Scanned {
            unreadable: errors.len(),
            unfollowed,
        };
        let mut j = system::judge_root(self.rules, &mut findings, &outcome, &system);
        // issue 14: install times from the registry evidence and the findings' times.
        let mut system = system;
        // The install-time reasons each rule gets are the ones added to the root: name the
        // rule on the root's copy (the rule's own list is the rule's already).
        let before: Vec<usize> = j.rule_verdicts.iter().map(|v| v.reasons.len()).collect();
        let mut added = Vec::new();
        crate::judge::installed::attach(
            self.rules,
            &mut system,
            &mut findings,
            &mut j.rule_verdicts,
            &mut added,
        );
        j.reasons
            .extend(rule_named(&system, &j.rule_verdicts, &before, added));
        // Updates waiting for a reboot: a reason, the verdicts unchanged.
        crate::judge::pending::attach(
            self.rules,
            system.pending_renames.as_ref(),
            &system,
            &findings,
            &mut j.rule_verdicts,
            &mut j.reasons,
        );
        RootReport {
            root,
            verdict: j.verdict,
            reasons: j.reasons,
            rule_verdicts: j.rule_verdicts,
            findings,
            errors,
            notices,
            stats,
            system,
            image: None,
            parent_root: None,
            backup: None,
            as_of: None, // issue 14: set by app with --as-of
        }
    }

    fn root_error(&self, name: String, what: &str, e: &SourceError) -> RootReport {
        self.unreadable(name, format!("{what}: {e}"))
    }

    /// A root that could not be read at all: `inconclusive`, `root_unreadable`, the error
    /// shown as the root's own (empty path).
    fn unreadable(&self, root: String, message: String) -> RootReport {
        let mut findings = Vec::new();
        let system = SystemEvidence::default();
        let j = system::judge_root(self.rules, &mut findings, &RootOutcome::Unreadable, &system);
        RootReport {
            root,
            verdict: j.verdict,
            reasons: j.reasons,
            rule_verdicts: j.rule_verdicts,
            findings,
            errors: vec![PathMessage {
                path: String::new(),
                message,
            }],
            notices: Vec::new(),
            stats: WalkStats {
                errors: 1,
                ..Default::default()
            },
            system,
            image: None,
            parent_root: None,
            backup: None,
            as_of: None, // issue 14: set by app with --as-of
        }
    }
}

/// The reasons `installed::attach` added to a root (`added`), each named by the rule whose
/// list got it: the rules' new reasons (past `before`) in the order attach visits the rules
/// (the system's). When they do not add up to `added` exactly, `added` is kept as it is.
fn rule_named(
    system: &SystemEvidence,
    rule_verdicts: &[crate::model::RuleVerdict],
    before: &[usize],
    added: Vec<Reason>,
) -> Vec<Reason> {
    let mut named = Vec::new();
    for rr in &system.rules {
        if let Some((i, rv)) = rule_verdicts
            .iter()
            .enumerate()
            .find(|(_, v)| v.rule == rr.rule)
        {
            let from = before.get(i).copied().unwrap_or(rv.reasons.len());
            named.extend(
                rv.reasons
                    .iter()
                    .skip(from)
                    .cloned()
                    .map(|r| r.of_rule(&rv.rule)),
            );
        }
    }
    let same = named.len() == added.len()
        && named
            .iter()
            .zip(&added)
            .all(|(n, a)| n.code == a.code && n.message == a.message && n.path == a.path);
    if same {
        named
    } else {
        added
    }
}
