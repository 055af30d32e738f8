//! A folder on the examiner's machine as an evidence source: a mounted image, a restored
//! backup. The walk never uses a full path: the root is opened once, and every folder is
//! opened relative to its parent's descriptor (`openat` with `O_DIRECTORY|O_NOFOLLOW`), listed
//! with `getdents`, and every candidate opened relative to its folder with `O_NOFOLLOW`. The
//! (device, inode) of what was opened (`statx` on the descriptor) is checked against what the
//! listing gave (a folder) and what `statx(AT_SYMLINK_NOFOLLOW)` saw by name (a candidate,
//! before it is read): a folder or file swapped for another (or for a link) while the walk
//! runs is an error for that folder or file, never a read outside the root. Paths of any length are
//! walked (no `PATH_MAX`). Listing uses the directory's own entry types (no `stat` per entry).
//! A folder on another mount (another device, or a bind mount) is not walked unless asked
//! (`--cross-mounts`). Symbolic links are not followed unless asked, and then only relative
//! ones, resolved component by component inside the root.
//!
//! Over 400 lines: every openat-based operation (list, stat, open, link resolution one
//! component at a time, mount and swap checks) shares the descriptor handling here.

use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustix::fs::{
    openat, readlinkat, statx, AtFlags, FileType, Mode, OFlags, RawDir, Statx, StatxFlags, CWD,
};

use super::{read_bounded, Entry, EntryKind, Link, Source, SourceError, SourceErrorKind, Stat};
use crate::escape::escape_bytes;
use crate::model::time::{Times, Timestamp};

/// The timestamps of an `lstat`/`stat` result.
pub fn times_of(meta: &Metadata) -> Times {
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        Some(Timestamp::from_unix_nanos(
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        ))
    };
    #[cfg(not(unix))]
    let changed = None;
    Times {
        modified: meta.modified().ok().map(Timestamp::from_system_time),
        accessed: meta.accessed().ok().map(Timestamp::from_system_time),
        created: meta.created().ok().map(Timestamp::from_system_time),
        changed,
    }
}

/// Opens evidence named by a path read-only (`kbscan version`, images, hives given on the
/// command line): `O_NOFOLLOW` (a link swapped in is refused), `O_NONBLOCK` (a FIFO swapped in
/// cannot block), and `O_NOATIME` where the kernel allows it (it needs file ownership),
/// silently without it otherwise.
pub fn open_evidence(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    match OpenOptions::new()
        .read(true)
        .custom_flags(base | libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            OpenOptions::new().read(true).custom_flags(base).open(path)
        }
        other => other,
    }
}

