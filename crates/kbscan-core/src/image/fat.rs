//! FAT12/16/32, read-only, through `fatfs` (given a writer that always fails). Names are
//! matched on the long name and on the 8.3 name. FAT stores local times without a zone:
//! they are reported as if they were UTC (said in a note on each finding and in the docs).
//! Every call into the crate runs inside `contain::contained`.
//!
//! fatfs does not expose where an entry's data starts, and follows cluster chains without
//! checking them. So the volume's bytes are shared ([`Shared`]) between fatfs and kbscan's
//! own small FAT reader ([`Geometry`]): the first cluster of an entry is the cluster fatfs
//! reads first for it (one 1-byte read, watched by a tap); a folder's first cluster is its
//! node id, so the walker enters each folder once (a folder pointing back at an ancestor is
//! a `filesystem` error, not a loop); and a file's chain is walked in the FAT before its data
//! is read: a chain that loops, leaves the volume, or is longer or shorter than the file's
//! size needs is a `filesystem` error, never a hash of repeated clusters.
//!
//! Over 400 lines: fatfs for names and data, plus our own reader of the FAT itself (first
//! clusters as node ids, chains checked against sizes) sharing one budgeted view of the volume.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use fatfs::{DirEntry, FatType, FileSystem, FsOptions, ReadWriteSeek};

use super::reader::{complete_read, with_budget, LIST_BUDGET};
use super::REPARSE_NOT_FOLLOWED;
use crate::contain::contained;
use crate::model::time::{TimeBasis, Times, Timestamp};
use crate::source::{Entry, EntryKind, Link, Source, SourceError, Stat, MAX_DIR_ENTRIES};

/// The node id of a FAT12/16 root folder (it has no cluster; cluster numbers fit in 28 bits).
const FIXED_ROOT_ID: u64 = u64::MAX;

/// The volume's bytes shared between fatfs and kbscan's own FAT reader, each handle with its
/// own position. While armed, a read records its position in the tap and fails (a probe).
pub struct Shared<IO> {
    io: Rc<RefCell<IO>>,
    pos: u64,
    tap: Rc<Cell<Option<u64>>>,
    armed: Rc<Cell<bool>>,
}

impl<IO> Shared<IO> {
    fn handle(&self) -> Self {
        Self {
            io: Rc::clone(&self.io),
            pos: 0,
            tap: Rc::clone(&self.tap),
            armed: Rc::clone(&self.armed),
        }
    }
}

impl<IO: Read + Seek> Read for Shared<IO> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.armed.get() {
            // A probe: only where fatfs would read is wanted, nothing is read.
            self.tap.set(Some(self.pos));
            return Err(io::Error::other("probe"));
        }
        let mut io = self
            .io
            .try_borrow_mut()
            .map_err(|_| io::Error::other("FAT volume read re-entered"))?;
        io.seek(SeekFrom::Start(self.pos))?;
        let n = io.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<IO: Seek> Seek for Shared<IO> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut io = self
            .io
            .try_borrow_mut()
            .map_err(|_| io::Error::other("FAT volume read re-entered"))?;
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self
                .pos
                .checked_add_signed(d)
                .ok_or_else(|| io::Error::other("seek out of range"))?,
            SeekFrom::End(_) => io.seek(to)?,
        };
        Ok(self.pos)
    }
}

