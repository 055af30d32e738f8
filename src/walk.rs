//! Walking one root: every directory entry is tested by name, and only names that match a
//! rule become candidates. Nothing here opens a file. The file type comes from the directory
//! listing (no `stat` per entry); only candidates are `lstat`ed. Directories are read by
//! several threads (ignore's parallel walker, as fd and ripgrep use) unless `threads` is 1.
//!
//! Symbolic links are never followed unless asked, and then only when the link's real target
//! stays inside the root: an absolute link in a mounted image names a path on the examiner's
//! own machine. Directory links are never walked again, because a directory inside the root
//! is already walked at its real path; so link loops cannot make the walk run forever.

use std::ffi::OsStr;
use std::fs::{self, FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ignore::{WalkBuilder, WalkState};
use walkdir::WalkDir;

use crate::filter::{NameMatcher, Target};

/// What a directory entry is, from the directory listing (no `stat` needed on most file systems).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
    Other,
}

impl EntryKind {
    pub fn from_file_type(ft: FileType) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                return EntryKind::Fifo;
            }
            if ft.is_socket() {
                return EntryKind::Socket;
            }
            if ft.is_block_device() {
                return EntryKind::BlockDevice;
            }
            if ft.is_char_device() {
                return EntryKind::CharDevice;
            }
        }
        if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        }
    }

    /// Why an entry of this kind is never opened.
    pub fn skip_reason(self) -> Option<&'static str> {
        match self {
            EntryKind::File => None,
            EntryKind::Dir => Some("a directory, not a file"),
            EntryKind::Symlink => Some("a symbolic link, not followed (see --follow-symlinks)"),
            EntryKind::Fifo => Some("a FIFO (named pipe): never opened, it could block the scan"),
            EntryKind::Socket => Some("a socket, not a file"),
            EntryKind::BlockDevice => Some("a block device, not a file"),
            EntryKind::CharDevice => Some("a character device, not a file"),
            EntryKind::Other => Some("not a regular file"),
        }
    }
}

/// A directory entry whose name matches a rule.
#[derive(Debug)]
pub struct Candidate<'m> {
    /// Path relative to the root, as reached (through the link, if one was followed).
    pub rel: PathBuf,
    /// Root as given joined with `rel`.
    pub path: PathBuf,
    /// The file to open: `path`, or the resolved target of a followed link.
    pub open_path: PathBuf,
    /// The entry's kind; for a followed link, the kind of its target.
    pub kind: EntryKind,
    /// `lstat` of the entry (or `stat` of a followed link's target), taken before any open.
    pub metadata: Result<Metadata, String>,
    pub targets: &'m [Target],
    /// For a symbolic link: the link text, and the target inside the root when it was followed.
    pub link: Option<LinkInfo>,
    /// Set when this candidate must not be opened, with the reason.
    pub skip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub target_text: PathBuf,
    /// The target relative to the root, when it resolved inside it.
    pub resolved_rel: Option<PathBuf>,
}

/// Something the walk met besides candidates.
#[derive(Debug)]
pub enum Event<'m> {
    Candidate(Box<Candidate<'m>>),
    /// A folder or entry that could not be read; the walk went on without it.
    Error {
        rel: PathBuf,
        message: String,
    },
    /// Something worth knowing that is not an error (a link not followed…).
    Notice {
        rel: PathBuf,
        message: String,
    },
    /// Sent every so often with the number of entries seen so far.
    Progress {
        entries: u64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
    /// Directory-reading threads; 1 walks sequentially (walkdir), more in parallel (ignore).
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            follow_symlinks: false,
            threads: default_threads(),
        }
    }
}

/// One walking thread per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Counts for the report.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct WalkStats {
    pub entries: u64,
    pub candidates: u64,
    pub errors: u64,
}

const PROGRESS_EVERY: u64 = 4096;

