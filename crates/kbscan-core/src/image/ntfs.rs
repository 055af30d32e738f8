//! NTFS, read-only, through the `ntfs` crate: directory indexes (Win32 and POSIX names; the
//! DOS 8.3 duplicates are skipped), `$STANDARD_INFORMATION` times, the unnamed `$DATA`
//! stream (resident or not, fragmented, sparse). Compressed (LZNT1) data is decompressed by
//! `image::lznt`; encrypted data is refused with a typed error. Reparse points are told
//! apart by their tag (`$REPARSE_POINT`, read lazily when the walk meets one): symbolic links
//! and junctions are not followed, every other tag is walked as the file or folder it is, and
//! a file whose data is not in its `$DATA` (cloud placeholder, HSM, dedup, WOF) is a precise
//! read error naming the tag. Every call into the crate runs inside `contain::contained`.
//!
//! Over 400 lines: listing, times ($STANDARD_INFORMATION and $FILE_NAME), data (plain,
//! compressed, reparse tags) all go through one contained, budgeted reader.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Seek};

use ntfs::structured_values::{NtfsFileAttributeFlags, NtfsFileNamespace};
use ntfs::{Ntfs, NtfsAttributeFlags, NtfsAttributeType, NtfsFile, NtfsReadSeek, NtfsTime};

use super::reader::{complete_read, with_budget, LIST_BUDGET};
use crate::contain::contained;
use crate::model::time::{Times, Timestamp};
use crate::source::{
    Entry, EntryKind, Link, Source, SourceError, SourceErrorKind, Stat, MAX_DIR_ENTRIES,
};

/// The root directory's file record number.
const ROOT_RECORD: u64 = 5;

/// One NTFS volume as an evidence source, named `name` in the report.
pub struct NtfsSource<R> {
    ntfs: Ntfs,
    r: RefCell<Records<R>>,
    name: String,
    /// Reparse tags of the entries the walk was told to walk through (`link`), by file
    /// record: `read` checks them for data that is not in `$DATA`. One entry per reparse
    /// point met, nothing for ordinary files.
    reparse: RefCell<HashMap<u64, u32>>,
    /// Asks for the file records of the folders just listed, which the walk lists next.
    ahead: Option<super::ahead::Ahead>,
}

fn err(e: ntfs::NtfsError) -> SourceError {
    match e {
        ntfs::NtfsError::Io(io) => SourceError::io(&io),
        other => SourceError::corrupt(other.to_string()),
    }
}

/// Runs `f` inside `contain::contained`, reading at most `budget` bytes of the image.
fn guarded<T>(budget: u64, f: impl FnOnce() -> Result<T, SourceError>) -> Result<T, SourceError> {
    with_budget(budget, || contained(f)).unwrap_or_else(|| Err(SourceError::parser_failed("NTFS")))
}

/// The most `$MFT` extents kept (a badly fragmented MFT has a few hundred).
const MAX_MFT_EXTENTS: usize = 65_536;

/// Where `$MFT`'s data lies in the volume, from its own record's data runs.
fn mft_extents<R: Read + Seek>(
    ntfs: &Ntfs,
    r: &mut Records<R>,
) -> Result<Vec<(u64, u64)>, SourceError> {
    let mft = ntfs.file(r, 0).map_err(err)?;
    let item = mft
        .data(r, "")
        .ok_or_else(|| SourceError::corrupt("$MFT has no $DATA".to_owned()))?
        .map_err(err)?;
    let attr = item.to_attribute().map_err(err)?;
    let mut out = Vec::new();
    if let ntfs::attribute_value::NtfsAttributeValue::NonResident(v) = attr.value(r).map_err(err)? {
        for run in v.data_runs() {
            let run = run.map_err(err)?;
            if let Some(p) = run.data_position().value() {
                out.push((p.get(), p.get().saturating_add(run.allocated_size())));
            }
            if out.len() > MAX_MFT_EXTENTS {
                return Err(SourceError::corrupt(
                    "$MFT has more extents than any volume writes".to_owned(),
                ));
            }
        }
    }
    Ok(out)
}

