//! The one walk, over any [`Source`]: every directory entry is tested by name, and only
//! names that match a rule become candidates; nothing else is stat'ed or opened. Directories
//! are entered once (by node id where the source has one), never deeper than
//! [`MAX_DEPTH`]; a directory that cannot be listed is an error event and the walk goes on.
//! A source that can be shared between threads is walked by several (the report is sorted
//! afterwards, so it does not depend on the order).
//!
//! Over 400 lines with its tests: the sequential and parallel schedulers share `visit`, which
//! decides what each entry means, and are tested together over one mock source.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

use crate::filter::{NameMatcher, Target};
use crate::model::WalkStats;
use crate::source::{Entry, EntryKind, Link, Source, SourceError, SourceErrorKind, MAX_DEPTH};

/// A directory entry whose name matches a rule.
#[derive(Debug)]
pub struct Candidate<'m, N> {
    /// Path components from the root down; the last is the entry's own name.
    pub parts: Vec<Vec<u8>>,
    /// The entry's kind; for a followed link, the kind of its target.
    pub kind: EntryKind,
    /// The node to stat and read (a followed link's target).
    pub node: N,
    pub targets: &'m [Target],
    /// For a link: what it points to, as shown.
    pub link_text: Option<String>,
    /// Set when this candidate must not be opened, with the reason.
    pub skip: Option<String>,
}

/// Something the walk met.
#[derive(Debug)]
pub enum Event<'m, N> {
    Candidate(Candidate<'m, N>),
    /// A folder or entry that could not be read; the walk went on without it.
    Error {
        parts: Vec<Vec<u8>>,
        message: String,
    },
    /// Something worth knowing that is not an error (a link not followed, a cycle…).
    Notice {
        parts: Vec<Vec<u8>>,
        message: String,
    },
    /// Issue 10 case 6 hook: a link on a rule's install path (`…/system32/Windows Media`)
    /// that was not walked into: a live copy may be behind it. Also shown as a notice.
    Unfollowed {
        parts: Vec<Vec<u8>>,
        message: String,
    },
    /// A link or reparse point the source does not walk (`Link::NotWalked`): a notice,
    /// unless it is a `candidate` (then reported as a skipped finding too); the driver checks
    /// it against the rules' install paths.
    NotWalked {
        parts: Vec<Vec<u8>>,
        message: String,
        candidate: bool,
    },
    /// Sent every so often with the number of entries seen so far.
    Progress {
        entries: u64,
    },
}

const PROGRESS_EVERY: u64 = 4096;

/// A directory's path as a chain of names up to the root, shared by its children, so no
/// entry copies its parent's whole path.
#[derive(Debug)]
struct DirPath {
    parent: Option<Arc<DirPath>>,
    name: Box<[u8]>,
    depth: usize,
    /// Reached through a directory link on an install path (issue 10 case 6): links below it
    /// are not walked into again, so link cycles stay bounded.
    via_link: bool,
}

impl DirPath {
    fn root() -> Arc<Self> {
        Arc::new(Self {
            parent: None,
            name: Box::default(),
            depth: 0,
            via_link: false,
        })
    }

    /// The components from the root down, then `last` if given.
    fn parts(&self, last: Option<&[u8]>) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.depth + 1);
        let mut at = Some(self);
        while let Some(d) = at {
            if d.parent.is_some() {
                out.push(d.name.to_vec());
            }
            at = d.parent.as_deref();
        }
        out.reverse();
        if let Some(l) = last {
            out.push(l.to_vec());
        }
        out
    }
}

