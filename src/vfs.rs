//! A small read-only file-system abstraction: list a directory (names, kinds, node handles),
//! stat a node (size, times), read a file's bytes, bounded. Implemented for the host's own
//! file system (`HostFs`, used to find and read registry hives) and for the file systems
//! inside disk images (`image::ntfs`, `image::fat`).
//!
//! The host's candidate walk keeps its own parallel walker (`walk.rs`, tuned for speed); the
//! image walk is [`walk_vfs`]. Both hand their candidates to the same inspection-from-bytes
//! (`inspect::evidence_from_bytes`) and the same judgement (`scan::findings_from`), so reports
//! do not depend on where the bytes came from.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::error::InspectError;
use crate::filter::{NameMatcher, Target};
use crate::inspect::{self, Times};
use crate::walk::{EntryKind, WalkStats};

/// Directories nested deeper than this are not entered (Windows paths stay far below it; a
/// deeper tree is a damaged or hostile directory structure, possibly a cycle).
pub const MAX_DEPTH: usize = 256;
/// Entries read from one directory at most (a FAT directory holds at most 65,536 entries; a
/// damaged NTFS index or FAT cluster chain can otherwise repeat forever).
pub const MAX_DIR_ENTRIES: usize = 1 << 20;

/// Why a node could not be listed, stat'ed or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VfsError {
    pub kind: VfsErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VfsErrorKind {
    /// Reading the underlying evidence failed.
    Io,
    /// A file-system structure is damaged (bad MFT record, broken index or cluster chain).
    Corrupt,
    /// The file's data is compressed (NTFS LZNT1), which is not decompressed.
    Compressed,
    /// A feature that is not supported (encrypted data…).
    Unsupported,
}

impl VfsError {
    pub fn new(kind: VfsErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(VfsErrorKind::Corrupt, message)
    }
    pub fn io(e: &io::Error) -> Self {
        Self::new(VfsErrorKind::Io, e.to_string())
    }
    /// A third-party parser panicked on this structure (contained).
    pub fn parser_failed(what: &str) -> Self {
        Self::corrupt(format!("the {what} reader failed on a damaged structure"))
    }
}

impl std::fmt::Display for VfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<VfsError> for InspectError {
    fn from(e: VfsError) -> Self {
        match e.kind {
            VfsErrorKind::Io => InspectError::Io(io::Error::other(e.message)),
            VfsErrorKind::Corrupt => InspectError::FileSystem(e.message),
            VfsErrorKind::Compressed => InspectError::Compressed(e.message),
            VfsErrorKind::Unsupported => InspectError::Unsupported(e.message),
        }
    }
}

/// One directory entry.
#[derive(Debug)]
pub struct VEntry<N> {
    /// The name as the file system stores it (the long name on FAT), as UTF-8.
    pub name: String,
    /// FAT's 8.3 alias when it differs from `name`; also matched against the rules.
    pub short_name: Option<String>,
    pub kind: EntryKind,
    /// A stable identity for cycle detection (the NTFS file record number), when known.
    pub id: Option<u64>,
    pub node: N,
}

/// Size and times of a node.
#[derive(Debug, Clone, Default)]
pub struct VStat {
    pub size: u64,
    pub times: Times,
}

/// A read-only file system.
pub trait Vfs {
    type Node;
    /// The root directory and its identity.
    fn root(&mut self) -> Result<(Self::Node, Option<u64>), VfsError>;
    /// The entries of a directory, without `.` and `..`, at most [`MAX_DIR_ENTRIES`].
    fn list(&mut self, dir: &Self::Node) -> Result<Vec<VEntry<Self::Node>>, VfsError>;
    fn stat(&mut self, node: &Self::Node) -> Result<VStat, VfsError>;
    /// The file's bytes, at most `limit + 1` of them (so a larger file is noticed).
    fn read(&mut self, node: &Self::Node, limit: u64) -> Result<Vec<u8>, VfsError>;
}

/// The host file system below a root, for the registry reader. Never follows links: `list`
/// reports them as `Symlink` and callers look only at files and directories.
#[derive(Debug, Clone)]
pub struct HostFs {
    pub root: PathBuf,
}

impl Vfs for HostFs {
    type Node = PathBuf;

    fn root(&mut self) -> Result<(PathBuf, Option<u64>), VfsError> {
        Ok((self.root.clone(), None))
    }

