//! The classic Windows event log file, `.evt` (Windows NT to Server 2003: `SysEvent.Evt`,
//! `AppEvent.Evt`, `SecEvent.Evt` in `%windir%\system32\config`), read from its bytes: a
//! second witness of when an update was installed, and of when the machine booted.
//!
//! Format and sources (docs/evidence.md, "The event log format"): Microsoft's "Event Log
//! File Format", `ELF_LOGFILE_HEADER`, `EVENTLOGRECORD` (winnt.h) and `ELF_EOF_RECORD` pages
//! on learn.microsoft.com, the `EVENTLOGRECORD` layout of [MS-EVEN] 2.2.3 (with
//! `UserSidPadding` and the trailing `Length2`), and Joachim Metz's "Windows Event Viewer Log
//! (EVT) format" (libyal/libevt, `documentation/`), which adds the corruption cases.
//!
//! ```text
//! 0x00  ELF_LOGFILE_HEADER   0x30 bytes, 'LfLe', offsets of the oldest record and the EOF record
//! ....  EVENTLOGRECORD …     Length, 'LfLe', …, strings, data, padding, Length again
//! ....  ELF_EOF_RECORD       0x28 bytes, 0x28 0x11111111 0x22222222 0x33333333 0x44444444 …
//! ```
//!
//! A log that reached its size limit wraps: the records form a ring over the bytes after the
//! header, the oldest one somewhere in the file and one record possibly cut by the end of the
//! file and continued just after the header. The header is only rewritten now and then
//! (`ELF_LOGFILE_HEADER_DIRTY` while the log is open), but the EOF record is rewritten after
//! every event; so the EOF record, not the header, says where the records are, and it is
//! searched for when the header's offset does not lead to it. Without any EOF record (a cut
//! or carved file) the records are found by scanning for their signature.
//!
//! Reading is in two steps: [`EvtFile::open`] checks every record's frame (its length at both
//! ends, its signature, that it lies in the file) and keeps 12 bytes per record;
//! [`EvtFile::records`] decodes each record only when asked, every offset inside it checked
//! against the record. A bad record is a [`Notice`] and the reading goes on. Nothing here
//! panics on any input, and everything is bounded: [`MAX_RECORDS`] records, [`MAX_NOTICES`]
//! notices, [`MAX_STRINGS`] strings of at most [`MAX_STRING_UNITS`] UTF-16 units per record.

use std::borrow::Cow;

use time::OffsetDateTime;

use crate::escape::{escape_bytes, utf16_to_bytes};

/// `ELF_LOG_SIGNATURE`, "LfLe" read as a little-endian u32 (`0x654c664c`).
pub const SIGNATURE: u32 = 0x654c_664c;
const SIGNATURE_BYTES: [u8; 4] = *b"LfLe";
/// `ELF_LOGFILE_HEADER.HeaderSize` and `EndHeaderSize`: always 0x30.
pub const HEADER_SIZE: u32 = 0x30;
/// `ELF_EOF_RECORD.RecordSizeBeginning` and `RecordSizeEnd`: always 0x28.
pub const EOF_RECORD_SIZE: u32 = 0x28;
/// The four constants after the EOF record's size.
const EOF_MARK: [u8; 16] = [
    0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x33, 0x33, 0x33, 0x33, 0x44, 0x44, 0x44, 0x44,
];
/// The fixed part of `EVENTLOGRECORD`, up to `DataOffset` inclusive.
pub const RECORD_FIXED_SIZE: u32 = 0x38;
/// The smallest record read: the fixed part and the trailing copy of `Length`.
pub const MIN_RECORD_SIZE: u32 = RECORD_FIXED_SIZE + 4;

/// `ELF_LOGFILE_HEADER_DIRTY`: the log was open (being written) and the header may be stale.
pub const FLAG_DIRTY: u32 = 0x1;
/// `ELF_LOGFILE_HEADER_WRAP`: the log has wrapped.
pub const FLAG_WRAP: u32 = 0x2;
/// `ELF_LOGFILE_LOGFULL_WRITTEN`: the last write failed because the log was full (libevt).
pub const FLAG_LOGFULL_WRITTEN: u32 = 0x4;
/// `ELF_LOGFILE_ARCHIVE_SET`: the log should be archived (libevt).
pub const FLAG_ARCHIVE_SET: u32 = 0x8;

/// Records located in one file, at most. Each costs 12 bytes until it is decoded; a record
/// is at least 60 bytes, so this is reached only by a log of over 100 MiB.
pub const MAX_RECORDS: usize = 2_000_000;
/// Notices kept for one file; the rest are counted in [`EvtFile::notices_dropped`].
pub const MAX_NOTICES: usize = 256;
/// Strings decoded per record, at most (`NumStrings` is a 16-bit count).
pub const MAX_STRINGS: usize = 256;
/// UTF-16 units kept per string: `ReportEvent` limits each insertion string to 32K
/// characters before Windows Vista (31,839 after).
pub const MAX_STRING_UNITS: usize = 32 * 1024;
/// UTF-16 units kept for the source and computer names.
pub const MAX_NAME_UNITS: usize = 1024;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A time in the log: seconds since 1970-01-01 00:00:00 UTC, unsigned 32-bit
/// (`EVENTLOGRECORD.TimeGenerated`, `TimeWritten`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvtTime(pub u32);

impl EvtTime {
    pub fn unix_seconds(self) -> i64 {
        i64::from(self.0)
    }

