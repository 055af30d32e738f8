//! The one forward walk over a `.bkf` (see the module above): each DBLK's header
//! checksummed, its streams followed by their lengths up to the `SPAD` (Section 6), the next
//! DBLK at the next Format Logical Block boundary (Section 3.5); what each DBLK type adds to
//! the open data set; and the rules that say whether a `FILE`'s data can be read (Section
//! 6.2, Table 18).
//!
//! Over 400 lines: one handler per DBLK type of Section 5.2 and the resynchronisation after
//! damage share the walker's state.

use std::io;

use super::block::{
    attr, nt_attributes, win32, BlockHeader, BlockType, Cfil, Dirb, Eotm, Eset, FileDblk,
    MtfString, Sfmb, Soft, Sset, StringType, Volb, HEADER_LEN, NAME_IN_STREAM, OBJECT_CORRUPT,
};
use super::stream::{self, align4, id, media_attr, StreamHeader, STREAM_HEADER_LEN};
use super::{
    align_up, read_exact_at, DataError, DataSet, DataStream, Directory, File, NoticeKind, Notices,
    SetEnd, TimeZone, Volume, MAX_ENTRIES, MAX_NAME_STREAM, MAX_STREAMS_PER_BLOCK,
};
use crate::source::ReadAt;

/// Walks every DBLK after the `TAPE` DBLK (whose header is `tape`) of a `.bkf` of `len`
/// bytes: the data sets, and the notices outside them (`notices` already holds the `TAPE`'s).
pub(super) fn walk<R: ReadAt>(
    r: &R,
    len: u64,
    flb: u64,
    sfm: u64,
    tape: &BlockHeader,
    notices: Notices,
) -> (Vec<DataSet>, Notices) {
    let mut w = Walker {
        r,
        len,
        flb,
        sfm,
        sets: Vec::new(),
        cur: None,
        notices,
        entries: 0,
    };
    w.walk(tape);
    (w.sets, w.notices)
}

/// The streams after one DBLK, and where the next DBLK is.
struct Streams {
    list: Vec<(u64, StreamHeader)>,
    end: StreamsEnd,
}

enum StreamsEnd {
    /// The `SPAD` ended at this offset (or, for a pre-1.00a DBLK without streams, the next
    /// DBLK is here).
    Next(u64),
    /// The file ends inside the stream headers or data.
    Truncated { at: u64, why: String },
    /// A stream header is damaged: its streams cannot be followed.
    Damaged { at: u64, why: String },
}

/// The state of one walk over a `.bkf`.
struct Walker<'r, R> {
    r: &'r R,
    len: u64,
    flb: u64,
    /// Bytes of one soft filemark.
    sfm: u64,
    sets: Vec<DataSet>,
    cur: Option<DataSet>,
    notices: Notices,
    entries: usize,
}

/// What to do after one DBLK.
enum Step {
    /// The next DBLK is expected here.
    At(u64),
    /// Damage at this offset: find the next valid DBLK after it.
    Resync(u64),
    /// Nothing more can be read.
    Stop,
}