/// The volume as the `ntfs` crate reads it, with file records read as Sleuth Kit, ntfs-3g
/// and libfsntfs read them: a record of `$MFT` whose update-sequence check fails only in
/// sectors that begin at or after the record's bytes in use (space the file system does not
/// use, left stale by some writers) is read; the crate then checks, and fails on, every
/// sector that holds the record's data, as before.
pub(crate) struct Records<R> {
    inner: R,
    pos: u64,
    record_size: u64,
    /// `$MFT`'s extents, volume byte ranges: only reads of a whole record there are records.
    mft: Vec<(u64, u64)>,
    /// Where each of `mft` ends in the `$MFT` stream (the sum of the lengths so far).
    mft_ends: Vec<u64>,
}

impl<R> Records<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            pos: 0,
            record_size: 0,
            mft: Vec::new(),
            mft_ends: Vec::new(),
        }
    }

    /// Where file record `n` lies in the volume, from `$MFT`'s extents (a binary search:
    /// a forged `$MFT` may have tens of thousands).
    fn record_position(&self, n: u64) -> Option<u64> {
        let at = n.checked_mul(self.record_size)?;
        let i = self.mft_ends.partition_point(|&end| end <= at);
        let &(a, _) = self.mft.get(i)?;
        let before = i.checked_sub(1).map_or(0, |j| self.mft_ends[j]);
        a.checked_add(at - before)
    }

    fn is_record(&self, pos: u64, len: usize) -> bool {
        len as u64 == self.record_size
            && self.record_size >= 1024
            && self.mft.iter().any(|&(a, b)| {
                pos >= a && pos.saturating_add(self.record_size) <= b && (pos - a) % 512 == 0
            })
    }
}

/// Sector size of the update-sequence protection (always 512 in NTFS).
const USA_SECTOR: usize = 512;

/// In a `FILE` record, makes every sector that begins at or after the bytes in use carry
/// the update sequence number, so that the crate's check passes there; sectors holding data
/// are left as they are.
fn relax_unused_sectors(rec: &mut [u8]) {
    if rec.len() < 48 || &rec[..4] != b"FILE" {
        return;
    }
    let usa_offset = usize::from(u16::from_le_bytes([rec[4], rec[5]]));
    let usa_count = usize::from(u16::from_le_bytes([rec[6], rec[7]]));
    let in_use = u32::from_le_bytes([rec[24], rec[25], rec[26], rec[27]]) as usize;
    if usa_count < 2
        || usa_offset + 2 * usa_count > rec.len()
        || (usa_count - 1) * USA_SECTOR > rec.len()
        || in_use > rec.len()
    {
        return;
    }
    let usn = [rec[usa_offset], rec[usa_offset + 1]];
    for i in 0..usa_count - 1 {
        let start = i * USA_SECTOR;
        if start < in_use {
            continue;
        }
        let end = start + USA_SECTOR;
        rec[end - 2..end].copy_from_slice(&usn);
    }
}

impl<R: Read + Seek> Read for Records<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.is_record(self.pos, buf.len()) {
            let n = self.inner.read(buf)?;
            self.pos += n as u64;
            return Ok(n);
        }
        // A whole record: read it whole, then relax its unused sectors.
        let mut done = 0;
        while done < buf.len() {
            let n = self.inner.read(&mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        self.pos += done as u64;
        if done == buf.len() {
            relax_unused_sectors(buf);
        }
        Ok(done)
    }
}

impl<R: Seek> Seek for Records<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// NTFS times count 100 ns from 1601-01-01 UTC.
fn time(t: NtfsTime) -> Option<Timestamp> {
    const EPOCH_DIFF: i128 = 116_444_736_000_000_000;
    let ticks = i128::from(t.nt_timestamp());
    (ticks != 0).then(|| Timestamp::from_unix_nanos((ticks - EPOCH_DIFF) * 100))
}