    /// Every u32 is a valid time (1970 to 2106), so this cannot fail.
    pub fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(self.unix_seconds())
    }

    pub fn timestamp(self) -> crate::model::time::Timestamp {
        crate::model::time::Timestamp::from_unix_secs(self.unix_seconds())
    }
}

/// `EVENTLOGRECORD.EventID`: the full 32 bits (severity, customer bit, facility, code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub u32);

impl EventId {
    /// The low 16 bits, the number Event Viewer shows (libevt: "Code").
    pub fn code(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

/// `EVENTLOGRECORD.EventType` (values from the `ReportEvent` page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `EVENTLOG_SUCCESS`, 0.
    Success,
    /// `EVENTLOG_ERROR_TYPE`, 1.
    Error,
    /// `EVENTLOG_WARNING_TYPE`, 2.
    Warning,
    /// `EVENTLOG_INFORMATION_TYPE`, 4.
    Information,
    /// `EVENTLOG_AUDIT_SUCCESS`, 8.
    AuditSuccess,
    /// `EVENTLOG_AUDIT_FAILURE`, 0x10.
    AuditFailure,
    Other(u16),
}

impl EventType {
    pub fn from_raw(v: u16) -> Self {
        match v {
            0 => Self::Success,
            1 => Self::Error,
            2 => Self::Warning,
            4 => Self::Information,
            8 => Self::AuditSuccess,
            0x10 => Self::AuditFailure,
            o => Self::Other(o),
        }
    }
}

/// UTF-16 text from the log, kept as its code units: nothing is lost (an unpaired surrogate
/// stays one). [`WideText::escaped`] is the lossless, terminal-safe form of
/// `crate::escape` for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WideText(pub Vec<u16>);

impl WideText {
    pub fn units(&self) -> &[u16] {
        &self.0
    }

    /// Generalized UTF-8 (valid UTF-8 unless the text holds an unpaired surrogate).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len());
        utf16_to_bytes(self.0.iter().copied(), &mut out);
        out
    }

    /// The escaped form (`\xNN`, `\u{…}`), reversible with `escape::unescape`.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.to_bytes())
    }

    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(&self.0)
    }

    /// Whether the text equals `ascii`, ignoring ASCII case.
    pub fn eq_ascii_ci(&self, ascii: &str) -> bool {
        self.0.len() == ascii.len()
            && self
                .0
                .iter()
                .zip(ascii.bytes())
                .all(|(&u, b)| u < 0x80 && (u as u8).eq_ignore_ascii_case(&b))
    }
}

impl std::fmt::Display for WideText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.escaped())
    }
}

/// Why the first 0x30 bytes are not a header kbscan trusts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file of {len} bytes is shorter than the 48-byte header")]
    TooShort { len: usize },
    #[error("no 'LfLe' signature at offset 4 (found {found:#010x})")]
    BadSignature { found: u32 },
    #[error("header sizes {header_size:#x} and {end_header_size:#x}, not 0x30")]
    BadSize {
        header_size: u32,
        end_header_size: u32,
    },
    #[error("format version {major}.{minor}, not 1.1")]
    UnknownVersion { major: u32, minor: u32 },
}

/// `ELF_LOGFILE_HEADER`, validated: size 0x30 at both ends, signature, version 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Offset of the oldest record.
    pub start_offset: u32,
    /// Offset of the EOF record.
    pub end_offset: u32,
    /// The number the next record will get.
    pub current_record_number: u32,
    /// The oldest record's number; 0 in an empty log.
    pub oldest_record_number: u32,
    pub max_size: u32,
    pub flags: u32,
    pub retention: u32,
}

impl Header {
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let f = |i: usize| u32_at(bytes, i * 4);
        let (
            Some(size),
            Some(sig),
            Some(major),
            Some(minor),
            Some(start),
            Some(end),
            Some(current),
            Some(oldest),
            Some(max),
            Some(flags),
            Some(retention),
            Some(end_size),
        ) = (
            f(0),
            f(1),
            f(2),
            f(3),
            f(4),
            f(5),
            f(6),
            f(7),
            f(8),
            f(9),
            f(10),
            f(11),
        )
        else {
            return Err(HeaderError::TooShort { len: bytes.len() });
        };
        if sig != SIGNATURE {
            return Err(HeaderError::BadSignature { found: sig });
        }
        if size != HEADER_SIZE || end_size != HEADER_SIZE {
            return Err(HeaderError::BadSize {
                header_size: size,
                end_header_size: end_size,
            });
        }
        if (major, minor) != (1, 1) {
            return Err(HeaderError::UnknownVersion { major, minor });
        }
        Ok(Self {
            start_offset: start,
            end_offset: end,
            current_record_number: current,
            oldest_record_number: oldest,
            max_size: max,
            flags,
            retention,
        })
    }

    pub fn dirty(&self) -> bool {
        self.flags & FLAG_DIRTY != 0
    }

    pub fn wrapped(&self) -> bool {
        self.flags & FLAG_WRAP != 0
    }
}

/// `ELF_EOF_RECORD`, validated (sizes 0x28 at both ends and the four constants), with where
/// it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EofRecord {
    pub offset: u32,
    /// `BeginRecord`: offset of the oldest record (this record's own offset when empty).
    pub begin_record: u32,
    /// `EndRecord`: this record's offset, as the log recorded it.
    pub end_record: u32,
    pub current_record_number: u32,
    pub oldest_record_number: u32,
}

