//! Walking one root: every directory entry is tested by name, and only names that match a
//! rule become candidates. Nothing here opens a file.
//!
//! Symbolic links are never followed unless asked, and then only when the link's real target
//! stays inside the root: an absolute link in a mounted image names a path on the examiner's
//! own machine. Directory links are never walked again, because a directory inside the root
//! is already walked at its real path; so link loops cannot make the walk run forever.

use std::fs::{self, FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};

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

#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
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

/// Walks `root` and reports every candidate, error and notice to `sink`.
/// Fails only when the root itself cannot be walked.
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
    // Only needed to keep followed links inside the root.
    let canon_root = if opts.follow_symlinks {
        Some(fs::canonicalize(root)?)
    } else {
        None
    };
    let mut stats = WalkStats::default();
    for item in WalkDir::new(root).follow_links(false).min_depth(1) {
        let entry = match item {
            Ok(e) => e,
            Err(e) => {
                stats.errors += 1;
                let rel = e.path().map(|p| rel_of(p, root)).unwrap_or_default();
                let message = match e.io_error() {
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                };
                sink(Event::Error { rel, message });
                continue;
            }
        };
        stats.entries += 1;
        if stats.entries % PROGRESS_EVERY == 0 {
            sink(Event::Progress {
                entries: stats.entries,
            });
        }
        let ft = entry.file_type();
        let targets = matcher.matches(entry.file_name());
        if ft.is_symlink() {
            if let Some(canon_root) = &canon_root {
                if let Some(c) = follow_link(root, canon_root, entry.path(), targets, sink) {
                    stats.candidates += 1;
                    sink(Event::Candidate(Box::new(c)));
                }
                continue;
            }
        }
        let Some(targets) = targets else { continue };
        stats.candidates += 1;
        let kind = EntryKind::from_file_type(ft);
        let link = if kind == EntryKind::Symlink {
            fs::read_link(entry.path()).ok().map(|t| LinkInfo {
                target_text: t,
                resolved_rel: None,
            })
        } else {
            None
        };
        let rel = rel_of(entry.path(), root);
        sink(Event::Candidate(Box::new(Candidate {
            path: entry.path().to_path_buf(),
            open_path: entry.path().to_path_buf(),
            rel,
            kind,
            metadata: entry.metadata().map_err(|e| e.to_string()),
            targets,
            link,
            skip: kind.skip_reason().map(str::to_owned),
        })));
    }
    Ok(stats)
}

/// Decides what a symbolic link means when links are followed. Returns a candidate when the
/// link's own name matches a rule (followed, or skipped with the reason); notices otherwise.
fn follow_link<'m>(
    root: &Path,
    canon_root: &Path,
    path: &Path,
    targets: Option<&'m [Target]>,
    sink: &mut dyn FnMut(Event<'_>),
) -> Option<Candidate<'m>> {
    let rel = rel_of(path, root);
    let target_text = match fs::read_link(path) {
        Ok(t) => t,
        Err(e) => {
            sink(Event::Error {
                rel,
                message: format!("cannot read symbolic link: {e}"),
            });
            return None;
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
            Some(targets) => Some(Candidate {
                path: path.to_path_buf(),
                open_path: path.to_path_buf(),
                rel,
                kind: EntryKind::Symlink,
                metadata: lstat(),
                targets,
                link: Some(link),
                skip: Some(why),
            }),
            None => {
                sink(Event::Notice { rel, message: why });
                None
            }
        },
        Ok((real, meta)) => {
            let real_rel = rel_of(&real, canon_root);
            link.resolved_rel = Some(real_rel.clone());
            if meta.is_dir() {
                sink(Event::Notice {
                    rel,
                    message: format!(
                        "directory link to {} not walked again: that folder is scanned at its real path",
                        real_rel.display()
                    ),
                });
                return None;
            }
            let targets = targets?;
            let kind = EntryKind::from_file_type(meta.file_type());
            Some(Candidate {
                path: path.to_path_buf(),
                open_path: real,
                rel,
                kind,
                metadata: Ok(meta),
                targets,
                link: Some(link),
                skip: kind.skip_reason().map(str::to_owned),
            })
        }
    }
}
