//! Virtual disk containers read in place: E01/SMART (EWF1), VHD, VHDX, VMDK and qcow2. Each
//! is recognised by its content (never its file name) and opened read-only as a
//! [`ByteSource`] giving the virtual disk's bytes; the partition reader and the file systems
//! sit on top unchanged. A differencing qcow2 or VMDK is read over its parent ([`chain`]).
//! What is not read (Ex01, differencing disks with their parent missing, encrypted
//! containers) is refused with a message that says what it is and how to convert it.
//!
//! Each container is one file here holding a [`Container`] (how it is recognised, opened or
//! refused, and which files make up its set), registered by one line in [`CONTAINERS`]: the
//! scan, the nested-container check of a virtual disk and the `-o` guard all ask the list.

pub mod chain;
pub mod ewf;
mod ewf_header2;
pub mod qcow2;
mod refused;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;
pub mod vmdk_descriptor;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::reader::{ByteSource, Disk};
use crate::model::ImageReport;
use crate::source::host::open_evidence;

/// Why a container could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("cannot read the container: {0}")]
    Io(#[from] io::Error),
    /// Recognised, deliberately not read; the message names what and how to convert.
    #[error("{0}")]
    Refused(String),
    /// Recognised but damaged or not understood by the reader.
    #[error("{kind} container cannot be read: {message}")]
    Damaged { kind: &'static str, message: String },
}

impl ContainerError {
    pub(crate) fn damaged(kind: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Damaged {
            kind,
            message: e.to_string(),
        }
    }
}

pub use crate::model::{ChainParent, ContainerMeta, Verification};

/// One opened container.
pub struct Opened {
    /// `e01`, `smart`, `vhd`, `vhdx`, `vmdk`, `qcow2`.
    pub kind: &'static str,
    pub segments: usize,
    pub meta: ContainerMeta,
    /// What the examiner must know about the container before trusting its reading (a
    /// checksum that does not match…): the image's notices.
    pub notices: Vec<String>,
    pub src: Box<dyn ByteSource>,
    /// Checks the container's own hashes/checksums (reads everything where the format
    /// stores a hash of the whole disk).
    pub verify: Box<dyn FnOnce() -> Verification + Send>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("kind", &self.kind)
            .field("segments", &self.segments)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// The largest container header structure read whole into memory (BATs, L1 tables…).
pub(crate) const MAX_TABLE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads up to `buf.len()` bytes at `pos` (fewer only at the end of the file). A positioned
/// read (`pread`): the file's offset, shared with every clone of the handle, is not used, so
/// threads reading through clones cannot disturb each other.
pub(crate) fn pread(f: &mut File, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        let n = match f.read_at(&mut buf[done..], pos + done as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Reads exactly `len` bytes at `pos`, or fails naming `what`.
pub(crate) fn pread_exact(f: &mut File, pos: u64, len: usize, what: &str) -> io::Result<Vec<u8>> {
    // Checked against the file's size before anything is allocated: a forged table size
    // in a small file costs nothing.
    let size = crate::image::reader::evidence_len(f)?;
    if pos.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the container ends inside its {what} (truncated?)"),
        ));
    }
    let mut v = vec![0u8; len];
    let n = pread(f, pos, &mut v)?;
    if n < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the container ends inside its {what} (truncated?)"),
        ));
    }
    Ok(v)
}

/// A `Read + Seek` reader given as a [`ByteSource`] (the crates' readers).
pub(crate) struct SeekSource<R> {
    pub(crate) inner: R,
    pub(crate) len: u64,
    pub(crate) name: &'static str,
}

impl<R> std::fmt::Debug for SeekSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeekSource")
            .field("name", &self.name)
            .field("len", &self.len)
            .finish()
    }
}

impl<R: Read + Seek + Send> ByteSource for SeekSource<R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        if pos >= self.len {
            return Ok(0);
        }
        let want = usize::try_from(self.len - pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let name = self.name;
        // The crates are third-party parsers of hostile input: a panic is an I/O error.
        crate::contain::contained(|| {
            self.inner.seek(SeekFrom::Start(pos))?;
            let mut done = 0;
            while done < want {
                let n = self.inner.read(&mut buf[done..want])?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            Ok(done)
        })
        .unwrap_or_else(|| {
            Err(io::Error::other(format!(
                "the {name} reader failed on a damaged structure"
            )))
        })
    }
}

/// The first bytes of a file or a virtual disk (up to 512), and its last 512 bytes where it
/// is a whole number of sectors and at least 1 KiB (a fixed VHD's footer): all that
/// recognising a container takes.
pub struct Probe<'a> {
    pub head: &'a [u8],
    pub tail: Option<&'a [u8]>,
}

