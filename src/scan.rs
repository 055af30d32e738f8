//! The driver: any evidence source from walk to verdict, the same way whatever it is —
//! walk → candidates → evidence (stat, bounded read, PE and version) → registry facts →
//! judgement → a `RootReport`. A folder is one source; a disk image is opened by `image`
//! into volumes, each a source scanned as its own root.

use std::path::Path;

use crate::escape::escape_bytes;
use crate::evidence::inspect::{self, FileEvidence};
use crate::filter::NameMatcher;
use crate::image::{self, Slot, WithSource};
use crate::judge::findings::{self, CandidateInput, Outcome};
use crate::judge::system::{self, RootOutcome};
use crate::model::{
    combine, Finding, ImageReport, PathMessage, Reason, ReasonCode, RootReport, SystemEvidence,
    WalkStats,
};
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
}

impl<'a> Scanner<'a> {
    pub fn new(rules: &'a RuleSet, settings: Settings) -> Self {
        Self {
            rules,
            matcher: NameMatcher::new(rules),
            settings,
        }
    }

    /// Scans a folder on the host as one root (several entries when it holds several Windows
    /// installations: the root, then `ROOT#WINNT`, `ROOT#WINDOWS`…).
    pub fn folder(&self, root: &Path, progress: &mut dyn FnMut(u64)) -> Vec<RootReport> {
        let src = HostSource::new(root, self.settings.follow_symlinks, self.settings.threads);
        let name = escape_bytes(root.as_os_str().as_encoded_bytes());
        // A host folder can be shared between threads: it is walked by several.
        self.collect(&src, name, progress, |sink| match src.threads() {
            1 => walk::sequential(&src, &self.matcher, sink),
            n => walk::parallel(&src, n, &self.matcher, sink),
        })
    }

