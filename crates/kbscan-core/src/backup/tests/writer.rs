//! A small Microsoft Tape Format 1.00a writer for the tests, written from the specification
//! (the sections named on each piece), not from any reader. It lays a `.bkf` out as Section
//! 3.3 does on a medium with soft filemarks: `TAPE` and its `SPAD`, a soft filemark, then for
//! each data set `SSET`, `VOLB`, `DIRB`, `FILE` DBLKs with their streams, a soft filemark,
//! `ESET` and its `SPAD`, a soft filemark. Every DBLK starts on a Format Logical Block boundary (Section
//! 3.5.1) and ends with a `SPAD` stream padding to the next one (Section 6.2.1.6); every
//! stream header is on a 4-byte boundary (Section 3.5.2); strings are in the DBLK's string
//! type (Table 4), at `MTF_TAPE_ADDRESS` offsets counted from the DBLK's start (Structure 2);
//! a path is its components each ending with a NUL, the root a single NUL (Section 5.2.4); a
//! name that would make a DBLK larger than a logical block goes to a `PNAM`/`FNAM` stream
//! (Section 6.2.1.2–3). Data can be a run of zeros that is not written (a hole), so a file
//! over 4 GiB costs nothing on disk.
//!
//! Over 400 lines: one DBLK builder and one function per DBLK type of Section 5.2.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::backup::mtf::block::{xor16, MtfDateTime};

/// OS ID 14, Windows NT (Appendix A, Table 29); OS Version 0 (Structures 39 and 40).
pub const OS_NT: u8 = 14;

/// String Type (Table 4).
pub const ANSI: u8 = 1;
pub const UNICODE: u8 = 2;

/// SSET Attributes BIT2 (Table 9): a normal backup.
pub const SSET_NORMAL: u32 = 1 << 2;

/// A stream's data: bytes, or zeros left as a hole.
#[derive(Debug, Clone)]
pub enum Data {
    Bytes(Vec<u8>),
    Zeros(u64),
}

impl Data {
    fn len(&self) -> u64 {
        match self {
            Data::Bytes(b) => b.len() as u64,
            Data::Zeros(n) => *n,
        }
    }
}

/// A data stream (Section 6.1, Structure 15).
#[derive(Debug, Clone)]
pub struct Stream {
    pub id: [u8; 4],
    pub fs_attributes: u16,
    pub media_attributes: u16,
    pub encryption_algorithm: u16,
    pub compression_algorithm: u16,
    pub data: Data,
    /// A Stream Length other than the data's (hostile cases); the data written is unchanged.
    pub length: Option<u64>,
}

impl Stream {
    pub fn new(id: &[u8; 4], data: Vec<u8>) -> Self {
        Self {
            id: *id,
            fs_attributes: 0,
            media_attributes: 0,
            encryption_algorithm: 0,
            compression_algorithm: 0,
            data: Data::Bytes(data),
            length: None,
        }
    }
}

/// How one file is written.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub data: Data,
    /// FILE Attributes (Table 14).
    pub attributes: u32,
    /// Win32 file attributes in the NT OS Specific Data (Structure 40).
    pub nt_attributes: u32,
    pub modified: Option<MtfDateTime>,
    pub created: Option<MtfDateTime>,
    pub accessed: Option<MtfDateTime>,
    /// Stream attributes of the `STAN` stream.
    pub stan_fs: u16,
    pub stan_media: u16,
    pub stan_compression: u16,
    pub stan_encryption: u16,
    /// Add a `CSUM` stream after the data (Section 6.2.1.4).
    pub checksum: bool,
    /// Streams written before the data (`NACL`, `NTOI`…).
    pub before: Vec<Stream>,
    /// Write no `STAN` stream at all.
    pub no_data: bool,
    /// A Displayable Size other than the data's length.
    pub displayable: Option<u64>,
    /// Streams written after the data (and its `CSUM`).
    pub after: Vec<Stream>,
}

impl FileSpec {
    pub fn bytes(data: &[u8]) -> Self {
        Self {
            data: Data::Bytes(data.to_vec()),
            attributes: 0,
            nt_attributes: 0x20,
            modified: Some(date(2004, 2, 10, 12, 0, 0)),
            created: Some(date(2003, 6, 19, 9, 30, 0)),
            accessed: Some(date(2004, 3, 1, 8, 15, 30)),
            stan_fs: 0,
            stan_media: 0,
            stan_compression: 0,
            stan_encryption: 0,
            checksum: false,
            before: Vec::new(),
            no_data: false,
            displayable: None,
            after: Vec::new(),
        }
    }
}