    fn list(&mut self, dir: &PathBuf) -> Result<Vec<VEntry<PathBuf>>, VfsError> {
        let entries = fs::read_dir(dir).map_err(|e| VfsError::io(&e))?;
        let mut out = Vec::new();
        for e in entries.flatten().take(MAX_DIR_ENTRIES) {
            let Ok(ft) = e.file_type() else { continue };
            out.push(VEntry {
                name: String::from_utf8_lossy(e.file_name().as_encoded_bytes()).into_owned(),
                short_name: None,
                kind: EntryKind::from_file_type(ft),
                id: None,
                node: e.path(),
            });
        }
        Ok(out)
    }

    fn stat(&mut self, node: &PathBuf) -> Result<VStat, VfsError> {
        let meta = fs::symlink_metadata(node).map_err(|e| VfsError::io(&e))?;
        Ok(VStat {
            size: meta.len(),
            times: inspect::times_of(&meta),
        })
    }

    fn read(&mut self, node: &PathBuf, limit: u64) -> Result<Vec<u8>, VfsError> {
        let file = inspect::open_evidence(node).map_err(|e| VfsError::io(&e))?;
        let meta = file.metadata().map_err(|e| VfsError::io(&e))?;
        if !meta.is_file() {
            return Err(VfsError::new(VfsErrorKind::Io, "not a regular file"));
        }
        let mut v = Vec::with_capacity(meta.len().min(limit) as usize);
        file.take(limit.saturating_add(1))
            .read_to_end(&mut v)
            .map_err(|e| VfsError::io(&e))?;
        Ok(v)
    }
}

/// The entry of `dir` named `name` (ASCII-case-insensitively, as Windows compares), of the
/// wanted kind (a directory, or a regular file).
pub fn child_ci<F: Vfs>(fs: &mut F, dir: &F::Node, name: &str, want_dir: bool) -> Option<F::Node> {
    let want = if want_dir {
        EntryKind::Dir
    } else {
        EntryKind::File
    };
    fs.list(dir).ok()?.into_iter().find_map(|e| {
        (e.kind == want
            && (e.name.eq_ignore_ascii_case(name)
                || e.short_name
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(name))))
        .then_some(e.node)
    })
}

/// A candidate found by [`walk_vfs`].
#[derive(Debug)]
pub struct VCandidate<'m, N> {
    /// Path components from the root down, the last being the entry's own name.
    pub parts: Vec<String>,
    pub kind: EntryKind,
    /// The node to read; `None` for a folder (never opened).
    pub node: Option<N>,
    pub targets: &'m [Target],
}

/// What the image walk met.
#[derive(Debug)]
pub enum VEvent<'m, N> {
    Candidate(VCandidate<'m, N>),
    Error { parts: Vec<String>, message: String },
    Notice { parts: Vec<String>, message: String },
    Progress { entries: u64 },
}

fn name_targets<'m>(matcher: &'m NameMatcher, e: &VEntry<impl Sized>) -> Option<&'m [Target]> {
    matcher.matches(std::ffi::OsStr::new(&e.name)).or_else(|| {
        e.short_name
            .as_deref()
            .and_then(|s| matcher.matches(std::ffi::OsStr::new(s)))
    })
}