/// What one listed entry means: the events it gives (through `emit`) and, for a directory to
/// enter, that directory.
fn visit<'m, S: Source>(
    src: &S,
    matcher: &'m NameMatcher,
    bounds: Bounds,
    dir: &Arc<DirPath>,
    e: Entry<S::Node>,
    first_visit: &mut dyn FnMut(u64) -> bool,
    emit: &mut dyn FnMut(Event<'m, S::Node>),
) -> Option<(S::Node, Arc<DirPath>)>
where
    S::Node: Clone,
{
    let targets = matcher.matches_bytes(&e.name).or_else(|| {
        e.short_name
            .as_deref()
            .and_then(|s| matcher.matches_bytes(s))
    });
    let parts = || dir.parts(Some(&e.name));
    if targets.is_none() {
        // Near-miss names in a target's install folder (`Nscm.exe.bak`, `Nscm.ex_`…): a notice.
        if let Some(message) = matcher.near_miss(&e.name, || dir.parts(None)) {
            emit(Event::Notice {
                parts: parts(),
                message,
            });
        }
    }
    let mut kind = e.kind;
    if kind == EntryKind::Symlink {
        // Issue 10 case 6 hook: a link named like a folder of a rule's install path. A
        // reparse point the source walks as what it is (NTFS, not a link) is not one; one the
        // source does not walk is judged by the driver (`Event::NotWalked`).
        if targets.is_none() && matcher.on_install_path(&parts()) {
            match src.link(&e.node) {
                Link::Walk { .. } => {}
                Link::NotWalked { why, .. } => {
                    emit(Event::NotWalked {
                        parts: parts(),
                        message: why,
                        candidate: false,
                    });
                    return None;
                }
                _ => return install_path_link(src, dir, e, emit),
            }
        }
        if targets.is_none() && !src.resolves_every_link() {
            return None;
        }
        let candidate = |kind, node, link_text, skip| {
            targets.map(|targets| {
                Event::Candidate(Candidate {
                    parts: parts(),
                    kind,
                    node,
                    targets,
                    link_text,
                    skip,
                })
            })
        };
        let event = match src.link(&e.node) {
            // A reparse point that is no link (NTFS): walked as what it is, below.
            Link::Walk { kind: k, notice } => {
                if let Some(message) = notice {
                    emit(Event::Notice {
                        parts: parts(),
                        message,
                    });
                }
                kind = k;
                None
            }
            Link::Kept { text, why } => {
                candidate(EntryKind::Symlink, e.node.clone(), text, Some(why))
            }
            Link::NotWalked { text, why } => {
                emit(Event::NotWalked {
                    parts: parts(),
                    message: why.clone(),
                    candidate: targets.is_some(),
                });
                candidate(EntryKind::Symlink, e.node.clone(), text, Some(why))
            }
            Link::Refused { text, why } => {
                if targets.is_some() {
                    candidate(EntryKind::Symlink, e.node.clone(), text, Some(why))
                } else {
                    Some(Event::Notice {
                        parts: parts(),
                        message: why,
                    })
                }
            }
            Link::Dir { notice } => Some(Event::Notice {
                parts: parts(),
                message: notice,
            }),
            Link::Target { text, node, kind } => candidate(
                kind,
                node,
                Some(text),
                kind.skip_reason().map(str::to_owned),
            ),
            Link::Unreadable(message) => Some(Event::Error {
                parts: parts(),
                message,
            }),
        };
        if let Some(event) = event {
            emit(event);
        }
        if kind == EntryKind::Symlink {
            return None;
        }
    }
    match kind {
        EntryKind::Dir => {
            // A folder named like a target is reported (skipped) and still walked.
            if let Some(targets) = targets {
                emit(Event::Candidate(Candidate {
                    parts: parts(),
                    kind: EntryKind::Dir,
                    node: e.node.clone(),
                    targets,
                    link_text: None,
                    skip: EntryKind::Dir.skip_reason().map(str::to_owned),
                }));
            }
            if let Some(id) = e.id {
                if !first_visit(id) {
                    emit(if bounds.revisit_is_damage {
                        Event::Error {
                            parts: parts(),
                            message: format!(
                                "damaged file system: this folder's data (node {id}) is a folder already walked (a directory cycle): not entered again"
                            ),
                        }
                    } else {
                        Event::Notice {
                            parts: parts(),
                            message: format!(
                                "folder already walked (node {id}): a directory cycle, not entered again"
                            ),
                        }
                    });
                    return None;
                }
            }
            if dir.depth + 1 > MAX_DEPTH {
                emit(Event::Error {
                    parts: parts(),
                    message: format!(
                        "folders nested deeper than {MAX_DEPTH}: not entered (damaged directory structure?)"
                    ),
                });
                return None;
            }
            let child = Arc::new(DirPath {
                parent: Some(Arc::clone(dir)),
                name: e.name.into_boxed_slice(),
                depth: dir.depth + 1,
                via_link: dir.via_link,
            });
            Some((e.node, child))
        }
        kind => {
            if let Some(targets) = targets {
                emit(Event::Candidate(Candidate {
                    parts: parts(),
                    kind,
                    node: e.node,
                    targets,
                    link_text: None,
                    skip: kind.skip_reason().map(str::to_owned),
                }));
            }
            None
        }
    }
}

