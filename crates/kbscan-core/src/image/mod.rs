//! Disk images read without mounting: raw (dd) images of a disk or of one partition, split
//! raw sets (`disk.001`, `disk.002`…), and containers read in place (`container`: E01/SMART,
//! VHD, VHDX, VMDK, qcow2). This room only turns an image file into evidence sources: bytes
//! ([`reader::ByteSource`]) → partition table (`table`) → volumes → file systems (`ntfs`,
//! `fat`, each a [`crate::source::Source`]). It never calls back into the scan: the driver
//! scans each volume as its own root (`disk.img#p1`). Containers kbscan does not read (Ex01,
//! L01, LUKS, differencing disks) and compressed copies are refused with the command to use.

pub(crate) mod ahead;
pub mod container;
pub mod fat;
pub mod lznt;
pub mod ntfs;
pub mod reader;
pub mod table;

use std::path::Path;

use crate::escape::escape_bytes;
use crate::model::{ImageReport, ImageSource, PartitionTable, PathMessage, Verdict};
use crate::source::Source;

use reader::{Disk, ReadOnly, Segments, Window};
use table::FsKind;

/// Why a reparse point inside an image is not walked.
pub const REPARSE_NOT_FOLLOWED: &str = "a reparse point (junction or symbolic link), not followed";
/// What is said when a volume's root folder cannot be read.
pub const ROOT_FAILURE: &str = "cannot read the root folder of this volume";

/// Entries listed at most in one image volume (all its folders together): a damaged or
/// hostile directory structure cannot make the walk branch without end. Ten million is far
/// above any Windows system volume (a few hundred thousand files).
pub const MAX_VOLUME_ENTRIES: u64 = 10_000_000;

/// Whether a file named `name` beside the image `first` would be taken into its set as a
/// segment: a split raw set's or an EWF set's naming scheme, whatever exists yet.
pub fn joins_set(first: &Path, name: &Path) -> bool {
    let (Some(f), Some(n)) = (
        first.file_name().and_then(|s| s.to_str()),
        name.file_name().and_then(|s| s.to_str()),
    ) else {
        return false;
    };
    first.parent() == name.parent()
        && (reader::split_member_name(f, n) || container::ewf_member_name(f, n))
}

/// True when `path` should be read as a disk image: a regular file or a block device (a disk
/// behind a write-blocker, a `losetup -r` loop device), after links. Character devices and
/// FIFOs are not: they have no size and may never end.
pub fn is_image(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() || m.file_type().is_block_device())
}

/// Partition types that claim a FAT or NTFS file system: when such a partition holds none,
/// it is reported as a root that could not be scanned (it may hide a system).
fn claims_windows_fs(ptype: Option<&str>) -> bool {
    match ptype {
        Some(t) if t.starts_with("0x") => matches!(
            t,
            "0x01"
                | "0x04"
                | "0x06"
                | "0x07"
                | "0x0b"
                | "0x0c"
                | "0x0e"
                | "0x11"
                | "0x14"
                | "0x16"
                | "0x17"
                | "0x1b"
                | "0x1c"
                | "0x1e"
                | "0x27"
                | "0x86"
                | "0x87"
        ),
        // GPT: Microsoft basic data.
        Some(t) => t == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        None => true,
    }
}

/// A volume found in an image, ready to be opened as a source.
#[derive(Debug)]
pub struct Volume {
    /// The root name in the report: `IMAGE#p1`, or `IMAGE` when the image is one volume.
    pub name: String,
    /// Where it is in the image.
    pub source: ImageSource,
    /// Root-level notices (a volume running past the end of the image…).
    pub notices: Vec<PathMessage>,
    kind: FsKind,
}

/// One slot of an image, in partition order: a volume to scan, or a root that could not be
/// read (named, with why).
#[derive(Debug)]
pub enum Slot {
    Volume(Volume),
    Unreadable { name: String, message: String },
}

/// Something that uses a source: the scan, given a volume's file system.
pub trait WithSource<T> {
    fn with<S: Source>(&mut self, src: &S) -> T;
}

/// An image opened for reading: the disk's report (its volumes and verdict are filled in by
/// the caller after the scan), the disk, and its slots.
#[derive(Debug)]
pub struct OpenImage {
    pub report: ImageReport,
    disk: Option<Disk>,
    pub slots: Vec<Slot>,
    /// The image file (links resolved) and its segments, to open it again for another thread.
    real: std::path::PathBuf,
    segments: Vec<std::path::PathBuf>,
}

/// The bytes of an image opened once more, for one more thread (readers are not shared
/// between threads).
#[derive(Debug)]
pub struct DiskHandle(Disk);