/// Walks a file system depth-first, sequentially. Directories are entered once (by node id
/// where the file system has one), never deeper than [`MAX_DEPTH`]; a directory that cannot
/// be listed is an error event and the walk goes on. Fails only when the root cannot be read.
pub fn walk_vfs<F: Vfs>(
    fs: &mut F,
    matcher: &NameMatcher,
    sink: &mut dyn FnMut(&mut F, VEvent<'_, F::Node>),
) -> Result<WalkStats, VfsError> {
    let (root, root_id) = fs.root()?;
    let mut stats = WalkStats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    if let Some(id) = root_id {
        seen.insert(id);
    }
    let mut stack: Vec<(F::Node, Vec<String>)> = vec![(root, Vec::new())];
    let mut first = true;
    while let Some((dir, parts)) = stack.pop() {
        let entries = match fs.list(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(e) => {
                stats.errors += 1;
                sink(
                    fs,
                    VEvent::Error {
                        parts,
                        message: format!("cannot list this folder: {e}"),
                    },
                );
                continue;
            }
        };
        first = false;
        for e in entries {
            stats.entries += 1;
            if stats.entries % 4096 == 0 {
                sink(
                    fs,
                    VEvent::Progress {
                        entries: stats.entries,
                    },
                );
            }
            let targets = name_targets(matcher, &e);
            let mut child = parts.clone();
            child.push(e.name.clone());
            if let Some(targets) = targets {
                stats.candidates += 1;
                if e.kind != EntryKind::Dir {
                    let c = VCandidate {
                        parts: child,
                        kind: e.kind,
                        node: Some(e.node),
                        targets,
                    };
                    sink(fs, VEvent::Candidate(c));
                    continue;
                }
                // A folder named like a target is reported (skipped) and still walked.
                let c = VCandidate {
                    parts: child.clone(),
                    kind: e.kind,
                    node: None,
                    targets,
                };
                sink(fs, VEvent::Candidate(c));
            }
            if e.kind == EntryKind::Dir {
                if let Some(id) = e.id {
                    if !seen.insert(id) {
                        sink(
                            fs,
                            VEvent::Notice {
                                parts: child,
                                message: format!(
                                    "folder already walked (node {id}): a directory cycle, not entered again"
                                ),
                            },
                        );
                        continue;
                    }
                }
                if child.len() > MAX_DEPTH {
                    stats.errors += 1;
                    sink(
                        fs,
                        VEvent::Error {
                            parts: child,
                            message: format!(
                                "folders nested deeper than {MAX_DEPTH}: not entered (damaged directory structure?)"
                            ),
                        },
                    );
                    continue;
                }
                stack.push((e.node, child));
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    /// One node of [`Mock`]: name, short name, kind, id, children.
    type MockNode = (String, Option<String>, EntryKind, Option<u64>, Vec<usize>);

    /// A file system in memory.
    struct Mock {
        nodes: Vec<MockNode>,
    }

    impl Vfs for Mock {
        type Node = usize;
        fn root(&mut self) -> Result<(usize, Option<u64>), VfsError> {
            Ok((0, self.nodes[0].3))
        }
        fn list(&mut self, dir: &usize) -> Result<Vec<VEntry<usize>>, VfsError> {
            Ok(self.nodes[*dir]
                .4
                .iter()
                .map(|&c| {
                    let (name, short, kind, id, _) = &self.nodes[c];
                    VEntry {
                        name: name.clone(),
                        short_name: short.clone(),
                        kind: *kind,
                        id: *id,
                        node: c,
                    }
                })
                .collect())
        }
        fn stat(&mut self, _: &usize) -> Result<VStat, VfsError> {
            Ok(VStat::default())
        }
        fn read(&mut self, _: &usize, _: u64) -> Result<Vec<u8>, VfsError> {
            Ok(Vec::new())
        }
    }

    fn walk(fs: &mut Mock) -> (Vec<String>, Vec<String>, Vec<String>) {
        let rules = RuleSet::load(&[] as &[&std::path::Path]).unwrap();
        let m = NameMatcher::new(&rules);
        let (mut cands, mut notices, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        walk_vfs(fs, &m, &mut |_, e| match e {
            VEvent::Candidate(c) => cands.push(c.parts.join("/")),
            VEvent::Notice { parts, .. } => notices.push(parts.join("/")),
            VEvent::Error { parts, .. } => errors.push(parts.join("/")),
            VEvent::Progress { .. } => {}
        })
        .unwrap();
        (cands, notices, errors)
    }

    #[test]
    fn short_names_match_and_directory_cycles_are_walked_once() {
        let d = EntryKind::Dir;
        let f = EntryKind::File;
        let mut fs = Mock {
            nodes: vec![
                ("".into(), None, d, Some(5), vec![1]),
                ("a".into(), None, d, Some(10), vec![2, 3, 4]),
                // Long name does not match, the 8.3 alias does.
                (
                    "Station service.exe".into(),
                    Some("NSCM.EXE".into()),
                    f,
                    None,
                    vec![],
                ),
                // A folder pointing back at its parent (same node id): not entered again.
                ("loop".into(), None, d, Some(10), vec![2, 3, 4]),
                // A folder named like a target: reported and still walked.
                ("Nspmon.exe".into(), None, d, Some(11), vec![5]),
                ("nscm.exe".into(), None, f, None, vec![]),
            ],
        };
        let (cands, notices, errors) = walk(&mut fs);
        assert_eq!(
            cands,
            [
                "a/Station service.exe",
                "a/Nspmon.exe",
                "a/Nspmon.exe/nscm.exe"
            ]
        );
        assert_eq!(notices, ["a/loop"]);
        assert!(errors.is_empty());
    }

    #[test]
    fn nesting_without_ids_stops_at_the_depth_limit() {
        // One folder that contains itself, with no id (as on FAT): bounded by MAX_DEPTH.
        let mut fs = Mock {
            nodes: vec![
                ("".into(), None, EntryKind::Dir, None, vec![1]),
                ("d".into(), None, EntryKind::Dir, None, vec![1]),
            ],
        };
        let (_, _, errors) = walk(&mut fs);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].split('/').count(), MAX_DEPTH + 1);
    }
}