/// Issue 10 case 6 hook: a link on a rule's install path. With links followed (and not
/// already below a followed link), a directory link inside the root is walked at the link's own
/// path — the path Windows would use — by listing the link itself (a host source lists its
/// target). Otherwise it is reported as [`Event::Unfollowed`].
fn install_path_link<'m, S: Source>(
    src: &S,
    dir: &Arc<DirPath>,
    e: Entry<S::Node>,
    emit: &mut dyn FnMut(Event<'m, S::Node>),
) -> Option<(S::Node, Arc<DirPath>)> {
    let parts = dir.parts(Some(&e.name));
    let message = if !src.follows_links() {
        "a link on a rule's install path, not followed (see --follow-symlinks): a live copy may be behind it".to_owned()
    } else if dir.via_link {
        "a link below a followed link on a rule's install path: not followed again".to_owned()
    } else {
        match src.link(&e.node) {
            Link::Dir { .. } if dir.depth < MAX_DEPTH => {
                emit(Event::Notice {
                    parts,
                    message: "directory link on a rule's install path: walked at this path, as Windows reaches it".to_owned(),
                });
                let child = Arc::new(DirPath {
                    parent: Some(Arc::clone(dir)),
                    name: e.name.into_boxed_slice(),
                    depth: dir.depth + 1,
                    via_link: true,
                });
                return Some((e.node, child));
            }
            // A link to a file named like a folder hides nothing.
            Link::Target { .. } => return None,
            Link::Kept { why, .. } | Link::Refused { why, .. } | Link::NotWalked { why, .. } => why,
            Link::Dir { notice } => notice,
            Link::Unreadable(m) => m,
            // Only sources that walk reparse points as what they are give this, and the
            // caller does not hand those here.
            Link::Walk { .. } => return None,
        }
    };
    emit(Event::Unfollowed { parts, message });
    None
}

fn list_error<'m, N>(dir: &DirPath, e: &SourceError) -> Event<'m, N> {
    if e.kind == SourceErrorKind::Boundary {
        return Event::Notice {
            parts: dir.parts(None),
            message: e.message.clone(),
        };
    }
    Event::Error {
        parts: dir.parts(None),
        message: format!("cannot list this folder: {e}"),
    }
}

/// Counts an event into the stats.
fn count<N>(stats: &mut WalkStats, e: &Event<'_, N>) {
    match e {
        Event::Candidate(_) => stats.candidates += 1,
        Event::Error { .. } => stats.errors += 1,
        _ => {}
    }
}

/// Bounds for walking a file system that may be damaged or hostile (an image volume).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// Entries listed at most in the whole walk; past it the walk stops with an error.
    pub max_entries: Option<u64>,
    /// A folder met again by node id is a damaged file system (an error), not a notice.
    pub revisit_is_damage: bool,
}

/// Walks depth-first on this thread. Fails only when the root cannot be listed.
pub fn sequential<'m, S: Source>(
    src: &S,
    matcher: &'m NameMatcher,
    sink: &mut dyn FnMut(Event<'m, S::Node>),
) -> Result<WalkStats, SourceError>
where
    S::Node: Clone,
{
    sequential_bounded(src, matcher, Bounds::default(), sink)
}