impl Probe<'_> {
    pub fn starts(&self, magic: &[u8]) -> bool {
        self.head.starts_with(magic)
    }
}

/// What kbscan does with a container it recognises.
pub enum Reading {
    /// Reads it in place, read-only, as the virtual disk's bytes.
    Read(fn(&Path, File) -> Result<Opened, ContainerError>),
    /// Recognises it and does not read it: the message says what it is and what to do.
    Refused(fn(&Path) -> String),
    /// A compressed copy or an archive of an image: not a disk at all.
    NotADisk,
}

/// One container format. A container is one file of this folder holding its `Container` and
/// one line in [`CONTAINERS`]: detection, opening, refusal and the files that make up a set
/// (which `-o` must never replace) are all asked here.
pub struct Container {
    /// `images[].container` and `images[].format` (`e01`, `vmdk`, …).
    pub name: &'static str,
    /// How messages name it (`E01 (EnCase/EWF)`).
    pub display: &'static str,
    /// Recognises it by content, never by name.
    pub detect: fn(&Probe) -> bool,
    pub reading: Reading,
    /// Every file of the set, given the first (EWF segments, VMDK extents); none when `path`
    /// is not such a set; `Err` (why) when `path` is such a set whose files cannot be told.
    pub companions: fn(&Path) -> Result<Vec<PathBuf>, String>,
    /// What one of those files is, for a refusal (`a segment of the scanned image`).
    pub companion: &'static str,
}

/// A container with no files beside its own.
pub(crate) fn no_companions(_: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(Vec::new())
}

/// Every container kbscan recognises, in the order they are tried (the VHD, recognised by a
/// footer that a raw disk could also end with, last).
pub static CONTAINERS: &[&Container] = &[
    &ewf::EWF1,
    &ewf::EWF2,
    &ewf::LVF,
    &vmdk::SPARSE,
    &vmdk::DESCRIPTOR,
    &vhdx::VHDX,
    &qcow2::QCOW2,
    &refused::LUKS,
    &refused::VDI,
    &refused::GZIP,
    &refused::XZ,
    &refused::BZIP2,
    &refused::ZSTD,
    &refused::SEVEN_ZIP,
    &refused::ZIP,
    &vhd::VHD,
];

/// The registered container that `probe` is, if any.
pub fn recognise(probe: &Probe) -> Option<&'static Container> {
    CONTAINERS.iter().copied().find(|c| (c.detect)(probe))
}

/// Recognises a container file by content.
pub fn detect(f: &mut File) -> io::Result<Option<&'static Container>> {
    let mut head = [0u8; 512];
    let n = pread(f, 0, &mut head)?;
    let len = super::reader::evidence_len(f)?;
    let mut foot = [0u8; 512];
    let tail = if len >= 1024 && len % 512 == 0 && pread(f, len - 512, &mut foot)? == 512 {
        Some(&foot[..])
    } else {
        None
    };
    Ok(recognise(&Probe {
        head: &head[..n],
        tail,
    }))
}