    /// Scans a disk image: every volume a root, plus the disk's own report.
    pub fn image(
        &self,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> (Vec<RootReport>, ImageReport) {
        let mut img = image::open(path, self.settings.verify_image);
        let slots = std::mem::take(&mut img.slots);
        let mut roots = Vec::with_capacity(slots.len());
        for slot in slots {
            let root = match slot {
                Slot::Unreadable { name, message } => vec![self.unreadable(name, message)],
                Slot::Volume(v) => {
                    let mut user = VolumeScan {
                        scanner: self,
                        name: v.name.clone(),
                        progress: &mut *progress,
                    };
                    let mut systems = img
                        .scan_volume(&v, &mut user)
                        .unwrap_or_else(|message| vec![self.unreadable(v.name.clone(), message)]);
                    // The volume's own entry comes first; its notices are the volume's.
                    systems[0].notices.extend(v.notices);
                    for root in &mut systems {
                        root.image = Some(v.source.clone());
                    }
                    systems
                }
            };
            roots.extend(root);
        }
        if let Some(v) = img.report.verification.as_ref().filter(|v| v.is_mismatch()) {
            for root in &mut roots {
                system::distrust_image(root, &v.detail);
            }
        }
        // The disk's volumes: the volume entries, not the systems split from them.
        let names = roots
            .iter()
            .filter(|r| r.parent_root.is_none())
            .map(|r| r.root.clone())
            .collect();
        let report = img.finish(names, combine(roots.iter().map(|r| r.verdict)));
        (roots, report)
    }

    /// Scans one source as one root, walking it on this thread (several entries when it holds
    /// several Windows installations).
    pub fn source<S: Source>(
        &self,
        src: &S,
        name: String,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<RootReport> {
        self.collect(src, name, progress, |sink| {
            walk::sequential(src, &self.matcher, sink)
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
                    registry::gather_at(src, &self.rules.rules, &self.settings.hives, windirs.pop())
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

    /// A volume with several Windows folders holding hives (issue 10 case 4): each Windows
    /// folder is judged as its own system (`NAME#WINNT`) with its own hives and the files
    /// under it; the files outside every Windows folder stay with the volume's own entry
    /// (`NAME`), judged on file evidence alone. Errors and notices go with the path they are
    /// about; one about the root itself goes to every entry.
    #[allow(clippy::too_many_arguments)]
    fn split<S: Source>(
        &self,
        src: &S,
        name: String,
        windirs: Vec<registry::Windir<S::Node>>,
        findings: Vec<Finding>,
        errors: Vec<PathMessage>,
        notices: Vec<PathMessage>,
        (stats, unfollowed): (WalkStats, Vec<String>),
    ) -> Vec<RootReport> {
        let dirs: Vec<String> = windirs.iter().map(|w| w.1.clone()).collect();
        // The entry a path belongs to: 0 the volume, 1.. the Windows folders. The root itself
        // as a Windows folder (`.`) takes every path no other Windows folder does.
        let dot = dirs.iter().position(|d| d == ".").map(|i| i + 1);
        let owner = |path: &str| -> usize {
            let first = path.split('/').next().unwrap_or_default();
            dirs.iter()
                .position(|d| d != "." && d == first)
                .map(|i| i + 1)
                .or(dot)
                .unwrap_or(0)
        };
        let n = dirs.len() + 1;
        let mut parts: Vec<(Vec<Finding>, Vec<PathMessage>, Vec<PathMessage>)> =
            (0..n).map(|_| Default::default()).collect();
        for f in findings {
            parts[owner(&f.path)].0.push(f);
        }
        // The links on an install path the walk did not enter go with the entry they are in.
        let mut unread: Vec<Vec<String>> = vec![Vec::new(); n];
        for u in unfollowed {
            unread[owner(&u)].push(u);
        }
        let mut unread = unread.into_iter();
        for (list, pick) in [(errors, 1usize), (notices, 2)] {
            for m in list {
                let targets: Vec<usize> = if m.path.is_empty() {
                    (0..n).collect()
                } else {
                    vec![owner(&m.path)]
                };
                for t in targets {
                    let bucket = if pick == 1 {
                        &mut parts[t].1
                    } else {
                        &mut parts[t].2
                    };
                    bucket.push(m.clone());
                }
            }
        }
        let systems: Vec<String> = dirs.iter().map(|d| format!("{name}#{d}")).collect();
        let many = Reason::new(
            ReasonCode::MultipleWindowsInstallations,
            format!(
                "{} Windows folders with hives on this volume ({}): each is judged as its own system ({}); copies outside every Windows folder are judged with the volume ({name}) on file evidence alone",
                dirs.len(),
                dirs.join(", "),
                systems.join(", ")
            ),
        );
        let mut windirs = windirs.into_iter();
        let mut out = Vec::with_capacity(n);
        for (i, (findings, errors, notices)) in parts.into_iter().enumerate() {
            let unfollowed = unread.next().unwrap_or_default();
            let sub_stats = WalkStats {
                entries: stats.entries,
                candidates: findings
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as u64,
                errors: errors.len() as u64,
            };
            let mut root = if i == 0 {
                let live = findings.iter().filter(|f| f.is_live()).count();
                let mut root = self.finish(
                    name.clone(),
                    findings,
                    errors,
                    notices,
                    (stats, unfollowed),
                    || {
                    SystemEvidence {
                        notes: vec![format!(
                            "no Windows folder's hives apply to the copies outside {}: they are judged on file evidence alone",
                            dirs.join(" and ")
                        )],
                        ..SystemEvidence::default()
                    }
                });
                if live > 0 {
                    root.reasons.push(Reason::new(
                        ReasonCode::OutsideWindowsFolders,
                        format!(
                            "{live} live {} outside every Windows folder ({}): either installation could start {}, so no installation's registry (applicability, update records) is applied; judged on file evidence alone",
                            if live == 1 { "copy" } else { "copies" },
                            dirs.join(", "),
                            if live == 1 { "it" } else { "them" }
                        ),
                    ));
                }
                root
            } else {
                let w = windirs.next();
                let mut root = self.finish(
                    systems[i - 1].clone(),
                    findings,
                    errors,
                    notices,
                    (sub_stats, unfollowed),
                    || registry::gather_at(src, &self.rules.rules, &self.settings.hives, w),
                );
                root.parent_root = Some(name.clone());
                root
            };
            root.reasons.push(many.clone());
            out.push(root);
        }
        out
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
                    inspect::evidence_from_bytes(size, stat.times.clone(), max, || {
                        src.read(&c.node, size, max).map_err(Into::into)
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
            source_note: src.finding_note(),
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
        crate::judge::installed::attach(
            &mut system,
            &mut findings,
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
            as_of: None, // issue 14: set by app with --as-of
        }
    }
}

/// The scan of one image volume, handed the volume's file system by `image`.
struct VolumeScan<'s, 'a, 'p> {
    scanner: &'s Scanner<'a>,
    name: String,
    progress: &'p mut dyn FnMut(u64),
}

impl WithSource<Vec<RootReport>> for VolumeScan<'_, '_, '_> {
    fn with<S: Source>(&mut self, src: &S) -> Vec<RootReport> {
        self.scanner.source(src, self.name.clone(), self.progress)
    }
}
