//! VMDK. Binary VMDKs (monolithicSparse, streamOptimized, COWD) are read by `vmdk-core` from
//! our own read-only handle (`VmdkReader::open`). A descriptor file (monolithicFlat,
//! twoGbMaxExtentFlat, twoGbMaxExtentSparse, vmfs…) is read by [`vmdk_descriptor`], the one
//! parser that the `-o` guard asks too, and kbscan opens every extent itself
//! ([`open_extent`]): relative to a handle on the descriptor's folder, one component at a
//! time with `O_NOFOLLOW`, regular files only — a link (to a file, a folder or a device), a
//! FIFO or a device is refused by name, never opened, so a hostile set can neither reach
//! outside its folder nor hang the scan. Flat extents are read here; each sparse extent is
//! handed to `VmdkReader::open` as its handle (`vmdk-core` never opens a file by name).
//! A differencing monolithicSparse VMDK (`parentCID` set, as `qemu-img create -b` and VMware
//! snapshots write it) is read over its parent ([`chain`]); a differencing descriptor file
//! (split sparse extents) is refused, naming the parent.
//!
//! [`chain`]: super::chain
//!
//! [`vmdk_descriptor`]: super::vmdk_descriptor

use std::fs::File;
use std::io::{self, Seek};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use vmdk_core::VmdkReader;

use super::chain::{self, Ancestry, Held, Map};
use super::vmdk_descriptor::{self as descriptor, Descriptor, ExtentKind, MAX_DESCRIPTOR};
use super::{
    pread, pread_exact, qemu_convert, ContainerError, ContainerMeta, Opened, SeekSource,
    Verification, MAX_TABLE_BYTES,
};
use crate::contain::contained;
use crate::image::reader::ByteSource;

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("VMDK", e)
}

/// Why an extent file is not opened. Every variant names the extent as the descriptor does.
#[derive(Debug, thiserror::Error)]
pub enum ExtentError {
    #[error("extent \"{name}\": \"{component}\" is a symbolic link; extents are opened only inside the descriptor's folder, never through a link")]
    Link { name: String, component: String },
    #[error("extent \"{name}\": \"{component}\" is {what}, not a folder")]
    NotFolder {
        name: String,
        component: String,
        what: &'static str,
    },
    #[error("extent \"{name}\" is {what}, not a regular file: not opened")]
    NotRegular { name: String, what: &'static str },
    #[error("extent \"{name}\" cannot be opened beside the descriptor: {source}")]
    Open { name: String, source: io::Error },
    #[error("extent \"{name}\" was replaced while it was opened")]
    Changed { name: String },
    #[error("extent \"{name}\" holds {have} bytes; the descriptor reads up to byte {need} of it (truncated?)")]
    Short { name: String, have: u64, need: u64 },
    #[error("extent \"{name}\" is a disk of {have} sectors; the descriptor gives it {want}")]
    Size { name: String, have: u64, want: u64 },
    #[error("extent \"{name}\" is a differencing disk (its parentCID is set): not read")]
    Child { name: String },
    #[error("extent \"{name}\": {message}")]
    Damaged { name: String, message: String },
}

fn what(ft: FileType) -> &'static str {
    match ft {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a folder",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "of an unknown type",
    }
}

/// (device, inode, type) of a file, from `stat`.
fn ident(st: &rustix::fs::Stat) -> (u64, u64, FileType) {
    (st.st_dev, st.st_ino, FileType::from_raw_mode(st.st_mode))
}

