//! NTFS, read-only, through the `ntfs` crate: directory indexes (Win32 and POSIX names; the
//! DOS 8.3 duplicates are skipped), `$STANDARD_INFORMATION` times, the unnamed `$DATA`
//! stream (resident or not, fragmented, sparse). Compressed (LZNT1) data is decompressed by
//! `image::lznt`; encrypted data is refused with a typed error. Every call
//! into the crate runs inside `contain::contained`.

use std::cell::RefCell;
use std::io::{Read, Seek};

use ntfs::structured_values::{NtfsFileAttributeFlags, NtfsFileNamespace};
use ntfs::{Ntfs, NtfsAttributeFlags, NtfsReadSeek, NtfsTime};

use super::reader::{complete_read, with_budget, LIST_BUDGET};
use super::REPARSE_NOT_FOLLOWED;
use crate::contain::contained;
use crate::model::time::{unix_nanos_rfc3339, Times};
use crate::source::{
    Entry, EntryKind, Link, Source, SourceError, SourceErrorKind, Stat, MAX_DIR_ENTRIES,
};

/// The root directory's file record number.
const ROOT_RECORD: u64 = 5;

/// One NTFS volume as an evidence source, named `name` in the report.
pub struct NtfsSource<R> {
    ntfs: Ntfs,
    r: RefCell<R>,
    name: String,
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

/// NTFS times count 100 ns from 1601-01-01 UTC.
fn time(t: NtfsTime) -> Option<String> {
    const EPOCH_DIFF: i128 = 116_444_736_000_000_000;
    let ticks = i128::from(t.nt_timestamp());
    (ticks != 0).then(|| unix_nanos_rfc3339((ticks - EPOCH_DIFF) * 100))
}

impl<R: Read + Seek> NtfsSource<R> {
    pub fn open(mut r: R, name: String) -> Result<Self, SourceError> {
        let ntfs = guarded(LIST_BUDGET, || {
            let mut ntfs = Ntfs::new(&mut r).map_err(err)?;
            ntfs.read_upcase_table(&mut r).map_err(err)?;
            Ok(ntfs)
        })?;
        Ok(Self {
            ntfs,
            r: RefCell::new(r),
            name,
        })
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
            let mut out = Vec::new();
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
                if key.namespace() == NtfsFileNamespace::Dos {
                    continue;
                }
                let record = entry.file_reference().file_record_number();
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
                out.push(Entry {
                    name: key.name().to_string_lossy().into_bytes(),
                    short_name: None,
                    kind,
                    id: Some(record),
                    node: record,
                });
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
        let v = guarded(LIST_BUDGET.saturating_add(limit.saturating_mul(2)), || {
            let file = ntfs.file(r, node).map_err(err)?;
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

    fn link(&self, _node: &u64) -> Link<u64> {
        Link::Kept {
            text: None,
            why: REPARSE_NOT_FOLLOWED.to_owned(),
        }
    }

    fn display_path(&self, rel: &str, _parts: &[Vec<u8>]) -> String {
        format!("{}/{rel}", self.name)
    }

    fn root_failure(&self) -> &'static str {
        super::ROOT_FAILURE
    }
}