/// [`sequential`] within `bounds`.
pub fn sequential_bounded<'m, S: Source>(
    src: &S,
    matcher: &'m NameMatcher,
    bounds: Bounds,
    sink: &mut dyn FnMut(Event<'m, S::Node>),
) -> Result<WalkStats, SourceError>
where
    S::Node: Clone,
{
    let (root, root_id) = src.root()?;
    let mut stats = WalkStats::default();
    let mut seen: HashSet<u64> = root_id.into_iter().collect();
    let mut stack = vec![(root, DirPath::root())];
    let mut first = true;
    while let Some((dir, path)) = stack.pop() {
        let entries = match src.list(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(e) => {
                let ev = list_error(&path, &e);
                count(&mut stats, &ev);
                sink(ev);
                continue;
            }
        };
        first = false;
        if let Some(max) = bounds.max_entries {
            if stats.entries.saturating_add(entries.len() as u64) > max {
                let ev = Event::Error {
                    parts: path.parts(None),
                    message: format!(
                        "more than {max} entries in this volume: the rest of it is not walked (damaged or hostile directory structure?)"
                    ),
                };
                count(&mut stats, &ev);
                sink(ev);
                break;
            }
        }
        for e in entries {
            stats.entries += 1;
            if stats.entries % PROGRESS_EVERY == 0 {
                sink(Event::Progress {
                    entries: stats.entries,
                });
            }
            let mut emit = |ev: Event<'m, S::Node>| {
                count(&mut stats, &ev);
                sink(ev);
            };
            if let Some(next) = visit(
                src,
                matcher,
                bounds,
                &path,
                e,
                &mut |id| seen.insert(id),
                &mut emit,
            ) {
                stack.push(next);
            }
        }
    }
    Ok(stats)
}

/// Directories waiting to be listed, and how many workers are listing one.
struct Queue<N> {
    jobs: Vec<(N, Arc<DirPath>)>,
    busy: usize,
}

/// Walks with `threads` workers sharing a stack of directories; the events come back to this
/// thread, which hands them to `sink` while the walk goes on. The root is listed here first,
/// so a root that cannot be read fails the walk as in [`sequential`].
pub fn parallel<'m, S>(
    src: &S,
    threads: usize,
    matcher: &'m NameMatcher,
    sink: &mut dyn FnMut(Event<'m, S::Node>),
) -> Result<WalkStats, SourceError>
where
    S: Source + Sync,
    S::Node: Clone + Send,
{
    let (root, root_id) = src.root()?;
    let root_entries = src.list(&root)?;
    let mut stats = WalkStats::default();
    let seen: Mutex<HashSet<u64>> = Mutex::new(root_id.into_iter().collect());
    let first_visit = |id: u64| seen.lock().map_or(true, |mut s| s.insert(id));
    let root_path = DirPath::root();
    let mut jobs = Vec::new();
    let entries = AtomicU64::new(root_entries.len() as u64);
    for e in root_entries {
        let mut emit = |ev: Event<'m, S::Node>| {
            count(&mut stats, &ev);
            sink(ev);
        };
        if let Some(next) = visit(
            src,
            matcher,
            Bounds::default(),
            &root_path,
            e,
            &mut |id| first_visit(id),
            &mut emit,
        ) {
            jobs.push(next);
        }
    }
    let queue = Mutex::new(Queue { jobs, busy: 0 });
    let wake = Condvar::new();
    let (tx, rx) = mpsc::channel::<Event<'m, S::Node>>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (queue, wake, entries, first_visit) = (&queue, &wake, &entries, &first_visit);
            scope.spawn(move || loop {
                let job = {
                    let Ok(mut q) = queue.lock() else { return };
                    loop {
                        if let Some(job) = q.jobs.pop() {
                            q.busy += 1;
                            break job;
                        }
                        if q.busy == 0 {
                            wake.notify_all();
                            return;
                        }
                        q = match wake.wait(q) {
                            Ok(q) => q,
                            Err(_) => return,
                        };
                    }
                };
                let (dir, path) = job;
                let mut found = Vec::new();
                match src.list(&dir) {
                    Ok(list) => {
                        entries.fetch_add(list.len() as u64, Ordering::Relaxed);
                        let mut emit = |ev| {
                            let _ = tx.send(ev);
                        };
                        for e in list {
                            if let Some(next) = visit(
                                src,
                                matcher,
                                Bounds::default(),
                                &path,
                                e,
                                &mut |id| first_visit(id),
                                &mut emit,
                            ) {
                                found.push(next);
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(list_error(&path, &e));
                    }
                }
                let Ok(mut q) = queue.lock() else { return };
                q.busy -= 1;
                let wake_all = !found.is_empty() || (q.busy == 0 && q.jobs.is_empty());
                q.jobs.extend(found);
                drop(q);
                if wake_all {
                    wake.notify_all();
                }
            });
        }
        drop(tx);
        let mut last = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => {
                    count(&mut stats, &event);
                    sink(event);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let now = entries.load(Ordering::Relaxed);
            if now / PROGRESS_EVERY != last / PROGRESS_EVERY {
                last = now;
                sink(Event::Progress { entries: now });
            }
        }
    });
    stats.entries = entries.load(Ordering::Relaxed);
    Ok(stats)
}