impl EofRecord {
    fn parse(b: &[u8], offset: u32) -> Option<Self> {
        if b.len() < EOF_RECORD_SIZE as usize
            || u32_at(b, 0)? != EOF_RECORD_SIZE
            || b.get(4..20)? != EOF_MARK
            || u32_at(b, 36)? != EOF_RECORD_SIZE
        {
            return None;
        }
        Some(Self {
            offset,
            begin_record: u32_at(b, 20)?,
            end_record: u32_at(b, 24)?,
            current_record_number: u32_at(b, 28)?,
            oldest_record_number: u32_at(b, 32)?,
        })
    }
}

/// Why a record's frame is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("length {length} is less than the 60 bytes of a record")]
    TooShort { length: u32 },
    #[error("no 'LfLe' signature at offset 4 of the record (found {found:#010x})")]
    BadSignature { found: u32 },
    #[error("length {length} at the start but {trailing} at the end")]
    LengthMismatch { length: u32, trailing: u32 },
    #[error("length {length} but only {available} bytes are left in the file: the record is cut")]
    Truncated { length: u32, available: u32 },
    #[error("length {length} runs past the end-of-file record ({room} bytes before it)")]
    PastEof { length: u32, room: u32 },
}

/// How the records were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// From the oldest record to the EOF record, following each record's length (and around
    /// the end of the file when the log wrapped).
    Walked {
        from: u32,
        eof_at: u32,
        /// The EOF record was where the header said (false: found by searching the file).
        eof_from_header: bool,
    },
    /// No EOF record: every place holding a record signature was tried; the records are in
    /// record-number order.
    Scanned,
}

/// Something in the file that is not as the format says; reading went on past it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Notice {
    #[error("header: {0}; the records are found by scanning the whole file")]
    Header(HeaderError),
    #[error("header offsets (oldest record {start:#x}, end-of-file record {end:#x}) are not current: the end-of-file record is at {eof_at:#x}")]
    HeaderNotCurrent { start: u32, end: u32, eof_at: u32 },
    #[error("{count} end-of-file records; the one with the highest record number ({chosen_at:#x}) is used")]
    SeveralEofRecords { count: usize, chosen_at: u32 },
    #[error("end-of-file record at {offset:#x} says it is at {says:#x}")]
    EofMisplaced { offset: u32, says: u32 },
    #[error("end-of-file record at {offset:#x} names {begin:#x} as the oldest record, outside the file; the records are found by scanning")]
    EofBeginOutside { offset: u32, begin: u32 },
    #[error(
        "no end-of-file record: the records are found by scanning the file (a cut or damaged log)"
    )]
    NoEofRecord,
    #[error("record at {offset:#x}: {error}")]
    Record { offset: u32, error: RecordError },
    #[error("{bytes} bytes from {offset:#x} hold no record")]
    Gap { offset: u32, bytes: u32 },
    #[error("record number {found} at {offset:#x} follows {previous}")]
    NumberGap {
        offset: u32,
        previous: u32,
        found: u32,
    },
    #[error("a record at {offset:#x} would overlap another; not read")]
    Overlap { offset: u32 },
    #[error("more than {MAX_RECORDS} records; the rest are not read")]
    TooManyRecords,
}

/// A record whose frame checked out: where it is and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Located {
    offset: u32,
    length: u32,
    record_number: u32,
}

/// Something inside one record that is not as the format says; what could be read is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIssue {
    #[error("source name has no terminating NUL")]
    UnterminatedSource,
    #[error("computer name has no terminating NUL")]
    UnterminatedComputer,
    #[error("a name longer than {MAX_NAME_UNITS} characters was cut")]
    NameCut,
    #[error("StringOffset {offset:#x} is outside the record")]
    StringsOutside { offset: u32 },
    #[error("NumStrings says {declared}, {found} found")]
    StringsMissing { declared: u16, found: usize },
    #[error("string {index} has no terminating NUL")]
    UnterminatedString { index: usize },
    #[error("string {index} longer than {MAX_STRING_UNITS} characters was cut")]
    StringCut { index: usize },
    #[error("NumStrings says {declared}; only the first {MAX_STRINGS} are read")]
    TooManyStrings { declared: u16 },
    #[error("user SID ({length} bytes at {offset:#x}) is outside the record or not a SID")]
    BadSid { offset: u32, length: u32 },
    #[error("data ({length} bytes at {offset:#x}) is outside the record")]
    DataOutside { offset: u32, length: u32 },
}

/// One event record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts in the file.
    pub offset: u32,
    /// `Length`, padding included.
    pub length: u32,
    /// The record continues after the header: the log wrapped inside it.
    pub wraps: bool,
    pub record_number: u32,
    /// When the event was reported (`TimeGenerated`).
    pub time_generated: EvtTime,
    /// When the service wrote it (`TimeWritten`).
    pub time_written: EvtTime,
    pub event_id: EventId,
    pub event_type: EventType,
    pub category: u16,
    pub source: WideText,
    pub computer: WideText,
    /// The user's SID as `S-1-…`, when the record has one.
    pub user_sid: Option<String>,
    pub strings: Vec<WideText>,
    /// `NumStrings` as written.
    pub num_strings: u16,
    /// `DataLength` as written.
    pub data_length: u32,
    pub issues: Vec<RecordIssue>,
}