pub fn date(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> MtfDateTime {
    MtfDateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    }
}

fn packed(d: Option<MtfDateTime>) -> [u8; 5] {
    d.map(|d| d.encode()).unwrap_or([0; 5])
}

/// One DBLK being built: its fixed part, then OS data and strings appended after it.
struct Dblk {
    bytes: Vec<u8>,
    string_type: u8,
}

impl Dblk {
    fn new(ty: &[u8; 4], fixed_len: usize, string_type: u8) -> Self {
        let mut bytes = vec![0u8; fixed_len];
        bytes[..4].copy_from_slice(ty);
        bytes[10] = OS_NT;
        Self { bytes, string_type }
    }
    fn u8(&mut self, at: usize, v: u8) -> &mut Self {
        self.bytes[at] = v;
        self
    }
    fn u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn date(&mut self, at: usize, d: Option<MtfDateTime>) -> &mut Self {
        self.bytes[at..at + 5].copy_from_slice(&packed(d));
        self
    }
    /// Appends `raw` and points the `MTF_TAPE_ADDRESS` at `at` to it (offset from the
    /// DBLK's start, Structure 2). Empty: size and offset 0.
    fn field(&mut self, at: usize, raw: &[u8]) -> &mut Self {
        if raw.is_empty() {
            return self;
        }
        let off = self.bytes.len();
        self.bytes.extend_from_slice(raw);
        self.u16(at, raw.len() as u16).u16(at + 2, off as u16)
    }
    /// A string in this DBLK's string type.
    fn string(&mut self, at: usize, s: &str) -> &mut Self {
        let raw = encode(s, self.string_type);
        self.field(at, &raw)
    }
    /// The OS Specific Data (Structure 4, offset 44).
    fn os_data(&mut self, raw: &[u8]) -> &mut Self {
        self.field(44, raw)
    }
}

/// A string in a string type: ANSI as one byte per character (each must be below U+0100,
/// the tests' code page being Latin-1), Unicode as UTF-16LE.
pub fn encode(s: &str, string_type: u8) -> Vec<u8> {
    match string_type {
        ANSI => s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("test ANSI strings are Latin-1"))
            .collect(),
        _ => s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
    }
}

/// A path as Section 5.2.4 stores it: each component followed by a NUL; the root one NUL.
pub fn path_bytes(parts: &[&str], string_type: u8) -> Vec<u8> {
    let nul = encode("\0", string_type);
    if parts.is_empty() {
        return nul;
    }
    let mut out = Vec::new();
    for p in parts {
        out.extend(encode(p, string_type));
        out.extend_from_slice(&nul);
    }
    out
}

/// Where the writer put one DBLK or stream (for the hostile tests' patches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub offset: u64,
    pub id: [u8; 4],
}

/// The writer. Output is kept as pieces at offsets, holes between them being zeros.
pub struct Writer {
    pieces: Vec<(u64, Vec<u8>)>,
    pos: u64,
    flb: u64,
    /// Soft filemark size in 512-byte units (TAPE field, Section 5.2.1).
    sfm_blocks: u16,
    string_type: u8,
    set_start: u64,
    set_number: u16,
    control_block: u32,
    dir_id: u32,
    file_id: u32,
    sfmb_count: u32,
    filemarks: Vec<u64>,
    time_zone: i8,
    pub blocks: Vec<Placed>,
    pub streams: Vec<Placed>,
}

impl Writer {
    pub fn new(flb: u64) -> Self {
        Self {
            pieces: Vec::new(),
            pos: 0,
            flb,
            sfm_blocks: (flb / 512) as u16,
            string_type: UNICODE,
            set_start: 0,
            set_number: 0,
            control_block: 0,
            dir_id: 0,
            file_id: 0,
            sfmb_count: 0,
            filemarks: Vec::new(),
            time_zone: 127,
            blocks: Vec::new(),
            streams: Vec::new(),
        }
    }

    fn put(&mut self, bytes: Vec<u8>) {
        let len = bytes.len() as u64;
        self.pieces.push((self.pos, bytes));
        self.pos += len;
    }

