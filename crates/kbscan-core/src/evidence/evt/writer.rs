//! A small writer of classic event log files (`.evt`), for tests only. Written from the format
//! description, not from any reader: Microsoft's "Event Log File Format" and the
//! `ELF_LOGFILE_HEADER`, `EVENTLOGRECORD` and `ELF_EOF_RECORD` pages, [MS-EVEN] 2.2.3 (the
//! record's variable part: `SourceName`, `Computername`, `UserSidPadding`, `UserSid`,
//! `Strings`, `Data`, `Padding`, `Length2`) and libyal's "Windows Event Viewer Log (EVT)
//! format". What it writes is read back by libevt's `evtexport` (tests/library/evt.rs,
//! docs/evidence.md, "The event log format").
//!
//! Shared by the unit tests of `evidence::evt` and by tests/library/evt.rs (`#[path]`), so it uses
//! the standard library alone.
#![allow(dead_code)]

/// One event to write.
#[derive(Debug, Clone)]
pub struct Event {
    pub record_number: u32,
    pub time_generated: u32,
    pub time_written: u32,
    pub event_id: u32,
    pub event_type: u16,
    pub category: u16,
    pub source: String,
    pub computer: String,
    /// A binary SID, or empty.
    pub sid: Vec<u8>,
    pub strings: Vec<String>,
    pub data: Vec<u8>,
}

impl Event {
    /// An information event written the second it was generated.
    pub fn new(
        record_number: u32,
        time: u32,
        event_id: u32,
        source: &str,
        strings: &[&str],
    ) -> Self {
        Self {
            record_number,
            time_generated: time,
            time_written: time,
            event_id,
            event_type: 4,
            category: 0,
            source: source.to_owned(),
            computer: "W2K-SERVER1".to_owned(),
            sid: Vec::new(),
            strings: strings.iter().map(|s| (*s).to_owned()).collect(),
            data: Vec::new(),
        }
    }
}

/// `S-1-5-18` (LocalSystem) as binary: revision 1, one sub-authority, authority 5.
pub fn local_system_sid() -> Vec<u8> {
    let mut v = vec![1, 1, 0, 0, 0, 0, 0, 5];
    v.extend_from_slice(&18u32.to_le_bytes());
    v
}

