//! NTBackup `.bkf` files: Microsoft Tape Format 1.00a ("Microsoft Tape Format Specification
//! Version 1.00a", document rev. 1.8, Seagate Software), read in place and read-only.
//! Sections cited are that document's (docs/images.md, *Backups*).
//!
//! A `.bkf` is one medium (Section 3.3, *Media Layout*): a media header (`TAPE` DBLK, `SPAD`
//! stream, filemark), then data sets (`SSET`, `VOLB`/`DIRB`/`FILE` DBLKs with their streams,
//! filemark, `ESET`, filemark), filemarks being soft filemarks (`SFMB` DBLKs) on a disk file.
//! Every DBLK starts on a Format Logical Block boundary (Section 3.5.1; the size is in the
//! `TAPE` DBLK); its streams follow at the Offset To First Event, each header on a 4-byte
//! boundary, the last one a `SPAD` that pads to the next boundary (Section 3.5.2, 6.2.1.6).
//!
//! [`Backup::open`] walks the file once, forward: each DBLK's header is checksummed, its
//! streams are skipped by their lengths (file data is never read during the walk), and the
//! next DBLK is where the streams end. The walk always moves forward by at least one
//! logical block, every offset and length is checked against the file's length before use
//! (with overflow checks), and every count it keeps is bounded ([`MAX_ENTRIES`],
//! [`MAX_STREAMS_PER_BLOCK`], [`MAX_NOTICES`]), so no input can make it loop, panic or
//! allocate more than the entries the file really holds. What it cannot read it says, as a
//! typed [`Notice`] on the set or the backup, or as the [`DataError`] of one file: damaged
//! blocks (skipped to the next valid DBLK, the set marked damaged), a set without its
//! `ESET`, data that runs past the end of the file (a spanned or truncated backup),
//! compressed, encrypted, sparse or continued streams (never read as if they were data).
//!
//! Over 400 lines: the public types of what is read (sets, entries, notices, errors, with
//! their documentation) and the reading API are here; the walk is in `walk`, the byte
//! structures in `block` and `stream`.

pub mod block;
pub mod stream;
mod walk;

use std::fmt;
use std::io;

use block::{
    attr, BlockHeader, BlockType, Dates, Eset, MtfDateTime, MtfString, Soft, Sset, Tape, Volb,
    HEADER_LEN,
};
use stream::DataChecksum;

use crate::source::ReadAt;

/// Sets, volumes, directories and files kept for one backup at most (about 2 million, a few
/// hundred bytes each; a Windows 2000 system volume holds a few hundred thousand files). Past
/// it the walk stops with a notice.
pub const MAX_ENTRIES: usize = 1 << 21;
/// Streams followed after one DBLK at most (a file has a handful: data, security, object id,
/// alternate data streams, pad).
pub const MAX_STREAMS_PER_BLOCK: usize = 4096;
/// The longest `PNAM`/`FNAM` name stream read (a path of 32,767 UTF-16 characters is 64 KiB).
pub const MAX_NAME_STREAM: u64 = 64 * 1024;
/// Notices kept per set and for the backup; more are counted.
pub const MAX_NOTICES: usize = 256;

/// Why a file cannot be opened as an MTF backup at all.
#[derive(Debug, thiserror::Error)]
pub enum MtfError {
    #[error("I/O error reading the backup: {0}")]
    Io(#[from] io::Error),
    #[error("not a Microsoft Tape Format backup: {0}")]
    NotMtf(String),
    #[error("damaged MTF media header: {0}")]
    Corrupt(String),
}

/// What a notice says, for reports and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A DBLK header's checksum is wrong: the walk skipped to the next valid DBLK.
    BadBlockChecksum,
    /// A stream header's checksum is wrong, or its length overflows: the DBLK's streams
    /// could not be followed; the walk skipped to the next valid DBLK.
    BadStream,
    /// A DBLK's fields point outside it or are too short; the DBLK was skipped.
    BadBlock,
    /// A field could not be read (a string outside the DBLK, a date that is not one); it is
    /// treated as absent.
    BadField,
    /// Bytes that hold no DBLK were skipped.
    Skipped,
    /// The file ends inside a DBLK or a stream: truncated, or continued on another medium.
    Truncated,
    /// A set ended without its `ESET`.
    MissingEset,
    /// An `EOTM`: the media family continues on another medium.
    EndOfMedium,
    /// The set (or DBLK) continues a set from a previous medium: what came before is not
    /// in this file.
    Continuation,
    /// A DBLK of a type this reader does not know, skipped by its header (Section 5.1).
    UnknownBlock,
    /// A `VOLB`, `DIRB`, `FILE` or `CFIL` outside any set, or out of the order of Table 1.
    OutOfOrder,
    /// A `CFIL`: the object before it has corrupt data.
    CorruptObject,
    /// A DBLK's streams end off a Format Logical Block boundary (the next DBLK is looked for
    /// at the next boundary).
    Misaligned,
    /// The set says its data streams are encrypted or compressed.
    EncryptedOrCompressed,
    /// The set's `ESET` disagrees with its `SSET`, or marks the set aborted.
    SetEnd,
    /// More entries than [`MAX_ENTRIES`]: the walk stopped.
    TooManyEntries,
    /// Reading the file failed: the walk stopped.
    Io,
    /// A value outside what the specification defines (not fatal).
    NonStandard,
}

