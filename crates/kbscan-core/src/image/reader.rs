//! Read-only access to image bytes: a raw image or a split raw set read as one virtual disk,
//! a block cache (the file-system crates make many small reads), and a window onto one
//! volume. Nothing here can write: the segments are opened read-only, and [`ReadOnly`] gives
//! fatfs (which asks for `Write`) a writer that always fails.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::cell::Cell;

use crate::source::host::open_evidence;
use crate::source::{SourceError, SourceErrorKind};

thread_local! {
    /// Bytes a volume reader may still read for the current operation (see [`with_budget`]).
    static BUDGET: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// Runs one file-system operation (list a folder, read a file) with at most `bytes` read from
/// the image: a damaged structure that makes a third-party reader go round in circles (a
/// cyclic cluster chain full of deleted entries, a looping index) ends with an error instead
/// of hanging the scan.
pub fn with_budget<T>(bytes: u64, f: impl FnOnce() -> T) -> T {
    let before = BUDGET.with(|b| b.replace(bytes));
    let r = f();
    BUDGET.with(|b| b.set(before));
    r
}

/// The read budget of one directory listing or stat.
pub const LIST_BUDGET: u64 = 512 * 1024 * 1024;

/// A read-only, random-access view of a disk's bytes: a raw image, a split raw set, or the
/// virtual disk inside a container (E01, VHD…). The partition reader and the file systems see
/// only this, so a new container is one more implementation. Nothing here can write.
pub trait ByteSource: Send + std::fmt::Debug {
    /// The size of the virtual disk in bytes.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads at `pos` into `buf`; fewer bytes (maybe 0) at the end of the disk.
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Where the disk's bytes stop being there (an evidence set with a missing segment):
    /// the first missing byte and why, for the volumes that reach it.
    fn missing(&self) -> Option<(u64, String)> {
        None
    }
    /// The unit the source decodes at once (an E01 chunk), when it has one: the disk cache
    /// then reads whole units, so a file record read from a compressed image costs one
    /// inflated chunk, not the two a larger cache block would span.
    fn unit(&self) -> Option<u64> {
        None
    }
    /// The same source with handles of its own, for a read-ahead thread; `None` when
    /// reading ahead would not pay (raw bytes come from the page cache as fast as a copy).
    fn try_clone(&self) -> Option<io::Result<Box<dyn ByteSource>>> {
        None
    }
}

/// Checks that a file read from an image is whole: an image cannot change while it is read,
/// so fewer bytes than the file system promised means the image ends inside the file.
pub fn complete_read(v: Vec<u8>, size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
    if (v.len() as u64) < size.min(limit) {
        return Err(SourceError::new(
            SourceErrorKind::Io,
            format!(
                "only {} of {size} bytes could be read: the image ends inside this file (truncated image?)",
                v.len()
            ),
        ));
    }
    Ok(v)
}

/// The size of a block device, from the kernel: `BLKGETSIZE64` (`_IOR(0x12, 114, size_t)`,
/// which writes a `u64` whatever the width of `size_t`).
fn block_device_len(f: &File) -> io::Result<u64> {
    use rustix::ioctl::{opcode, Getter, Opcode};
    const BLKGETSIZE64: Opcode = opcode::read::<usize>(0x12, 114);
    // SAFETY: BLKGETSIZE64 takes a pointer to one u64 and writes it; `Getter` provides that
    // buffer and returns it only when the call succeeded.
    unsafe { rustix::ioctl::ioctl(f, Getter::<BLKGETSIZE64, u64>::new()) }.map_err(io::Error::from)
}

/// The bytes an evidence file holds: a regular file's length, or a block device's size
/// (`/dev/sdX` behind a write-blocker, a `losetup -r` loop device), read like a raw image.
/// Anything else (a FIFO, a character device, a folder) is refused.
pub fn evidence_len(f: &File) -> io::Result<u64> {
    use std::os::unix::fs::FileTypeExt;
    let meta = f.metadata()?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(meta.len());
    }
    if ft.is_block_device() {
        return block_device_len(f);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file or a block device",
    ))
}

/// The segments of an image, concatenated. Reads past the end return 0 bytes (end of file).
#[derive(Debug)]
pub struct Segments {
    files: Vec<(File, u64, u64)>,
    total: u64,
}

/// The files of a split raw set whose first segment is `first` (`disk.001` → `disk.002`…,
/// same digit count, consecutive), or just `first`.
pub fn segment_paths(first: &Path) -> Vec<PathBuf> {
    let mut out = vec![first.to_path_buf()];
    let Some(name) = first.file_name().and_then(|n| n.to_str()) else {
        return out;
    };
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let stem = &name[..name.len() - digits];
    if digits < 2 || !stem.ends_with('.') {
        return out;
    }
    let Ok(start) = name[name.len() - digits..].parse::<u64>() else {
        return out;
    };
    if start > 1 {
        return out;
    }
    for n in start + 1..start + 100_000 {
        let next = first.with_file_name(format!("{stem}{n:0digits$}"));
        if next.is_file() {
            out.push(next);
        } else {
            break;
        }
    }
    out
}