/// Opens the extent `name` (checked by the parser: relative, plain components) below the
/// folder `dir`: every component is looked at without following it (`fstatat`
/// `AT_SYMLINK_NOFOLLOW`) before it is opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so not
/// even a FIFO put there in between can block), and the opened file must be the one looked
/// at. Folders on the way must be folders, the extent a regular file.
pub fn open_extent(dir: &OwnedFd, name: &str) -> Result<File, ExtentError> {
    let open_err = |source: io::Error| ExtentError::Open {
        name: name.to_owned(),
        source,
    };
    let parts: Vec<&str> = name.split('/').collect();
    let mut here: Option<OwnedFd> = None;
    for (i, part) in parts.iter().enumerate() {
        let at = here.as_ref().unwrap_or(dir).as_fd();
        let last = i + 1 == parts.len();
        let st = rustix::fs::statat(at, *part, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| open_err(e.into()))?;
        let (dev, ino, ft) = ident(&st);
        let shown = parts[..=i].join("/");
        match ft {
            FileType::Symlink => {
                return Err(ExtentError::Link {
                    name: name.to_owned(),
                    component: shown,
                })
            }
            FileType::Directory if !last => {}
            FileType::RegularFile if last => {}
            other if last => {
                return Err(ExtentError::NotRegular {
                    name: name.to_owned(),
                    what: what(other),
                })
            }
            other => {
                return Err(ExtentError::NotFolder {
                    name: name.to_owned(),
                    component: shown,
                    what: what(other),
                })
            }
        }
        let flags = OFlags::RDONLY
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK
            | if last {
                OFlags::empty()
            } else {
                OFlags::DIRECTORY
            };
        let fd = match rustix::fs::openat(at, *part, flags | OFlags::NOATIME, Mode::empty()) {
            // O_NOATIME is only for the file's owner.
            Err(rustix::io::Errno::PERM) => rustix::fs::openat(at, *part, flags, Mode::empty()),
            other => other,
        }
        .map_err(|e| open_err(e.into()))?;
        let now = rustix::fs::fstat(&fd).map_err(|e| open_err(e.into()))?;
        if ident(&now) != (dev, ino, ft) {
            return Err(ExtentError::Changed {
                name: name.to_owned(),
            });
        }
        here = Some(fd);
    }
    // O_NONBLOCK stays, as on every evidence file: it changes nothing for a regular file.
    let fd = here.ok_or_else(|| open_err(io::Error::from(io::ErrorKind::NotFound)))?;
    Ok(File::from(fd))
}

/// Reads a differencing disk's parent from its descriptor and refuses it.
fn refuse_child(d: &Descriptor, path: &Path) -> Result<(), ContainerError> {
    if d.parent_cid.is_none() {
        return Ok(());
    }
    let parent = d.parent_hint.as_deref().unwrap_or("(not named)");
    Err(ContainerError::Refused(format!(
        "format not supported: this is a differencing (snapshot) VMDK descriptor whose parent is \
         \"{parent}\"; kbscan reads a snapshot chain only from single-file (monolithicSparse) \
         children. Merge it first, with the parent beside it: {}, then scan disk.raw",
        qemu_convert(path)
    )))
}

fn no_hash() -> Box<dyn FnOnce() -> Verification + Send> {
    Box::new(|| Verification::none("VMDK stores no hash or checksum of the disk's data".to_owned()))
}

/// Opens a VMDK whose data is in the file itself; a differencing one (monolithicSparse with
/// `parentCID` set) is read over its parent ([`chain`]).
///
/// [`chain`]: super::chain
pub fn open_sparse(path: &Path, file: File) -> Result<Opened, ContainerError> {
    let mut anc = Ancestry::default();
    let opened = open_sparse_in(path, file, &mut anc)?;
    Ok(chain::opened_with(opened, anc))
}

/// The embedded descriptor of a sparse VMDK, when it has one.
fn embedded(reader: &VmdkReader<File>) -> Result<Option<Descriptor>, ContainerError> {
    let text = reader.descriptor_text();
    if text.trim().is_empty() {
        return Ok(None);
    }
    descriptor::parse(text.as_bytes())
        .map(Some)
        .map_err(|e| damaged(format!("its embedded descriptor cannot be read: {e}")))
}

/// The parent a differencing sparse VMDK names (`parentFileNameHint`), if it is one.
pub(crate) fn parent_hint(file: File) -> Option<String> {
    let reader = contained(|| VmdkReader::open(file))?.ok()?;
    let d = embedded(&reader).ok()??;
    d.parent_cid?;
    d.parent_hint
}

/// The content id (`CID`) of a VMDK parent, as its (embedded) descriptor gives it.
pub(crate) fn content_id(file: &File, descriptor_file: bool) -> Option<u32> {
    let mut f = file.try_clone().ok()?;
    f.seek(io::SeekFrom::Start(0)).ok()?;
    if descriptor_file {
        let raw = descriptor_bytes(&mut f).ok()?;
        return descriptor::parse(&raw).ok()?.cid;
    }
    let reader = contained(|| VmdkReader::open(f))?.ok()?;
    Some(reader.cid())
}