fn ioe(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

/// Why a folder seen a moment ago (listed, or checked by name) could not be opened, in the
/// words of what happened: only `ELOOP`/`ENOTDIR` (`O_NOFOLLOW | O_DIRECTORY` met a link or a
/// file where the folder was) mean it changed while the walk ran.
fn open_dir_error(e: rustix::io::Errno) -> SourceError {
    use rustix::io::Errno;
    let text = match e {
        Errno::LOOP | Errno::NOTDIR => format!(
            "changed while the walk ran (a folder replaced by a link or a file): {}",
            ioe(e)
        ),
        Errno::ACCESS | Errno::PERM => {
            format!(
                "permission denied: the folder cannot be opened ({})",
                ioe(e)
            )
        }
        _ => format!("the folder cannot be opened: {}", ioe(e)),
    };
    SourceError::new(SourceErrorKind::Io, text)
}

fn src_err(e: rustix::io::Errno) -> SourceError {
    SourceError::io(&ioe(e))
}

/// What identifies a file: its device and inode, and the mount it was reached through.
#[derive(Debug, Clone, Copy)]
struct Ident {
    dev: u64,
    ino: u64,
    mnt: Option<u64>,
}

impl Ident {
    fn of(st: &Statx) -> Self {
        Self {
            dev: (u64::from(st.stx_dev_major) << 32) | u64::from(st.stx_dev_minor),
            ino: st.stx_ino,
            mnt: StatxFlags::from_bits_retain(st.stx_mask)
                .contains(StatxFlags::MNT_ID)
                .then_some(st.stx_mnt_id),
        }
    }
    fn same_file(&self, other: &Ident) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
    /// True when `other` lies on another mount than `self` (another device, or another mount
    /// of the same device such as a bind mount).
    fn other_mount(&self, other: &Ident) -> bool {
        self.dev != other.dev || matches!((self.mnt, other.mnt), (Some(a), Some(b)) if a != b)
    }
}

const ID_MASK: StatxFlags = StatxFlags::TYPE
    .union(StatxFlags::INO)
    .union(StatxFlags::MNT_ID);

/// Opens a folder to list it, with `O_NOATIME` where the kernel allows it (the folder's
/// owner, or root): listing a folder otherwise sets its access time on a read-write mount.
fn open_folder<P: rustix::path::Arg + Copy>(
    at: impl AsFd,
    name: P,
    flags: OFlags,
) -> rustix::io::Result<rustix::fd::OwnedFd> {
    match openat(&at, name, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => openat(&at, name, flags, Mode::empty()),
        other => other,
    }
}

fn statx_name(dir: impl AsFd, name: &[u8], mask: StatxFlags) -> rustix::io::Result<Statx> {
    statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, mask)
}

fn statx_fd(fd: impl AsFd, mask: StatxFlags) -> rustix::io::Result<Statx> {
    statx(fd, c"", AtFlags::EMPTY_PATH, mask)
}

fn file_type(st: &Statx) -> FileType {
    FileType::from_raw_mode(u32::from(st.stx_mode))
}

/// An open folder: its descriptor, identity and (when links are followed) where it is.
struct DirHandle {
    fd: OwnedFd,
    id: Ident,
    /// The parent folder and this folder's name, kept only when links are followed (to
    /// resolve a relative link from where it is).
    up: Option<(Arc<DirHandle>, Box<[u8]>)>,
}

impl std::fmt::Debug for DirHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirHandle")
            .field("fd", &self.fd)
            .field("id", &self.id)
            .finish()
    }
}

impl DirHandle {
    /// The names from the root down to this folder.
    fn parts(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = self;
        while let Some((parent, name)) = &at.up {
            out.push(name.to_vec());
            at = parent;
        }
        out.reverse();
        out
    }
}

/// One entry of a host folder: the folder's open descriptor and the entry's name (empty for
/// the root itself).
#[derive(Debug, Clone)]
pub struct HostNode {
    dir: Arc<DirHandle>,
    name: Box<[u8]>,
    /// The inode the listing gave (0: not from a listing), checked against what is opened.
    listed_ino: u64,
    /// The listing said this entry is a symbolic link.
    is_link: bool,
    /// What `stat` saw by name, checked against what is opened.
    seen: OnceLock<Ident>,
    /// A link's size and times as they were before kbscan first read its target:
    /// `readlinkat` updates a link's access time on a read-write mount, and the report must
    /// give the evidence's time, not the scan's.
    before_read: OnceLock<Stat>,
}

impl HostNode {
    fn is_root(&self) -> bool {
        self.name.is_empty()
    }
}

/// A host folder, walked by `threads` threads (1: sequentially).
#[derive(Debug)]
pub struct HostSource {
    root: PathBuf,
    follow: bool,
    cross_mounts: bool,
    threads: usize,
    /// The root, opened by `root()`.
    root_dir: OnceLock<Arc<DirHandle>>,
}

/// Why a link could not be resolved inside the root.
enum Unresolved {
    Outside,
    Io(io::Error),
}

const MOUNTED_FILE: &str =
    "a file mounted from another file system or bind-mounted: not read (--cross-mounts reads it)";

/// The most links one resolution goes through (the kernel's own limit).
const MAX_LINK_HOPS: usize = 40;