/// The bytes after the header as the ring the log writes into, or (without a trusted
/// header) as plain bytes.
#[derive(Clone, Copy)]
struct Ring<'a> {
    bytes: &'a [u8],
    start: u32,
    end: u32,
    circular: bool,
}

impl<'a> Ring<'a> {
    fn size(&self) -> u32 {
        self.end - self.start
    }

    fn contains(&self, pos: u32) -> bool {
        (self.start..self.end).contains(&pos)
    }

    /// `n` bytes from `pos`, continuing after the header past the end of the file when the
    /// log is a ring. `None` when they are not all in the file.
    fn read(&self, pos: u32, n: u32) -> Option<Cow<'a, [u8]>> {
        if !self.contains(pos) {
            return None;
        }
        let first = self.end - pos;
        if n <= first {
            let p = pos as usize;
            return self.bytes.get(p..p + n as usize).map(Cow::Borrowed);
        }
        if !self.circular || n > self.size() {
            return None;
        }
        let rest = (n - first) as usize;
        let s = self.start as usize;
        let mut v = Vec::with_capacity(n as usize);
        v.extend_from_slice(self.bytes.get(pos as usize..self.end as usize)?);
        v.extend_from_slice(self.bytes.get(s..s + rest)?);
        Some(Cow::Owned(v))
    }

    /// `pos` moved forward by `n` (less than the ring's size), around the end when circular.
    fn advance(&self, pos: u32, n: u32) -> u32 {
        let to_end = self.end.saturating_sub(pos);
        if n < to_end {
            pos + n
        } else if self.circular {
            self.start + (n - to_end)
        } else {
            self.end
        }
    }

    /// Bytes from `from` forward to `to` (around the end when circular).
    fn distance(&self, from: u32, to: u32) -> u32 {
        if to >= from {
            to - from
        } else if self.circular {
            (self.end - from) + to.saturating_sub(self.start)
        } else {
            0
        }
    }

    /// Bytes a record starting at `pos` may occupy when nothing else limits it.
    fn room(&self, pos: u32) -> u32 {
        if self.circular {
            self.size()
        } else {
            self.end.saturating_sub(pos)
        }
    }

    /// Checks the frame of a record at `pos` that must fit in `room` bytes.
    fn frame(&self, pos: u32, room: u32, past_eof: bool) -> Result<Located, RecordError> {
        let cut = |length| RecordError::Truncated {
            length,
            available: self.room(pos).min(room),
        };
        let Some(head) = self.read(pos, 12) else {
            let length = self.read(pos, 4).and_then(|b| u32_at(&b, 0)).unwrap_or(0);
            return Err(cut(length));
        };
        let length = u32_at(&head, 0).unwrap_or(0);
        let sig = u32_at(&head, 4).unwrap_or(0);
        let record_number = u32_at(&head, 8).unwrap_or(0);
        if sig != SIGNATURE {
            return Err(RecordError::BadSignature { found: sig });
        }
        if length < MIN_RECORD_SIZE {
            return Err(RecordError::TooShort { length });
        }
        if length > room {
            return Err(if past_eof && length <= self.room(pos) {
                RecordError::PastEof { length, room }
            } else {
                cut(length)
            });
        }
        let tail = self
            .read(self.advance(pos, length - 4), 4)
            .ok_or_else(|| cut(length))?;
        let trailing = u32_at(&tail, 0).unwrap_or(0);
        if trailing != length {
            // Past the end of the file and not ending after the header: a cut record.
            if u64::from(pos) + u64::from(length) > u64::from(self.end) {
                return Err(RecordError::Truncated {
                    length,
                    available: self.end.saturating_sub(pos),
                });
            }
            return Err(RecordError::LengthMismatch { length, trailing });
        }
        Ok(Located {
            offset: pos,
            length,
            record_number,
        })
    }

    /// The first record start `q` after `from`, less than `within` bytes on (around the end
    /// of the file when circular), whose 4 bytes at `q + 4` are the signature.
    fn next_signature(&self, from: u32, within: u32) -> Option<u32> {
        let within = within.min(self.size());
        let mut d = 1u32;
        while d < within {
            let q = self.advance(from, d);
            if !self.contains(q) {
                return None;
            }
            let to_end = self.end - q;
            // Candidates q, q + 1, … before the end of the file.
            let n = (within - d).min(to_end);
            // Those whose length and signature lie wholly before the end: one search.
            let fast = n.min(to_end.saturating_sub(7));
            if fast > 0 {
                let s = (q + 4) as usize;
                let hay = self.bytes.get(s..s + fast as usize + 3)?;
                if let Some(i) = find(hay, &SIGNATURE_BYTES) {
                    return Some(q + i as u32);
                }
            }
            // The last few, whose signature reaches past the end (read around it).
            for c in (q + fast)..(q + n) {
                let at = self.advance(c, 4);
                if self.contains(at) && self.read(at, 4).is_some_and(|sig| *sig == SIGNATURE_BYTES)
                {
                    return Some(c);
                }
            }
            if !self.circular {
                return None;
            }
            d += n;
        }
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An event log file: its header and EOF record when they are usable, where each record
/// lies, and what was wrong. Records are decoded by [`EvtFile::records`].
pub struct EvtFile<'a> {
    ring: Ring<'a>,
    pub header: Option<Header>,
    pub eof: Option<EofRecord>,
    pub mode: ReadMode,
    located: Vec<Located>,
    pub notices: Vec<Notice>,
    pub notices_dropped: usize,
}