/// One thing the walk could not read, or read with a caveat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where in the `.bkf` (the DBLK's or stream's offset).
    pub offset: u64,
    pub kind: NoticeKind,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.message)
    }
}

/// Notices, at most [`MAX_NOTICES`] kept, the rest counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notices {
    pub list: Vec<Notice>,
    pub dropped: u64,
}

impl Notices {
    pub(crate) fn push(&mut self, offset: u64, kind: NoticeKind, message: impl Into<String>) {
        if self.list.len() < MAX_NOTICES {
            self.list.push(Notice {
                offset,
                kind,
                message: message.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    /// Whether a notice of `kind` was given.
    pub fn has(&self, kind: NoticeKind) -> bool {
        self.list.iter().any(|n| n.kind == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }
}

/// Why a file's data cannot be read as its contents. Never replaced by a guess: the file is
/// reported with this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("its data stream is compressed (MTF software compression, algorithm {algorithm:#06x}); not decompressed")]
    Compressed { algorithm: u16 },
    #[error("its data stream is encrypted (algorithm {algorithm:#06x}); not read")]
    Encrypted { algorithm: u16 },
    #[error("the data set is marked encrypted; its data streams are not read")]
    SetEncrypted,
    #[error("the file is EFS-encrypted: the backup holds its ciphertext")]
    EfsEncrypted,
    #[error("its data is stored sparse (SPAR streams), which is not reassembled")]
    Sparse,
    #[error("its data is a variable-length stream, which is not reassembled")]
    Variable,
    #[error("its data continues from a previous medium: only part of the file is in this backup")]
    Continued,
    #[error("its data ({length} bytes at offset {offset}) runs past the end of the backup ({available} bytes): truncated, or continued on another medium")]
    PastEnd {
        offset: u64,
        length: u64,
        available: u64,
    },
    #[error("the backup marks its data as corrupt: {0}")]
    Corrupt(String),
    #[error("it has no data stream although its size is {size} bytes")]
    Missing { size: u64 },
    #[error("it has {count} data streams: which one is the file is not known")]
    Ambiguous { count: usize },
    #[error("its streams are damaged: {0}")]
    Damaged(String),
}

/// Why reading a file's data failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("I/O error reading the backup: {0}")]
    Io(#[from] io::Error),
    #[error("its CSUM checksum {stored:#010x} does not match its data ({computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("only {got} of {want} bytes could be read: the backup ends inside this file")]
    Short { got: u64, want: u64 },
}

/// Where a file's `STAN` data is in the `.bkf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataStream {
    /// The first byte of the data (after the stream header).
    pub offset: u64,
    pub length: u64,
    /// The `CSUM` stream after it (Section 6.2.1.4), when the writer added one.
    pub checksum: Option<u32>,
}

/// A `VOLB` of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub offset: u64,
    pub volb: Volb,
}

/// A `DIRB`: a directory and its full path from the volume's root, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub offset: u64,
    /// Index in [`DataSet::volumes`] (implied precedence, Section 3.3 Table 1); `None` for a
    /// `DIRB` before any `VOLB`.
    pub volume: Option<usize>,
    /// The path's components (the root is empty); `None` when it could not be read.
    pub path: Option<Vec<MtfString>>,
    pub attributes: u32,
    pub nt_attributes: Option<u32>,
    pub dates: Dates,
    pub id: u32,
    pub continuation: bool,
}

/// A `FILE`: a file of the directory before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub offset: u64,
    /// Index in [`DataSet::dirs`]; `None` for a `FILE` before any `DIRB`.
    pub dir: Option<usize>,
    /// `None` when the name could not be read.
    pub name: Option<MtfString>,
    pub attributes: u32,
    /// Win32 `dwFileAttributes` from the Windows NT OS Specific Data (Appendix A).
    pub nt_attributes: Option<u32>,
    pub dates: Dates,
    pub directory_id: u32,
    pub file_id: u32,
    pub displayable_size: u64,
    pub data: Result<DataStream, DataError>,
    pub continuation: bool,
}

