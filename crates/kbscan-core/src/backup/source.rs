//! One data set of a `.bkf` as a read-only [`Source`]: the directories and files its `DIRB`
//! and `FILE` DBLKs record, by their paths as recorded, and each file's contents read from its
//! `STAN` stream in the `.bkf` (bounded, checksummed when the writer added a `CSUM`).
//!
//! The tree is built once from the set's entries: a `DIRB` names its full path from the
//! volume's root (Section 5.2.4), a `FILE` belongs to the `DIRB` before it (Section 3.3,
//! Table 1); folders on a recorded path that have no `DIRB` of their own are listed without
//! times. An entry whose place is not known (before any `VOLB`/`DIRB`, or a name no Windows
//! volume can hold: empty, `.`, `..`, or containing `/`, `\` or NUL) is not placed in the tree
//! and is listed in [`BackupSource::unplaced`] instead, never put somewhere it was not.

use std::collections::HashMap;

use super::mtf::block::{win32, Dates};
use super::mtf::{Backup, DataError, DataSet, ReadError, TimeZone};
use crate::model::time::{TimeBasis, Times};
use crate::source::{
    Entry, EntryKind, Link, ReadAt, Source, SourceError, SourceErrorKind, Stat, MAX_DIR_ENTRIES,
};

/// What a source over a set shows at its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every volume of the set, each a folder named by its device name (`C:`).
    Set,
    /// The root of one volume (an index in [`DataSet::volumes`]).
    Volume(usize),
}

#[derive(Debug)]
struct Node {
    name: Vec<u8>,
    kind: EntryKind,
    children: Vec<usize>,
    /// Index in the set's `dirs`, for a folder with a `DIRB`.
    dir: Option<usize>,
    /// Index in the set's `files`.
    file: Option<usize>,
}

/// An entry of the set that is not in the tree, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    /// The DBLK's offset in the `.bkf`.
    pub offset: u64,
    pub why: String,
}

/// One data set (or one volume of it) of an opened `.bkf`, as an evidence source.
pub struct BackupSource<'b, R> {
    backup: &'b Backup<R>,
    set: &'b DataSet,
    nodes: Vec<Node>,
    name: String,
    /// Entries not placed in the tree.
    pub unplaced: Vec<Unplaced>,
}

/// Why a recorded name cannot be a node of the tree, if it cannot.
fn bad_name(name: &[u8]) -> Option<&'static str> {
    match name {
        [] => Some("an empty name"),
        b"." | b".." => Some("a name that is `.` or `..`"),
        _ if name.iter().any(|&b| matches!(b, b'/' | b'\\' | 0)) => {
            Some("a name containing `/`, `\\` or NUL")
        }
        _ => None,
    }
}

fn is_reparse(nt: Option<u32>) -> bool {
    nt.is_some_and(|a| a & win32::REPARSE_POINT != 0)
}

impl<'b, R: ReadAt> BackupSource<'b, R> {
    /// The source over set `set` (an index in [`Backup::sets`]) of `backup`, shown as
    /// `name` in paths. `None` when there is no such set or volume.
    pub fn new(
        backup: &'b Backup<R>,
        set: usize,
        scope: Scope,
        name: impl Into<String>,
    ) -> Option<Self> {
        let s = backup.sets.get(set)?;
        if let Scope::Volume(v) = scope {
            s.volumes.get(v)?;
        }
        let mut src = Self {
            backup,
            set: s,
            nodes: vec![Node {
                name: Vec::new(),
                kind: EntryKind::Dir,
                children: Vec::new(),
                dir: None,
                file: None,
            }],
            name: name.into(),
            unplaced: Vec::new(),
        };
        src.build(scope);
        Some(src)
    }

    fn add(&mut self, parent: usize, node: Node) -> usize {
        let i = self.nodes.len();
        self.nodes.push(node);
        self.nodes[parent].children.push(i);
        i
    }