struct Notes {
    kept: Vec<Notice>,
    dropped: usize,
}

impl Notes {
    fn push(&mut self, n: Notice) {
        if self.kept.len() < MAX_NOTICES {
            self.kept.push(n);
        } else {
            self.dropped += 1;
        }
    }
}

impl<'a> EvtFile<'a> {
    /// Reads the file's structure. Never fails: what cannot be read is a [`Notice`].
    pub fn open(bytes: &'a [u8]) -> Self {
        let end = bytes.len().min(u32::MAX as usize) as u32;
        let mut notes = Notes {
            kept: Vec::new(),
            dropped: 0,
        };
        let header = match Header::parse(bytes) {
            Ok(h) => Some(h),
            Err(e) => {
                notes.push(Notice::Header(e));
                None
            }
        };
        let ring = match header {
            Some(_) if end > HEADER_SIZE => Ring {
                bytes,
                start: HEADER_SIZE,
                end,
                circular: true,
            },
            _ => Ring {
                bytes,
                start: 0,
                end,
                circular: false,
            },
        };
        let eof = header.and_then(|h| find_eof(ring, h, &mut notes));
        let mut file = Self {
            ring,
            header,
            eof: eof.map(|(e, _)| e),
            mode: ReadMode::Scanned,
            located: Vec::new(),
            notices: Vec::new(),
            notices_dropped: 0,
        };
        match eof {
            Some((e, from_header)) if ring.contains(e.begin_record) => {
                file.mode = ReadMode::Walked {
                    from: e.begin_record,
                    eof_at: e.offset,
                    eof_from_header: from_header,
                };
                file.walk(e.begin_record, e.offset, &mut notes);
            }
            Some((e, _)) => {
                notes.push(Notice::EofBeginOutside {
                    offset: e.offset,
                    begin: e.begin_record,
                });
                file.scan(&mut notes);
            }
            None => {
                if header.is_some() {
                    notes.push(Notice::NoEofRecord);
                }
                file.scan(&mut notes);
            }
        }
        file.notices = notes.kept;
        file.notices_dropped = notes.dropped;
        file
    }

    /// Follows the records from the oldest to the EOF record.
    fn walk(&mut self, from: u32, eof_at: u32, notes: &mut Notes) {
        let ring = self.ring;
        let mut pos = from;
        // Every step moves forward, and never further than the EOF record: the walk ends.
        let mut previous: Option<u32> = None;
        while pos != eof_at {
            let room = ring.distance(pos, eof_at);
            match ring.frame(pos, room, true) {
                Ok(l) => {
                    if let Some(p) = previous {
                        if l.record_number != p.wrapping_add(1) {
                            notes.push(Notice::NumberGap {
                                offset: pos,
                                previous: p,
                                found: l.record_number,
                            });
                        }
                    }
                    previous = Some(l.record_number);
                    if !self.keep(l, notes) {
                        return;
                    }
                    pos = ring.advance(pos, l.length);
                }
                Err(error) => {
                    notes.push(Notice::Record { offset: pos, error });
                    let next = self.resync(pos, room);
                    let skipped = match next {
                        Some(q) => ring.distance(pos, q),
                        None => room,
                    };
                    notes.push(Notice::Gap {
                        offset: pos,
                        bytes: skipped,
                    });
                    match next {
                        Some(q) => pos = q,
                        None => return,
                    }
                }
            }
        }
    }

    /// The next place after `pos`, within `room` bytes, where a whole record lies.
    fn resync(&self, pos: u32, room: u32) -> Option<u32> {
        let ring = self.ring;
        let mut from = pos;
        let mut left = room;
        while let Some(q) = ring.next_signature(from, left) {
            let used = ring.distance(from, q);
            if used == 0 || used >= left {
                return None;
            }
            left -= used;
            if ring.frame(q, left, true).is_ok() {
                return Some(q);
            }
            from = q;
        }
        None
    }

    /// Tries every signature in the file; keeps the records whose frame checks out.
    fn scan(&mut self, notes: &mut Notes) {
        let ring = self.ring;
        let bytes = ring.bytes;
        let mut next_free = ring.start;
        let mut search = ring.start as usize + 4;
        let end = ring.end as usize;
        while search + 4 <= end {
            let Some(i) = bytes
                .get(search..end)
                .and_then(|s| find(s, &SIGNATURE_BYTES))
            else {
                break;
            };
            let sig_at = search + i;
            search = sig_at + 1;
            let pos = (sig_at - 4) as u32;
            // Before the first record, or the damaged header (already a notice).
            if pos < next_free || (pos == 0 && u32_at(bytes, 0) == Some(HEADER_SIZE)) {
                continue;
            }
            match ring.frame(pos, ring.room(pos), false) {
                Ok(l) => {
                    let wraps_to = (u64::from(pos) + u64::from(l.length))
                        .checked_sub(u64::from(ring.end))
                        .map(|over| u64::from(ring.start) + over);
                    if let Some(w) = wraps_to {
                        // Its continuation after the header must not be another record.
                        if self
                            .located
                            .first()
                            .is_some_and(|f| u64::from(f.offset) < w)
                        {
                            notes.push(Notice::Overlap { offset: pos });
                            continue;
                        }
                    }
                    if !self.keep(l, notes) {
                        return;
                    }
                    next_free = pos.saturating_add(l.length);
                    search = (next_free as usize).saturating_add(4).max(search);
                }
                Err(error) => notes.push(Notice::Record { offset: pos, error }),
            }
        }
        // The last few places, whose signature lies past the end of the file (after the
        // header) when the log wrapped inside a record's first 8 bytes.
        if ring.circular {
            let from = ring.end.saturating_sub(7).max(next_free).max(ring.start);
            for pos in from..ring.end {
                if let Ok(l) = ring.frame(pos, ring.size(), false) {
                    let wraps_to = u64::from(ring.start)
                        + (u64::from(pos) + u64::from(l.length))
                            .saturating_sub(u64::from(ring.end));
                    if self
                        .located
                        .first()
                        .is_some_and(|f| u64::from(f.offset) < wraps_to)
                    {
                        notes.push(Notice::Overlap { offset: pos });
                    } else {
                        self.keep(l, notes);
                    }
                    break;
                }
            }
        }
        self.located.sort_by_key(|l| l.record_number);
    }

