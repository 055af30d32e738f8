//! FAT12/16/32, read-only, through `fatfs` (given a writer that always fails). Names are
//! matched on the long name and on the 8.3 name. FAT stores local times without a zone:
//! they are reported as if they were UTC (said in a note on each finding and in the docs).
//! Every call into the crate runs inside `contain::contained`.

use std::rc::Rc;

use fatfs::{DirEntry, FileSystem, FsOptions, ReadWriteSeek};

use super::reader::{complete_read, with_budget, LIST_BUDGET};
use super::REPARSE_NOT_FOLLOWED;
use crate::contain::contained;
use crate::model::time::Times;
use crate::source::{Entry, EntryKind, Link, Source, SourceError, Stat, MAX_DIR_ENTRIES};

/// A note added to findings read from FAT.
pub const FAT_TIME_NOTE: &str =
    "FAT stores local times without a time zone: the times shown are those local times read as UTC";

/// Opens a FAT volume read-only (the access-date update is off, and writes would fail anyway).
pub fn open<IO: ReadWriteSeek>(io: IO) -> Result<FileSystem<IO>, SourceError> {
    with_budget(LIST_BUDGET, || {
        contained(|| FileSystem::new(io, FsOptions::new().update_accessed_date(false)))
    })
    .ok_or_else(|| SourceError::parser_failed("FAT"))?
    .map_err(|e| SourceError::corrupt(format!("not a readable FAT volume: {e}")))
}

/// One FAT volume as an evidence source, named `name` in the report.
pub struct FatSource<'a, IO: ReadWriteSeek> {
    pub fs: &'a FileSystem<IO>,
    pub name: String,
}

/// The root, or a directory entry (shared: fatfs's own `Clone` would ask `IO: Clone`).
pub enum FatNode<'a, IO: ReadWriteSeek> {
    Root,
    Entry(Rc<DirEntry<'a, IO>>),
}

impl<IO: ReadWriteSeek> Clone for FatNode<'_, IO> {
    fn clone(&self) -> Self {
        match self {
            FatNode::Root => FatNode::Root,
            FatNode::Entry(e) => FatNode::Entry(Rc::clone(e)),
        }
    }
}

/// Runs `f` inside `contain::contained`, reading at most `budget` bytes of the image.
fn guarded<T>(budget: u64, f: impl FnOnce() -> Result<T, SourceError>) -> Result<T, SourceError> {
    with_budget(budget, || contained(f)).unwrap_or_else(|| Err(SourceError::parser_failed("FAT")))
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

impl<'a, IO: ReadWriteSeek> Source for FatSource<'a, IO> {
    type Node = FatNode<'a, IO>;

    fn root(&self) -> Result<(Self::Node, Option<u64>), SourceError> {
        Ok((FatNode::Root, None))
    }

    fn list(&self, dir: &Self::Node) -> Result<Vec<Entry<Self::Node>>, SourceError> {
        let fs = self.fs;
        guarded(LIST_BUDGET, || {
            let d = match dir {
                FatNode::Root => fs.root_dir(),
                FatNode::Entry(e) if e.is_dir() => e.to_dir(),
                FatNode::Entry(_) => return Err(SourceError::corrupt("not a directory")),
            };
            let mut out = Vec::new();
            for (n, e) in d.iter().enumerate() {
                if n >= MAX_DIR_ENTRIES {
                    return Err(SourceError::corrupt(format!(
                        "more than {MAX_DIR_ENTRIES} entries: damaged cluster chain?"
                    )));
                }
                let e = e.map_err(|e| SourceError::io(&e))?;
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
                out.push(Entry {
                    short_name: (!short.eq_ignore_ascii_case(&name)).then(|| short.into_bytes()),
                    name: name.into_bytes(),
                    kind,
                    id: None,
                    node: FatNode::Entry(Rc::new(e)),
                });
            }
            Ok(out)
        })
    }

    fn stat(&self, node: &Self::Node) -> Result<Stat, SourceError> {
        match node {
            // Only files are stat'ed for the report; a folder named like a target is
            // reported without times.
            FatNode::Root => Ok(Stat::default()),
            FatNode::Entry(e) if e.is_dir() => Ok(Stat::default()),
            FatNode::Entry(e) => guarded(LIST_BUDGET, || {
                let m = e.modified();
                let c = e.created();
                Ok(Stat {
                    size: Some(e.len()),
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

    fn read(&self, node: &Self::Node, size: u64, limit: u64) -> Result<Vec<u8>, SourceError> {
        let FatNode::Entry(e) = node else {
            return Err(SourceError::corrupt("the root folder is not a file"));
        };
        let v = guarded(LIST_BUDGET.saturating_add(limit.saturating_mul(2)), || {
            crate::source::read_bounded(e.to_file(), size, limit).map_err(|e| SourceError::io(&e))
        })?;
        complete_read(v, size, limit)
    }

    fn link(&self, _node: &Self::Node) -> Link<Self::Node> {
        // FAT has no links; kept for the trait.
        Link::Kept {
            text: None,
            why: REPARSE_NOT_FOLLOWED.to_owned(),
        }
    }

    fn display_path(&self, rel: &str, _parts: &[Vec<u8>]) -> String {
        format!("{}/{rel}", self.name)
    }

    fn finding_note(&self) -> Option<&'static str> {
        Some(FAT_TIME_NOTE)
    }

    fn root_failure(&self) -> &'static str {
        super::ROOT_FAILURE
    }
}