pub(crate) fn open_sparse_in(
    path: &Path,
    file: File,
    anc: &mut Ancestry,
) -> Result<Opened, ContainerError> {
    let map_file = file.try_clone()?;
    let reader = contained(|| VmdkReader::open(file))
        .ok_or_else(|| damaged("the VMDK reader failed on a damaged structure"))?
        .map_err(damaged)?;
    // The embedded descriptor (none in a member of a split set) says whether it is a child.
    let d = embedded(&reader)?;
    if d.is_none() && reader.parent_cid() != u32::MAX {
        return Err(damaged("a parentCID without a descriptor"));
    }
    let len = reader.virtual_disk_size();
    let subformat = reader.disk_type().to_owned();
    let own: Box<dyn ByteSource> = Box::new(SeekSource {
        inner: reader,
        len,
        name: "VMDK",
    });
    let src = match d.as_ref().and_then(|d| d.parent_cid.map(|c| (d, c))) {
        None => own,
        Some((d, want)) => {
            let Some(hint) = d.parent_hint.as_deref() else {
                return Err(ContainerError::Refused(format!(
                    "format not supported: a differencing (snapshot) VMDK that does not name its \
                     parent (no parentFileNameHint); merge it with its parent: {}, then scan disk.raw",
                    qemu_convert(path)
                )));
            };
            let map = Grains::read(map_file.try_clone()?)?;
            let parent = chain::open_parent(
                path,
                &map_file,
                hint,
                Some(chain::ParentId::VmdkCid(want)),
                anc,
            )?;
            chain::layered(own, Box::new(map), parent)
        }
    };
    Ok(Opened {
        kind: "vmdk",
        segments: 1,
        meta: ContainerMeta {
            subformat: Some(subformat),
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        notices: Vec::new(),
        src,
        verify: no_hash(),
    })
}

/// A differencing sparse extent's grain directory and tables: which grains it holds (VMware
/// "Virtual Disk Format 1.1", hosted sparse extents: a grain table entry of 0 is unallocated
/// and reads from the parent; with the zeroed-grain flag (bit 2 of the header flags), 1 is a
/// grain of zeros; any other value is the sector of the child's own grain).
#[derive(Debug)]
struct Grains {
    file: File,
    grain_bytes: u64,
    per_table: u64,
    zero_flag: bool,
    directory: Vec<u32>,
    /// The last grain table read (its sector, its entries).
    cached: Option<(u32, Vec<u32>)>,
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn le64(b: &[u8], o: usize) -> u64 {
    u64::from(le32(b, o)) | (u64::from(le32(b, o + 4)) << 32)
}

impl Grains {
    fn read(mut file: File) -> Result<Self, ContainerError> {
        let h = pread_exact(&mut file, 0, 512, "sparse extent header")?;
        let flags = le32(&h, 8);
        let capacity = le64(&h, 12);
        let grain = le64(&h, 20);
        let per_table = u64::from(le32(&h, 44));
        let gd = le64(&h, 56);
        if flags & (1 << 16) != 0 || gd == u64::MAX {
            return Err(ContainerError::Refused(
                "format not supported: a compressed (streamOptimized) differencing VMDK; merge it \
                 with its parent with qemu-img first"
                    .to_owned(),
            ));
        }
        if grain == 0 || grain > 0x10000 || per_table == 0 || per_table > 512 {
            return Err(damaged(format!(
                "a grain of {grain} sectors with {per_table} entries per grain table"
            )));
        }
        let grain_bytes = grain * 512;
        let tables = capacity.div_ceil(grain).div_ceil(per_table);
        // Checked, not multiplied blindly: a forged capacity must not wrap the size to a
        // small one (a directory that would read every grain as the parent's).
        let gd_bytes = tables
            .checked_mul(4)
            .filter(|b| *b <= MAX_TABLE_BYTES)
            .ok_or_else(|| damaged(format!("a grain directory of {tables} entries")))?;
        let gd_at = gd
            .checked_mul(512)
            .ok_or_else(|| damaged("a grain directory beyond any file"))?;
        let raw = pread_exact(&mut file, gd_at, gd_bytes as usize, "grain directory")?;
        let directory = raw.chunks_exact(4).map(|c| le32(c, 0)).collect();
        Ok(Self {
            file,
            grain_bytes,
            per_table,
            zero_flag: flags & (1 << 2) != 0,
            directory,
            cached: None,
        })
    }
}

impl Map for Grains {
    fn granule(&self) -> u64 {
        self.grain_bytes
    }

    fn held(&mut self, index: u64) -> io::Result<Held> {
        let Some(&table) = usize::try_from(index / self.per_table)
            .ok()
            .and_then(|i| self.directory.get(i))
        else {
            return Ok(Held::Parent);
        };
        if table == 0 {
            return Ok(Held::Parent);
        }
        if self.cached.as_ref().map(|(t, _)| *t) != Some(table) {
            let raw = pread_exact(
                &mut self.file,
                u64::from(table) * 512,
                (self.per_table * 4) as usize,
                "grain table",
            )?;
            self.cached = Some((table, raw.chunks_exact(4).map(|c| le32(c, 0)).collect()));
        }
        let e = self
            .cached
            .as_ref()
            .and_then(|(_, t)| t.get((index % self.per_table) as usize).copied())
            .unwrap_or(0);
        match (e, self.zero_flag) {
            (0, _) => Ok(Held::Parent),
            (1, true) => Ok(Held::Zero),
            (1, false) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a grain table entry of 1 (a zeroed grain) in a VMDK without the zeroed-grain flag",
            )),
            _ => Ok(Held::Data),
        }
    }
}

