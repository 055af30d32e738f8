//! A folder on the examiner's machine as an evidence source: a mounted image, a restored
//! backup. Listing uses the directory's own entry types (no `stat` per entry); only
//! candidates are stat'ed, before they are opened read-only with `O_NOFOLLOW`. Symbolic links
//! are not followed unless asked, and then only to targets inside the root.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{read_bounded, Entry, EntryKind, Link, Source, SourceError, SourceErrorKind, Stat};
use crate::escape::escape_bytes;
use crate::evidence::inspect::{open_evidence, times_of};

/// A host folder, walked by `threads` threads (1: sequentially).
#[derive(Debug, Clone)]
pub struct HostSource {
    root: PathBuf,
    /// Set when links are followed: the canonical root their targets must stay inside.
    canon_root: Option<PathBuf>,
    threads: usize,
}

impl HostSource {
    /// Threads to walk it with (it can be shared between threads).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// A source for `root`. With `follow_symlinks`, the root is made canonical now; when that
    /// fails the walk reports the root as unreadable.
    pub fn new(root: &Path, follow_symlinks: bool, threads: usize) -> Self {
        Self {
            root: root.to_path_buf(),
            canon_root: if follow_symlinks {
                Some(fs::canonicalize(root).unwrap_or_default())
            } else {
                None
            },
            threads: threads.max(1),
        }
    }

    fn rel_text(rel: &Path) -> String {
        let parts: Vec<String> = rel
            .components()
            .map(|c| escape_bytes(c.as_os_str().as_encoded_bytes()))
            .collect();
        parts.join("/")
    }

    /// The link policy when links are followed (`canon_root` set).
    fn follow(&self, canon_root: &Path, path: &Path) -> Link<PathBuf> {
        let target_text = match fs::read_link(path) {
            Ok(t) => t,
            Err(e) => return Link::Unreadable(format!("cannot read symbolic link: {e}")),
        };
        let text = escape_bytes(target_text.as_os_str().as_encoded_bytes());
        let shown = target_text.display();
        // Refuse before resolving: an absolute link names a path on this machine.
        let refused = |why: String| Link::Refused {
            text: Some(text.clone()),
            why,
        };
        if target_text.is_absolute() {
            return refused(format!(
                "symbolic link to the absolute path {shown} not followed: in evidence it would resolve on the examiner's machine, outside the root"
            ));
        }
        let real = match fs::canonicalize(path) {
            Err(e) => return refused(format!("symbolic link to {shown} cannot be resolved: {e}")),
            Ok(real) if !real.starts_with(canon_root) => {
                return refused(format!(
                    "symbolic link to {shown} not followed: its target is outside the root"
                ))
            }
            Ok(real) => real,
        };
        let meta = match fs::metadata(&real) {
            Ok(m) => m,
            Err(e) => return refused(format!("symbolic link target {shown}: {e}")),
        };
        let real_rel = real.strip_prefix(canon_root).unwrap_or(&real);
        if meta.is_dir() {
            return Link::Dir {
                notice: format!(
                    "directory link to {} not walked again: that folder is scanned at its real path",
                    Self::rel_text(real_rel)
                ),
            };
        }
        Link::Target {
            text: format!(
                "{text} (resolves to {} in the root)",
                Self::rel_text(real_rel)
            ),
            kind: EntryKind::from_file_type(meta.file_type()),
            node: real,
        }
    }
}

impl Source for HostSource {
    /// The entry's path (the root as given joined with the names).
    type Node = PathBuf;

    fn root(&self) -> Result<(PathBuf, Option<u64>), SourceError> {
        let meta = fs::metadata(&self.root).map_err(|e| SourceError::io(&e))?;
        if !meta.is_dir() {
            return Err(SourceError::new(SourceErrorKind::Io, "not a directory"));
        }
        if self
            .canon_root
            .as_ref()
            .is_some_and(|c| c.as_os_str().is_empty())
        {
            let e = fs::canonicalize(&self.root)
                .err()
                .unwrap_or_else(|| io::Error::other("the root could not be made canonical"));
            return Err(SourceError::io(&e));
        }
        Ok((self.root.clone(), None))
    }

    fn list(&self, dir: &PathBuf) -> Result<Vec<Entry<PathBuf>>, SourceError> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).map_err(|e| SourceError::io(&e))? {
            let e = e.map_err(|e| SourceError::io(&e))?;
            if out.len() >= super::MAX_DIR_ENTRIES {
                return Err(SourceError::corrupt(format!(
                    "more than {} entries in one folder: not read",
                    super::MAX_DIR_ENTRIES
                )));
            }
            let kind = EntryKind::from_file_type(e.file_type().map_err(|e| SourceError::io(&e))?);
            out.push(Entry {
                name: e.file_name().into_encoded_bytes(),
                short_name: None,
                kind,
                id: None,
                node: e.path(),
            });
        }
        Ok(out)
    }

    fn stat(&self, node: &PathBuf) -> Result<Stat, SourceError> {
        let meta = fs::symlink_metadata(node)
            .map_err(|e| SourceError::new(SourceErrorKind::Metadata, e.to_string()))?;
        Ok(Stat {
            size: meta.is_file().then_some(meta.len()),
            times: times_of(&meta),
        })
    }

    fn read(&self, node: &PathBuf, size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
        let file = open_evidence(node).map_err(|e| SourceError::io(&e))?;
        // The walk saw a regular file; make sure the opened handle still is one.
        let meta = file.metadata().map_err(|e| SourceError::io(&e))?;
        if !meta.is_file() {
            return Err(SourceError::new(
                SourceErrorKind::Io,
                "no longer a regular file when opened",
            ));
        }
        read_bounded(file, size, limit).map_err(|e| SourceError::io(&e))
    }

    fn link(&self, node: &PathBuf) -> Link<PathBuf> {
        match &self.canon_root {
            Some(canon_root) => self.follow(canon_root, node),
            None => Link::Kept {
                text: fs::read_link(node)
                    .ok()
                    .map(|t| escape_bytes(t.as_os_str().as_encoded_bytes())),
                why: EntryKind::Symlink
                    .skip_reason()
                    .unwrap_or("a symbolic link")
                    .to_owned(),
            },
        }
    }

    fn follows_links(&self) -> bool {
        self.canon_root.is_some()
    }

    fn display_path(&self, _rel: &str, parts: &[Vec<u8>]) -> String {
        let mut p = self.root.clone();
        for part in parts {
            p.push(os_str(part));
        }
        escape_bytes(p.as_os_str().as_encoded_bytes())
    }

    fn root_failure(&self) -> &'static str {
        "cannot scan this root"
    }
}

/// Names listed on this machine, back as the platform's string (they came from
/// `into_encoded_bytes` here, so this is lossless on Unix).
#[cfg(unix)]
fn os_str(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}

#[cfg(not(unix))]
fn os_str(bytes: &[u8]) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(std::str::from_utf8(bytes).unwrap_or("\u{fffd}"))
}