/// The files of an image's set besides the image itself.
#[derive(Debug, Default)]
pub struct SetFiles {
    /// Each file with what it is: files a report must never be written over.
    pub files: Vec<(PathBuf, &'static str)>,
    /// Set when `path` begins a set whose files cannot be told (a VMDK descriptor kbscan
    /// cannot read): why. Any file beside it may then belong to it.
    pub unknown: Option<String>,
}

/// The other files of the set that `path` begins, whatever container it is: the same
/// reading the container's reader makes (for a VMDK descriptor, the one parser).
pub fn set_files(path: &Path) -> SetFiles {
    let mut out = SetFiles::default();
    for c in CONTAINERS {
        match (c.companions)(path) {
            Ok(files) => {
                for f in files {
                    if f != path && !out.files.iter().any(|(o, _)| *o == f) {
                        out.files.push((f, c.companion));
                    }
                }
            }
            Err(why) => out.unknown = Some(why),
        }
    }
    out
}

/// Opens `path` as a container when its content is one; `Ok(None)` means "not a container"
/// (a raw image, handled by the caller).
pub fn open(path: &Path) -> Result<Option<Opened>, ContainerError> {
    let mut f = open_evidence(path)?;
    let Some(c) = detect(&mut f)? else {
        return Ok(None);
    };
    open_as(c, path, f).map(Some)
}

/// The refusal of a container kbscan recognises and does not read as a disk.
pub(crate) fn unsupported(display: &str) -> String {
    if display.ends_with("compressed") || display.ends_with("archive") {
        return format!(
            "format not supported: this is a {display} file, not a raw image; decompress or \
             extract it first (e.g. `gunzip -k`, `unxz -k`, `unzstd`, `7z x`), then scan the raw image"
        );
    }
    format!(
        "format not supported: this is a {display} container, not a raw image; convert it to raw \
         first, e.g. `qemu-img convert -O raw IMAGE disk.raw` (Debian package qemu-utils; VMDK, \
         VHD/VHDX, qcow2, VDI) or `ewfexport -t disk -f raw IMAGE.E01` (Debian package \
         ewf-tools; E01/Ex01), then scan disk.raw"
    )
}

fn open_as(c: &Container, path: &Path, mut f: File) -> Result<Opened, ContainerError> {
    // Detection moved the file position; the crates read from where the handle is.
    f.seek(SeekFrom::Start(0))?;
    match c.reading {
        Reading::Read(open) => open(path, f),
        Reading::Refused(why) => Err(ContainerError::Refused(why(path))),
        Reading::NotADisk => Err(ContainerError::Refused(unsupported(c.display))),
    }
}

/// Called from `image::open`: opens `real` as a container when it is one and fills the image
/// report's container fields (and, with `verify`, its `verification`); `Ok(None)` for a raw
/// image or split raw set (read by `reader::Segments`); `Err` with the message for the root
/// when the container is refused or cannot be read.
pub fn open_for_scan(
    real: &Path,
    segments: &[PathBuf],
    verify: bool,
    image: &mut ImageReport,
) -> Result<Option<Box<dyn ByteSource>>, String> {
    let raw_check = |image: &mut ImageReport| {
        if verify {
            image.verification = Some(Verification::none(
                "a raw image stores no hash; compare it with the acquisition log".to_owned(),
            ));
        }
    };
    if segments.len() > 1 {
        image.container = "split-raw";
        raw_check(image);
        return Ok(None);
    }
    let mut f = open_evidence(real).map_err(|e| format!("cannot open the image: {e}"))?;
    let c = match detect(&mut f) {
        Ok(Some(c)) => c,
        Ok(None) => {
            raw_check(image);
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot open the image: {e}")),
    };
    if let Reading::NotADisk = c.reading {
        // Not a container of a disk: the image stays `raw`, its format says what it is.
        image.format = c.display.to_owned();
        return Err(unsupported(c.display));
    }
    image.container = c.name;
    image.format = c.name.to_owned();
    let opened = open_as(c, real, f).map_err(|e| e.to_string())?;
    image.container = opened.kind;
    image.format = opened.kind.to_owned();
    image.segments = opened.segments;
    image.container_metadata = Some(opened.meta);
    image.notices.extend(opened.notices);
    if verify {
        let v = (opened.verify)();
        if v.is_mismatch() {
            image
                .notices
                .push(format!("--verify-image: {}: {}", v.status, v.detail));
        }
        image.verification = Some(v);
    }
    Ok(Some(opened.src))
}

/// The conversion offered when a container is refused.
pub(crate) fn qemu_convert(path: &Path) -> String {
    format!(
        "`qemu-img convert -O raw {} disk.raw` (Debian package qemu-utils)",
        path.display()
    )
}

/// A volume kbscan recognises but does not read, by its boot sector at `offset`: BitLocker
/// (`-FVE-FS-`), exFAT, ReFS. Such a boot sector must not be read as an MBR.
pub fn foreign_volume(disk: &mut Disk, offset: u64) -> Option<&'static str> {
    let b = disk.read_exact_at(offset, 512).ok()?;
    match &b[3..11] {
        b"-FVE-FS-" => Some(
            "a BitLocker-encrypted volume: not read; decrypt it first (e.g. `dislocker-fuse -r` \
             with the recovery key, or on Windows `manage-bde -unlock`) and scan the decrypted volume",
        ),
        b"EXFAT   " => Some(
            "an exFAT volume: kbscan reads NTFS and FAT12/16/32 only (Windows 2000 cannot hold \
             a system on exFAT); mount it read-only (`mount -o ro`) to scan its files as a folder",
        ),
        _ if &b[3..7] == b"ReFS" => Some(
            "a ReFS volume: not read; mount it read-only on Windows to scan its files as a folder",
        ),
        _ => None,
    }
}

/// Segment file names of an EWF set from the first (`x.E01` → `x.E02` … `x.E99`, `x.EAA` …),
/// while they exist. Case follows the first segment's extension.
pub fn ewf_segment_paths(first: &Path) -> Vec<PathBuf> {
    let mut out = vec![first.to_path_buf()];
    for n in 2u32.. {
        match ewf_segment_name(first, n) {
            Some(next) if next.is_file() => out.push(next),
            _ => break,
        }
    }
    out
}

/// The name segment `n` (from 1) of the EWF set whose first segment is `first` takes
/// (`.E01`…`.E99`, `.EAA`…`.ZZZ`, the case of the first kept); `None` past the scheme.
pub fn ewf_segment_name(first: &Path, n: u32) -> Option<PathBuf> {
    let ext = first.extension().and_then(|e| e.to_str())?;
    let b = ext.as_bytes();
    if b.len() != 3 || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() || &ext[1..] != "01" {
        return None;
    }
    let upper = b[0].is_ascii_uppercase();
    let letter = b[0].to_ascii_uppercase();
    if n == 0 {
        return None;
    }
    let name = if n <= 99 {
        format!("{}{n:02}", letter as char)
    } else {
        let k = n - 100;
        let first_letter = u32::from(letter) + k / (26 * 26);
        if first_letter > u32::from(b'Z') {
            return None;
        }
        let a = char::from_u32(first_letter)?;
        let b2 = char::from(b'A' + ((k / 26) % 26) as u8);
        let c = char::from(b'A' + (k % 26) as u8);
        format!("{a}{b2}{c}")
    };
    let name = if upper {
        name
    } else {
        name.to_ascii_lowercase()
    };
    Some(first.with_extension(name))
}

/// Whether `name` is a name an EWF set whose first segment is named `first` could take as a
/// segment (`x.E01` → `x.E02`…`x.E99`, `x.EAA`…`x.ZZZ`, in the first segment's case; likewise
/// `.s01` and `.L01` sets): a file written under such a name would be adopted by the set
/// once the segments before it exist.
pub fn ewf_member_name(first: &str, name: &str) -> bool {
    let (Some((stem, ext)), Some((nstem, next))) = (first.rsplit_once('.'), name.rsplit_once('.'))
    else {
        return false;
    };
    let (e, n) = (ext.as_bytes(), next.as_bytes());
    if stem != nstem
        || e.len() != 3
        || n.len() != 3
        || &e[1..] != b"01"
        || !e[0].is_ascii_alphabetic()
    {
        return false;
    }
    if !n.iter().all(u8::is_ascii_alphanumeric) || n.eq_ignore_ascii_case(e) {
        return false;
    }
    let first_letter = e[0].to_ascii_uppercase();
    let lead = n[0].to_ascii_uppercase();
    let digits = n[1].is_ascii_digit() && n[2].is_ascii_digit();
    let letters = n[1].is_ascii_alphabetic() && n[2].is_ascii_alphabetic();
    (lead == first_letter && digits)
        || (lead >= first_letter && n[0].is_ascii_alphabetic() && letters)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_larger_than_its_file_is_refused_before_it_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("small");
        std::fs::write(&p, [7u8; 100]).unwrap();
        let mut f = File::open(&p).unwrap();
        assert_eq!(pread_exact(&mut f, 10, 90, "table").unwrap(), vec![7u8; 90]);
        // A terabyte would abort the process if it were allocated first.
        for (pos, len) in [(0, 1usize << 40), (10, 91), (u64::MAX, 1)] {
            let e = pread_exact(&mut f, pos, len, "table").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{pos} {len}");
            assert!(e.to_string().contains("inside its table"), "{e}");
        }
    }