    fn build(&mut self, scope: Scope) {
        let set = self.set;
        // The node of each volume's root.
        let mut vol_root: Vec<Option<usize>> = vec![None; set.volumes.len()];
        match scope {
            Scope::Volume(v) => vol_root[v] = Some(0),
            Scope::Set => {
                for (i, v) in set.volumes.iter().enumerate() {
                    let name = v
                        .volb
                        .device
                        .as_ref()
                        .map(|d| d.bytes())
                        .unwrap_or_default();
                    if let Some(why) = bad_name(&name) {
                        self.unplaced.push(Unplaced {
                            offset: v.offset,
                            why: format!("a volume with {why} as its device name"),
                        });
                        continue;
                    }
                    vol_root[i] = Some(self.add(
                        0,
                        Node {
                            name,
                            kind: EntryKind::Dir,
                            children: Vec::new(),
                            dir: None,
                            file: None,
                        },
                    ));
                }
            }
        }
        let mut folders: HashMap<(usize, Vec<u8>), usize> = HashMap::new();
        let mut dir_node: Vec<Option<usize>> = vec![None; set.dirs.len()];
        // Directories of the volumes a one-volume source does not show.
        let mut elsewhere = vec![false; set.dirs.len()];
        for (di, d) in set.dirs.iter().enumerate() {
            let root = match d.volume.map(|v| vol_root.get(v).copied().flatten()) {
                Some(Some(r)) => r,
                Some(None) if scope != Scope::Set => {
                    elsewhere[di] = true;
                    continue;
                }
                Some(None) => {
                    self.unplaced.push(Unplaced {
                        offset: d.offset,
                        why: "a directory of a volume that is not shown".to_owned(),
                    });
                    continue;
                }
                None => {
                    self.unplaced.push(Unplaced {
                        offset: d.offset,
                        why: "a directory outside any volume".to_owned(),
                    });
                    continue;
                }
            };
            let Some(path) = &d.path else {
                self.unplaced.push(Unplaced {
                    offset: d.offset,
                    why: "a directory whose path cannot be read".to_owned(),
                });
                continue;
            };
            let names: Vec<Vec<u8>> = path.iter().map(|c| c.bytes()).collect();
            if let Some(why) = names.iter().find_map(|n| bad_name(n)) {
                self.unplaced.push(Unplaced {
                    offset: d.offset,
                    why: format!("a directory whose path has {why}"),
                });
                continue;
            }
            let mut at = root;
            for n in names {
                at = match folders.get(&(at, n.clone())) {
                    Some(&i) => i,
                    None => {
                        let i = self.add(
                            at,
                            Node {
                                name: n.clone(),
                                kind: EntryKind::Dir,
                                children: Vec::new(),
                                dir: None,
                                file: None,
                            },
                        );
                        folders.insert((at, n), i);
                        i
                    }
                };
            }
            // A path recorded twice (a continuation DIRB) keeps its first DIRB's details.
            let node = &mut self.nodes[at];
            if node.dir.is_none() {
                node.dir = Some(di);
                if is_reparse(d.nt_attributes) {
                    node.kind = EntryKind::Symlink;
                }
            }
            dir_node[di] = Some(at);
        }
        for (fi, f) in set.files.iter().enumerate() {
            let Some(parent) = f.dir.and_then(|d| dir_node.get(d).copied().flatten()) else {
                if !f
                    .dir
                    .is_some_and(|d| elsewhere.get(d).copied().unwrap_or(false))
                {
                    self.unplaced.push(Unplaced {
                        offset: f.offset,
                        why: "a file whose directory is not known".to_owned(),
                    });
                }
                continue;
            };
            let Some(name) = f.name.as_ref().map(|n| n.bytes()) else {
                self.unplaced.push(Unplaced {
                    offset: f.offset,
                    why: "a file whose name cannot be read".to_owned(),
                });
                continue;
            };
            if let Some(why) = bad_name(&name) {
                self.unplaced.push(Unplaced {
                    offset: f.offset,
                    why: format!("a file with {why}"),
                });
                continue;
            }
            self.add(
                parent,
                Node {
                    name,
                    kind: if is_reparse(f.nt_attributes) {
                        EntryKind::Symlink
                    } else {
                        EntryKind::File
                    },
                    children: Vec::new(),
                    dir: None,
                    file: Some(fi),
                },
            );
        }
    }

    fn node(&self, n: usize) -> Result<&Node, SourceError> {
        self.nodes
            .get(n)
            .ok_or_else(|| SourceError::corrupt("no such entry in the backup set"))
    }
}

fn times(d: &Dates) -> Times {
    Times {
        modified: d.modified.and_then(|t| t.timestamp()),
        accessed: d.accessed.and_then(|t| t.timestamp()),
        created: d.created.and_then(|t| t.timestamp()),
        changed: None,
    }
}