impl HostSource {
    /// Threads to walk it with (it can be shared between threads).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// A source for `root`. With `follow_symlinks`, relative links whose target stays inside
    /// the root are followed; with `cross_mounts`, folders on other mounts are walked.
    pub fn new(root: &Path, follow_symlinks: bool, threads: usize) -> Self {
        Self {
            root: root.to_path_buf(),
            follow: follow_symlinks,
            cross_mounts: false,
            threads: threads.max(1),
            root_dir: OnceLock::new(),
        }
    }

    /// Walks folders on other mounts too.
    pub fn cross_mounts(mut self, yes: bool) -> Self {
        self.cross_mounts = yes;
        self
    }

    fn rel_text(parts: &[Vec<u8>]) -> String {
        let v: Vec<String> = parts.iter().map(|p| escape_bytes(p)).collect();
        v.join("/")
    }

    fn root_handle(&self) -> Result<&Arc<DirHandle>, SourceError> {
        self.root_dir
            .get()
            .ok_or_else(|| SourceError::new(SourceErrorKind::Io, "the root is not open"))
    }

    /// Opens a folder named `name` in `parent`, refusing a link, a swap or (unless asked)
    /// another mount.
    fn open_dir(
        &self,
        parent: &Arc<DirHandle>,
        name: &[u8],
        listed_ino: u64,
    ) -> Result<Arc<DirHandle>, SourceError> {
        let mount_point = || {
            SourceError::new(
                SourceErrorKind::Boundary,
                "a mount point (another file system or a bind mount): not walked; --cross-mounts walks it",
            )
        };
        // Not from a listing (a link being resolved): what is there now, by name.
        let seen = match listed_ino {
            0 => {
                let before = statx_name(&parent.fd, name, ID_MASK).map_err(src_err)?;
                if file_type(&before) != FileType::Directory {
                    return Err(SourceError::new(SourceErrorKind::Io, "not a folder"));
                }
                let seen = Ident::of(&before);
                if parent.id.other_mount(&seen) && !self.cross_mounts {
                    return Err(mount_point());
                }
                Some(seen)
            }
            _ => None,
        };
        let fd = open_folder(
            &parent.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        )
        .map_err(open_dir_error)?;
        let id = Ident::of(&statx_fd(&fd, ID_MASK).map_err(src_err)?);
        if parent.id.other_mount(&id) && !self.cross_mounts {
            return Err(mount_point());
        }
        if seen.is_some_and(|s| !s.same_file(&id)) || listed_other(parent, &id, listed_ino) {
            return Err(SourceError::new(
                SourceErrorKind::Io,
                "the folder was replaced while the walk ran: not read",
            ));
        }
        let up = self
            .follow
            .then(|| (Arc::clone(parent), name.to_vec().into_boxed_slice()));
        Ok(Arc::new(DirHandle { fd, id, up }))
    }

    /// Opens the folder at `parts` below the root, one component at a time.
    fn open_parts(&self, parts: &[Vec<u8>]) -> Result<Arc<DirHandle>, SourceError> {
        let mut at = Arc::clone(self.root_handle()?);
        for p in parts {
            at = self.open_dir(&at, p, 0)?;
        }
        Ok(at)
    }

