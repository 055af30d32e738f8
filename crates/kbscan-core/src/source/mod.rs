//! Evidence sources. A folder on the host ([`host::HostSource`]) and a volume inside a disk
//! image (`image::ntfs`, `image::fat`) are both a read-only file system that can list a
//! directory (names, kinds, node ids), stat a node and read it, bounded. Everything after
//! this point — the walk, the inspection, the registry, the judgement — is written once
//! against [`Source`] and cannot tell where the bytes came from.

pub mod host;

use std::fs::FileType;
use std::io;

use crate::error::InspectError;
use crate::model::time::Times;

/// Directories nested deeper than this are not entered (Windows paths stay far below it; a
/// deeper tree is a damaged or hostile directory structure, possibly a cycle).
pub const MAX_DEPTH: usize = 256;
/// Entries read from one directory at most (a FAT directory holds at most 65,536 entries; a
/// damaged NTFS index or FAT cluster chain can otherwise repeat forever).
pub const MAX_DIR_ENTRIES: usize = 1 << 20;

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

/// Why a node could not be listed, stat'ed or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub kind: SourceErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// Reading the underlying evidence failed.
    Io,
    /// The metadata of an entry could not be read.
    Metadata,
    /// A file-system structure is damaged (bad MFT record, broken index or cluster chain).
    Corrupt,
    /// The file's data is compressed (NTFS LZNT1), which is not decompressed.
    Compressed,
    /// A feature that is not supported (encrypted data…).
    Unsupported,
    /// A boundary the walk does not cross by default (a mount point): a notice, not an error.
    Boundary,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::Corrupt, message)
    }
    pub fn io(e: &io::Error) -> Self {
        Self::new(SourceErrorKind::Io, e.to_string())
    }
    /// A third-party parser panicked on this structure (contained).
    pub fn parser_failed(what: &str) -> Self {
        Self::corrupt(format!("the {what} reader failed on a damaged structure"))
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SourceError> for InspectError {
    fn from(e: SourceError) -> Self {
        match e.kind {
            SourceErrorKind::Io => InspectError::Io(io::Error::other(e.message)),
            SourceErrorKind::Metadata => InspectError::Metadata(e.message),
            SourceErrorKind::Corrupt => InspectError::FileSystem(e.message),
            SourceErrorKind::Compressed => InspectError::Compressed(e.message),
            SourceErrorKind::Unsupported => InspectError::Unsupported(e.message),
            SourceErrorKind::Boundary => InspectError::Io(io::Error::other(e.message)),
        }
    }
}

/// One directory entry.
#[derive(Debug)]
pub struct Entry<N> {
    /// The name as the file system stores it: raw bytes on the host, UTF-8 inside images
    /// (the long name on FAT).
    pub name: Vec<u8>,
    /// FAT's 8.3 alias when it differs from `name`; also matched against the rules.
    pub short_name: Option<Vec<u8>>,
    pub kind: EntryKind,
    /// A stable identity for cycle detection (the NTFS file record number), when known.
    pub id: Option<u64>,
    pub node: N,
}

impl<N> Entry<N> {
    /// True when `name` (or the 8.3 alias) equals `want`, ASCII-case-insensitively as Windows
    /// compares names.
    pub fn is_named(&self, want: &str) -> bool {
        self.name.eq_ignore_ascii_case(want.as_bytes())
            || self
                .short_name
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(want.as_bytes()))
    }
}

/// Size (regular files only) and times of a node.
#[derive(Debug, Clone, Default)]
pub struct Stat {
    pub size: Option<u64>,
    pub times: Times,
}

/// Times of any node, a folder too (issue 14): `si` are the times `stat` gives (on NTFS
/// `$STANDARD_INFORMATION`), `name` the NTFS `$FILE_NAME` attribute's times (NTFS only).
#[derive(Debug, Clone, Default)]
pub struct NodeTimes {
    pub si: Times,
    pub name: Option<Times>,
}

/// What a symbolic link (or reparse point) met in a listing means, by the source's policy.
#[derive(Debug)]
pub enum Link<N> {
    /// Not followed (links are not followed here): a candidate is skipped with `why`; other
    /// links are passed over.
    Kept { text: Option<String>, why: String },
    /// Following was refused (outside the root, absolute, dangling): a candidate is skipped
    /// with `why`; any other link gets a notice saying it.
    Refused { text: Option<String>, why: String },
    /// A link to a directory, which is walked at its real path: a notice.
    Dir { notice: String },
    /// Followed to a non-directory inside the root: a candidate is judged as `node`.
    Target {
        text: String,
        node: N,
        kind: EntryKind,
    },
    /// The link itself could not be read: an error.
    Unreadable(String),
    /// A link or reparse point this source does not walk (an NTFS junction or symbolic
    /// link): a candidate is skipped with `why`; any other entry gives
    /// [`crate::walk::Event::NotWalked`] (a notice the driver checks against the rules'
    /// install paths).
    NotWalked { text: Option<String>, why: String },
    /// Not a link after all (an NTFS reparse point of another kind: cloud folder, dedup…):
    /// walked as `kind` (a folder is entered, a file may be a candidate), after `notice`.
    Walk {
        kind: EntryKind,
        notice: Option<String>,
    },
}