impl<IO: Write> Write for Shared<IO> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_borrow_mut()
            .map_err(|_| io::Error::other("FAT volume write re-entered"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the FAT and the clusters are, from the boot sector (the same sums fatfs does).
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub cluster_size: u64,
    /// Byte offset of the first FAT.
    pub fat_offset: u64,
    /// Byte offset of cluster 2.
    pub data_offset: u64,
    /// Data clusters on the volume (numbered 2..clusters+2).
    pub clusters: u64,
    pub fat_type: FatType,
    /// The FAT32 root folder's first cluster.
    pub root_cluster: Option<u64>,
}

impl Geometry {
    fn parse(b: &[u8], fat_type: FatType) -> Option<Self> {
        let u16_at = |o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
        let u32_at = |o: usize| u64::from(u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]));
        let bps = u16_at(11);
        let spc = u64::from(b[13]);
        let reserved = u16_at(14);
        let fats = u64::from(b[16]);
        let root_entries = u16_at(17);
        let total = match u16_at(19) {
            0 => u32_at(32),
            n => n,
        };
        let fat_size = match u16_at(22) {
            0 => u32_at(36),
            n => n,
        };
        if bps == 0 || spc == 0 {
            return None;
        }
        let root_sectors = (root_entries * 32).div_ceil(bps);
        let first_data = reserved + fats.checked_mul(fat_size)? + root_sectors;
        let clusters = total.checked_sub(first_data)? / spc;
        Some(Self {
            cluster_size: bps * spc,
            fat_offset: reserved * bps,
            data_offset: first_data.checked_mul(bps)?,
            clusters,
            fat_type,
            root_cluster: (fat_type == FatType::Fat32).then(|| u32_at(44) & 0x0FFF_FFFF),
        })
    }

    /// The cluster whose data starts at byte `pos` of the volume.
    fn cluster_at(&self, pos: u64) -> Option<u64> {
        let rel = pos.checked_sub(self.data_offset)?;
        (rel % self.cluster_size == 0).then(|| rel / self.cluster_size + 2)
    }

    fn valid(&self, c: u64) -> bool {
        (2..self.clusters.saturating_add(2)).contains(&c)
    }
}

/// A FAT entry, read by [`FatVolume::next_cluster`].
enum Next {
    Cluster(u64),
    End,
    /// Free, reserved or bad: not part of a chain.
    Broken(u64),
}

/// An opened FAT volume: fatfs, a second handle on the same bytes, and the geometry.
pub struct FatVolume<IO: ReadWriteSeek> {
    pub fs: FileSystem<Shared<IO>>,
    raw: RefCell<Shared<IO>>,
    pub geometry: Geometry,
    /// The last FAT block read (offset, bytes): chains are mostly read in order.
    fat_cache: RefCell<(u64, Vec<u8>)>,
}

/// Bytes of the FAT read at once.
const FAT_BLOCK: u64 = 4096;