    fn put_data(&mut self, d: &Data) {
        match d {
            Data::Bytes(b) => self.put(b.clone()),
            Data::Zeros(n) => self.pos += n,
        }
    }

    /// Writes a stream: its header (checksummed, Section 6.1), its data, zeros to the next
    /// 4-byte boundary (Section 3.5.2).
    fn stream(&mut self, s: &Stream) {
        let mut h = [0u8; 22];
        h[..4].copy_from_slice(&s.id);
        h[4..6].copy_from_slice(&s.fs_attributes.to_le_bytes());
        h[6..8].copy_from_slice(&s.media_attributes.to_le_bytes());
        h[8..16].copy_from_slice(&s.length.unwrap_or(s.data.len()).to_le_bytes());
        h[16..18].copy_from_slice(&s.encryption_algorithm.to_le_bytes());
        h[18..20].copy_from_slice(&s.compression_algorithm.to_le_bytes());
        let c = xor16(&h[..20]);
        h[20..22].copy_from_slice(&c.to_le_bytes());
        self.streams.push(Placed {
            offset: self.pos,
            id: s.id,
        });
        self.put(h.to_vec());
        self.put_data(&s.data);
        let pad = (4 - self.pos % 4) % 4;
        self.put(vec![0; pad as usize]);
    }

    /// Writes a DBLK: the common header (Structure 4) completed and checksummed, padded to
    /// its first stream, its streams, then a `SPAD` to the next logical block boundary.
    fn dblk(
        &mut self,
        mut b: Dblk,
        attributes: u32,
        displayable: u64,
        fla: u64,
        streams: &[Stream],
    ) {
        assert_eq!(self.pos % self.flb, 0, "a DBLK starts on a logical block");
        let first = b.bytes.len().div_ceil(4) * 4;
        b.bytes.resize(first, 0);
        let st = b.string_type;
        b.u32(4, attributes)
            .u16(8, first as u16)
            .u64(12, displayable)
            .u64(20, fla)
            .u32(36, self.control_block)
            .u8(48, st);
        let c = xor16(&b.bytes[..50]);
        b.u16(50, c);
        let mut id = [0u8; 4];
        id.copy_from_slice(&b.bytes[..4]);
        self.blocks.push(Placed {
            offset: self.pos,
            id,
        });
        self.control_block += 1;
        self.put(b.bytes);
        for s in streams {
            self.stream(s);
        }
        let data_at = self.pos + 22;
        let pad = data_at.div_ceil(self.flb) * self.flb - data_at;
        self.stream(&Stream {
            data: Data::Bytes(vec![0; pad as usize]),
            ..Stream::new(b"SPAD", Vec::new())
        });
        assert_eq!(self.pos % self.flb, 0);
    }

    fn fla(&self) -> u64 {
        (self.pos - self.set_start) / self.flb
    }

    /// The media header (Section 3.3): `TAPE` DBLK (Structure 5) with soft filemarks on,
    /// then a soft filemark.
    pub fn tape(&mut self, name: &str, description: &str) {
        let mut b = Dblk::new(b"TAPE", 94, UNICODE);
        b.u32(52, 0x4b42_5343)
            .u32(56, 1) // TAPE_SOFT_FILEMARK_BIT
            .u16(60, 1)
            .u16(64, self.sfm_blocks)
            .u16(84, self.flb as u16)
            .u16(86, 0x0cb1)
            .date(88, Some(date(2004, 3, 12, 22, 5, 0)))
            .u8(93, 1)
            .string(68, name)
            .string(72, description)
            .string(80, "kbscan test writer");
        self.control_block = 0;
        self.dblk(b, 0, 0, 0, &[]);
        self.filemark();
    }

    /// A soft filemark, `SFMB` (Section 5.2.10, Structure 14): the PBAs of the earlier
    /// filemarks, newest first; it fills the soft filemark size and has no streams.
    pub fn filemark(&mut self) {
        let size = u64::from(self.sfm_blocks) * 512;
        let entries = ((size - 60) / 8) as u32;
        let mut b = Dblk::new(b"SFMB", size as usize, 0);
        let used = (self.filemarks.len() as u32).min(entries);
        b.u32(52, entries).u32(56, used);
        for (i, pba) in self.filemarks.iter().rev().take(used as usize).enumerate() {
            b.u64(60 + 8 * i, *pba);
        }
        self.sfmb_count += 1;
        let pba = self.pos / 512;
        b.u32(4, 0)
            .u16(8, size as u16)
            .u64(20, pba)
            .u32(36, self.sfmb_count);
        let c = xor16(&b.bytes[..50]);
        b.u16(50, c);
        self.blocks.push(Placed {
            offset: self.pos,
            id: *b"SFMB",
        });
        self.filemarks.push(pba);
        self.put(b.bytes);
    }