/// A read-only file system holding evidence.
pub trait Source {
    /// A handle on one entry (a path, a file record number…); cloned for directories that
    /// are both reported and entered.
    type Node: Clone;
    /// The root directory and its identity.
    fn root(&self) -> Result<(Self::Node, Option<u64>), SourceError>;
    /// The entries of a directory, without `.` and `..`, at most [`MAX_DIR_ENTRIES`].
    fn list(&self, dir: &Self::Node) -> Result<Vec<Entry<Self::Node>>, SourceError>;
    /// Size and times, taken before the node is read.
    fn stat(&self, node: &Self::Node) -> Result<Stat, SourceError>;
    /// The file's bytes, at most `limit + 1` of them (so a larger file is noticed); `size` is
    /// what `stat` said.
    fn read(&self, node: &Self::Node, size: u64, limit: u64) -> Result<Vec<u8>, SourceError>;
    /// The file opened for positional reads, so that it can be hashed by streaming and only
    /// the parts the PE reader needs are kept in memory. The default reads it whole, bounded
    /// by `limit + 1` bytes, through [`Source::read`] (image volumes, whose files are small).
    fn open(
        &self,
        node: &Self::Node,
        size: u64,
        limit: u64,
    ) -> Result<Box<dyn ReadAt + '_>, SourceError> {
        Ok(Box::new(self.read(node, size, limit)?))
    }
    /// What a link entry means here.
    fn link(&self, node: &Self::Node) -> Link<Self::Node>;
    /// True when links are followed, so every link (not only candidates) is resolved.
    fn follows_links(&self) -> bool {
        false
    }
    /// True when [`Source::link`] is asked about every link entry, candidate or not (NTFS:
    /// most reparse points are walked).
    fn resolves_every_link(&self) -> bool {
        self.follows_links()
    }
    /// The root as shown joined with a relative path (escaped, `/`-separated).
    fn display_path(&self, rel: &str, parts: &[Vec<u8>]) -> String;
    /// What this source's times mean (FAT: local times of no known zone).
    fn time_basis(&self) -> crate::model::time::TimeBasis {
        crate::model::time::TimeBasis::Utc
    }
    /// What to say when the root cannot be read.
    fn root_failure(&self) -> &'static str;
    /// issue 14: the times of any node, folders too, with NTFS's `$FILE_NAME` times where the
    /// file system has them; by default what `stat` gives.
    fn node_times(&self, node: &Self::Node) -> Option<NodeTimes> {
        self.stat(node).ok().map(|s| NodeTimes {
            si: s.times,
            name: None,
        })
    }
}

/// The entry of `dir` named `name` (ASCII-case-insensitively, as Windows compares), of the
/// wanted kind (a directory, or a regular file).
pub fn child_ci<S: Source>(
    src: &S,
    dir: &S::Node,
    name: &str,
    want_dir: bool,
) -> Option<Entry<S::Node>> {
    let want = if want_dir {
        EntryKind::Dir
    } else {
        EntryKind::File
    };
    src.list(dir)
        .ok()?
        .into_iter()
        .find(|e| e.kind == want && e.is_named(name))
}

/// Follows `rel` from `base`, each step ASCII-case-insensitively; every step but the last is
/// a directory, the last one too when `last_is_dir`. Returns the entries met, in order.
pub fn path_ci<S: Source>(
    src: &S,
    base: &S::Node,
    rel: &[&str],
    last_is_dir: bool,
) -> Option<Vec<Entry<S::Node>>> {
    let mut out: Vec<Entry<S::Node>> = Vec::with_capacity(rel.len());
    for (i, part) in rel.iter().enumerate() {
        let is_last = i + 1 == rel.len();
        let dir = out.last().map_or(base, |e| &e.node);
        let e = child_ci(src, dir, part, !is_last || last_is_dir)?;
        out.push(e);
    }
    Some(out)
}

/// Positional reads of one opened file (`pread` on the host, a slice for bytes in memory).
pub trait ReadAt {
    /// Reads at `offset` into `buf`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.as_slice().read_at(buf, offset)
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// Reads at most `limit + 1` bytes from a reader, so a file that grew past the limit is
/// noticed; `size_hint` only sizes the buffer (never more than the limit).
pub fn read_bounded(r: impl io::Read, size_hint: u64, limit: u64) -> io::Result<Vec<u8>> {
    use io::Read;
    // The hint comes from evidence: it sizes the first allocation only up to a modest bound.
    let cap = usize::try_from(size_hint.min(limit).min(MAX_PREALLOC)).unwrap_or(0);
    let mut v = Vec::with_capacity(cap);
    r.take(limit.saturating_add(1)).read_to_end(&mut v)?;
    Ok(v)
}

/// The most a read allocates before it has seen the bytes.
const MAX_PREALLOC: u64 = 64 * 1024 * 1024;