/// `NAME.000` (same width) when `first` is `NAME.001` and that file exists beside it: a set
/// numbered from 0 given by its second segment, which read alone is not the whole disk.
pub fn earlier_segment(first: &Path) -> Option<PathBuf> {
    let name = first.file_name()?.to_str()?;
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let stem = &name[..name.len() - digits];
    if digits < 2 || !stem.ends_with('.') || name[name.len() - digits..].parse::<u64>().ok()? != 1 {
        return None;
    }
    let zero = first.with_file_name(format!("{stem}{:0digits$}", 0));
    zero.is_file().then_some(zero)
}

/// Whether `name` is a name a split raw set whose first segment is named `first` could take
/// (`disk.001` → `disk.002`…`disk.999`, then `disk.1000`: the number may grow wider, as
/// [`segment_paths`] follows it).
pub fn split_member_name(first: &str, name: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (fd, nd) = (digits(first), digits(name));
    let stem = &first[..first.len() - fd];
    fd >= 2
        && stem.ends_with('.')
        && first[first.len() - fd..]
            .parse::<u64>()
            .is_ok_and(|n| n <= 1)
        && nd >= fd
        && name.len() - nd == stem.len()
        && name.starts_with(stem)
        && name != first
}

impl Segments {
    /// One file already opened (a chain's raw parent).
    pub fn from_file(f: File) -> io::Result<Self> {
        let len = evidence_len(&f)?;
        Ok(Self {
            files: vec![(f, 0, len)],
            total: len,
        })
    }

    pub fn open(paths: &[PathBuf]) -> io::Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut total = 0u64;
        for p in paths {
            let f = open_evidence(p)?;
            let len = evidence_len(&f)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            files.push((f, total, len));
            total = total.saturating_add(len);
        }
        Ok(Self { files, total })
    }
}

impl ByteSource for Segments {
    fn len(&self) -> u64 {
        self.total
    }

    fn read_at(&mut self, mut pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() && pos < self.total {
            let Some((file, start, len)) = self
                .files
                .iter_mut()
                .find(|(_, s, l)| pos >= *s && pos < s + l)
            else {
                break;
            };
            let within = pos - *start;
            let want = ((*len - within) as usize).min(buf.len() - done);
            file.seek(SeekFrom::Start(within))?;
            let n = file.read(&mut buf[done..done + want])?;
            if n == 0 {
                break; // The segment shrank while being read.
            }
            done += n;
            pos += n as u64;
        }
        Ok(done)
    }
}

/// The cache block of a source without a unit of its own.
const BLOCK: u64 = 64 * 1024;
/// The smallest and largest source unit used as the cache block.
const UNIT_RANGE: std::ops::RangeInclusive<u64> = 512..=1024 * 1024;
/// The bytes the block cache holds, whatever the block size.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// A read-only disk with a small block cache, shared by the volumes read from it in turn.
#[derive(Debug)]
pub struct Disk {
    src: Box<dyn ByteSource>,
    block: u64,
    capacity: usize,
    cache: Vec<(u64, Vec<u8>)>,
    /// Block index → slot in `cache`.
    slots: std::collections::HashMap<u64, usize>,
    next_victim: usize,
    /// The read-ahead thread, once a file system asked for one (see [`Disk::read_ahead`]).
    ahead: Option<super::ahead::ReadAhead>,
}

impl Disk {
    pub fn new(src: Box<dyn ByteSource>) -> Self {
        let block = src
            .unit()
            .filter(|u| UNIT_RANGE.contains(u))
            .unwrap_or(BLOCK);
        Self {
            src,
            block,
            capacity: (CACHE_BYTES / block) as usize,
            cache: Vec::new(),
            slots: std::collections::HashMap::new(),
            next_victim: 0,
            ahead: None,
        }
    }

    /// A handle to ask for blocks ahead of need, for a volume starting at disk byte
    /// `start`; `None` when the source is not worth it or no thread could be started.
    pub fn read_ahead(&mut self, start: u64) -> Option<super::ahead::Ahead> {
        if self.ahead.is_none() {
            let src = self.src.try_clone()?.ok()?;
            self.ahead = super::ahead::ReadAhead::start(src, self.block);
        }
        self.ahead.as_ref().map(|a| a.handle(start))
    }

    pub fn len(&self) -> u64 {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }

    /// See [`ByteSource::missing`].
    pub fn missing(&self) -> Option<(u64, String)> {
        self.src.missing()
    }