/// Reads a descriptor file's bytes (at most [`MAX_DESCRIPTOR`]; one more tells it is larger).
fn descriptor_bytes(file: &mut File) -> Result<Vec<u8>, ContainerError> {
    let mut raw = vec![0u8; MAX_DESCRIPTOR + 1];
    let n = pread(file, 0, &mut raw)?;
    raw.truncate(n);
    Ok(raw)
}

/// The extent files a VMDK descriptor file names, as the reader opens them (none for
/// anything that is not a descriptor): inputs as much as the descriptor, so `-o` must never
/// land on one. `Err` when `path` is a descriptor kbscan cannot read: which files it names
/// cannot then be told.
pub fn extent_paths(path: &Path) -> Result<Vec<PathBuf>, String> {
    let Ok(mut file) = crate::source::host::open_evidence(path) else {
        return Ok(Vec::new());
    };
    let mut head = [0u8; 21];
    if !matches!(pread(&mut file, 0, &mut head), Ok(21)) || &head != b"# Disk DescriptorFile" {
        return Ok(Vec::new());
    }
    let raw = descriptor_bytes(&mut file).map_err(|e| e.to_string())?;
    let d = descriptor::parse(&raw).map_err(|e| e.to_string())?;
    // Extents are found beside the descriptor itself, wherever a link to it stands.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = real.parent().unwrap_or(Path::new("."));
    Ok(d.file_names().into_iter().map(|n| dir.join(n)).collect())
}

/// One extent's place in the virtual disk.
enum Piece {
    Zero,
    Flat { file: File, offset: u64 },
    Sparse(Box<dyn ByteSource>),
}

impl std::fmt::Debug for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Piece::Zero => "Zero",
            Piece::Flat { .. } => "Flat",
            Piece::Sparse(_) => "Sparse",
        })
    }
}

/// The extents of a descriptor, one after the other.
#[derive(Debug)]
struct Extents {
    /// (first virtual byte, length, what is there).
    pieces: Vec<(u64, u64, Piece)>,
    len: u64,
}

impl ByteSource for Extents {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, mut pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() && pos < self.len {
            let i = self.pieces.partition_point(|(s, _, _)| *s <= pos) - 1;
            let (start, len, piece) = &mut self.pieces[i];
            let within = pos - *start;
            let want = usize::try_from(*len - within)
                .unwrap_or(usize::MAX)
                .min(buf.len() - done);
            let out = &mut buf[done..done + want];
            let n = match piece {
                Piece::Zero => {
                    out.fill(0);
                    want
                }
                Piece::Flat { file, offset } => file.read_at(out, *offset + within)?,
                Piece::Sparse(src) => src.read_at(within, out)?,
            };
            if n == 0 {
                break; // An extent shrank while it was read.
            }
            done += n;
            pos += n as u64;
        }
        Ok(done)
    }
}

fn open_piece(dir: &OwnedFd, e: &descriptor::Extent) -> Result<Piece, ExtentError> {
    let bytes = e.sectors * 512; // Checked by the parser.
                                 // The parser gives a name to every extent but a ZERO one.
    let (Some(name), false) = (e.name.as_deref(), e.kind == ExtentKind::Zero) else {
        return Ok(Piece::Zero);
    };
    let file = open_extent(dir, name)?;
    let have = file
        .metadata()
        .map_err(|source| ExtentError::Open {
            name: name.to_owned(),
            source,
        })?
        .len();
    match e.kind {
        ExtentKind::Zero | ExtentKind::Flat => {
            let offset = e.offset.checked_mul(512);
            let need = offset.and_then(|o| o.checked_add(bytes));
            match (offset, need) {
                (Some(offset), Some(need)) if need <= have => Ok(Piece::Flat { file, offset }),
                _ => Err(ExtentError::Short {
                    name: name.to_owned(),
                    have,
                    need: need.unwrap_or(u64::MAX),
                }),
            }
        }
        ExtentKind::Sparse => {
            let bad = |message: String| ExtentError::Damaged {
                name: name.to_owned(),
                message,
            };
            let reader = contained(|| VmdkReader::open(file))
                .ok_or_else(|| bad("the VMDK reader failed on a damaged structure".to_owned()))?
                .map_err(|e| bad(e.to_string()))?;
            if reader.parent_cid() != u32::MAX {
                return Err(ExtentError::Child {
                    name: name.to_owned(),
                });
            }
            let len = reader.virtual_disk_size();
            if len != bytes {
                return Err(ExtentError::Size {
                    name: name.to_owned(),
                    have: len / 512,
                    want: e.sectors,
                });
            }
            Ok(Piece::Sparse(Box::new(SeekSource {
                inner: reader,
                len,
                name: "VMDK",
            })))
        }
    }
}