    /// `SSET` (Structure 6). The set's DBLKs then use `string_type`.
    #[allow(clippy::too_many_arguments)]
    pub fn sset(
        &mut self,
        number: u16,
        string_type: u8,
        name: &str,
        description: &str,
        user: &str,
        written: MtfDateTime,
        time_zone: i8,
        block_attributes: u32,
    ) {
        self.string_type = string_type;
        self.set_start = self.pos;
        self.set_number = number;
        self.control_block = 0;
        self.dir_id = 0;
        self.file_id = 0;
        self.time_zone = time_zone;
        let mut b = Dblk::new(b"SSET", 98, string_type);
        b.u32(52, SSET_NORMAL)
            .u16(60, 0x0cb1)
            .u16(62, number)
            .u64(80, self.pos / self.flb)
            .date(88, Some(written))
            .u8(93, 5)
            .u8(94, 0)
            .u8(95, time_zone as u8)
            .string(64, name)
            .string(68, description)
            .string(76, user);
        self.dblk(b, block_attributes, 0, 0, &[]);
    }

    /// A set of `number` with its other fields plain: no description or user, written
    /// 2004-01-01, times not coordinated to UTC (`LOCAL_TZ`).
    pub fn set(&mut self, number: u16, string_type: u8, name: &str) {
        let written = date(2004, 1, 1, 0, 0, 0);
        self.sset(number, string_type, name, "", "", written, 127, 0);
    }

    /// `VOLB` (Structure 7): a drive-letter device (VOLB_DEV_DRIVE_BIT).
    pub fn volb(&mut self, device: &str, volume: &str, machine: &str) {
        let mut b = Dblk::new(b"VOLB", 73, self.string_type);
        b.u32(52, 1 << 2)
            .date(68, Some(date(2004, 3, 12, 22, 5, 1)))
            .string(56, device)
            .string(60, volume)
            .string(64, machine);
        let fla = self.fla();
        self.dblk(b, 0, 0, fla, &[]);
    }

    /// `DIRB` (Structure 8) for the directory `parts` below the volume root, with the NT OS
    /// Specific Data (Structure 39). The path goes to a `PNAM` stream when the DBLK would
    /// not fit a logical block.
    pub fn dirb(&mut self, parts: &[&str]) {
        self.dirb_with(parts, 0x10, &[]);
    }

    pub fn dirb_with(&mut self, parts: &[&str], nt_attributes: u32, streams: &[Stream]) {
        self.dir_id += 1;
        let path = path_bytes(parts, self.string_type);
        let mut b = Dblk::new(b"DIRB", 84, self.string_type);
        b.date(56, Some(date(2004, 1, 5, 10, 0, 0)))
            .date(61, Some(date(2003, 6, 19, 9, 0, 0)))
            .u32(76, self.dir_id)
            .os_data(&nt_attributes.to_le_bytes());
        let mut all = Vec::new();
        let mut attributes = 0;
        if b.bytes.len() + path.len() > self.flb as usize {
            attributes |= 1 << 17; // DIRB_PATH_IN_STREAM_BIT
            all.push(Stream::new(b"PNAM", path));
        } else {
            b.field(80, &path);
        }
        b.u32(52, attributes);
        all.extend_from_slice(streams);
        let fla = self.fla();
        self.dblk(b, 0, 0, fla, &all);
    }