fn data_error(e: &DataError) -> SourceError {
    let kind = match e {
        DataError::Compressed { .. } => SourceErrorKind::Compressed,
        DataError::Encrypted { .. }
        | DataError::SetEncrypted
        | DataError::EfsEncrypted
        | DataError::Sparse
        | DataError::Variable => SourceErrorKind::Unsupported,
        DataError::Continued | DataError::PastEnd { .. } => SourceErrorKind::Io,
        DataError::Corrupt(_)
        | DataError::Missing { .. }
        | DataError::Ambiguous { .. }
        | DataError::Damaged(_) => SourceErrorKind::Corrupt,
    };
    SourceError::new(kind, format!("in the backup, {e}"))
}

impl<'b, R: ReadAt> Source for BackupSource<'b, R> {
    type Node = usize;

    fn root(&self) -> Result<(usize, Option<u64>), SourceError> {
        Ok((0, Some(0)))
    }

    fn list(&self, dir: &usize) -> Result<Vec<Entry<usize>>, SourceError> {
        let n = self.node(*dir)?;
        if n.kind != EntryKind::Dir {
            return Err(SourceError::corrupt("not a directory"));
        }
        if n.children.len() > MAX_DIR_ENTRIES {
            return Err(SourceError::corrupt(format!(
                "more than {MAX_DIR_ENTRIES} entries in one directory of the backup"
            )));
        }
        n.children
            .iter()
            .map(|&c| {
                let child = self.node(c)?;
                Ok(Entry {
                    name: child.name.clone(),
                    short_name: None,
                    kind: child.kind,
                    id: (child.kind == EntryKind::Dir).then_some(c as u64),
                    node: c,
                })
            })
            .collect()
    }

    fn stat(&self, node: &usize) -> Result<Stat, SourceError> {
        let n = self.node(*node)?;
        if let Some(f) = n.file.and_then(|f| self.set.files.get(f)) {
            return Ok(Stat {
                size: Some(match &f.data {
                    Ok(d) => d.length,
                    Err(_) => f.displayable_size,
                }),
                times: times(&f.dates),
            });
        }
        Ok(Stat {
            size: None,
            times: n
                .dir
                .and_then(|d| self.set.dirs.get(d))
                .map(|d| times(&d.dates))
                .unwrap_or_default(),
        })
    }

    fn read(&self, node: &usize, _size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
        let n = self.node(*node)?;
        let f = n
            .file
            .and_then(|f| self.set.files.get(f))
            .ok_or_else(|| SourceError::corrupt("not a file"))?;
        let data = f.data.as_ref().map_err(data_error)?;
        self.backup.read_data(data, limit).map_err(|e| match e {
            ReadError::Data(d) => data_error(&d),
            ReadError::Io(e) => SourceError::io(&e),
            ReadError::Short { .. } => SourceError::new(SourceErrorKind::Io, e.to_string()),
            ReadError::Checksum { .. } => SourceError::corrupt(format!("in the backup, {e}")),
        })
    }

    fn open(
        &self,
        node: &usize,
        _size: u64,
        _limit: u64,
    ) -> Result<Box<dyn ReadAt + '_>, SourceError> {
        let n = self.node(*node)?;
        let f = n
            .file
            .and_then(|f| self.set.files.get(f))
            .ok_or_else(|| SourceError::corrupt("not a file"))?;
        let data = f.data.as_ref().map_err(data_error)?;
        Ok(Box::new(self.backup.data_reader(data)))
    }

    fn link(&self, _node: &usize) -> Link<usize> {
        Link::NotWalked {
            text: None,
            why: "an NTFS reparse point recorded in the backup (junction, symbolic link or other), not followed".to_owned(),
        }
    }

    fn display_path(&self, rel: &str, _parts: &[Vec<u8>]) -> String {
        format!("{}/{rel}", self.name)
    }

    /// Section 5.2.2, Time Zone: a value from −48 to 48 says the times are coordinated to
    /// UTC; 127 (`LOCAL_TZ`) or anything else leaves them local times of an unknown zone.
    fn time_basis(&self) -> TimeBasis {
        match self.set.time_zone() {
            TimeZone::Utc { .. } => TimeBasis::Utc,
            TimeZone::Local | TimeZone::Invalid(_) => TimeBasis::LocalNoZone,
        }
    }

    fn root_failure(&self) -> &'static str {
        "cannot read the root folder of this backup set"
    }
}