fn rel_of(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// What both walkers share: the root, the matcher, and the link policy. Deciding what one
/// directory entry means is the same whichever walker listed it.
struct Visitor<'a, 'm> {
    root: &'a Path,
    matcher: &'m NameMatcher,
    /// Set when links are followed: the canonical root they must stay inside.
    canon_root: Option<PathBuf>,
}

impl<'m> Visitor<'_, 'm> {
    /// The event one directory entry produces, if any. `lstat` is called only for candidates.
    fn entry(&self, path: &Path, name: &OsStr, ft: FileType) -> Option<Event<'m>> {
        let targets = self.matcher.matches(name);
        if ft.is_symlink() {
            if let Some(canon_root) = &self.canon_root {
                return follow_link(self.root, canon_root, path, targets);
            }
        }
        let targets = targets?;
        let kind = EntryKind::from_file_type(ft);
        let link = if kind == EntryKind::Symlink {
            fs::read_link(path).ok().map(|t| LinkInfo {
                target_text: t,
                resolved_rel: None,
            })
        } else {
            None
        };
        Some(Event::Candidate(Box::new(Candidate {
            path: path.to_path_buf(),
            open_path: path.to_path_buf(),
            rel: rel_of(path, self.root),
            kind,
            metadata: fs::symlink_metadata(path).map_err(|e| e.to_string()),
            targets,
            link,
            skip: kind.skip_reason().map(str::to_owned),
        })))
    }

    fn error(&self, path: Option<&Path>, message: String) -> Event<'m> {
        Event::Error {
            rel: path.map(|p| rel_of(p, self.root)).unwrap_or_default(),
            message,
        }
    }
}

/// Walks `root` and reports every candidate, error and notice to `sink`, in no particular
/// order (callers sort). Fails only when the root itself cannot be walked.
pub fn walk_root(
    root: &Path,
    matcher: &NameMatcher,
    opts: WalkOptions,
    sink: &mut dyn FnMut(Event<'_>),
) -> io::Result<WalkStats> {
    let meta = fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a directory",
        ));
    }
    let visitor = Visitor {
        root,
        matcher,
        canon_root: if opts.follow_symlinks {
            Some(fs::canonicalize(root)?)
        } else {
            None
        },
    };
    let mut stats = WalkStats::default();
    let count = |e: &Event<'_>, stats: &mut WalkStats| match e {
        Event::Candidate(_) => stats.candidates += 1,
        Event::Error { .. } => stats.errors += 1,
        _ => {}
    };
    if opts.threads <= 1 {
        for item in WalkDir::new(root).follow_links(false).min_depth(1) {
            let event = match item {
                Ok(entry) => {
                    stats.entries += 1;
                    if stats.entries % PROGRESS_EVERY == 0 {
                        sink(Event::Progress {
                            entries: stats.entries,
                        });
                    }
                    visitor.entry(entry.path(), entry.file_name(), entry.file_type())
                }
                Err(e) => {
                    let message = match e.io_error() {
                        Some(io) => io.to_string(),
                        None => e.to_string(),
                    };
                    Some(visitor.error(e.path(), message))
                }
            };
            if let Some(event) = event {
                count(&event, &mut stats);
                sink(event);
            }
        }
        return Ok(stats);
    }
    walk_parallel(&visitor, opts.threads, &mut stats, &mut |e, stats| {
        count(&e, stats);
        sink(e);
    });
    Ok(stats)
}

/// A walking thread's entry count, added to the shared total in batches (and when the thread
/// ends) so threads do not contend on one counter per entry.
struct LocalCount<'a> {
    n: u64,
    total: &'a AtomicU64,
}

impl LocalCount<'_> {
    fn add(&mut self) {
        self.n += 1;
        if self.n == 256 {
            self.total.fetch_add(self.n, Ordering::Relaxed);
            self.n = 0;
        }
    }
}

impl Drop for LocalCount<'_> {
    fn drop(&mut self) {
        self.total.fetch_add(self.n, Ordering::Relaxed);
    }
}

/// The path an `ignore` error is about, wherever it is nested.
fn ignore_error_path(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            ignore_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::Partial(errs) => errs.iter().find_map(ignore_error_path),
        _ => None,
    }
}