    /// Resolves `target` (a relative link's text) from the folder `from`, component by
    /// component, without ever leaving the root.
    fn resolve(&self, mut cur: Vec<Vec<u8>>, target: &[u8]) -> Result<Vec<Vec<u8>>, Unresolved> {
        let io_of = |e: SourceError| Unresolved::Io(io::Error::other(e.message));
        let mut todo: Vec<Vec<u8>> = target
            .split(|&b| b == b'/')
            .rev()
            .map(<[u8]>::to_vec)
            .collect();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match &c[..] {
                b"" | b"." => continue,
                b".." => {
                    if cur.pop().is_none() {
                        return Err(Unresolved::Outside);
                    }
                    continue;
                }
                _ => {}
            }
            let parent = self.open_parts(&cur).map_err(io_of)?;
            let st = statx_name(&parent.fd, &c, ID_MASK).map_err(|e| Unresolved::Io(ioe(e)))?;
            if file_type(&st) == FileType::Symlink {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(Unresolved::Io(io::Error::from_raw_os_error(libc::ELOOP)));
                }
                let t = readlinkat(&parent.fd, &c[..], Vec::new())
                    .map_err(|e| Unresolved::Io(ioe(e)))?
                    .into_bytes();
                if t.starts_with(b"/") {
                    return Err(Unresolved::Outside);
                }
                todo.extend(t.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
            } else {
                if !todo.iter().all(|c| c.is_empty() || c == b".")
                    && file_type(&st) != FileType::Directory
                {
                    return Err(Unresolved::Io(io::Error::from_raw_os_error(libc::ENOTDIR)));
                }
                cur.push(c);
            }
        }
        Ok(cur)
    }

    /// Size and times of a node as they are now.
    fn stat_now(&self, node: &HostNode) -> Result<Stat, SourceError> {
        let mask = ID_MASK
            | StatxFlags::SIZE
            | StatxFlags::MTIME
            | StatxFlags::ATIME
            | StatxFlags::CTIME
            | StatxFlags::BTIME;
        let st = if node.is_root() {
            statx_fd(&node.dir.fd, mask)
        } else {
            statx_name(&node.dir.fd, &node.name, mask)
        }
        .map_err(|e| SourceError::new(SourceErrorKind::Metadata, ioe(e).to_string()))?;
        let id = Ident::of(&st);
        if !node.is_root() && node.dir.id.other_mount(&id) && !self.cross_mounts {
            return Err(SourceError::new(SourceErrorKind::Metadata, MOUNTED_FILE));
        }
        let _ = node.seen.set(id);
        Ok(Stat {
            size: (file_type(&st) == FileType::RegularFile).then_some(st.stx_size),
            times: times_of_statx(&st),
        })
    }

    /// A link's target text. Its times are taken first (once), since reading it may update
    /// its access time; `stat` gives those.
    fn read_link(&self, node: &HostNode) -> rustix::io::Result<Vec<u8>> {
        if node.before_read.get().is_none() {
            if let Ok(st) = self.stat_now(node) {
                let _ = node.before_read.set(st);
            }
        }
        readlinkat(&node.dir.fd, &node.name[..], Vec::new()).map(|t| t.into_bytes())
    }

    /// The link policy when links are followed.
    fn follow(&self, node: &HostNode) -> Link<HostNode> {
        let target = match self.read_link(node) {
            Ok(t) => t,
            Err(e) => return Link::Unreadable(format!("cannot read symbolic link: {}", ioe(e))),
        };
        let text = escape_bytes(&target);
        let shown = Path::new(os_str(&target)).display().to_string();
        let refused = |why: String| Link::Refused {
            text: Some(text.clone()),
            why,
        };
        // Refuse before resolving: an absolute link names a path on this machine.
        if target.starts_with(b"/") {
            return refused(format!(
                "symbolic link to the absolute path {shown} not followed: in evidence it would resolve on the examiner's machine, outside the root"
            ));
        }
        let real = match self.resolve(node.dir.parts(), &target) {
            Ok(real) => real,
            Err(Unresolved::Outside) => {
                return refused(format!(
                    "symbolic link to {shown} not followed: its target is outside the root"
                ))
            }
            Err(Unresolved::Io(e)) => {
                return refused(format!("symbolic link to {shown} cannot be resolved: {e}"))
            }
        };
        let Some((last, dirs)) = real.split_last() else {
            return Link::Dir {
                notice:
                    "directory link to  not walked again: that folder is scanned at its real path"
                        .to_owned(),
            };
        };
        let opened = self.open_parts(dirs).and_then(|dir| {
            let st = statx_name(&dir.fd, last, ID_MASK).map_err(src_err)?;
            Ok((dir, st))
        });
        let (dir, st) = match opened {
            Ok(v) => v,
            Err(e) => return refused(format!("symbolic link target {shown}: {e}")),
        };
        let kind = kind_of(file_type(&st));
        if kind == EntryKind::Dir {
            return Link::Dir {
                notice: format!(
                    "directory link to {} not walked again: that folder is scanned at its real path",
                    Self::rel_text(&real)
                ),
            };
        }
        Link::Target {
            text: format!("{text} (resolves to {} in the root)", Self::rel_text(&real)),
            kind,
            node: HostNode {
                dir,
                name: last.clone().into_boxed_slice(),
                listed_ino: 0,
                is_link: false,
                seen: OnceLock::new(),
                before_read: OnceLock::new(),
            },
        }
    }

    /// Opens a file read-only relative to its folder and checks it is the file `stat` saw.
    fn open_file(&self, node: &HostNode) -> Result<File, SourceError> {
        let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match openat(
            &node.dir.fd,
            &node.name[..],
            base | OFlags::NOATIME,
            Mode::empty(),
        ) {
            Err(rustix::io::Errno::PERM) => {
                openat(&node.dir.fd, &node.name[..], base, Mode::empty())
            }
            other => other,
        }
        .map_err(src_err)?;
        let st = statx_fd(&fd, ID_MASK).map_err(src_err)?;
        if file_type(&st) != FileType::RegularFile {
            return Err(SourceError::new(
                SourceErrorKind::Io,
                "no longer a regular file when opened",
            ));
        }
        let got = Ident::of(&st);
        let seen = match node.seen.get() {
            Some(s) => *s,
            None => Ident::of(&statx_name(&node.dir.fd, &node.name, ID_MASK).map_err(src_err)?),
        };
        if !got.same_file(&seen) || listed_other(&node.dir, &got, node.listed_ino) {
            return Err(SourceError::new(
                SourceErrorKind::Io,
                "the file was replaced while being read: not read",
            ));
        }
        if node.dir.id.other_mount(&got) && !self.cross_mounts {
            return Err(SourceError::new(SourceErrorKind::Io, MOUNTED_FILE));
        }
        Ok(File::from(fd))
    }
}