    fn keep(&mut self, l: Located, notes: &mut Notes) -> bool {
        if self.located.len() >= MAX_RECORDS {
            notes.push(Notice::TooManyRecords);
            return false;
        }
        self.located.push(l);
        true
    }

    /// How many records were found.
    pub fn len(&self) -> usize {
        self.located.len()
    }

    pub fn is_empty(&self) -> bool {
        self.located.is_empty()
    }

    /// The records, oldest first, each decoded when reached.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.located.iter().map(move |l| self.decode(*l))
    }

    fn decode(&self, l: Located) -> Record {
        let buf = self.ring.read(l.offset, l.length).unwrap_or_default();
        let mut r = decode_record(&buf, l.offset);
        r.wraps = u64::from(l.offset) + u64::from(l.length) > u64::from(self.ring.end);
        r
    }
}

/// The EOF record: where the header says when the header is clean and it is there, else the
/// one found by searching the file (the header of an open log is not current).
fn find_eof(ring: Ring<'_>, h: Header, notes: &mut Notes) -> Option<(EofRecord, bool)> {
    let at = |pos: u32| {
        ring.read(pos, EOF_RECORD_SIZE)
            .and_then(|b| EofRecord::parse(&b, pos))
    };
    if !h.dirty() {
        if let Some(e) = at(h.end_offset) {
            check_eof(&e, notes);
            if e.begin_record != h.start_offset {
                notes.push(Notice::HeaderNotCurrent {
                    start: h.start_offset,
                    end: h.end_offset,
                    eof_at: e.offset,
                });
            }
            return Some((e, true));
        }
    }
    let mut found: Vec<EofRecord> = Vec::new();
    let bytes = ring.bytes;
    let mut search = ring.start as usize + 4;
    let end = ring.end as usize;
    while let Some(i) = bytes.get(search..end).and_then(|s| find(s, &EOF_MARK)) {
        let pos = search + i - 4;
        search += i + 1;
        // Those reaching past the end of the file are read around it below.
        if pos + EOF_RECORD_SIZE as usize > end {
            break;
        }
        if let Some(e) = at(pos as u32) {
            if found.len() < MAX_NOTICES {
                found.push(e);
            }
        }
    }
    // An EOF record cut by the end of the file and continued after the header.
    let tail_from = ring.end.saturating_sub(EOF_RECORD_SIZE - 1).max(ring.start);
    for pos in tail_from..ring.end {
        if let Some(e) = at(pos) {
            found.push(e);
        }
    }
    let count = found.len();
    let chosen = found
        .into_iter()
        .rev()
        .max_by_key(|e| e.current_record_number)?;
    if count > 1 {
        notes.push(Notice::SeveralEofRecords {
            count,
            chosen_at: chosen.offset,
        });
    }
    check_eof(&chosen, notes);
    if (h.start_offset, h.end_offset) != (chosen.begin_record, chosen.offset) {
        notes.push(Notice::HeaderNotCurrent {
            start: h.start_offset,
            end: h.end_offset,
            eof_at: chosen.offset,
        });
    }
    Some((chosen, false))
}

fn check_eof(e: &EofRecord, notes: &mut Notes) {
    if e.end_record != e.offset {
        notes.push(Notice::EofMisplaced {
            offset: e.offset,
            says: e.end_record,
        });
    }
}

/// UTF-16LE from `at` up to a NUL or `end`: the units (at most `cap` kept), the position
/// after the NUL (or `end`), whether a NUL ended it and whether units were dropped.
fn utf16z(b: &[u8], at: usize, end: usize, cap: usize) -> (WideText, usize, bool, bool) {
    let end = end.min(b.len());
    let mut units = Vec::new();
    let mut i = at;
    let mut cut = false;
    while i + 2 <= end {
        let u = u16::from_le_bytes([b[i], b[i + 1]]);
        i += 2;
        if u == 0 {
            return (WideText(units), i, true, cut);
        }
        if units.len() < cap {
            units.push(u);
        } else {
            cut = true;
        }
    }
    (WideText(units), end, false, cut)
}

/// `S-1-5-18` from a binary SID, when `b` is exactly one.
fn sid_string(b: &[u8]) -> Option<String> {
    let revision = *b.first()?;
    let count = usize::from(*b.get(1)?);
    if revision != 1 || count > 15 || b.len() != 8 + 4 * count {
        return None;
    }
    let auth = b[2..8].iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let mut s = format!("S-1-{auth}");
    for i in 0..count {
        s.push_str(&format!("-{}", u32_at(b, 8 + 4 * i)?));
    }
    Some(s)
}