/// The parallel walk: `threads` workers list directories (ignore's work-stealing walker, with
/// every filter off so hidden and "ignored" files are seen); entries that mean something are
/// sent to this thread, which hands them to `sink` while the walk goes on.
fn walk_parallel<'m>(
    visitor: &Visitor<'_, 'm>,
    threads: usize,
    stats: &mut WalkStats,
    sink: &mut dyn FnMut(Event<'m>, &mut WalkStats),
) {
    let entries = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<Event<'m>>();
    std::thread::scope(|scope| {
        let entries = &entries;
        scope.spawn(move || {
            let walker = WalkBuilder::new(visitor.root)
                .standard_filters(false)
                .follow_links(false)
                .threads(threads)
                .build_parallel();
            walker.run(|| {
                let tx = tx.clone();
                let mut counter = LocalCount {
                    n: 0,
                    total: entries,
                };
                Box::new(move |item| {
                    let event = match item {
                        Ok(entry) if entry.depth() == 0 => None,
                        Ok(entry) => {
                            counter.add();
                            match entry.file_type() {
                                Some(ft) => visitor.entry(entry.path(), entry.file_name(), ft),
                                None => None,
                            }
                        }
                        Err(e) => {
                            let message = match e.io_error() {
                                Some(io) => io.to_string(),
                                None => e.to_string(),
                            };
                            Some(visitor.error(ignore_error_path(&e), message))
                        }
                    };
                    if let Some(event) = event {
                        if tx.send(event).is_err() {
                            return WalkState::Quit;
                        }
                    }
                    WalkState::Continue
                })
            });
            drop(tx);
        });
        let mut last = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => sink(event, stats),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let now = entries.load(Ordering::Relaxed);
            if now / PROGRESS_EVERY != last / PROGRESS_EVERY {
                last = now;
                sink(Event::Progress { entries: now }, stats);
            }
        }
    });
    stats.entries = entries.load(Ordering::Relaxed);
}

/// Decides what a symbolic link means when links are followed. Returns a candidate when the
/// link's own name matches a rule (followed, or skipped with the reason); notices otherwise.
fn follow_link<'m>(
    root: &Path,
    canon_root: &Path,
    path: &Path,
    targets: Option<&'m [Target]>,
) -> Option<Event<'m>> {
    let rel = rel_of(path, root);
    let target_text = match fs::read_link(path) {
        Ok(t) => t,
        Err(e) => {
            return Some(Event::Error {
                rel,
                message: format!("cannot read symbolic link: {e}"),
            });
        }
    };
    let mut link = LinkInfo {
        target_text: target_text.clone(),
        resolved_rel: None,
    };
    let shown = target_text.display();
    // Refuse before resolving: an absolute link names a path on this machine.
    let resolved: Result<(PathBuf, Metadata), String> = if target_text.is_absolute() {
        Err(format!(
            "symbolic link to the absolute path {shown} not followed: in evidence it would resolve on the examiner's machine, outside the root"
        ))
    } else {
        match fs::canonicalize(path) {
            Err(e) => Err(format!("symbolic link to {shown} cannot be resolved: {e}")),
            Ok(real) if !real.starts_with(canon_root) => Err(format!(
                "symbolic link to {shown} not followed: its target is outside the root"
            )),
            Ok(real) => match fs::metadata(&real) {
                Ok(m) => Ok((real, m)),
                Err(e) => Err(format!("symbolic link target {shown}: {e}")),
            },
        }
    };
    let lstat = || fs::symlink_metadata(path).map_err(|e| e.to_string());
    match resolved {
        Err(why) => match targets {
            Some(targets) => Some(Event::Candidate(Box::new(Candidate {
                path: path.to_path_buf(),
                open_path: path.to_path_buf(),
                rel,
                kind: EntryKind::Symlink,
                metadata: lstat(),
                targets,
                link: Some(link),
                skip: Some(why),
            }))),
            None => Some(Event::Notice { rel, message: why }),
        },
        Ok((real, meta)) => {
            let real_rel = rel_of(&real, canon_root);
            link.resolved_rel = Some(real_rel.clone());
            if meta.is_dir() {
                return Some(Event::Notice {
                    rel,
                    message: format!(
                        "directory link to {} not walked again: that folder is scanned at its real path",
                        real_rel.display()
                    ),
                });
            }
            let targets = targets?;
            let kind = EntryKind::from_file_type(meta.file_type());
            Some(Event::Candidate(Box::new(Candidate {
                path: path.to_path_buf(),
                open_path: real,
                rel,
                kind,
                metadata: Ok(meta),
                targets,
                link: Some(link),
                skip: kind.skip_reason().map(str::to_owned),
            })))
        }
    }
}