impl<IO: ReadWriteSeek> FatVolume<IO> {
    fn fat_bytes(&self, at: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let pos = at + i;
            let block = pos - pos % FAT_BLOCK;
            let mut cache = self.fat_cache.borrow_mut();
            if cache.1.is_empty() || cache.0 != block {
                let mut buf = vec![0u8; FAT_BLOCK as usize];
                let mut raw = self.raw.borrow_mut();
                raw.seek(SeekFrom::Start(self.geometry.fat_offset + block))?;
                let mut got = 0;
                while got < buf.len() {
                    match raw.read(&mut buf[got..])? {
                        0 => break,
                        k => got += k,
                    }
                }
                buf.truncate(got);
                *cache = (block, buf);
            }
            let b = *cache.1.get((pos - block) as usize).ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "the FAT ends early")
            })?;
            out.push(b);
        }
        Ok(out)
    }

    fn next_cluster(&self, c: u64) -> io::Result<Next> {
        let g = &self.geometry;
        let v = match g.fat_type {
            FatType::Fat12 => {
                let b = self.fat_bytes(c + c / 2, 2)?;
                let w = u64::from(u16::from_le_bytes([b[0], b[1]]));
                let v = if c % 2 == 0 { w & 0xFFF } else { w >> 4 };
                if v >= 0xFF8 {
                    return Ok(Next::End);
                }
                v
            }
            FatType::Fat16 => {
                let b = self.fat_bytes(c * 2, 2)?;
                let v = u64::from(u16::from_le_bytes([b[0], b[1]]));
                if v >= 0xFFF8 {
                    return Ok(Next::End);
                }
                v
            }
            FatType::Fat32 => {
                let b = self.fat_bytes(c * 4, 4)?;
                let v = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) & 0x0FFF_FFFF;
                if v >= 0x0FFF_FFF8 {
                    return Ok(Next::End);
                }
                v
            }
        };
        Ok(if g.valid(v) {
            Next::Cluster(v)
        } else {
            Next::Broken(v)
        })
    }

    /// The first cluster of `e` (the cluster fatfs reads first for it), or `None` for an
    /// entry without data (cluster 0).
    fn first_cluster(&self, e: &DirEntry<'_, Shared<IO>>) -> Result<Option<u64>, SourceError> {
        let tap = Rc::clone(&self.raw.borrow().tap);
        let armed = Rc::clone(&self.raw.borrow().armed);
        tap.set(None);
        armed.set(true);
        // fatfs reads an entry's first cluster first, at its start: the probe fails that
        // read and keeps its position (`to_file` refuses folders, which are read as folders).
        let r = if e.is_dir() {
            match e.to_dir().iter().next() {
                Some(Err(err)) => Err(err),
                _ => Ok(()),
            }
        } else {
            let mut one = [0u8; 1];
            e.to_file().read(&mut one).map(|_| ())
        };
        armed.set(false);
        let Some(pos) = tap.take() else {
            return match r {
                Err(err) => Err(SourceError::io(&err)),
                Ok(_) => Ok(None),
            };
        };
        match self.geometry.cluster_at(pos) {
            Some(c) if self.geometry.valid(c) => Ok(Some(c)),
            _ => Err(SourceError::corrupt(format!(
                "the first cluster is outside the volume's {} data clusters: damaged directory entry",
                self.geometry.clusters
            ))),
        }
    }

    /// Walks a cluster chain from `first` in the FAT. With `needed` (a file's size in
    /// clusters) the chain must be exactly that long; at most `cap` clusters are followed
    /// (past that the data is not read). A cluster met twice, a free, bad or out-of-range
    /// entry is damage.
    fn check_chain(&self, first: u64, needed: Option<u64>, cap: u64) -> Result<(), SourceError> {
        let mut seen = HashSet::new();
        seen.insert(first);
        let mut cur = first;
        let mut n = 1u64;
        loop {
            let next = self.next_cluster(cur).map_err(|e| SourceError::io(&e))?;
            match next {
                Next::End => {
                    if let Some(want) = needed.filter(|&w| n < w) {
                        return Err(SourceError::corrupt(format!(
                            "damaged FAT: the cluster chain ends after {n} cluster(s), the file's size needs {want}"
                        )));
                    }
                    return Ok(());
                }
                Next::Broken(v) => {
                    return Err(SourceError::corrupt(format!(
                        "damaged FAT: the cluster chain reaches entry value {v:#x} after cluster {cur} (free, bad or outside the volume's {} clusters)",
                        self.geometry.clusters
                    )));
                }
                Next::Cluster(c) => {
                    if let Some(want) = needed.filter(|&w| n >= w) {
                        return Err(SourceError::corrupt(format!(
                            "damaged FAT: the cluster chain is longer than the file's size needs ({want} cluster(s))"
                        )));
                    }
                    if n >= cap {
                        return Ok(());
                    }
                    if !seen.insert(c) {
                        return Err(SourceError::corrupt(format!(
                            "damaged FAT: the cluster chain loops (cluster {c} met twice)"
                        )));
                    }
                    cur = c;
                    n += 1;
                }
            }
        }
    }
}