/// Decodes one record whose frame was checked (`b` is exactly `Length` bytes). Each offset
/// inside is checked against the record; what is out of place is an issue.
fn decode_record(b: &[u8], offset: u32) -> Record {
    let f32 = |at| u32_at(b, at).unwrap_or(0);
    let f16 = |at| u16_at(b, at).unwrap_or(0);
    let length = b.len();
    let fixed = RECORD_FIXED_SIZE as usize;
    let var_end = length.saturating_sub(4).max(fixed);
    let mut issues = Vec::new();

    let (source, after_source, term, cut1) = utf16z(b, fixed, var_end, MAX_NAME_UNITS);
    if !term {
        issues.push(RecordIssue::UnterminatedSource);
    }
    let (computer, _, term, cut2) = utf16z(b, after_source, var_end, MAX_NAME_UNITS);
    if !term {
        issues.push(RecordIssue::UnterminatedComputer);
    }
    if cut1 || cut2 {
        issues.push(RecordIssue::NameCut);
    }

    let inside = |off: u32, len: u32| -> Option<std::ops::Range<usize>> {
        let s = off as usize;
        let e = s.checked_add(len as usize)?;
        (s >= fixed && e <= var_end).then_some(s..e)
    };

    let (sid_len, sid_off) = (f32(0x28), f32(0x2c));
    let user_sid = if sid_len == 0 {
        None
    } else {
        let sid = inside(sid_off, sid_len).and_then(|r| sid_string(&b[r]));
        if sid.is_none() {
            issues.push(RecordIssue::BadSid {
                offset: sid_off,
                length: sid_len,
            });
        }
        sid
    };

    let (data_len, data_off) = (f32(0x30), f32(0x34));
    if data_len > 0 && inside(data_off, data_len).is_none() {
        issues.push(RecordIssue::DataOutside {
            offset: data_off,
            length: data_len,
        });
    }

    let num_strings = f16(0x1a);
    let string_offset = f32(0x24);
    let mut strings = Vec::new();
    if num_strings > 0 {
        let so = string_offset as usize;
        if so < fixed || so > var_end {
            issues.push(RecordIssue::StringsOutside {
                offset: string_offset,
            });
        } else {
            // The strings end where the data starts, when the data lies after them.
            let strings_end = match inside(data_off, data_len) {
                Some(r) if data_len > 0 && r.start >= so => r.start,
                _ => var_end,
            };
            let mut p = so;
            let wanted = usize::from(num_strings).min(MAX_STRINGS);
            while strings.len() < wanted && p < strings_end {
                let index = strings.len();
                let (s, next, term, cut) = utf16z(b, p, strings_end, MAX_STRING_UNITS);
                strings.push(s);
                if cut {
                    issues.push(RecordIssue::StringCut { index });
                }
                if !term {
                    issues.push(RecordIssue::UnterminatedString { index });
                    break;
                }
                p = next;
            }
            if usize::from(num_strings) > MAX_STRINGS {
                issues.push(RecordIssue::TooManyStrings {
                    declared: num_strings,
                });
            } else if strings.len() < usize::from(num_strings) {
                issues.push(RecordIssue::StringsMissing {
                    declared: num_strings,
                    found: strings.len(),
                });
            }
        }
    }

    Record {
        offset,
        length: length as u32,
        wraps: false,
        record_number: f32(8),
        time_generated: EvtTime(f32(12)),
        time_written: EvtTime(f32(16)),
        event_id: EventId(f32(20)),
        event_type: EventType::from_raw(f16(24)),
        category: f16(28),
        source,
        computer,
        user_sid,
        strings,
        num_strings,
        data_length: data_len,
        issues,
    }
}

/// A Knowledge Base article number, the name of an update (`KB832359`); Windows 2000
/// hotfixes before 2003 used the same number as `Q832359` (KB 300039: `HotFix\Qnnnnnn`,
/// "the Microsoft Knowledge Base article number").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KbId(u32);

impl KbId {
    /// `KB832359`, `kb832359`, `Q832359` or `832359`: one to eight digits.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        let b = t.as_bytes();
        let digits = match b {
            [k, x, rest @ ..] if k.eq_ignore_ascii_case(&b'k') && x.eq_ignore_ascii_case(&b'b') => {
                rest
            }
            [q, rest @ ..] if q.eq_ignore_ascii_case(&b'q') => rest,
            _ => b,
        };
        if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(Self(
            digits.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')),
        ))
    }

    pub fn number(self) -> u32 {
        self.0
    }

    /// Whether `text` names this article as `KB<number>` or `Q<number>` (any case), not as
    /// part of a longer number or word: `KB8323590` and `AQ832359` do not.
    pub fn named_in(self, text: &WideText) -> bool {
        let digits: Vec<u16> = self.0.to_string().encode_utf16().collect();
        let u = text.units();
        let is = |i: usize, c: u8| {
            u.get(i)
                .is_some_and(|&x| x < 0x80 && (x as u8).eq_ignore_ascii_case(&c))
        };
        let alnum = |i: usize| {
            u.get(i)
                .is_some_and(|&x| x < 0x80 && (x as u8).is_ascii_alphanumeric())
        };
        let digit = |i: usize| {
            u.get(i)
                .is_some_and(|&x| x < 0x80 && (x as u8).is_ascii_digit())
        };
        for i in 0..u.len() {
            // `KB` may follow anything (`$NtUninstallKB832359$`); the one letter `Q` only a
            // non-alphanumeric.
            let prefix = if is(i, b'k') && is(i + 1, b'b') {
                2
            } else if is(i, b'q') && !(i > 0 && alnum(i - 1)) {
                1
            } else {
                continue;
            };
            let d = i + prefix;
            // Leading zeros are not written in article numbers; `KB0832359` is another name.
            if u.get(d..d + digits.len()) == Some(&digits[..]) && !digit(d + digits.len()) {
                return true;
            }
        }
        false
    }
}