impl OpenImage {
    /// Opens `v`'s file system and hands it to `user`; `Err` with the message when the file
    /// system cannot be opened (a root that could not be read).
    pub fn scan_volume<T>(
        &mut self,
        v: &Volume,
        user: &mut impl WithSource<T>,
    ) -> Result<T, String> {
        let Some(disk) = self.disk.as_mut() else {
            return Err("the image is not open".to_owned());
        };
        scan_volume_on(disk, v, user)
    }

    /// The image's bytes opened again (its container too, never verified again), for a
    /// thread scanning volumes of its own. Fails if the image cannot be opened or its size
    /// changed.
    pub fn open_again(&self) -> Result<DiskHandle, String> {
        let mut scratch = self.report.clone();
        let src: Box<dyn reader::ByteSource> =
            match container::open_for_scan(&self.real, &self.segments, false, &mut scratch) {
                Ok(Some(src)) => src,
                Ok(None) => Box::new(
                    Segments::open(&self.segments)
                        .map_err(|e| format!("cannot open the image again: {e}"))?,
                ),
                Err(message) => return Err(message),
            };
        let disk = Disk::new(src);
        if Some(disk.len()) != self.report.size {
            return Err("the image changed size while it was scanned".to_owned());
        }
        Ok(DiskHandle(disk))
    }
}

impl DiskHandle {
    /// Opens `v`'s file system on these bytes and hands it to `user` (as
    /// [`OpenImage::scan_volume`]).
    pub fn scan_volume<T>(
        &mut self,
        v: &Volume,
        user: &mut impl WithSource<T>,
    ) -> Result<T, String> {
        scan_volume_on(&mut self.0, v, user)
    }
}

fn scan_volume_on<T>(
    disk: &mut Disk,
    v: &Volume,
    user: &mut impl WithSource<T>,
) -> Result<T, String> {
    {
        let ahead = match v.kind {
            FsKind::Ntfs => disk.read_ahead(v.source.offset),
            FsKind::Fat(_) => None,
        };
        let window = Window::new(disk, v.source.offset, v.source.length);
        match v.kind {
            FsKind::Ntfs => match ntfs::NtfsSource::open(window, v.name.clone()) {
                Ok(src) => Ok(user.with(&src.reading_ahead(ahead))),
                Err(e) => Err(format!("NTFS volume: {e}")),
            },
            FsKind::Fat(_) => match fat::open(ReadOnly(window)) {
                Ok(f) => Ok(user.with(&fat::FatSource {
                    vol: &f,
                    name: v.name.clone(),
                })),
                Err(e) => Err(format!("FAT volume: {e}")),
            },
        }
    }
}

impl OpenImage {
    /// Records the scanned roots' names and the disk's verdict.
    pub fn finish(mut self, volumes: Vec<String>, verdict: Verdict) -> ImageReport {
        self.report.volumes = volumes;
        self.report.verdict = verdict;
        self.report
    }
}