    fn block(&mut self, index: u64) -> io::Result<&[u8]> {
        if let Some(&i) = self.slots.get(&index) {
            return Ok(&self.cache[i].1);
        }
        let ahead = self.ahead.as_ref().and_then(|a| a.take(index));
        let size = self.block as usize;
        // The evicted block's buffer is reused (read over, not zeroed again).
        let (slot, mut data) = if self.cache.len() < self.capacity {
            self.cache.push((u64::MAX, Vec::new()));
            (self.cache.len() - 1, Vec::with_capacity(size))
        } else {
            let v = self.next_victim;
            self.next_victim = (v + 1) % self.capacity;
            let (old, data) = std::mem::take(&mut self.cache[v]);
            self.slots.remove(&old);
            (v, data)
        };
        if let Some(decoded) = ahead {
            data = decoded;
        } else {
            data.resize(size, 0);
            let n = match self.src.read_at(index * self.block, &mut data) {
                Ok(n) => n,
                Err(e) => {
                    self.cache[slot] = (u64::MAX, data);
                    return Err(e);
                }
            };
            data.truncate(n);
        }
        self.cache[slot] = (index, data);
        self.slots.insert(index, slot);
        Ok(&self.cache[slot].1)
    }

    /// Reads at `pos`; fewer bytes at the end of the image.
    pub fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let p = pos + done as u64;
            let unit = self.block;
            let b = self.block(p / unit)?;
            let off = (p % unit) as usize;
            if off >= b.len() {
                break;
            }
            let n = (b.len() - off).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&b[off..off + n]);
            done += n;
        }
        Ok(done)
    }

    /// Reads exactly `len` bytes at `pos`, or fails (past the end of the image).
    pub fn read_exact_at(&mut self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        let n = self.read_at(pos, &mut v)?;
        if n < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the image ends before byte {}", pos + len as u64),
            ));
        }
        Ok(v)
    }
}

/// A `Read + Seek` view of `len` bytes of a disk from `start` (one volume).
#[derive(Debug)]
pub struct Window<'d> {
    disk: &'d mut Disk,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'d> Window<'d> {
    pub fn new(disk: &'d mut Disk, start: u64, len: u64) -> Self {
        Self {
            disk,
            start,
            len,
            pos: 0,
        }
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let want = ((self.len - self.pos) as usize).min(buf.len());
        let left = BUDGET.with(Cell::get);
        if left < want as u64 {
            return Err(io::Error::other(
                "read limit for one folder or file exceeded: damaged (looping) file-system structure?",
            ));
        }
        BUDGET.with(|b| b.set(left - want as u64));
        let n = self
            .disk
            .read_at(self.start.saturating_add(self.pos), &mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the volume",
            )),
        }
    }
}

/// Gives a reader the `Write` that fatfs asks for; every write fails, so the evidence cannot
/// be changed through it (the image is opened read-only anyway).
#[derive(Debug)]
pub struct ReadOnly<R>(pub R);

impl<R: Read> Read for ReadOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Seek> Seek for ReadOnly<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.0.seek(to)
    }
}

impl<R> Write for ReadOnly<R> {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "kbscan never writes to evidence",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_split_raw_set_would_take_are_known() {
        for (first, n) in [
            ("disk.001", "disk.002"),
            ("disk.001", "disk.999"),
            ("disk.001", "disk.1000"),
            ("disk.01", "disk.100"),
            ("disk.000", "disk.001"),
        ] {
            assert!(split_member_name(first, n), "{first} {n}");
        }
        for (first, n) in [
            ("disk.001", "disk.001"),
            ("disk.001", "disk.02"),
            ("disk.001", "disk.00a"),
            ("disk.001", "other.002"),
            ("disk.002", "disk.003"),
            ("disk.1", "disk.2"),
            ("disk001", "disk002"),
        ] {
            assert!(!split_member_name(first, n), "{first} {n}");
        }
    }

    #[test]
    fn split_sets_are_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["disk.001", "disk.002", "disk.003", "disk.005"] {
            std::fs::write(dir.path().join(n), n.as_bytes()).unwrap();
        }
        let got = segment_paths(&dir.path().join("disk.001"));
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["disk.001", "disk.002", "disk.003"]);
        assert_eq!(segment_paths(&dir.path().join("disk.002")).len(), 1);
        let mut disk = Disk::new(Box::new(Segments::open(&got).unwrap()));
        assert_eq!(disk.len(), 24);
        assert_eq!(disk.read_exact_at(6, 6).unwrap(), b"01disk");
        assert!(disk.read_exact_at(20, 6).is_err());
        assert!(with_budget(4, || Window::new(&mut disk, 0, 8).read(&mut [0u8; 8])).is_err());
        let mut w = ReadOnly(Window::new(&mut disk, 8, 8));
        assert!(w.write(b"x").is_err());
        let mut s = String::new();
        w.read_to_string(&mut s).unwrap();
        assert_eq!(s, "disk.002");
    }
}