/// How a set ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetEnd {
    /// Its `ESET`.
    Eset { offset: u64, eset: Eset },
    /// The file ended first.
    FileEnds,
    /// An `EOTM` at `offset`: the set continues on another medium.
    NextMedium { offset: u64 },
    /// Another `SSET` at `offset` began first.
    NewSet { offset: u64 },
    /// The walk stopped (an I/O error, too many entries).
    Stopped(String),
}

/// The SSET Time Zone field (Section 5.2.2, Table 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// Times are coordinated to UTC; the writer's local zone was this many minutes from it.
    Utc { local_offset_minutes: i16 },
    /// `LOCAL_TZ` (127): local times of a zone the file does not name.
    Local,
    /// A value the specification does not define.
    Invalid(i8),
}

/// The data management operation of a set (SSET Attributes, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Transfer,
    Copy,
    Normal,
    Differential,
    Incremental,
    Daily,
}

/// One data set, `SSET` … `ESET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSet {
    pub offset: u64,
    pub header: BlockHeader,
    pub sset: Sset,
    pub volumes: Vec<Volume>,
    pub dirs: Vec<Directory>,
    pub files: Vec<File>,
    pub end: SetEnd,
    /// Damaged bytes were skipped inside the set: some of its entries may be missing.
    pub damaged: bool,
    /// `CFIL` DBLKs met in the set.
    pub corrupt_objects: u32,
    pub notices: Notices,
}

impl DataSet {
    pub fn number(&self) -> u16 {
        self.sset.number
    }
    pub fn name(&self) -> Option<&MtfString> {
        self.sset.name.as_ref()
    }
    pub fn description(&self) -> Option<&MtfString> {
        self.sset.description.as_ref()
    }
    pub fn user(&self) -> Option<&MtfString> {
        self.sset.user.as_ref()
    }
    pub fn write_date(&self) -> Option<MtfDateTime> {
        self.sset.write_date
    }

    /// The operation, when exactly one of SSET Attributes BIT0–BIT5 is set (Table 9 allows
    /// only one).
    pub fn operation(&self) -> Option<Operation> {
        let ops = [
            Operation::Transfer,
            Operation::Copy,
            Operation::Normal,
            Operation::Differential,
            Operation::Incremental,
            Operation::Daily,
        ];
        let bits = self.sset.attributes & 0x3f;
        (bits.count_ones() == 1).then(|| ops[bits.trailing_zeros() as usize])
    }

    pub fn time_zone(&self) -> TimeZone {
        match self.sset.time_zone {
            127 => TimeZone::Local,
            tz @ -48..=48 => TimeZone::Utc {
                local_offset_minutes: i16::from(tz) * 15,
            },
            tz => TimeZone::Invalid(tz),
        }
    }

    /// `MTF_ENCRYPTION` on the SSET (Table 3).
    pub fn encrypted(&self) -> bool {
        self.header.attributes & attr::SSET_ENCRYPTION != 0
    }

    /// `MTF_CONTINUATION` on the SSET: the set began on a previous medium.
    pub fn continuation(&self) -> bool {
        self.header.attributes & attr::CONTINUATION != 0
    }

    /// True when the set is whole in this file: it ends with its `ESET`, was not aborted,
    /// does not continue a previous medium, no damaged bytes were skipped inside it, and
    /// every directory's path and every file's name and directory could be read. Only a
    /// complete set can say a file is absent from it.
    pub fn complete(&self) -> bool {
        matches!(&self.end, SetEnd::Eset { eset, .. } if eset.attributes & attr::ESET_ABORTED_SET == 0)
            && !self.damaged
            && !self.continuation()
            && self
                .dirs
                .iter()
                .all(|d| d.path.is_some() && d.volume.is_some())
            && self
                .files
                .iter()
                .all(|f| f.name.is_some() && f.dir.is_some())
    }

    /// The directory of `file` and its path, as recorded.
    pub fn dir_of(&self, file: &File) -> Option<&Directory> {
        file.dir.and_then(|d| self.dirs.get(d))
    }
}

/// An opened `.bkf`: the media header, its data sets, and what could not be read.
#[derive(Debug)]
pub struct Backup<R> {
    reader: R,
    len: u64,
    pub tape_header: BlockHeader,
    pub tape: Tape,
    /// The Format Logical Block size every DBLK is aligned to.
    pub flb_size: u64,
    pub sets: Vec<DataSet>,
    /// Notices outside any set.
    pub notices: Notices,
}