/// One walking thread per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Stat;

    /// One node of [`Mock`]: name, short name, kind, id, children.
    type MockNode = (
        &'static str,
        Option<&'static str>,
        EntryKind,
        Option<u64>,
        Vec<usize>,
    );

    /// A file system in memory.
    struct Mock {
        nodes: Vec<MockNode>,
    }

    impl Source for Mock {
        type Node = usize;
        fn root(&self) -> Result<(usize, Option<u64>), SourceError> {
            Ok((0, self.nodes[0].3))
        }
        fn list(&self, dir: &usize) -> Result<Vec<Entry<usize>>, SourceError> {
            Ok(self.nodes[*dir]
                .4
                .iter()
                .map(|&c| {
                    let (name, short, kind, id, _) = &self.nodes[c];
                    Entry {
                        name: name.as_bytes().to_vec(),
                        short_name: short.map(|s| s.as_bytes().to_vec()),
                        kind: *kind,
                        id: *id,
                        node: c,
                    }
                })
                .collect())
        }
        fn stat(&self, _: &usize) -> Result<Stat, SourceError> {
            Ok(Stat::default())
        }
        fn read(&self, _: &usize, _: u64, _: u64) -> Result<Vec<u8>, SourceError> {
            Ok(Vec::new())
        }
        /// By name: `walked…` a reparse point walked as a folder, `junction…` one not
        /// walked, anything else a link kept.
        fn link(&self, node: &usize) -> Link<usize> {
            let name = self.nodes[*node].0;
            if name.starts_with("walked") {
                Link::Walk {
                    kind: EntryKind::Dir,
                    notice: Some("walked".to_owned()),
                }
            } else if name.starts_with("junction") {
                Link::NotWalked {
                    text: None,
                    why: "a junction".to_owned(),
                }
            } else {
                Link::Kept {
                    text: None,
                    why: "a link".to_owned(),
                }
            }
        }
        fn resolves_every_link(&self) -> bool {
            true
        }
        fn display_path(&self, rel: &str, _: &[Vec<u8>]) -> String {
            rel.to_owned()
        }
        fn root_failure(&self) -> &'static str {
            "cannot read the root"
        }
    }

    fn text(parts: &[Vec<u8>]) -> String {
        let v: Vec<String> = parts
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        v.join("/")
    }

    fn walk(fs: &Mock, threads: usize) -> (Vec<String>, Vec<String>, Vec<String>) {
        let rules = crate::rules::load(&[] as &[&std::path::Path]).unwrap();
        let m = NameMatcher::new(&rules);
        let (mut cands, mut notices, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        let mut sink = |e: Event<'_, usize>| match e {
            Event::Candidate(c) => cands.push(text(&c.parts)),
            Event::Notice { parts, .. } => notices.push(text(&parts)),
            Event::Error { parts, .. } => errors.push(text(&parts)),
            Event::Unfollowed { parts, .. } => notices.push(text(&parts)),
            Event::NotWalked { parts, .. } => notices.push(format!("not walked: {}", text(&parts))),
            Event::Progress { .. } => {}
        };
        if threads == 1 {
            sequential(fs, &m, &mut sink).unwrap();
        } else {
            parallel(fs, threads, &m, &mut sink).unwrap();
        }
        cands.sort();
        (cands, notices, errors)
    }

    #[test]
    fn short_names_match_and_directory_cycles_are_walked_once() {
        let d = EntryKind::Dir;
        let f = EntryKind::File;
        let fs = Mock {
            nodes: vec![
                ("", None, d, Some(5), vec![1]),
                ("a", None, d, Some(10), vec![2, 3, 4]),
                // Long name does not match, the 8.3 alias does.
                ("Station service.exe", Some("NSCM.EXE"), f, None, vec![]),
                // A folder pointing back at its parent (same node id): not entered again.
                ("loop", None, d, Some(10), vec![2, 3, 4]),
                // A folder named like a target: reported and still walked.
                ("Nspmon.exe", None, d, Some(11), vec![5]),
                ("nscm.exe", None, f, None, vec![]),
            ],
        };
        for threads in [1, 2, 4] {
            let (cands, notices, errors) = walk(&fs, threads);
            assert_eq!(
                cands,
                [
                    "a/Nspmon.exe",
                    "a/Nspmon.exe/nscm.exe",
                    "a/Station service.exe",
                ],
                "{threads} thread(s)"
            );
            assert_eq!(notices, ["a/loop"]);
            assert!(errors.is_empty());
        }
    }

    #[test]
    fn a_bounded_walk_stops_at_its_entry_budget_and_calls_a_revisit_damage() {
        let d = EntryKind::Dir;
        let fs = Mock {
            nodes: vec![
                ("", None, d, Some(1), vec![1, 2]),
                ("a", None, d, Some(2), vec![3, 4]),
                ("back", None, d, Some(1), vec![1, 2]),
                ("b", None, d, Some(3), vec![]),
                ("c", None, d, Some(4), vec![]),
            ],
        };
        let rules = crate::rules::load(&[] as &[&std::path::Path]).unwrap();
        let m = NameMatcher::new(&rules);
        let run = |bounds| {
            let mut errors = Vec::new();
            sequential_bounded(&fs, &m, bounds, &mut |e| {
                if let Event::Error { parts, message } = e {
                    errors.push((text(&parts), message));
                }
            })
            .unwrap();
            errors
        };
        let errors = run(Bounds {
            max_entries: None,
            revisit_is_damage: true,
        });
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "back");
        assert!(errors[0].1.starts_with("damaged file system:"));
        let errors = run(Bounds {
            max_entries: Some(3),
            revisit_is_damage: true,
        });
        assert!(
            errors
                .iter()
                .any(|(_, m)| m.starts_with("more than 3 entries")),
            "{errors:?}"
        );
    }

    #[test]
    fn reparse_points_are_walked_or_reported_as_the_source_says() {
        let (d, f, l) = (EntryKind::Dir, EntryKind::File, EntryKind::Symlink);
        let fs = Mock {
            nodes: vec![
                ("", None, d, Some(5), vec![1, 3, 5]),
                // A reparse point that is a folder to walk (a cloud folder): entered.
                ("walked-cloud", None, l, Some(10), vec![2]),
                ("Nscm.exe", None, f, None, vec![]),
                // A junction: not entered, reported.
                ("junction", None, l, Some(11), vec![4]),
                ("Nscm.exe", None, f, None, vec![]),
                // A junction named like a candidate: skipped, and reported as not walked.
                ("junction-x", Some("NSCM.EXE"), l, Some(12), vec![]),
            ],
        };
        for threads in [1, 2] {
            let (cands, mut notices, errors) = walk(&fs, threads);
            notices.sort();
            assert_eq!(cands, ["junction-x", "walked-cloud/Nscm.exe"], "{threads}");
            assert_eq!(
                notices,
                [
                    "not walked: junction",
                    "not walked: junction-x",
                    "walked-cloud"
                ]
            );
            assert!(errors.is_empty());
        }
    }

    #[test]
    fn nesting_without_ids_stops_at_the_depth_limit() {
        // One folder that contains itself, with no id (as on FAT): bounded by MAX_DEPTH.
        let fs = Mock {
            nodes: vec![
                ("", None, EntryKind::Dir, None, vec![1]),
                ("d", None, EntryKind::Dir, None, vec![1]),
            ],
        };
        for threads in [1, 2] {
            let (_, _, errors) = walk(&fs, threads);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].split('/').count(), MAX_DEPTH + 1);
        }
    }
}