/// Opens one disk image: its container (read in place), format, partition table and volumes.
/// With `verify`, a container's stored hashes or checksums are checked first
/// (`report.verification`; a mismatch is for the caller to apply to the roots). Never fails:
/// an image that cannot be read at all gives one unreadable slot named after the image.
pub fn open(path: &Path, verify: bool) -> OpenImage {
    let shown = escape_bytes(path.as_os_str().as_encoded_bytes());
    // The examiner named this file: a link to it is followed here (the segments themselves
    // are then opened with O_NOFOLLOW), as `kbscan version` does for its files.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let segments = reader::segment_paths(&real);
    let mut image = OpenImage {
        report: ImageReport {
            path: shown.clone(),
            format: if segments.len() > 1 {
                "split_raw".to_owned()
            } else {
                "raw".to_owned()
            },
            segments: segments.len(),
            size: None,
            partition_table: None,
            volumes: Vec::new(),
            verdict: Verdict::Inconclusive,
            notices: Vec::new(),
            error: None,
            container: "raw",
            container_metadata: None,
            verification: None,
        },
        disk: None,
        slots: Vec::new(),
        real: real.clone(),
        segments: segments.clone(),
    };
    let fail = |mut image: OpenImage, message: String| {
        image.report.error = Some(message.clone());
        image.slots = vec![Slot::Unreadable {
            name: shown.clone(),
            message,
        }];
        image
    };
    // `NAME.001` given while `NAME.000` is beside it: the set may begin one segment earlier,
    // and what is read would then not be the disk's start.
    if let Some(zero) = reader::earlier_segment(&real) {
        image.report.notices.push(format!(
            "{} exists beside this image: the split set may begin with it, and this segment \
             (with those after it) is then not the whole disk; give the set's first file",
            escape_bytes(zero.as_os_str().as_encoded_bytes())
        ));
    }
    // A container (E01, VHD, VMDK…) gives the virtual disk's bytes; anything else is read
    // as a raw image or split raw set.
    let src: Box<dyn reader::ByteSource> =
        match container::open_for_scan(&real, &segments, verify, &mut image.report) {
            Ok(Some(src)) => src,
            Ok(None) => match Segments::open(&segments) {
                Ok(s) => Box::new(s),
                Err(e) => return fail(image, format!("cannot open the image: {e}")),
            },
            Err(message) => return fail(image, message),
        };
    let mut disk = Disk::new(src);
    image.report.size = Some(disk.len());
    if let Some(format) = table::container_format(&mut disk) {
        image.report.format = format.to_owned();
        return fail(image, container::unsupported(format));
    }
    let table = table::read_table(&mut disk);
    image.report.partition_table = Some(table.kind);
    image.report.notices.extend(table.notices.iter().cloned());
    for part in &table.parts {
        let name = if table.kind == PartitionTable::None {
            shown.clone()
        } else {
            format!("{shown}#{}", part.volume)
        };
        let end = part.offset.saturating_add(part.length);
        if part.offset >= disk.len() {
            let msg = format!(
                "{}: starts at byte {} beyond the end of the image ({} bytes): truncated image?",
                part.volume,
                part.offset,
                disk.len()
            );
            image.report.notices.push(msg.clone());
            image.slots.push(Slot::Unreadable { name, message: msg });
            continue;
        }
        // A volume that reaches a missing segment's bytes: its file system (and any file in
        // it) may be there, so nothing read from it can be called clean.
        if let Some((from, why)) = disk.missing().filter(|(from, _)| end > *from) {
            let msg = format!(
                "{}: bytes {}..{end} of the disk; from byte {from} they are not in the set: {why}",
                part.volume, part.offset
            );
            image.report.notices.push(msg.clone());
            image.slots.push(Slot::Unreadable { name, message: msg });
            continue;
        }
        let mut notices = Vec::new();
        if end > disk.len() {
            let msg = format!(
                "the volume ends at byte {end}, after the end of the image ({} bytes): truncated image? What is there is read",
                disk.len()
            );
            image.report.notices.push(format!("{}: {msg}", part.volume));
            notices.push(PathMessage {
                path: String::new(),
                message: msg,
            });
        }
        let Some(kind) = table::detect_fs(&mut disk, part.offset) else {
            let what = part.ptype.as_deref().unwrap_or("no partition table");
            // BitLocker, exFAT, ReFS: refused by name.
            if let Some(foreign) = container::foreign_volume(&mut disk, part.offset) {
                let msg = format!("{} (type {what}): {foreign}", part.volume);
                image.report.notices.push(msg.clone());
                if table.kind == PartitionTable::None {
                    image.report.error = Some(msg.clone());
                }
                image.slots.push(Slot::Unreadable { name, message: msg });
                continue;
            }
            if claims_windows_fs(part.ptype.as_deref()) {
                // No partition table either: nothing says the file is a disk image at all (a
                // text file, a document given as a root).
                let msg = if table.kind == PartitionTable::None {
                    "not a folder or a disk image kbscan reads: no partition table, and no NTFS or FAT file system recognised at its start (a damaged boot sector, or a file system kbscan does not read)".to_owned()
                } else {
                    format!(
                        "{} (type {what}): no NTFS or FAT file system recognised (damaged boot sector, or a file system kbscan does not read)",
                        part.volume
                    )
                };
                image.report.notices.push(msg.clone());
                if table.kind == PartitionTable::None {
                    image.report.error = Some(msg.clone());
                }
                image.slots.push(Slot::Unreadable { name, message: msg });
            } else {
                image.report.notices.push(format!(
                    "{} (type {what}): not NTFS or FAT, not scanned",
                    part.volume
                ));
            }
            continue;
        };
        image.slots.push(Slot::Volume(Volume {
            source: ImageSource {
                path: shown.clone(),
                partition_table: table.kind,
                volume: part.volume.clone(),
                offset: part.offset,
                length: part.length,
                filesystem: kind.name(),
                partition_type: part.ptype.clone(),
            },
            name,
            notices,
            kind,
        }));
    }
    if image.slots.is_empty() {
        let msg = "no NTFS or FAT volume found in the image".to_owned();
        image.report.error = Some(msg.clone());
        image.slots.push(Slot::Unreadable {
            name: shown,
            message: msg,
        });
    }
    image.disk = Some(disk);
    image
}