impl<R: Read + Seek> NtfsSource<R> {
    pub fn open(r: R, name: String) -> Result<Self, SourceError> {
        let mut r = Records::new(r);
        let ntfs = guarded(LIST_BUDGET, || {
            let mut ntfs = Ntfs::new(&mut r).map_err(err)?;
            // Record 0 first (it is where the MFT begins), then every extent of `$MFT`.
            r.record_size = u64::from(ntfs.file_record_size());
            if let Some(p) = ntfs.mft_position().value() {
                r.mft = vec![(p.get(), p.get().saturating_add(r.record_size))];
            }
            r.mft = mft_extents(&ntfs, &mut r)?;
            r.mft_ends = r
                .mft
                .iter()
                .scan(0u64, |sum, &(a, b)| {
                    *sum = sum.saturating_add(b - a);
                    Some(*sum)
                })
                .collect();
            ntfs.read_upcase_table(&mut r).map_err(err)?;
            Ok(ntfs)
        })?;
        Ok(Self {
            ntfs,
            r: RefCell::new(r),
            name,
            reparse: RefCell::new(HashMap::new()),
            ahead: None,
        })
    }

    /// Reads ahead through `ahead` (a second core decodes the next folders' records).
    pub fn reading_ahead(mut self, ahead: Option<super::ahead::Ahead>) -> Self {
        self.ahead = ahead;
        self
    }
}

impl<R: Read + Seek> Source for NtfsSource<R> {
    /// The file record number.
    type Node = u64;

    fn root(&self) -> Result<(u64, Option<u64>), SourceError> {
        Ok((ROOT_RECORD, Some(ROOT_RECORD)))
    }

    fn list(&self, dir: &u64) -> Result<Vec<Entry<u64>>, SourceError> {
        let (ntfs, r) = (&self.ntfs, &mut *self.r.borrow_mut());
        let dir = *dir;
        guarded(LIST_BUDGET, || {
            let file = ntfs.file(r, dir).map_err(err)?;
            let index = file.directory_index(r).map_err(err)?;
            let mut entries = index.entries();
            let mut out: Vec<Entry<u64>> = Vec::new();
            // A record's separate DOS (8.3) name: not an entry of its own, but the alias
            // Windows also opens it by (`NSCM~1.EXE`), kept as the entry's short name.
            let mut dos: HashMap<u64, Vec<u8>> = HashMap::new();
            let mut seen = 0usize;
            while let Some(entry) = entries.next(r) {
                seen += 1;
                if seen > MAX_DIR_ENTRIES {
                    return Err(SourceError::corrupt(format!(
                        "more than {MAX_DIR_ENTRIES} index entries: damaged index?"
                    )));
                }
                let entry = entry.map_err(err)?;
                let Some(key) = entry.key() else { continue };
                let key = key.map_err(err)?;
                let record = entry.file_reference().file_record_number();
                if key.namespace() == NtfsFileNamespace::Dos {
                    let mut short = Vec::with_capacity(key.name().len());
                    crate::escape::utf16_to_bytes(key.name().u16_iter(), &mut short);
                    dos.insert(record, short);
                    continue;
                }
                if record == dir {
                    continue; // The root's "." entry.
                }
                let attrs = key.file_attributes();
                let kind = if attrs.contains(NtfsFileAttributeFlags::REPARSE_POINT) {
                    EntryKind::Symlink
                } else if key.is_directory() {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                };
                // Issue 10 case 12: the UTF-16 name as generalized UTF-8, not
                // `to_string_lossy()`: valid names are their UTF-8 bytes (the walker's
                // matching is unchanged), an unpaired surrogate keeps its value (escape.rs
                // writes `\u{d800}`), so two names differing only there stay distinct.
                let mut name = Vec::with_capacity(key.name().len());
                crate::escape::utf16_to_bytes(key.name().u16_iter(), &mut name);
                out.push(Entry {
                    name,
                    short_name: None,
                    kind,
                    id: Some(record),
                    node: record,
                });
            }
            for e in &mut out {
                if let Some(short) = dos.remove(&e.node) {
                    if !short.eq_ignore_ascii_case(&e.name) {
                        e.short_name = Some(short);
                    }
                }
            }
            if let Some(ahead) = &self.ahead {
                for e in out.iter().filter(|e| e.kind == EntryKind::Dir) {
                    if let Some(pos) = r.record_position(e.node) {
                        ahead.want(pos, r.record_size);
                    }
                }
            }
            Ok(out)
        })
    }