    #[test]
    fn names_an_ewf_set_would_take_are_known() {
        for n in [
            "x.E02", "x.E99", "x.EAA", "x.EZZ", "x.FAA", "x.ZZZ", "x.e02", "x.eab",
        ] {
            assert!(ewf_member_name("x.E01", n), "{n}");
        }
        assert!(ewf_member_name("y.s01", "y.s02"));
        assert!(ewf_member_name("z.L01", "z.L02"));
        for n in [
            "x.E01", "x.DAA", "x.F01", "x.E1", "x.E001", "y.E02", "x.E0!", "x",
        ] {
            assert!(!ewf_member_name("x.E01", n), "{n}");
        }
        // Only a first segment starts a set.
        assert!(!ewf_member_name("x.E02", "x.E03"));
        assert!(!ewf_member_name("x.img", "x.E02"));
    }

    #[test]
    fn ewf_segments_run_from_01_to_99_then_letters() {
        let dir = tempfile::tempdir().unwrap();
        for n in 1..=99 {
            std::fs::write(dir.path().join(format!("d.E{n:02}")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("d.EAA"), b"x").unwrap();
        std::fs::write(dir.path().join("d.EAB"), b"x").unwrap();
        std::fs::write(dir.path().join("d.EAD"), b"x").unwrap();
        let got = ewf_segment_paths(&dir.path().join("d.E01"));
        assert_eq!(got.len(), 101);
        assert!(got[100].ends_with("d.EAB"));
        std::fs::write(dir.path().join("s.s01"), b"x").unwrap();
        std::fs::write(dir.path().join("s.s02"), b"x").unwrap();
        assert_eq!(ewf_segment_paths(&dir.path().join("s.s01")).len(), 2);
        assert_eq!(ewf_segment_paths(&dir.path().join("d.E02")).len(), 1);
    }
}