/// Reads `buf.len()` bytes at `pos`, or fails.
pub(crate) fn read_exact_at<R: ReadAt + ?Sized>(r: &R, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        let at = pos
            .checked_add(got as u64)
            .ok_or_else(|| io::Error::other("offset overflows"))?;
        match r.read_at(&mut buf[got..], at) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) fn align_up(pos: u64, to: u64) -> Option<u64> {
    pos.checked_add(to - 1).map(|p| p - p % to)
}

impl<R: ReadAt> Backup<R> {
    /// Opens a `.bkf` of `len` bytes: reads its media header and walks every data set.
    /// Fails only when the file is not MTF or its `TAPE` DBLK is unusable; anything after
    /// that is a notice.
    pub fn open(reader: R, len: u64) -> Result<Self, MtfError> {
        if len < HEADER_LEN as u64 {
            return Err(MtfError::NotMtf(format!(
                "{len} bytes, shorter than one MTF block header"
            )));
        }
        let mut hb = [0u8; HEADER_LEN];
        read_exact_at(&reader, 0, &mut hb)?;
        if &hb[..4] != b"TAPE" {
            return Err(MtfError::NotMtf(
                "it does not start with a TAPE descriptor block".to_owned(),
            ));
        }
        let header =
            BlockHeader::parse(&hb).map_err(|e| MtfError::Corrupt(format!("TAPE block: {e}")))?;
        let first = u64::from(header.first_event);
        let fixed = BlockType::TAPE.fixed_len();
        if first < fixed as u64 || first > len {
            return Err(MtfError::Corrupt(format!(
                "TAPE block: its first stream at offset {first} is inside its fixed fields or past the end"
            )));
        }
        let mut block = vec![0u8; first as usize];
        read_exact_at(&reader, 0, &mut block)?;
        let mut soft = Soft::new();
        let tape = Tape::parse(&block, &header, &mut soft)
            .map_err(|e| MtfError::Corrupt(format!("TAPE block: {e}")))?;
        let flb = u64::from(tape.flb_size);
        // Section 5.2.1: 512 or 1024. Other powers of two are read with a notice; anything
        // else cannot be a block alignment.
        if !flb.is_power_of_two() || !(512..=65536).contains(&flb) {
            return Err(MtfError::Corrupt(format!(
                "TAPE block: format logical block size {flb} is not a power of two from 512 to 65536"
            )));
        }
        let mut notices = Notices::default();
        for s in soft {
            notices.push(0, NoticeKind::BadField, format!("TAPE block: {s}"));
        }
        if flb != 512 && flb != 1024 {
            notices.push(
                84,
                NoticeKind::NonStandard,
                format!("format logical block size {flb} (the specification allows 512 or 1024)"),
            );
        }
        let sfm = match u64::from(tape.soft_filemark_blocks) * 512 {
            0 => flb,
            n => n,
        };
        let (sets, notices) = walk::walk(&reader, len, flb, sfm, &header, notices);
        Ok(Self {
            reader,
            len,
            tape_header: header,
            tape,
            flb_size: flb,
            sets,
            notices,
        })
    }

    /// The length of the `.bkf`.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A positional reader over one file's data (for hashing by streaming).
    pub fn data_reader(&self, data: &DataStream) -> DataReader<'_, R> {
        DataReader {
            r: &self.reader,
            start: data.offset,
            len: data.length,
        }
    }

    /// A file's data, at most `limit + 1` bytes (so a larger file is noticed). When the
    /// whole stream was read and the writer recorded a `CSUM`, the checksum is verified.
    pub fn read_data(&self, data: &DataStream, limit: u64) -> Result<Vec<u8>, ReadError> {
        let want = data.length.min(limit.saturating_add(1));
        let end = data.offset.saturating_add(want);
        if end > self.len {
            return Err(ReadError::Short {
                got: self.len.saturating_sub(data.offset),
                want,
            });
        }
        let mut buf = vec![0u8; usize::try_from(want).map_err(|_| io::Error::other("too large"))?];
        read_exact_at(&self.reader, data.offset, &mut buf)?;
        if let (true, Some(stored)) = (want == data.length, data.checksum) {
            let mut c = DataChecksum::default();
            c.update(&buf);
            if c.value() != stored {
                return Err(ReadError::Checksum {
                    stored,
                    computed: c.value(),
                });
            }
        }
        Ok(buf)
    }
}

/// One file's data inside the `.bkf`, as a positional reader (0 bytes past its end).
pub struct DataReader<'a, R> {
    r: &'a R,
    start: u64,
    len: u64,
}

impl<R: ReadAt> ReadAt for DataReader<'_, R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (self.len - offset).min(buf.len() as u64) as usize;
        let at = self
            .start
            .checked_add(offset)
            .ok_or_else(|| io::Error::other("offset overflows"))?;
        self.r.read_at(&mut buf[..n], at)
    }
}