/// Opens a FAT volume read-only (the access-date update is off, and writes would fail anyway).
pub fn open<IO: ReadWriteSeek>(io: IO) -> Result<FatVolume<IO>, SourceError> {
    let shared = Shared {
        io: Rc::new(RefCell::new(io)),
        pos: 0,
        tap: Rc::new(Cell::new(None)),
        armed: Rc::new(Cell::new(false)),
    };
    let mut raw = shared.handle();
    let fs = with_budget(LIST_BUDGET, || {
        contained(|| FileSystem::new(shared, FsOptions::new().update_accessed_date(false)))
    })
    .ok_or_else(|| SourceError::parser_failed("FAT"))?
    .map_err(|e| SourceError::corrupt(format!("not a readable FAT volume: {e}")))?;
    let mut boot = [0u8; 512];
    with_budget(LIST_BUDGET, || raw.read_exact(&mut boot)).map_err(|e| SourceError::io(&e))?;
    let geometry = Geometry::parse(&boot, fs.fat_type())
        .ok_or_else(|| SourceError::corrupt("not a readable FAT volume: implausible geometry"))?;
    Ok(FatVolume {
        fs,
        raw: RefCell::new(raw),
        geometry,
        fat_cache: RefCell::new((0, Vec::new())),
    })
}

/// One FAT volume as an evidence source, named `name` in the report.
pub struct FatSource<'a, IO: ReadWriteSeek> {
    pub vol: &'a FatVolume<IO>,
    pub name: String,
}

/// The root, or a directory entry (shared: fatfs's own `Clone` would ask `IO: Clone`).
pub enum FatNode<'a, IO: ReadWriteSeek> {
    Root,
    Entry(Rc<DirEntry<'a, Shared<IO>>>),
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

fn date_text(d: fatfs::Date, t: Option<fatfs::Time>) -> Option<Timestamp> {
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
    Some(Timestamp::from_unix_nanos(dt.unix_timestamp_nanos()))
}

impl<'a, IO: ReadWriteSeek> Source for FatSource<'a, IO> {
    type Node = FatNode<'a, IO>;

    fn root(&self) -> Result<(Self::Node, Option<u64>), SourceError> {
        let id = self.vol.geometry.root_cluster.unwrap_or(FIXED_ROOT_ID);
        Ok((FatNode::Root, Some(id)))
    }

    fn list(&self, dir: &Self::Node) -> Result<Vec<Entry<Self::Node>>, SourceError> {
        let vol = self.vol;
        let fs = &vol.fs;
        guarded(LIST_BUDGET, || {
            let d = match dir {
                FatNode::Root => fs.root_dir(),
                FatNode::Entry(e) if e.is_dir() => {
                    // A folder's chain must not loop (it is read for at most as many
                    // clusters as the largest folder holds).
                    if let Some(first) = vol.first_cluster(e)? {
                        let cap = (MAX_DIR_ENTRIES as u64 * 32).div_ceil(vol.geometry.cluster_size);
                        vol.check_chain(first, None, cap)?;
                    }
                    e.to_dir()
                }
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
                let (kind, id) = if e.is_dir() {
                    // The folder's first cluster is its identity: a folder whose cluster is
                    // one already walked (its parent's, say) is not entered again.
                    (EntryKind::Dir, vol.first_cluster(&e).ok().flatten())
                } else {
                    (EntryKind::File, None)
                };
                out.push(Entry {
                    short_name: (!short.eq_ignore_ascii_case(&name)).then(|| short.into_bytes()),
                    name: name.into_bytes(),
                    kind,
                    id,
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
        let vol = self.vol;
        let v = guarded(LIST_BUDGET.saturating_add(limit.saturating_mul(2)), || {
            // The chain is checked before the data is read: its length against the file's
            // size (only as far as the bytes read, for a file over the limit).
            if size > 0 {
                let cs = vol.geometry.cluster_size;
                let Some(first) = vol.first_cluster(e)? else {
                    return Err(SourceError::corrupt(format!(
                        "damaged directory entry: a file of {size} bytes with no cluster chain"
                    )));
                };
                let needed = size.div_ceil(cs);
                let cap = size.min(limit.saturating_add(1)).div_ceil(cs);
                vol.check_chain(first, Some(needed), cap)?;
            }
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

    fn time_basis(&self) -> TimeBasis {
        TimeBasis::LocalNoZone
    }

    fn root_failure(&self) -> &'static str {
        super::ROOT_FAILURE
    }
}