pub fn open_descriptor(path: &Path, mut file: File) -> Result<Opened, ContainerError> {
    let raw = descriptor_bytes(&mut file)?;
    let d = descriptor::parse(&raw)
        .map_err(|e| damaged(format!("its descriptor cannot be read unambiguously: {e}")))?;
    refuse_child(&d, path)?;
    if !d.create_type_read() {
        return Err(ContainerError::Refused(format!(
            "format not supported: a VMDK descriptor of type \"{}\" (raw device mappings and \
             unknown types are not read); convert it: {}",
            d.create_type,
            qemu_convert(path)
        )));
    }
    let dir_path = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // The folder the examiner named the descriptor in: every extent is opened below it.
    let dir = rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ContainerError::Io(e.into()))?;
    let mut pieces = Vec::with_capacity(d.extents.len());
    let mut start = 0u64;
    for e in &d.extents {
        let piece = open_piece(&dir, e).map_err(|e| damaged(e.to_string()))?;
        let len = e.sectors * 512;
        pieces.push((start, len, piece));
        start += len; // The parser checked the sum.
    }
    Ok(Opened {
        kind: "vmdk",
        segments: 1 + d.file_names().len(),
        meta: ContainerMeta {
            subformat: Some(d.create_type.clone()),
            virtual_size: Some(start),
            ..ContainerMeta::default()
        },
        notices: Vec::new(),
        src: Box::new(Extents { pieces, len: start }),
        verify: no_hash(),
    })
}

/// A VMDK whose data is in the file itself (monolithicSparse, streamOptimized, COWD).
pub(crate) static SPARSE: super::Container = super::Container {
    name: "vmdk",
    display: "VMDK",
    detect: |p| p.starts(b"KDMV") || p.starts(b"COWD"),
    reading: super::Reading::Read(open_sparse),
    companions: chain::parent_paths,
    companion: "a parent disk of the scanned differencing disk",
};

/// A VMDK descriptor file naming its extent files beside it.
pub(crate) static DESCRIPTOR: super::Container = super::Container {
    name: "vmdk",
    display: "VMDK",
    detect: |p| p.starts(b"# Disk DescriptorFile"),
    reading: super::Reading::Read(open_descriptor),
    companions: extent_paths,
    companion: "an extent file of the scanned VMDK",
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A hosted sparse extent header (VMware "Virtual Disk Format 1.1") with these fields,
    /// followed by `tail` bytes.
    fn sparse(capacity: u64, grain: u64, per_table: u32, gd: u64, tail: usize) -> File {
        let mut h = vec![0u8; 512 + tail];
        h[..4].copy_from_slice(b"KDMV");
        h[4..8].copy_from_slice(&1u32.to_le_bytes());
        h[12..20].copy_from_slice(&capacity.to_le_bytes());
        h[20..28].copy_from_slice(&grain.to_le_bytes());
        h[44..48].copy_from_slice(&per_table.to_le_bytes());
        h[56..64].copy_from_slice(&gd.to_le_bytes());
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &h).unwrap();
        f
    }

    #[test]
    fn a_forged_capacity_cannot_shrink_the_grain_directory() {
        // 2^62 + 1 tables of one grain each: four bytes apiece wrap to 4 bytes if multiplied
        // blindly, a directory that would send every grain but the first to the parent.
        let e = Grains::read(sparse((1 << 62) + 1, 1, 1, 1, 512)).unwrap_err();
        assert!(e.to_string().contains("grain directory of"), "{e}");
        // As large without wrapping: refused by the bound, before anything is allocated.
        let e = Grains::read(sparse(u64::MAX, 128, 512, 1, 512)).unwrap_err();
        assert!(e.to_string().contains("grain directory of"), "{e}");
        // A directory beyond the end of the file.
        let e = Grains::read(sparse(1 << 20, 128, 512, 1, 4)).unwrap_err();
        assert!(e.to_string().contains("grain directory"), "{e}");
        // A real one: 1 MiB of 64 KiB grains, one table, its directory at sector 1.
        let g = Grains::read(sparse(1 << 11, 128, 512, 1, 512)).unwrap();
        assert_eq!((g.directory.len(), g.grain_bytes), (1, 65_536));
    }
}