impl<R: ReadAt> Walker<'_, R> {
    fn notice(&mut self, offset: u64, kind: NoticeKind, message: impl Into<String>) {
        match &mut self.cur {
            Some(set) => set.notices.push(offset, kind, message),
            None => self.notices.push(offset, kind, message),
        }
    }

    fn close_set(&mut self, end: SetEnd) {
        if let Some(mut set) = self.cur.take() {
            if !matches!(end, SetEnd::Eset { .. }) {
                let why = match &end {
                    SetEnd::FileEnds => "the file ends".to_owned(),
                    SetEnd::NextMedium { offset } => {
                        format!("an EOTM at offset {offset} ends this medium first")
                    }
                    SetEnd::NewSet { offset } => {
                        format!("another set begins at offset {offset} first")
                    }
                    SetEnd::Stopped(why) => format!("the walk stopped ({why})"),
                    SetEnd::Eset { .. } => String::new(),
                };
                set.notices.push(
                    set.offset,
                    NoticeKind::MissingEset,
                    format!(
                        "set {} has no ESET: {why}; it may lack entries",
                        set.sset.number
                    ),
                );
            }
            set.end = end;
            self.sets.push(set);
        }
    }

    fn read(&self, pos: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        read_exact_at(self.r, pos, &mut b)?;
        Ok(b)
    }

    /// Walks every DBLK after the `TAPE` DBLK.
    fn walk(&mut self, tape: &BlockHeader) {
        let mut step = match self.streams(0, tape) {
            Ok(s) => self.after(0, &s.end),
            Err(e) => self.io_stop(0, &e),
        };
        loop {
            let pos = match step {
                Step::At(p) => p,
                Step::Resync(p) => match self.resync(p) {
                    Some(p) => p,
                    None => break,
                },
                Step::Stop => break,
            };
            if pos >= self.len {
                break;
            }
            if self.len - pos < HEADER_LEN as u64 {
                self.notice(
                    pos,
                    NoticeKind::Truncated,
                    format!("{} bytes at the end hold no block", self.len - pos),
                );
                break;
            }
            step = match self.block(pos) {
                Ok(s) => s,
                Err(e) => self.io_stop(pos, &e),
            };
        }
        if self.cur.is_some() {
            self.close_set(SetEnd::FileEnds);
        }
    }

    fn io_stop(&mut self, pos: u64, e: &io::Error) -> Step {
        self.notice(
            pos,
            NoticeKind::Io,
            format!("reading the backup failed: {e}"),
        );
        if self.cur.is_some() {
            self.close_set(SetEnd::Stopped(format!("I/O error at offset {pos}: {e}")));
        }
        Step::Stop
    }

    /// The step after a DBLK whose streams ended with `end`.
    fn after(&mut self, pos: u64, end: &StreamsEnd) -> Step {
        match *end {
            StreamsEnd::Next(next) => {
                if next % self.flb != 0 {
                    self.notice(
                        next,
                        NoticeKind::Misaligned,
                        format!(
                            "the streams of the block at offset {pos} end off a {}-byte boundary; the next block is looked for at the next boundary",
                            self.flb
                        ),
                    );
                }
                match align_up(next, self.flb) {
                    // Always forward: at least one logical block past this DBLK.
                    Some(n) if n > pos => Step::At(n),
                    _ => Step::Resync(pos.saturating_add(1)),
                }
            }
            StreamsEnd::Truncated { at, ref why } => {
                let why = why.clone();
                self.notice(at, NoticeKind::Truncated, why);
                Step::Stop
            }
            StreamsEnd::Damaged { at, ref why } => {
                let why = why.clone();
                self.notice(at, NoticeKind::BadStream, why);
                self.mark_damaged();
                Step::Resync(pos.saturating_add(1))
            }
        }
    }

    fn mark_damaged(&mut self) {
        if let Some(set) = &mut self.cur {
            set.damaged = true;
        }
    }

    /// The next offset at or after `from` on a logical block boundary where a valid DBLK of
    /// a known type starts, with a notice saying what was skipped. Zero-filled blocks are
    /// passed over the same way.
    fn resync(&mut self, from: u64) -> Option<u64> {
        let start = align_up(from, self.flb)?;
        let mut p = start;
        let found = loop {
            if p.checked_add(HEADER_LEN as u64)
                .is_none_or(|e| e > self.len)
            {
                break None;
            }
            let mut hb = [0u8; HEADER_LEN];
            if read_exact_at(self.r, p, &mut hb).is_err() {
                break None;
            }
            if let Ok(h) = BlockHeader::parse(&hb) {
                if h.block_type.is_known() {
                    break Some(p);
                }
            }
            p = p.checked_add(self.flb)?;
        };
        let to = found.unwrap_or(self.len);
        if to > from {
            self.notice(
                from,
                NoticeKind::Skipped,
                format!(
                    "{} bytes skipped (offsets {from} to {to}): no valid block there",
                    to - from
                ),
            );
        }
        found
    }

    /// The streams of the DBLK at `pos` (Section 6): from the Offset To First Event, each
    /// header checksummed, each skipped by its length, until the `SPAD`.
    fn streams(&self, pos: u64, h: &BlockHeader) -> io::Result<Streams> {
        let mut list = Vec::new();
        let Some(mut sp) = pos.checked_add(u64::from(h.first_event)) else {
            return Ok(Streams {
                list,
                end: StreamsEnd::Damaged {
                    at: pos,
                    why: "the first stream's offset overflows".to_owned(),
                },
            });
        };
        let end = loop {
            if list.len() >= MAX_STREAMS_PER_BLOCK {
                break StreamsEnd::Damaged {
                    at: sp,
                    why: format!(
                        "more than {MAX_STREAMS_PER_BLOCK} streams after the block at offset {pos}"
                    ),
                };
            }
            if sp
                .checked_add(STREAM_HEADER_LEN)
                .is_none_or(|e| e > self.len)
            {
                break StreamsEnd::Truncated {
                    at: sp,
                    why: format!(
                        "the file ends inside the streams of the block at offset {pos} (truncated, or continued on another medium)"
                    ),
                };
            }
            let mut hb = [0u8; STREAM_HEADER_LEN as usize];
            read_exact_at(self.r, sp, &mut hb)?;
            let sh = match StreamHeader::parse(&hb) {
                Ok(sh) => sh,
                Err(bad) => {
                    // Section 6.2.1.6, note: before MTF 1.00a a DBLK could have no streams,
                    // its Offset To First Event then pointing at the next DBLK.
                    if list.is_empty() && sp % self.flb == 0 && self.valid_block_at(sp) {
                        break StreamsEnd::Next(sp);
                    }
                    break StreamsEnd::Damaged {
                        at: sp,
                        why: format!(
                            "stream header checksum {:#06x} does not match its fields ({:#06x})",
                            bad.stored, bad.computed
                        ),
                    };
                }
            };
            let data = sp + STREAM_HEADER_LEN;
            let Some(data_end) = data.checked_add(sh.length) else {
                break StreamsEnd::Damaged {
                    at: sp,
                    why: format!("stream length {} overflows", sh.length),
                };
            };
            list.push((sp, sh));
            if data_end > self.len {
                break StreamsEnd::Truncated {
                    at: sp,
                    why: format!(
                        "a {} stream of {} bytes at offset {data} runs past the end of the file ({} bytes): truncated, or continued on another medium",
                        crate::escape::escape_bytes(&sh.id),
                        sh.length,
                        self.len
                    ),
                };
            }
            if sh.id == id::SPAD {
                break StreamsEnd::Next(data_end);
            }
            match align4(data_end) {
                Some(n) => sp = n,
                None => {
                    break StreamsEnd::Damaged {
                        at: sp,
                        why: "stream offset overflows".to_owned(),
                    }
                }
            }
        };
        Ok(Streams { list, end })
    }

    fn valid_block_at(&self, pos: u64) -> bool {
        let mut hb = [0u8; HEADER_LEN];
        pos.checked_add(HEADER_LEN as u64)
            .is_some_and(|e| e <= self.len)
            && read_exact_at(self.r, pos, &mut hb).is_ok()
            && BlockHeader::parse(&hb).is_ok_and(|h| h.block_type.is_known())
    }

    /// Reads and handles the DBLK at `pos`.
    fn block(&mut self, pos: u64) -> io::Result<Step> {
        let mut hb = [0u8; HEADER_LEN];
        read_exact_at(self.r, pos, &mut hb)?;
        if hb.iter().all(|&b| b == 0) {
            // Zero fill (the tail of a preallocated file, or padding): not a block.
            return Ok(Step::Resync(pos));
        }
        let h = match BlockHeader::parse(&hb) {
            Ok(h) => h,
            Err(e) => {
                self.notice(
                    pos,
                    NoticeKind::BadBlockChecksum,
                    format!(
                        "block {}: {e}; skipped to the next valid block",
                        crate::escape::escape_bytes(&hb[..4])
                    ),
                );
                self.mark_damaged();
                return Ok(Step::Resync(pos.saturating_add(1)));
            }
        };
        if h.block_type == BlockType::SFMB {
            return self.soft_filemark(pos);
        }
        let fixed = h.block_type.fixed_len() as u64;
        let first = u64::from(h.first_event);
        if first < fixed {
            self.notice(
                pos,
                NoticeKind::BadBlock,
                format!(
                    "{} block: its first stream (offset {first}) would be inside its {fixed} bytes of fixed fields; skipped",
                    h.block_type
                ),
            );
            self.mark_damaged();
            return Ok(Step::Resync(pos.saturating_add(1)));
        }
        if pos.checked_add(first).is_none_or(|e| e > self.len) {
            self.notice(
                pos,
                NoticeKind::Truncated,
                format!(
                    "the file ends inside the {} block at offset {pos} (truncated, or continued on another medium)",
                    h.block_type
                ),
            );
            return Ok(Step::Stop);
        }
        let block = self.read(pos, first as usize)?;
        let streams = self.streams(pos, &h)?;
        let mut soft = Soft::new();
        let handled = match h.block_type {
            BlockType::SSET => self.sset(pos, &h, &block, &mut soft),
            BlockType::VOLB => self.volb(pos, &h, &block, &mut soft),
            BlockType::DIRB => self.dirb(pos, &h, &block, &streams, &mut soft),
            BlockType::FILE => self.file(pos, &h, &block, &streams, &mut soft),
            BlockType::CFIL => self.cfil(pos, &block),
            BlockType::ESET => self.eset(pos, &block, &mut soft),
            BlockType::EOTM => self.eotm(pos, &block),
            BlockType::ESPB => Ok(()),
            BlockType::TAPE => {
                self.notice(
                    pos,
                    NoticeKind::NonStandard,
                    "a second TAPE block (only the first block of a medium is one); skipped",
                );
                Ok(())
            }
            other => {
                self.notice(
                    pos,
                    NoticeKind::UnknownBlock,
                    format!("a block of unknown type {other}, skipped by its header"),
                );
                Ok(())
            }
        };
        for s in soft {
            self.notice(
                pos,
                NoticeKind::BadField,
                format!("{} block: {s}", h.block_type),
            );
        }
        if let Err(why) = handled {
            self.notice(
                pos,
                NoticeKind::BadBlock,
                format!("{} block: {why}; skipped", h.block_type),
            );
            self.mark_damaged();
        }
        if self.entries >= MAX_ENTRIES {
            self.notice(
                pos,
                NoticeKind::TooManyEntries,
                format!("more than {MAX_ENTRIES} directories and files: the rest is not read"),
            );
            self.close_set(SetEnd::Stopped(format!("more than {MAX_ENTRIES} entries")));
            return Ok(Step::Stop);
        }
        Ok(self.after(pos, &streams.end))
    }

    /// A soft filemark (Section 5.2.10): no streams; it fills the soft filemark size given
    /// in the `TAPE` DBLK.
    fn soft_filemark(&mut self, pos: u64) -> io::Result<Step> {
        let fixed = BlockType::SFMB.fixed_len();
        if pos.checked_add(fixed as u64).is_none_or(|e| e > self.len) {
            self.notice(
                pos,
                NoticeKind::Truncated,
                "the file ends inside a soft filemark",
            );
            return Ok(Step::Stop);
        }
        let block = self.read(pos, fixed)?;
        if let Err(why) = Sfmb::parse(&block) {
            self.notice(pos, NoticeKind::BadBlock, why);
        }
        Ok(
            match pos
                .checked_add(self.sfm)
                .and_then(|e| align_up(e, self.flb))
            {
                Some(n) => Step::At(n),
                None => Step::Stop,
            },
        )
    }

    fn sset(
        &mut self,
        pos: u64,
        h: &BlockHeader,
        block: &[u8],
        soft: &mut Soft,
    ) -> Result<(), String> {
        let sset = Sset::parse(block, h, soft)?;
        if self.cur.is_some() {
            self.close_set(SetEnd::NewSet { offset: pos });
        }
        let mut set = DataSet {
            offset: pos,
            header: h.clone(),
            sset,
            volumes: Vec::new(),
            dirs: Vec::new(),
            files: Vec::new(),
            end: SetEnd::FileEnds,
            damaged: false,
            corrupt_objects: 0,
            notices: Notices::default(),
        };
        if set.continuation() {
            set.notices.push(
                pos,
                NoticeKind::Continuation,
                "this set continues from a previous medium: its beginning is not in this file",
            );
        }
        if set.encrypted() || h.attributes & attr::COMPRESSION != 0 {
            set.notices.push(
                pos,
                NoticeKind::EncryptedOrCompressed,
                format!(
                    "the set says {}: such data streams are not read",
                    if set.encrypted() {
                        "its data streams are encrypted"
                    } else {
                        "software compression may be active"
                    }
                ),
            );
        }
        if let TimeZone::Invalid(tz) = set.time_zone() {
            set.notices.push(
                pos,
                NoticeKind::NonStandard,
                format!("time zone value {tz} is not one the specification defines"),
            );
        }
        self.cur = Some(set);
        self.entries += 1;
        Ok(())
    }

    /// The open set, or a notice that a `what` DBLK is outside any set.
    fn in_set(&mut self, pos: u64, what: BlockType) -> Option<&mut DataSet> {
        if self.cur.is_none() {
            self.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                format!("a {what} block outside any data set; skipped"),
            );
        }
        self.cur.as_mut()
    }

    fn volb(
        &mut self,
        pos: u64,
        h: &BlockHeader,
        block: &[u8],
        soft: &mut Soft,
    ) -> Result<(), String> {
        let volb = Volb::parse(block, h, soft)?;
        if let Some(set) = self.in_set(pos, BlockType::VOLB) {
            set.volumes.push(Volume { offset: pos, volb });
            self.entries += 1;
        }
        Ok(())
    }

    /// The name carried in the first stream (`PNAM`/`FNAM`, Section 6.2.1.2–3), when the
    /// DBLK's NAME_IN_STREAM bit says so.
    fn name_stream(&self, streams: &Streams, want: [u8; 4]) -> Result<Vec<u8>, String> {
        let Some(&(at, sh)) = streams.list.first() else {
            return Err("its name should be in its first stream, which is missing".to_owned());
        };
        if sh.id != want {
            return Err(format!(
                "its name should be in a {} stream, the first stream is {}",
                crate::escape::escape_bytes(&want),
                crate::escape::escape_bytes(&sh.id)
            ));
        }
        if sh.length > MAX_NAME_STREAM || sh.media_attributes & !media_attr::CHECKSUMED != 0 {
            return Err(format!(
                "its name stream ({} bytes, media attributes {:#06x}) is not a plain name of at most {MAX_NAME_STREAM} bytes",
                sh.length, sh.media_attributes
            ));
        }
        let data = at + STREAM_HEADER_LEN;
        if data.checked_add(sh.length).is_none_or(|e| e > self.len) {
            return Err("its name stream runs past the end of the file".to_owned());
        }
        self.read(data, sh.length as usize)
            .map_err(|e| format!("its name stream cannot be read: {e}"))
    }

    fn dirb(
        &mut self,
        pos: u64,
        h: &BlockHeader,
        block: &[u8],
        streams: &Streams,
        soft: &mut Soft,
    ) -> Result<(), String> {
        let d = Dirb::parse(block, h, soft)?;
        let kind = h.strings();
        let raw = if d.attributes & NAME_IN_STREAM != 0 {
            self.name_stream(streams, id::PNAM)
                .map_err(|e| soft.push(format!("directory: {e}")))
                .ok()
        } else {
            d.name.as_ref().map(|n| n.raw.clone())
        };
        let path = match (raw, kind) {
            (Some(raw), Some(k @ (StringType::Ansi | StringType::Unicode))) => {
                Some(MtfString::split_path(&raw, k))
            }
            (Some(_), _) => {
                soft.push("a directory name in a block without a string type".to_owned());
                None
            }
            (None, _) => {
                if d.attributes & NAME_IN_STREAM == 0 {
                    soft.push("a directory without a name".to_owned());
                }
                None
            }
        };
        let nt = nt_attributes(block, h);
        let Some(set) = self.in_set(pos, BlockType::DIRB) else {
            return Ok(());
        };
        if set.volumes.is_empty() {
            set.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                "a directory before any volume (VOLB) of its set",
            );
        }
        set.dirs.push(Directory {
            offset: pos,
            volume: set.volumes.len().checked_sub(1),
            path,
            attributes: d.attributes,
            nt_attributes: nt,
            dates: d.dates,
            id: d.directory_id,
            continuation: h.attributes & attr::CONTINUATION != 0,
        });
        self.entries += 1;
        Ok(())
    }

    fn file(
        &mut self,
        pos: u64,
        h: &BlockHeader,
        block: &[u8],
        streams: &Streams,
        soft: &mut Soft,
    ) -> Result<(), String> {
        let f = FileDblk::parse(block, h, soft)?;
        let name = if f.attributes & NAME_IN_STREAM != 0 {
            match (self.name_stream(streams, id::FNAM), h.strings()) {
                (Ok(raw), Some(k @ (StringType::Ansi | StringType::Unicode))) => {
                    Some(MtfString::new(&raw, k))
                }
                (Ok(_), _) => {
                    soft.push("a file name in a block without a string type".to_owned());
                    None
                }
                (Err(e), _) => {
                    soft.push(format!("file: {e}"));
                    None
                }
            }
        } else {
            f.name
        };
        let nt = nt_attributes(block, h);
        let data = self.file_data(h, f.attributes, nt, streams);
        let Some(set) = self.in_set(pos, BlockType::FILE) else {
            return Ok(());
        };
        let data = match data {
            Ok(_) if set.encrypted() => Err(DataError::SetEncrypted),
            other => other,
        };
        let dir = set.dirs.len().checked_sub(1);
        match dir.and_then(|d| set.dirs.get(d)) {
            None => set.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                "a file before any directory (DIRB) of its set: its path is not known",
            ),
            Some(d) if d.id != f.directory_id => set.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                format!(
                    "a file says it is in directory {} but follows directory {}; it is placed in the directory it follows (Table 1)",
                    f.directory_id, d.id
                ),
            ),
            Some(_) => {}
        }
        if name.is_none() {
            set.notices.push(
                pos,
                NoticeKind::BadBlock,
                "a file whose name cannot be read",
            );
        }
        set.files.push(File {
            offset: pos,
            dir,
            name,
            attributes: f.attributes,
            nt_attributes: nt,
            dates: f.dates,
            directory_id: f.directory_id,
            file_id: f.file_id,
            displayable_size: h.displayable_size,
            data,
            continuation: h.attributes & attr::CONTINUATION != 0,
        });
        self.entries += 1;
        Ok(())
    }

    /// Where a file's contents are, or why they cannot be read (Section 6.2 and Table 18):
    /// exactly one plain `STAN` stream whose bytes are all inside this file.
    fn file_data(
        &self,
        h: &BlockHeader,
        attributes: u32,
        nt: Option<u32>,
        streams: &Streams,
    ) -> Result<DataStream, DataError> {
        if attributes & OBJECT_CORRUPT != 0 {
            return Err(DataError::Corrupt(
                "the FILE block says its data could not be read when it was backed up".to_owned(),
            ));
        }
        if streams.list.iter().any(|(_, s)| s.id == id::NTED)
            || nt.is_some_and(|a| a & win32::ENCRYPTED != 0)
        {
            return Err(DataError::EfsEncrypted);
        }
        let stan: Vec<usize> = (0..streams.list.len())
            .filter(|&i| streams.list[i].1.id == id::STAN)
            .collect();
        let (at, sh) = match stan.as_slice() {
            [] => {
                return match &streams.end {
                    StreamsEnd::Next(_) if h.displayable_size == 0 => Ok(DataStream {
                        offset: 0,
                        length: 0,
                        checksum: None,
                    }),
                    StreamsEnd::Next(_) => Err(DataError::Missing {
                        size: h.displayable_size,
                    }),
                    StreamsEnd::Truncated { why, .. } => Err(DataError::Damaged(why.clone())),
                    StreamsEnd::Damaged { why, .. } => Err(DataError::Damaged(why.clone())),
                };
            }
            [one] => streams.list[*one],
            many => {
                let all_variable = many
                    .iter()
                    .all(|&i| streams.list[i].1.has_media(media_attr::VARIABLE));
                return Err(if all_variable {
                    DataError::Variable
                } else {
                    DataError::Ambiguous { count: many.len() }
                });
            }
        };
        if sh.has_media(media_attr::CONTINUE) || h.attributes & attr::CONTINUATION != 0 {
            return Err(DataError::Continued);
        }
        if sh.fs_attributes & stream::fs_attr::SPARSE != 0 {
            return Err(DataError::Sparse);
        }
        if sh.has_media(media_attr::VARIABLE) || sh.has_media(media_attr::EMBEDDED_LENGTH) {
            return Err(DataError::Variable);
        }
        if sh.has_media(media_attr::COMPRESSED) {
            return Err(DataError::Compressed {
                algorithm: sh.compression_algorithm,
            });
        }
        if sh.has_media(media_attr::ENCRYPTED) {
            return Err(DataError::Encrypted {
                algorithm: sh.encryption_algorithm,
            });
        }
        let offset = at + STREAM_HEADER_LEN;
        if offset.checked_add(sh.length).is_none_or(|e| e > self.len) {
            return Err(DataError::PastEnd {
                offset,
                length: sh.length,
                available: self.len,
            });
        }
        let checksum = if sh.has_media(media_attr::CHECKSUMED) {
            let next = streams
                .list
                .iter()
                .find(|(p, _)| *p > at)
                .filter(|(_, s)| s.id == id::CSUM && s.length == 4);
            match next {
                Some(&(p, _)) => {
                    let mut b = [0u8; 4];
                    read_exact_at(self.r, p + STREAM_HEADER_LEN, &mut b)
                        .map_err(|e| DataError::Damaged(format!("its CSUM cannot be read: {e}")))?;
                    Some(u32::from_le_bytes(b))
                }
                None => {
                    return Err(DataError::Damaged(
                        "its data stream says a CSUM stream follows, and none does".to_owned(),
                    ))
                }
            }
        } else {
            None
        };
        Ok(DataStream {
            offset,
            length: sh.length,
            checksum,
        })
    }

    fn cfil(&mut self, pos: u64, block: &[u8]) -> Result<(), String> {
        let c = Cfil::parse(block)?;
        let Some(set) = self.in_set(pos, BlockType::CFIL) else {
            return Ok(());
        };
        set.corrupt_objects += 1;
        let why = format!(
            "a CFIL block says stream {} of the file before it is zero-filled from offset {} (attributes {:#010x})",
            c.stream_number, c.stream_offset, c.attributes
        );
        match set.files.last_mut() {
            Some(f) => f.data = Err(DataError::Corrupt(why.clone())),
            None => set.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                "a CFIL block with no file before it",
            ),
        }
        set.notices.push(pos, NoticeKind::CorruptObject, why);
        Ok(())
    }

    fn eset(&mut self, pos: u64, block: &[u8], soft: &mut Soft) -> Result<(), String> {
        let eset = Eset::parse(block, soft)?;
        let Some(set) = self.cur.as_mut() else {
            self.notices.push(
                pos,
                NoticeKind::OutOfOrder,
                format!("an ESET (set {}) without its SSET", eset.number),
            );
            return Ok(());
        };
        if eset.number != set.sset.number {
            set.notices.push(
                pos,
                NoticeKind::SetEnd,
                format!(
                    "the ESET says set {}, its SSET set {}",
                    eset.number, set.sset.number
                ),
            );
        }
        if eset.attributes & attr::ESET_ABORTED_SET != 0 {
            set.notices.push(
                pos,
                NoticeKind::SetEnd,
                "the ESET says this set was aborted while it was written: it may lack entries",
            );
        }
        self.close_set(SetEnd::Eset { offset: pos, eset });
        Ok(())
    }

    fn eotm(&mut self, pos: u64, block: &[u8]) -> Result<(), String> {
        Eotm::parse(block)?;
        let open = self.cur.is_some();
        self.notice(
            pos,
            NoticeKind::EndOfMedium,
            if open {
                "end of medium (EOTM): this set continues on another medium, which is not read"
            } else {
                "end of medium (EOTM): the media family continues on another medium"
            },
        );
        if open {
            self.close_set(SetEnd::NextMedium { offset: pos });
        }
        Ok(())
    }
}
