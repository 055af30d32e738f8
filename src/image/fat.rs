//! FAT12/16/32, read-only, through `fatfs` (given a writer that always fails). Names are
//! matched on the long name and on the 8.3 name. FAT stores local times without a zone:
//! they are reported as if they were UTC (said in a note on each finding and in the docs).
//! Every call into the crate runs inside `contain::contained`.

use std::io::Read;

use fatfs::{DirEntry, FileSystem, FsOptions, ReadWriteSeek};

use super::reader::{with_budget, LIST_BUDGET};
use crate::contain::contained;
use crate::inspect::Times;
use crate::vfs::{VEntry, VStat, Vfs, VfsError, MAX_DIR_ENTRIES};
use crate::walk::EntryKind;

/// A note added to findings read from FAT.
pub const FAT_TIME_NOTE: &str =
    "FAT stores local times without a time zone: the times shown are those local times read as UTC";

/// Opens a FAT volume read-only (the access-date update is off, and writes would fail anyway).
pub fn open<IO: ReadWriteSeek>(io: IO) -> Result<FileSystem<IO>, VfsError> {
    with_budget(LIST_BUDGET, || {
        contained(|| FileSystem::new(io, FsOptions::new().update_accessed_date(false)))
    })
    .ok_or_else(|| VfsError::parser_failed("FAT"))?
    .map_err(|e| VfsError::corrupt(format!("not a readable FAT volume: {e}")))
}

pub struct FatVfs<'a, IO: ReadWriteSeek> {
    pub fs: &'a FileSystem<IO>,
}

pub enum FatNode<'a, IO: ReadWriteSeek> {
    Root,
    Entry(DirEntry<'a, IO>),
}

/// Runs `f` inside `contain::contained`, reading at most `budget` bytes of the image.
fn guarded<T>(budget: u64, f: impl FnOnce() -> Result<T, VfsError>) -> Result<T, VfsError> {
    with_budget(budget, || contained(f)).unwrap_or_else(|| Err(VfsError::parser_failed("FAT")))
}

fn date_text(d: fatfs::Date, t: Option<fatfs::Time>) -> Option<String> {
    let month = time::Month::try_from(u8::try_from(d.month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::from(d.year), month, u8::try_from(d.day).ok()?).ok()?;
    let t = t.unwrap_or(fatfs::Time {
        hour: 0,
        min: 0,
        sec: 0,
        millis: 0,
    });
    let tm = time::Time::from_hms_milli(
        u8::try_from(t.hour).ok()?,
        u8::try_from(t.min).ok()?,
        u8::try_from(t.sec).ok()?,
        t.millis,
    )
    .ok()?;
    let dt = time::PrimitiveDateTime::new(date, tm).assume_utc();
    dt.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

impl<'a, IO: ReadWriteSeek> Vfs for FatVfs<'a, IO> {
    type Node = FatNode<'a, IO>;

    fn root(&mut self) -> Result<(Self::Node, Option<u64>), VfsError> {
        Ok((FatNode::Root, None))
    }

    fn list(&mut self, dir: &Self::Node) -> Result<Vec<VEntry<Self::Node>>, VfsError> {
        let fs = self.fs;
        guarded(LIST_BUDGET, || {
            let d = match dir {
                FatNode::Root => fs.root_dir(),
                FatNode::Entry(e) if e.is_dir() => e.to_dir(),
                FatNode::Entry(_) => return Err(VfsError::corrupt("not a directory")),
            };
            let mut out = Vec::new();
            for (n, e) in d.iter().enumerate() {
                if n >= MAX_DIR_ENTRIES {
                    return Err(VfsError::corrupt(format!(
                        "more than {MAX_DIR_ENTRIES} entries: damaged cluster chain?"
                    )));
                }
                let e = e.map_err(|e| VfsError::io(&e))?;
                let name = e.file_name();
                if name == "." || name == ".." {
                    continue;
                }
                let short = e.short_file_name();
                let kind = if e.is_dir() {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                };
                out.push(VEntry {
                    short_name: (!short.eq_ignore_ascii_case(&name)).then_some(short),
                    name,
                    kind,
                    id: None,
                    node: FatNode::Entry(e),
                });
            }
            Ok(out)
        })
    }

    fn stat(&mut self, node: &Self::Node) -> Result<VStat, VfsError> {
        match node {
            FatNode::Root => Ok(VStat::default()),
            FatNode::Entry(e) => guarded(LIST_BUDGET, || {
                let m = e.modified();
                let c = e.created();
                Ok(VStat {
                    size: e.len(),
                    times: Times {
                        modified: date_text(m.date, Some(m.time)),
                        accessed: date_text(e.accessed(), None),
                        created: date_text(c.date, Some(c.time)),
                        changed: None,
                    },
                })
            }),
        }
    }

    fn read(&mut self, node: &Self::Node, limit: u64) -> Result<Vec<u8>, VfsError> {
        let FatNode::Entry(e) = node else {
            return Err(VfsError::corrupt("the root folder is not a file"));
        };
        guarded(LIST_BUDGET.saturating_add(limit.saturating_mul(2)), || {
            let f = e.to_file();
            let mut v = Vec::new();
            f.take(limit.saturating_add(1))
                .read_to_end(&mut v)
                .map_err(|e| VfsError::io(&e))?;
            Ok(v)
        })
    }
}
