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
    combine, Finding, ImageReport, PathMessage, RootReport, SystemEvidence, WalkStats,
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

    /// Scans a folder on the host as one root.
    pub fn folder(&self, root: &Path, progress: &mut dyn FnMut(u64)) -> RootReport {
        let src = HostSource::new(root, self.settings.follow_symlinks, self.settings.threads);
        let name = escape_bytes(root.as_os_str().as_encoded_bytes());
        // A host folder can be shared between threads: it is walked by several.
        self.collect(&src, name, progress, |sink| match src.threads() {
            1 => walk::sequential(&src, &self.matcher, sink),
            n => walk::parallel(&src, n, &self.matcher, sink),
        })
    }

    /// Scans a disk image: every volume a root, plus the disk's own report. Volumes are
    /// scanned by up to `threads` threads at once, each with the image opened on its own
    /// (file-system readers are not shared between threads); the roots stay in partition
    /// order.
    pub fn image(
        &self,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> (Vec<RootReport>, ImageReport) {
        let mut img = image::open(path, self.settings.verify_image);
        let slots = std::mem::take(&mut img.slots);
        let volumes = slots
            .iter()
            .filter(|s| matches!(s, Slot::Volume(_)))
            .count();
        let threads = self.settings.threads.clamp(1, volumes.max(1));
        let mut done: Vec<Option<RootReport>> = Vec::with_capacity(slots.len());
        if threads <= 1 {
            for slot in &slots {
                done.push(Some(match slot {
                    Slot::Unreadable { .. } => self.slot_unreadable(slot),
                    Slot::Volume(v) => {
                        let r = img.scan_volume(v, &mut self.volume_user(v, &mut *progress));
                        self.volume_root(v, r)
                    }
                }));
            }
        } else {
            done = self.volumes_in_parallel(&mut img, &slots, threads, progress);
        }
        let mut roots: Vec<RootReport> = done.into_iter().flatten().collect();
        if let Some(v) = img.report.verification.as_ref().filter(|v| v.is_mismatch()) {
            for root in &mut roots {
                system::distrust_image(root, &v.detail);
            }
        }
        let names = roots.iter().map(|r| r.root.clone()).collect();
        let report = img.finish(names, combine(roots.iter().map(|r| r.verdict)));
        (roots, report)
    }

    /// Scans the volumes of `slots` with `threads` threads: this thread with the image as
    /// opened, the others each with the image opened again; slots are taken in order from a
    /// shared counter. Progress comes back to this thread.
    fn volumes_in_parallel(
        &self,
        img: &mut image::OpenImage,
        slots: &[Slot],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<Option<RootReport>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::mpsc;
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, RootReport)>();
        let (ptx, prx) = mpsc::channel::<u64>();
        let mut out: Vec<Option<RootReport>> = slots.iter().map(|_| None).collect();
        let extra: Vec<_> = (1..threads).map(|_| img.open_again()).collect();
        std::thread::scope(|scope| {
            for handle in extra {
                let (tx, ptx, next) = (tx.clone(), ptx.clone(), &next);
                scope.spawn(move || {
                    let mut handle = handle;
                    let mut forward = |n| {
                        let _ = ptx.send(n);
                    };
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(i) else { break };
                        let root = match (slot, handle.as_mut()) {
                            (Slot::Unreadable { .. }, _) => self.slot_unreadable(slot),
                            (Slot::Volume(v), Ok(h)) => {
                                let r = h.scan_volume(v, &mut self.volume_user(v, &mut forward));
                                self.volume_root(v, r)
                            }
                            (Slot::Volume(v), Err(e)) => self.volume_root(v, Err(e.clone())),
                        };
                        if tx.send((i, root)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(ptx);
            // This thread scans too, with the image as first opened, and passes progress on
            // between volumes.
            loop {
                while let Ok(n) = prx.try_recv() {
                    progress(n);
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = slots.get(i) else { break };
                out[i] = Some(match slot {
                    Slot::Unreadable { .. } => self.slot_unreadable(slot),
                    Slot::Volume(v) => {
                        let r = img.scan_volume(v, &mut self.volume_user(v, &mut *progress));
                        self.volume_root(v, r)
                    }
                });
            }
            drop(tx);
            for n in prx {
                progress(n);
            }
        });
        for (i, root) in rx {
            out[i] = Some(root);
        }
        out
    }

    fn volume_user<'s, 'p>(
        &'s self,
        v: &image::Volume,
        progress: &'p mut dyn FnMut(u64),
    ) -> VolumeScan<'s, 'a, 'p> {
        VolumeScan {
            scanner: self,
            name: v.name.clone(),
            progress,
        }
    }

    /// A scanned volume's root, or the root that could not be read.
    fn volume_root(&self, v: &image::Volume, r: Result<RootReport, String>) -> RootReport {
        let mut root = r.unwrap_or_else(|message| self.unreadable(v.name.clone(), message));
        root.notices.extend(v.notices.iter().cloned());
        root.image = Some(v.source.clone());
        root
    }

    fn slot_unreadable(&self, slot: &Slot) -> RootReport {
        match slot {
            Slot::Unreadable { name, message } => self.unreadable(name.clone(), message.clone()),
            Slot::Volume(v) => self.unreadable(v.name.clone(), "not scanned".to_owned()),
        }
    }

    /// Scans one image volume as one root, walking it on this thread.
    pub fn source<S: Source>(
        &self,
        src: &S,
        name: String,
        progress: &mut dyn FnMut(u64),
    ) -> RootReport {
        // Image volumes may be damaged or hostile: a folder met twice is damage, and the
        // whole walk is bounded.
        let bounds = walk::Bounds {
            max_entries: Some(image::MAX_VOLUME_ENTRIES),
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
    ) -> RootReport {
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        let mut notices = Vec::new();
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
            Event::Progress { entries } => progress(entries),
        });
        match result {
            Ok(stats) => self.finish(name, findings, errors, notices, stats, || {
                registry::gather(src, &self.rules.rules, &self.settings.hives)
            }),
            Err(e) => self.root_error(name, src.root_failure(), &e),
        }
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
        findings::findings_from(self.rules, &input)
    }

    /// Everything after the walk: sorting, registry evidence (`system` reads it), verdict.
    fn finish(
        &self,
        root: String,
        mut findings: Vec<Finding>,
        mut errors: Vec<PathMessage>,
        mut notices: Vec<PathMessage>,
        stats: WalkStats,
        system: impl FnOnce() -> SystemEvidence,
    ) -> RootReport {
        // Deterministic order whatever the directory order was.
        findings.sort_by(|a, b| (&a.path, &a.rule, &a.target).cmp(&(&b.path, &b.rule, &b.target)));
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        notices.sort_by(|a, b| a.path.cmp(&b.path));
        let system = system();
        let outcome = RootOutcome::Scanned {
            unreadable: errors.len(),
        };
        let j = system::judge_root(self.rules, &mut findings, &outcome, &system);
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
        }
    }
}

/// The scan of one image volume, handed the volume's file system by `image`.
struct VolumeScan<'s, 'a, 'p> {
    scanner: &'s Scanner<'a>,
    name: String,
    progress: &'p mut dyn FnMut(u64),
}

impl WithSource<RootReport> for VolumeScan<'_, '_, '_> {
    fn with<S: Source>(&mut self, src: &S) -> RootReport {
        self.scanner.source(src, self.name.clone(), self.progress)
    }
}