impl std::fmt::Display for KbId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KB{}", self.0)
    }
}

/// A record one of whose strings names the update. No event ID that Windows 2000's update
/// installer (update.exe) writes could be sourced from Microsoft's documentation, so a
/// mention is not read as an install or an uninstall: it says the log named the update at
/// that time, with the record's source and ID for the examiner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbMention {
    pub record_number: u32,
    pub offset: u32,
    pub time_generated: EvtTime,
    pub time_written: EvtTime,
    pub source: WideText,
    pub event_id: EventId,
    pub event_type: EventType,
    /// The first string naming the update, and its index among the record's strings.
    pub string_index: usize,
    pub text: WideText,
}

/// The event log service's own events in the System log (KB 196452, "Why Windows NT Reports
/// 6005, 6006, 6008, and 6009 Event Log Entries"; logged since Windows NT 4.0 SP4, and by
/// Windows 2000: KB 326564 shows its 6008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceEventKind {
    /// 6005, "The Event log service was started": at boot.
    Started,
    /// 6006, "The Event log service was stopped": a clean shutdown.
    Stopped,
    /// 6008, "The previous system shutdown … was unexpected", logged at the next boot.
    UnexpectedShutdown,
    /// 6009, at every boot: the operating system's version, build and service pack.
    OsVersion,
}

impl ServiceEventKind {
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            6005 => Some(Self::Started),
            6006 => Some(Self::Stopped),
            6008 => Some(Self::UnexpectedShutdown),
            6009 => Some(Self::OsVersion),
            _ => None,
        }
    }

    /// Whether the event is logged as the system boots.
    pub fn at_boot(self) -> bool {
        matches!(
            self,
            Self::Started | Self::UnexpectedShutdown | Self::OsVersion
        )
    }
}

/// One of the event log service's own events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    pub kind: ServiceEventKind,
    pub record_number: u32,
    pub time_generated: EvtTime,
    pub time_written: EvtTime,
    /// The insertion strings as written (6009: version, build, service pack, kernel).
    pub strings: Vec<WideText>,
}

/// Mentions kept per file.
pub const MAX_MENTIONS: usize = 256;
/// Service events kept per file (a machine booted daily for ten years logs ~11,000).
pub const MAX_SERVICE_EVENTS: usize = 16_384;

/// What one log says about an update and about the machine's boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbEvidence {
    pub kb: KbId,
    pub mentions: Vec<KbMention>,
    pub service_events: Vec<ServiceEvent>,
    /// A bound stopped the collection (mentions or service events).
    pub truncated: bool,
}

impl KbEvidence {
    /// The boots: 6005 and 6009 (and 6008, logged at the boot after a crash), oldest first.
    pub fn boots(&self) -> impl Iterator<Item = &ServiceEvent> {
        self.service_events.iter().filter(|e| e.kind.at_boot())
    }
}

/// Whether a record's source is the event log service. Its events carry the source
/// `EventLog`; Microsoft's articles write it "Event Log", so case and spaces are ignored.
fn is_event_log_source(s: &WideText) -> bool {
    let compact: Vec<u16> = s
        .units()
        .iter()
        .copied()
        .filter(|&u| u != u16::from(b' '))
        .collect();
    WideText(compact).eq_ascii_ci("eventlog")
}

/// The records of `file` that name `kb` in a string, and the event log service's events.
pub fn kb_evidence(file: &EvtFile<'_>, kb: KbId) -> KbEvidence {
    let mut out = KbEvidence {
        kb,
        mentions: Vec::new(),
        service_events: Vec::new(),
        truncated: false,
    };
    for r in file.records() {
        if let Some(kind) = ServiceEventKind::from_code(r.event_id.code()) {
            if is_event_log_source(&r.source) {
                if out.service_events.len() < MAX_SERVICE_EVENTS {
                    out.service_events.push(ServiceEvent {
                        kind,
                        record_number: r.record_number,
                        time_generated: r.time_generated,
                        time_written: r.time_written,
                        strings: r.strings.clone(),
                    });
                } else {
                    out.truncated = true;
                }
            }
        }
        if let Some((string_index, text)) =
            r.strings.iter().enumerate().find(|(_, s)| kb.named_in(s))
        {
            if out.mentions.len() < MAX_MENTIONS {
                out.mentions.push(KbMention {
                    record_number: r.record_number,
                    offset: r.offset,
                    time_generated: r.time_generated,
                    time_written: r.time_written,
                    source: r.source.clone(),
                    event_id: r.event_id,
                    event_type: r.event_type,
                    string_index,
                    text: text.clone(),
                });
            } else {
                out.truncated = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod writer;