/// True when the listing gave another inode than the one opened, on the folder's own mount
/// (a mount point's listed inode is the one it covers, so it is not compared).
fn listed_other(dir: &DirHandle, opened: &Ident, listed_ino: u64) -> bool {
    listed_ino != 0 && !dir.id.other_mount(opened) && opened.ino != listed_ino
}

fn kind_of(ft: FileType) -> EntryKind {
    match ft {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
        FileType::Fifo => EntryKind::Fifo,
        FileType::Socket => EntryKind::Socket,
        FileType::BlockDevice => EntryKind::BlockDevice,
        FileType::CharacterDevice => EntryKind::CharDevice,
        FileType::Unknown => EntryKind::Other,
    }
}

fn ts_nanos(t: &rustix::fs::StatxTimestamp) -> i128 {
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

/// The times of a `statx` result, as `times_of` gives them for a `Metadata`.
fn times_of_statx(st: &Statx) -> Times {
    let mask = StatxFlags::from_bits_retain(st.stx_mask);
    let t = |flag: StatxFlags, ts: &rustix::fs::StatxTimestamp| {
        mask.contains(flag)
            .then(|| Timestamp::from_unix_nanos(ts_nanos(ts)))
    };
    Times {
        modified: t(StatxFlags::MTIME, &st.stx_mtime),
        accessed: t(StatxFlags::ATIME, &st.stx_atime),
        created: t(StatxFlags::BTIME, &st.stx_btime),
        changed: t(StatxFlags::CTIME, &st.stx_ctime),
    }
}

/// Bytes asked of `getdents` at once.
const DIR_BUF: usize = 32 * 1024;

impl Source for HostSource {
    type Node = HostNode;

    fn root(&self) -> Result<(HostNode, Option<u64>), SourceError> {
        // The root as the examiner gave it (a link to it is followed: it was named explicitly).
        let meta = std::fs::metadata(&self.root).map_err(|e| SourceError::io(&e))?;
        if !meta.is_dir() {
            return Err(SourceError::new(SourceErrorKind::Io, "not a directory"));
        }
        let fd = open_folder(
            CWD,
            self.root.as_path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        )
        .map_err(src_err)?;
        let id = Ident::of(&statx_fd(&fd, ID_MASK).map_err(src_err)?);
        let dir = Arc::clone(
            self.root_dir
                .get_or_init(|| Arc::new(DirHandle { fd, id, up: None })),
        );
        Ok((
            HostNode {
                dir,
                name: Box::default(),
                listed_ino: 0,
                is_link: false,
                seen: OnceLock::new(),
                before_read: OnceLock::new(),
            },
            None,
        ))
    }

    fn list(&self, node: &HostNode) -> Result<Vec<Entry<HostNode>>, SourceError> {
        let dir = if node.is_root() {
            Arc::clone(&node.dir)
        } else if node.is_link && self.follow {
            // A directory link the walk enters at its own path (a link on a rule's install
            // path): resolved inside the root by the link policy, opened from the root down.
            match self.follow(node) {
                Link::Dir { .. } => {}
                _ => {
                    return Err(SourceError::new(
                        SourceErrorKind::Io,
                        "a link that does not resolve to a folder inside the root: not walked",
                    ))
                }
            }
            let target = self.read_link(node).map_err(src_err)?;
            match self.resolve(node.dir.parts(), &target) {
                Ok(parts) => self.open_parts(&parts)?,
                Err(_) => {
                    return Err(SourceError::new(
                        SourceErrorKind::Io,
                        "the link changed while the walk ran: not walked",
                    ))
                }
            }
        } else {
            self.open_dir(&node.dir, &node.name, node.listed_ino)?
        };
        // The root's descriptor is shared (and may be listed again, by the registry): it is
        // listed through its own descriptor, so that each listing starts at the beginning.
        let again;
        let list_fd = if node.is_root() {
            again = open_folder(
                &dir.fd,
                c".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            )
            .map_err(src_err)?;
            again.as_fd()
        } else {
            dir.fd.as_fd()
        };
        let mut buf: Vec<u8> = Vec::with_capacity(DIR_BUF);
        let mut raw = RawDir::new(list_fd, buf.spare_capacity_mut());
        let mut out = Vec::new();
        while let Some(e) = raw.next() {
            let e = e.map_err(src_err)?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            if out.len() >= super::MAX_DIR_ENTRIES {
                return Err(SourceError::corrupt(format!(
                    "more than {} entries in one folder: not read",
                    super::MAX_DIR_ENTRIES
                )));
            }
            let kind = match e.file_type() {
                // Some file systems do not say: ask the entry itself (without following it).
                FileType::Unknown => kind_of(file_type(
                    &statx_name(&dir.fd, name, StatxFlags::TYPE).map_err(src_err)?,
                )),
                ft => kind_of(ft),
            };
            out.push(Entry {
                name: name.to_vec(),
                short_name: None,
                kind,
                id: None,
                node: HostNode {
                    dir: Arc::clone(&dir),
                    name: name.into(),
                    listed_ino: e.ino(),
                    is_link: kind == EntryKind::Symlink,
                    seen: OnceLock::new(),
                    before_read: OnceLock::new(),
                },
            });
        }
        Ok(out)
    }

    fn stat(&self, node: &HostNode) -> Result<Stat, SourceError> {
        if let Some(st) = node.before_read.get() {
            return Ok(st.clone());
        }
        self.stat_now(node)
    }

    fn read(&self, node: &HostNode, size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
        let file = self.open_file(node)?;
        read_bounded(file, size, limit).map_err(|e| SourceError::io(&e))
    }

    fn open(
        &self,
        node: &HostNode,
        _size: u64,
        _limit: u64,
    ) -> Result<Box<dyn super::ReadAt + '_>, SourceError> {
        Ok(Box::new(self.open_file(node)?))
    }

    fn link(&self, node: &HostNode) -> Link<HostNode> {
        if self.follow {
            return self.follow(node);
        }
        Link::Kept {
            text: self.read_link(node).ok().map(|t| escape_bytes(&t)),
            why: EntryKind::Symlink
                .skip_reason()
                .unwrap_or("a symbolic link")
                .to_owned(),
        }
    }

    fn follows_links(&self) -> bool {
        self.follow
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

/// Names listed on this machine, back as the platform's string (lossless on Unix).
fn os_str(bytes: &[u8]) -> &OsStr {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// The race wording only for what a race gives (`O_NOFOLLOW | O_DIRECTORY` meeting a link
    /// or a file); every other failure says what it is.
    #[test]
    fn a_folder_that_cannot_be_opened_says_why() {
        use rustix::io::Errno;
        for e in [Errno::LOOP, Errno::NOTDIR] {
            let m = open_dir_error(e).message;
            assert!(m.starts_with("changed while the walk ran"), "{m}");
        }
        for e in [Errno::ACCESS, Errno::PERM] {
            let m = open_dir_error(e).message;
            assert!(m.starts_with("permission denied"), "{m}");
            assert!(!m.contains("changed while"), "{m}");
        }
        let m = open_dir_error(Errno::IO).message;
        assert!(m.starts_with("the folder cannot be opened"), "{m}");
        assert!(!m.contains("changed while"), "{m}");
    }

    fn entry(src: &HostSource, dir: &HostNode, name: &str) -> Entry<HostNode> {
        src.list(dir)
            .unwrap()
            .into_iter()
            .find(|e| e.name == name.as_bytes())
            .unwrap()
    }

    #[test]
    fn a_folder_or_file_swapped_after_the_listing_is_an_error_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        fs::create_dir_all(root.join("X")).unwrap();
        fs::create_dir_all(t.path().join("outside")).unwrap();
        fs::write(t.path().join("outside/f"), b"outside").unwrap();
        fs::write(root.join("f"), b"inside").unwrap();
        let src = HostSource::new(&root, false, 1);
        let (r, _) = src.root().unwrap();
        // A folder replaced by a link to a folder outside: the open is refused.
        let x = entry(&src, &r, "X");
        assert_eq!(x.kind, EntryKind::Dir);
        fs::remove_dir(root.join("X")).unwrap();
        std::os::unix::fs::symlink(t.path().join("outside"), root.join("X")).unwrap();
        let e = src.list(&x.node).unwrap_err();
        assert!(e.message.contains("replaced by a link"), "{e}");
        // A folder replaced by another folder (another inode): refused too.
        fs::remove_file(root.join("X")).unwrap();
        fs::create_dir(root.join("X")).unwrap();
        let x = entry(&src, &r, "X");
        fs::rename(root.join("X"), t.path().join("old")).unwrap();
        fs::create_dir(root.join("X")).unwrap();
        let e = src.list(&x.node).unwrap_err();
        assert!(e.message.contains("replaced"), "{e}");
        // A file replaced between stat and open: refused.
        let f = entry(&src, &r, "f");
        src.stat(&f.node).unwrap();
        fs::rename(t.path().join("outside/f"), root.join("f")).unwrap();
        let e = src.open_file(&f.node).unwrap_err();
        assert!(e.message.contains("replaced"), "{e}");
        // A file replaced by a link: O_NOFOLLOW refuses it.
        let f = entry(&src, &r, "f");
        src.stat(&f.node).unwrap();
        fs::remove_file(root.join("f")).unwrap();
        std::os::unix::fs::symlink(t.path().join("old"), root.join("f")).unwrap();
        assert!(src.open_file(&f.node).is_err());
    }
}