    fn stat(&self, node: &u64) -> Result<Stat, SourceError> {
        let (ntfs, r) = (&self.ntfs, &mut *self.r.borrow_mut());
        let node = *node;
        guarded(LIST_BUDGET, || {
            let file = ntfs.file(r, node).map_err(err)?;
            if file.is_directory() {
                // Only files are stat'ed for the report; a folder named like a target is
                // reported without times.
                return Ok(Stat::default());
            }
            let info = file.info().map_err(err)?;
            let times = Times {
                modified: time(info.modification_time()),
                accessed: time(info.access_time()),
                created: time(info.creation_time()),
                changed: time(info.mft_record_modification_time()),
            };
            let size = match file.data(r, "") {
                None => 0,
                Some(item) => {
                    let item = item.map_err(err)?;
                    let attr = item.to_attribute().map_err(err)?;
                    attr.value_length()
                }
            };
            Ok(Stat {
                size: Some(size),
                times,
            })
        })
    }

    fn read(&self, node: &u64, size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
        let (ntfs, r) = (&self.ntfs, &mut *self.r.borrow_mut());
        let node = *node;
        // Reparse points (issue 12 item 5): a tag whose data is not in $DATA is an error.
        let tag = self.reparse.borrow().get(&node).copied();
        let v = guarded(LIST_BUDGET.saturating_add(limit.saturating_mul(2)), || {
            let file = ntfs.file(r, node).map_err(err)?;
            if let Some(tag) = tag {
                reparse_data_check(r, &file, tag)?;
            }
            let Some(item) = file.data(r, "") else {
                return Ok(Vec::new());
            };
            let item = item.map_err(err)?;
            let attr = item.to_attribute().map_err(err)?;
            let flags = attr.flags();
            if flags.contains(NtfsAttributeFlags::ENCRYPTED) {
                return Err(SourceError::new(
                    SourceErrorKind::Unsupported,
                    "EFS-encrypted data cannot be read",
                ));
            }
            // LZNT1-compressed, non-resident data is decompressed.
            if flags.contains(NtfsAttributeFlags::COMPRESSED) && !attr.is_resident() {
                return super::lznt::read_compressed(ntfs, r, &attr, limit);
            }
            let mut value = attr.value(r).map_err(err)?;
            let want = value.len().min(limit.saturating_add(1));
            let mut out = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
            let mut done = 0;
            while done < out.len() {
                let n = value.read(r, &mut out[done..]).map_err(err)?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            out.truncate(done);
            Ok(out)
        })?;
        complete_read(v, size, limit)
    }

    /// A reparse point, by its tag: symbolic links and junctions are not walked; every other
    /// tag is walked as the file or folder it is (issue 12 item 5).
    fn link(&self, node: &u64) -> Link<u64> {
        let (ntfs, r) = (&self.ntfs, &mut *self.r.borrow_mut());
        let node = *node;
        let found = guarded(LIST_BUDGET, || {
            let file = ntfs.file(r, node).map_err(err)?;
            let data = reparse_data(r, &file)?;
            Ok((file.is_directory(), data))
        });
        let (is_dir, data) = match found {
            Ok(v) => v,
            Err(e) => return Link::Unreadable(format!("cannot read this reparse point: {e}")),
        };
        let kind = if is_dir {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        let Some(data) = data else {
            return Link::Walk {
                kind,
                notice: Some(
                    "marked as a reparse point but holds no $REPARSE_POINT attribute: walked as it is"
                        .to_owned(),
                ),
            };
        };
        let tag = data.tag;
        let name = reparse_tag_name(tag);
        if tag == TAG_SYMLINK || tag == TAG_MOUNT_POINT {
            let what = if tag == TAG_SYMLINK {
                "a symbolic link"
            } else {
                "a junction"
            };
            let to = data
                .target
                .as_deref()
                .map(|t| format!(" to {t}"))
                .unwrap_or_default();
            return Link::NotWalked {
                text: data.target,
                why: format!("{what} ({name}){to}, not followed"),
            };
        }
        self.reparse.borrow_mut().insert(node, tag);
        let notice = is_dir.then(|| {
            if data_elsewhere(tag) {
                format!(
                    "a {} folder ({name}): walked; a file below it whose data is not on this volume cannot be read",
                    if is_cloud(tag) { "cloud-sync placeholder" } else { "hierarchical storage" }
                )
            } else {
                format!("a folder with a reparse point ({name}): walked as a folder")
            }
        });
        Link::Walk { kind, notice }
    }

    fn resolves_every_link(&self) -> bool {
        // Every reparse point is looked at: most are walked.
        true
    }

    fn display_path(&self, rel: &str, _parts: &[Vec<u8>]) -> String {
        format!("{}/{rel}", self.name)
    }

    fn root_failure(&self) -> &'static str {
        super::ROOT_FAILURE
    }

    /// issue 14: `$STANDARD_INFORMATION` and `$FILE_NAME` times of a file or folder (the
    /// first Win32 or POSIX name's attribute; the DOS 8.3 duplicate holds the same times).
    fn node_times(&self, node: &u64) -> Option<crate::source::NodeTimes> {
        let (ntfs, r) = (&self.ntfs, &mut *self.r.borrow_mut());
        let node = *node;
        guarded(LIST_BUDGET, || {
            let file = ntfs.file(r, node).map_err(err)?;
            let info = file.info().map_err(err)?;
            let si = Times {
                modified: time(info.modification_time()),
                accessed: time(info.access_time()),
                created: time(info.creation_time()),
                changed: time(info.mft_record_modification_time()),
            };
            let name = [
                NtfsFileNamespace::Win32AndDos,
                NtfsFileNamespace::Win32,
                NtfsFileNamespace::Posix,
            ]
            .into_iter()
            .find_map(|ns| file.name(r, Some(ns), None).and_then(Result::ok))
            .or_else(|| file.name(r, None, None).and_then(Result::ok))
            .map(|n| Times {
                modified: time(n.modification_time()),
                accessed: time(n.access_time()),
                created: time(n.creation_time()),
                changed: time(n.mft_record_modification_time()),
            });
            Ok(crate::source::NodeTimes { si, name })
        })
        .ok()
    }
}

// ---- Reparse points (issue 12 item 5) ------------------------------------------------------
// The `ntfs` crate has no accessor for the tag: the `$REPARSE_POINT` attribute (type 0xC0) is
// found among the record's own attributes and the first bytes of its value read, bounded.

/// IO_REPARSE_TAG_MOUNT_POINT (a junction).
const TAG_MOUNT_POINT: u32 = 0xA000_0003;
/// IO_REPARSE_TAG_SYMLINK.
const TAG_SYMLINK: u32 = 0xA000_000C;
/// IO_REPARSE_TAG_HSM, IO_REPARSE_TAG_HSM2: data migrated to other storage.
const TAG_HSM: u32 = 0xC000_0004;
const TAG_HSM2: u32 = 0x8000_0006;
/// IO_REPARSE_TAG_DEDUP: data in the volume's deduplication chunk store.
const TAG_DEDUP: u32 = 0x8000_0013;
/// IO_REPARSE_TAG_WOF: Windows Overlay Filter (compressed, or backed by a WIM file).
const TAG_WOF: u32 = 0x8000_0017;
/// The most of a reparse point's value read (Windows caps reparse data at 16 KiB).
const MAX_REPARSE_DATA: usize = 16 * 1024;
/// FILE_ATTRIBUTE_OFFLINE, FILE_ATTRIBUTE_RECALL_ON_OPEN, FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS.
const DATA_NOT_LOCAL: u32 = 0x0000_1000 | 0x0004_0000 | 0x0040_0000;

/// IO_REPARSE_TAG_CLOUD (0x9000001A) and its variants CLOUD_1…CLOUD_F (0x9000x01A).
fn is_cloud(tag: u32) -> bool {
    tag & 0xFFFF_0FFF == 0x9000_001A
}

/// Tags whose file data may live outside the volume.
fn data_elsewhere(tag: u32) -> bool {
    is_cloud(tag) || tag == TAG_HSM || tag == TAG_HSM2
}

/// The tag's Windows name with its value, e.g. `IO_REPARSE_TAG_CLOUD_6 (0x9000601A)`.
pub fn reparse_tag_name(tag: u32) -> String {
    let name = match tag {
        TAG_MOUNT_POINT => Some("IO_REPARSE_TAG_MOUNT_POINT".to_owned()),
        TAG_SYMLINK => Some("IO_REPARSE_TAG_SYMLINK".to_owned()),
        TAG_HSM => Some("IO_REPARSE_TAG_HSM".to_owned()),
        TAG_HSM2 => Some("IO_REPARSE_TAG_HSM2".to_owned()),
        TAG_DEDUP => Some("IO_REPARSE_TAG_DEDUP".to_owned()),
        TAG_WOF => Some("IO_REPARSE_TAG_WOF".to_owned()),
        0x8000_0014 => Some("IO_REPARSE_TAG_NFS".to_owned()),
        0x8000_001B => Some("IO_REPARSE_TAG_APPEXECLINK".to_owned()),
        0x8000_0021 => Some("IO_REPARSE_TAG_ONEDRIVE".to_owned()),
        0xA000_001D => Some("IO_REPARSE_TAG_LX_SYMLINK".to_owned()),
        0x8000_0023 => Some("IO_REPARSE_TAG_AF_UNIX".to_owned()),
        0x9000_001C => Some("IO_REPARSE_TAG_PROJFS".to_owned()),
        t if is_cloud(t) => Some(match (t >> 12) & 0xF {
            0 => "IO_REPARSE_TAG_CLOUD".to_owned(),
            n => format!("IO_REPARSE_TAG_CLOUD_{n:X}"),
        }),
        _ => None,
    };
    match name {
        Some(n) => format!("{n}, 0x{tag:08X}"),
        None => format!("tag 0x{tag:08X}"),
    }
}

/// A reparse point's tag and, for links, where they point (the print name).
struct ReparseData {
    tag: u32,
    target: Option<String>,
}

/// The `$REPARSE_POINT` of `file` (`None` when it has none), at most [`MAX_REPARSE_DATA`]
/// bytes of it read.
fn reparse_data<R: Read + Seek>(
    r: &mut R,
    file: &NtfsFile<'_>,
) -> Result<Option<ReparseData>, SourceError> {
    for attr in file.attributes_raw() {
        let attr = attr.map_err(err)?;
        if attr.ty().map_err(err)? != NtfsAttributeType::ReparsePoint {
            continue;
        }
        let mut value = attr.value(r).map_err(err)?;
        let want =
            usize::try_from(value.len()).map_or(MAX_REPARSE_DATA, |n| n.min(MAX_REPARSE_DATA));
        let mut buf = vec![0u8; want];
        let mut done = 0;
        while done < buf.len() {
            let n = value.read(r, &mut buf[done..]).map_err(err)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        let Some(tag) = buf
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return Err(SourceError::corrupt(
                "a $REPARSE_POINT attribute shorter than its 4-byte tag",
            ));
        };
        let target = match tag {
            TAG_SYMLINK => link_target(&buf, 20),
            TAG_MOUNT_POINT => link_target(&buf, 16),
            _ => None,
        };
        return Ok(Some(ReparseData { tag, target }));
    }
    Ok(None)
}

/// The print name (else the substitute name) of a symbolic link's or junction's reparse
/// data, whose path buffer starts at `buffer`; `None` when the offsets do not fit.
fn link_target(buf: &[u8], buffer: usize) -> Option<String> {
    let u16_at = |at: usize| {
        buf.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let name = |off: usize, len: usize| -> Option<String> {
        let bytes =
            buf.get(buffer.checked_add(off)?..buffer.checked_add(off)?.checked_add(len)?)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let s = String::from_utf16_lossy(&units);
        (!s.is_empty()).then_some(s)
    };
    let (sub_off, sub_len, print_off, print_len) =
        (u16_at(8)?, u16_at(10)?, u16_at(12)?, u16_at(14)?);
    name(print_off, print_len).or_else(|| name(sub_off, sub_len))
}

/// `Err` when the data of `file`, a reparse point with `tag` that the walk went through, is
/// not in its unnamed `$DATA` (so reading `$DATA` would give zeros or nothing).
fn reparse_data_check<R: Read + Seek>(
    r: &mut R,
    file: &NtfsFile<'_>,
    tag: u32,
) -> Result<(), SourceError> {
    let name = reparse_tag_name(tag);
    match tag {
        TAG_DEDUP => Err(SourceError::new(
            SourceErrorKind::Unsupported,
            format!(
                "a deduplicated file ({name}): its data is in the volume's Data Deduplication chunk store (System Volume Information/Dedup), not in $DATA; kbscan does not read the chunk store"
            ),
        )),
        TAG_WOF => {
            let stream = file.data(r, "WofCompressedData").is_some();
            Err(if stream {
                SourceError::new(
                    SourceErrorKind::Compressed,
                    format!(
                        "a WOF-compressed file ({name}): its data is XPRESS/LZX-compressed in the WofCompressedData stream, not in $DATA; kbscan does not decompress it (`compact /u` on a copy, or read the file on Windows)"
                    ),
                )
            } else {
                SourceError::new(
                    SourceErrorKind::Unsupported,
                    format!(
                        "a WOF-backed file ({name}) without a WofCompressedData stream: its data is in a WIM file outside this volume, not in $DATA"
                    ),
                )
            })
        }
        t if data_elsewhere(t) => {
            let attrs = file_attributes(r, file)?;
            if attrs & DATA_NOT_LOCAL != 0 {
                Err(SourceError::new(
                    SourceErrorKind::Unsupported,
                    format!(
                        "a {} placeholder ({name}) whose data is not on this volume (offline or recalled on access: not downloaded)",
                        if is_cloud(t) { "cloud-sync" } else { "hierarchical storage" }
                    ),
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// The file attributes of `$STANDARD_INFORMATION`, all 32 bits (the crate's flags drop the
/// recall bits).
fn file_attributes<R: Read + Seek>(r: &mut R, file: &NtfsFile<'_>) -> Result<u32, SourceError> {
    for attr in file.attributes_raw() {
        let attr = attr.map_err(err)?;
        if attr.ty().map_err(err)? != NtfsAttributeType::StandardInformation {
            continue;
        }
        let mut value = attr.value(r).map_err(err)?;
        let mut buf = [0u8; 0x24];
        let mut done = 0;
        while done < buf.len() {
            let n = value.read(r, &mut buf[done..]).map_err(err)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        if done < buf.len() {
            return Err(SourceError::corrupt(
                "a $STANDARD_INFORMATION shorter than 36 bytes",
            ));
        }
        return Ok(u32::from_le_bytes([
            buf[0x20], buf[0x21], buf[0x22], buf[0x23],
        ]));
    }
    Err(SourceError::corrupt("no $STANDARD_INFORMATION attribute"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_records_are_placed_through_every_mft_extent() {
        let mut r = Records::new(std::io::empty());
        r.record_size = 1024;
        r.mft = vec![(4096, 4096 + 2048), (100_000, 100_000 + 4096)];
        r.mft_ends = vec![2048, 6144];
        let at: Vec<_> = (0..7).map(|n| r.record_position(n)).collect();
        assert_eq!(
            at,
            [
                Some(4096),
                Some(5120),
                Some(100_000),
                Some(101_024),
                Some(102_048),
                Some(103_072),
                None
            ]
        );
        assert_eq!(r.record_position(u64::MAX), None);
    }

    /// A 1,024-byte `FILE` record with `in_use` bytes in use, USN 0x0002, both sector tails
    /// set to `tails`.
    fn record(in_use: u32, tails: [[u8; 2]; 2]) -> Vec<u8> {
        let mut r = vec![0u8; 1024];
        r[..4].copy_from_slice(b"FILE");
        r[4..6].copy_from_slice(&48u16.to_le_bytes());
        r[6..8].copy_from_slice(&3u16.to_le_bytes());
        r[24..28].copy_from_slice(&in_use.to_le_bytes());
        r[48..50].copy_from_slice(&[2, 0]);
        r[510..512].copy_from_slice(&tails[0]);
        r[1022..1024].copy_from_slice(&tails[1]);
        r
    }

    #[test]
    fn only_sectors_beyond_the_bytes_in_use_are_relaxed() {
        // Second sector unused: its stale tail takes the USN.
        let mut r = record(400, [[2, 0], [9, 9]]);
        relax_unused_sectors(&mut r);
        assert_eq!(&r[1022..1024], &[2, 0]);
        // Second sector holds data: left as it is, for the crate to refuse.
        let mut r = record(600, [[2, 0], [9, 9]]);
        relax_unused_sectors(&mut r);
        assert_eq!(&r[1022..1024], &[9, 9]);
        // The first sector always holds the header: never relaxed.
        let mut r = record(400, [[9, 9], [2, 0]]);
        relax_unused_sectors(&mut r);
        assert_eq!(&r[510..512], &[9, 9]);
        // Not a FILE record, or an update sequence array outside the record: untouched.
        let mut r = record(400, [[2, 0], [9, 9]]);
        r[..4].copy_from_slice(b"INDX");
        relax_unused_sectors(&mut r);
        assert_eq!(&r[1022..1024], &[9, 9]);
        let mut r = record(400, [[2, 0], [9, 9]]);
        r[4..6].copy_from_slice(&1020u16.to_le_bytes());
        relax_unused_sectors(&mut r);
        assert_eq!(&r[1022..1024], &[9, 9]);
    }

    #[test]
    fn reparse_tags_are_named() {
        assert_eq!(
            reparse_tag_name(0x9000_601A),
            "IO_REPARSE_TAG_CLOUD_6, 0x9000601A"
        );
        assert_eq!(
            reparse_tag_name(0x9000_001A),
            "IO_REPARSE_TAG_CLOUD, 0x9000001A"
        );
        assert_eq!(
            reparse_tag_name(TAG_MOUNT_POINT),
            "IO_REPARSE_TAG_MOUNT_POINT, 0xA0000003"
        );
        assert_eq!(reparse_tag_name(0x0000_BEEF), "tag 0x0000BEEF");
        assert!(is_cloud(0x9000_F01A) && !is_cloud(0x9000_001C));
    }

    #[test]
    fn link_targets_are_bounded() {
        // Offsets past the end give no target, never a panic.
        let mut buf = vec![0u8; 24];
        buf[12..14].copy_from_slice(&0xFFF0u16.to_le_bytes());
        buf[14..16].copy_from_slice(&0x20u16.to_le_bytes());
        assert_eq!(link_target(&buf, 20), None);
        assert_eq!(link_target(&buf[..10], 20), None);
    }
}