    /// `FILE` (Structure 9) with the NT OS Specific Data (Structure 40) and its streams:
    /// `before`, the `STAN` data, a `CSUM` if asked, `after`, and the `SPAD`.
    pub fn file(&mut self, name: &str, spec: &FileSpec) {
        self.file_id += 1;
        let raw_name = encode(name, self.string_type);
        let mut b = Dblk::new(b"FILE", 88, self.string_type);
        let mut os = [0u8; 12];
        os[..4].copy_from_slice(&spec.nt_attributes.to_le_bytes());
        b.date(56, spec.modified)
            .date(61, spec.created)
            .date(66, Some(date(2004, 3, 12, 22, 6, 0)))
            .date(71, spec.accessed)
            .u32(76, self.dir_id)
            .u32(80, self.file_id)
            .os_data(&os);
        let mut streams = Vec::new();
        let mut attributes = spec.attributes;
        if b.bytes.len() + raw_name.len() > self.flb as usize {
            attributes |= 1 << 17; // FILE_NAME_IN_STREAM_BIT
            streams.push(Stream::new(b"FNAM", raw_name));
        } else {
            b.field(84, &raw_name);
        }
        b.u32(52, attributes);
        streams.extend(spec.before.iter().cloned());
        if !spec.no_data {
            streams.push(Stream {
                fs_attributes: spec.stan_fs,
                media_attributes: spec.stan_media | if spec.checksum { 1 << 5 } else { 0 },
                compression_algorithm: spec.stan_compression,
                encryption_algorithm: spec.stan_encryption,
                data: spec.data.clone(),
                ..Stream::new(b"STAN", Vec::new())
            });
            if spec.checksum {
                let Data::Bytes(d) = &spec.data else {
                    panic!("a CSUM is only written over bytes");
                };
                let mut acc = [0u8; 4];
                for (i, b) in d.iter().enumerate() {
                    acc[i % 4] ^= b;
                }
                streams.push(Stream::new(b"CSUM", acc.to_vec()));
            }
        }
        streams.extend(spec.after.iter().cloned());
        let size = spec
            .displayable
            .unwrap_or(if spec.no_data { 0 } else { spec.data.len() });
        let fla = self.fla();
        self.dblk(b, 0, size, fla, &streams);
    }

    /// A `CFIL` (Structure 10) saying the previous file's first stream is zero-filled.
    pub fn cfil(&mut self, stream_number: u16, stream_offset: u64) {
        let mut b = Dblk::new(b"CFIL", 74, self.string_type);
        b.u32(52, 1 << 17)
            .u64(64, stream_offset)
            .u16(72, stream_number);
        let fla = self.fla();
        self.dblk(b, 0, 0, fla, &[]);
    }

    /// A filemark, then `ESET` (Structure 12; Format Logical Address 0, Section 5.2.8), then
    /// a filemark (Section 3.3).
    pub fn eset(&mut self, corrupt_files: u32) {
        self.filemark();
        let mut b = Dblk::new(b"ESET", 85, self.string_type);
        b.u32(52, SSET_NORMAL)
            .u32(56, corrupt_files)
            .u16(76, 1)
            .u16(78, self.set_number)
            .date(80, Some(date(2004, 3, 12, 22, 30, 0)));
        self.dblk(b, 0, 0, 0, &[]);
        self.filemark();
    }

    /// `EOTM` (Structure 13): the end of this medium.
    pub fn eotm(&mut self) {
        let mut b = Dblk::new(b"EOTM", 60, 0);
        b.u64(52, 0);
        self.control_block = 0;
        self.dblk(b, 0, 0, 0, &[]);
    }

    /// The output as bytes (holes as zeros).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; usize::try_from(self.pos).expect("fits in memory")];
        for (at, b) in &self.pieces {
            out[*at as usize..*at as usize + b.len()].copy_from_slice(b);
        }
        out
    }

    /// Writes the output to `path`, holes left unwritten (a sparse file).
    pub fn write_to(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        for (at, b) in &self.pieces {
            f.seek(SeekFrom::Start(*at))?;
            f.write_all(b)?;
        }
        f.set_len(self.pos)?;
        Ok(())
    }
}

/// Sets the checksum of the DBLK header at `off` in `buf` again (after a test patched it).
pub fn fix_block_checksum(buf: &mut [u8], off: u64) {
    let o = off as usize;
    let c = xor16(&buf[o..o + 50]);
    buf[o + 50..o + 52].copy_from_slice(&c.to_le_bytes());
}

/// Sets the checksum of the stream header at `off` in `buf` again.
pub fn fix_stream_checksum(buf: &mut [u8], off: u64) {
    let o = off as usize;
    let c = xor16(&buf[o..o + 20]);
    buf[o + 20..o + 22].copy_from_slice(&c.to_le_bytes());
}