fn utf16z(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16().chain([0]) {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn put32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// One `EVENTLOGRECORD`: the 0x38-byte fixed part, the two names, the SID aligned on 4
/// bytes, the strings, the data, padding to 4 bytes and the length again.
pub fn record(e: &Event) -> Vec<u8> {
    let mut r = vec![0u8; 0x38];
    utf16z(&mut r, &e.source);
    utf16z(&mut r, &e.computer);
    pad4(&mut r);
    let sid_offset = r.len();
    r.extend_from_slice(&e.sid);
    let string_offset = r.len();
    for s in &e.strings {
        utf16z(&mut r, s);
    }
    let data_offset = r.len();
    r.extend_from_slice(&e.data);
    pad4(&mut r);
    let length = (r.len() + 4) as u32;
    r.extend_from_slice(&length.to_le_bytes());
    put32(&mut r, 0x00, length);
    r[0x04..0x08].copy_from_slice(b"LfLe");
    put32(&mut r, 0x08, e.record_number);
    put32(&mut r, 0x0c, e.time_generated);
    put32(&mut r, 0x10, e.time_written);
    put32(&mut r, 0x14, e.event_id);
    put16(&mut r, 0x18, e.event_type);
    put16(&mut r, 0x1a, e.strings.len() as u16);
    put16(&mut r, 0x1c, e.category);
    put16(&mut r, 0x1e, 0); // ReservedFlags
    put32(&mut r, 0x20, 0); // ClosingRecordNumber
    put32(&mut r, 0x24, string_offset as u32);
    put32(&mut r, 0x28, e.sid.len() as u32);
    put32(&mut r, 0x2c, sid_offset as u32);
    put32(&mut r, 0x30, e.data.len() as u32);
    put32(&mut r, 0x34, data_offset as u32);
    r
}

/// `ELF_EOF_RECORD`.
pub fn eof_record(begin: u32, end: u32, current: u32, oldest: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(0x28);
    for x in [
        0x28,
        0x1111_1111,
        0x2222_2222,
        0x3333_3333,
        0x4444_4444,
        begin,
        end,
        current,
        oldest,
        0x28,
    ] {
        v.extend_from_slice(&u32::to_le_bytes(x));
    }
    v
}

pub const DIRTY: u32 = 1;
pub const WRAP: u32 = 2;

/// `ELF_LOGFILE_HEADER`.
pub fn header(
    start: u32,
    end: u32,
    current: u32,
    oldest: u32,
    max_size: u32,
    flags: u32,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(0x30);
    for x in [
        0x30,
        0x654c_664c,
        1,
        1,
        start,
        end,
        current,
        oldest,
        max_size,
        flags,
        0,
        0x30,
    ] {
        v.extend_from_slice(&u32::to_le_bytes(x));
    }
    v
}

/// Writes `bytes` at `pos` of the ring after the header, continuing at 0x30 past the end.
/// Returns the position after them.
fn put_ring(file: &mut [u8], pos: usize, bytes: &[u8]) -> usize {
    let mut p = pos;
    for &b in bytes {
        if p == file.len() {
            p = 0x30;
        }
        file[p] = b;
        p += 1;
    }
    if p == file.len() {
        0x30
    } else {
        p
    }
}

/// Where the writer put things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bytes: Vec<u8>,
    /// Offset of each record.
    pub offsets: Vec<usize>,
    pub eof_at: usize,
}

/// A log of `file_size` bytes holding `events` in order from `first_at` (around the end of
/// the file when they reach it), then the EOF record; the header agrees with it, with `flags`.
pub fn log_at(events: &[Event], file_size: usize, first_at: usize, flags: u32) -> Written {
    let mut file = vec![0u8; file_size];
    let mut pos = first_at;
    let mut offsets = Vec::new();
    for e in events {
        offsets.push(pos);
        pos = put_ring(&mut file, pos, &record(e));
    }
    let eof_at = pos;
    let current = events.last().map_or(1, |e| e.record_number + 1);
    let oldest = events.first().map_or(0, |e| e.record_number);
    let begin = if events.is_empty() { eof_at } else { first_at };
    put_ring(
        &mut file,
        eof_at,
        &eof_record(begin as u32, eof_at as u32, current, oldest),
    );
    let h = header(
        begin as u32,
        eof_at as u32,
        current,
        oldest,
        file_size as u32,
        flags,
    );
    file[..0x30].copy_from_slice(&h);
    Written {
        bytes: file,
        offsets,
        eof_at,
    }
}

/// The records' total size.
pub fn size_of(events: &[Event]) -> usize {
    events.iter().map(|e| record(e).len()).sum()
}

/// A log that has not wrapped: records from just after the header, the EOF record, then
/// 256 bytes of zeros (the unused rest of the file).
pub fn normal(events: &[Event]) -> Written {
    let file_size = 0x30 + size_of(events) + 0x28 + 0x100;
    log_at(events, file_size, 0x30, 0)
}

/// A log that wrapped: the oldest record starts `waste` bytes after the EOF record, and
/// record `split` (an index) is cut by the end of the file, `cut` bytes of it before the end.
pub fn wrapped(events: &[Event], split: usize, cut: usize, waste: usize) -> Written {
    let total = size_of(events) + 0x28 + waste;
    let file_size = 0x30 + total;
    let before: usize = size_of(&events[..split]) + cut;
    let first_at = file_size - before;
    log_at(events, file_size, first_at, WRAP)
}

/// A log open when copied: the header still describes the first `stale` events (DIRTY set),
/// while the file holds all of them and the EOF record after the last.
pub fn dirty(events: &[Event], stale: usize) -> Written {
    let mut w = normal(events);
    let stale_end = 0x30 + size_of(&events[..stale]);
    let current = events[..stale].last().map_or(1, |e| e.record_number + 1);
    let oldest = events.first().map_or(0, |e| e.record_number);
    let h = header(
        0x30,
        stale_end as u32,
        current,
        oldest,
        w.bytes.len() as u32,
        DIRTY,
    );
    w.bytes[..0x30].copy_from_slice(&h);
    w
}
