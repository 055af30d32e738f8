//! Descriptor blocks (DBLKs) as typed structs over their bytes, each validated in its `parse`:
//! the common block header (MTF 1.00a Section 5.1, Structure 4), the support structures
//! (Section 4: `MTF_TAPE_ADDRESS`, Structure 2; `MTF_DATE_TIME`, Structure 3) and the DBLKs
//! kbscan reads (Section 5.2: `TAPE` Structure 5, `SSET` 6, `VOLB` 7, `DIRB` 8, `FILE` 9,
//! `CFIL` 10, `ESET` 12, `EOTM` 13, `SFMB` 14). All multi-byte fields are little-endian
//! (Section 4). A parse never reads outside the bytes it is given and never allocates more
//! than the string it returns (a string is at most 65,535 bytes: its size is a `UINT16`).
//!
//! Over 400 lines: one struct and `parse` per DBLK type of Section 5.2, over the support
//! structures and field readers they share.

use std::fmt;

use crate::escape::{escape_bytes, utf16_to_bytes};

/// Bytes of the common block header, `MTF_DB_HDR` (Structure 4).
pub const HEADER_LEN: usize = 52;

/// A field read past the end of the bytes given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

/// Little-endian fields of a byte slice, bounds-checked.
#[derive(Clone, Copy)]
pub struct Le<'a>(pub &'a [u8]);

impl Le<'_> {
    pub fn array<const N: usize>(self, at: usize) -> Result<[u8; N], Short> {
        let end = at.checked_add(N).ok_or(Short)?;
        self.0
            .get(at..end)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(Short)
    }
    pub fn u8(self, at: usize) -> Result<u8, Short> {
        self.0.get(at).copied().ok_or(Short)
    }
    pub fn u16(self, at: usize) -> Result<u16, Short> {
        self.array(at).map(u16::from_le_bytes)
    }
    pub fn u32(self, at: usize) -> Result<u32, Short> {
        self.array(at).map(u32::from_le_bytes)
    }
    pub fn u64(self, at: usize) -> Result<u64, Short> {
        self.array(at).map(u64::from_le_bytes)
    }
    fn address(self, at: usize) -> Result<TapeAddress, Short> {
        Ok(TapeAddress {
            size: self.u16(at)?,
            offset: self.u16(at + 2)?,
        })
    }
    fn date(self, at: usize) -> Result<[u8; 5], Short> {
        self.array(at)
    }
}

/// The 16-bit word-wise XOR of `bytes` (an even number of them): the Header Checksum of a DBLK
/// (Section 5.1) and the Checksum of a stream header (Section 6.1) are this sum over every
/// field before the checksum itself.
pub fn xor16(bytes: &[u8]) -> u16 {
    bytes
        .chunks(2)
        .map(|w| u16::from_le_bytes([w[0], w.get(1).copied().unwrap_or(0)]))
        .fold(0, |a, w| a ^ w)
}

/// A DBLK type, the four ASCII letters of its id (Section 5.1, Table 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockType(pub [u8; 4]);

impl BlockType {
    pub const TAPE: Self = Self(*b"TAPE");
    pub const SSET: Self = Self(*b"SSET");
    pub const VOLB: Self = Self(*b"VOLB");
    pub const DIRB: Self = Self(*b"DIRB");
    pub const FILE: Self = Self(*b"FILE");
    pub const CFIL: Self = Self(*b"CFIL");
    pub const ESPB: Self = Self(*b"ESPB");
    pub const ESET: Self = Self(*b"ESET");
    pub const EOTM: Self = Self(*b"EOTM");
    pub const SFMB: Self = Self(*b"SFMB");

    /// The bytes of the fixed part of a DBLK of this type (the common header and its
    /// type-specific fields, Structures 5–14); 52 for a type kbscan does not know.
    pub fn fixed_len(self) -> usize {
        match self {
            Self::TAPE => 94,
            Self::SSET => 98,
            Self::VOLB => 73,
            Self::DIRB => 84,
            Self::FILE => 88,
            Self::CFIL => 74,
            Self::ESET => 85,
            Self::EOTM => 60,
            Self::SFMB => 60,
            _ => HEADER_LEN,
        }
    }

    pub fn is_known(self) -> bool {
        [
            Self::TAPE,
            Self::SSET,
            Self::VOLB,
            Self::DIRB,
            Self::FILE,
            Self::CFIL,
            Self::ESPB,
            Self::ESET,
            Self::EOTM,
            Self::SFMB,
        ]
        .contains(&self)
    }
}

impl fmt::Display for BlockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_bytes(&self.0))
    }
}

impl fmt::Debug for BlockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockType({self})")
    }
}

/// Common block attribute bits (Section 5.1, Table 3): the low 16 bits mean the same in every
/// DBLK, the high 16 depend on the DBLK type.
pub mod attr {
    /// `MTF_CONTINUATION`: the DBLK continues a set from the previous medium.
    pub const CONTINUATION: u32 = 1 << 0;
    /// `MTF_COMPRESSION`: software compression may be active.
    pub const COMPRESSION: u32 = 1 << 2;
    /// `MTF_EOS_AT_EOM`: end of medium met while the set was being ended.
    pub const EOS_AT_EOM: u32 = 1 << 3;
    /// `MTF_ENCRYPTION` (SSET): encryption is active for the set's data streams.
    pub const SSET_ENCRYPTION: u32 = 1 << 17;
    /// `MTF_ABORTED_SET` (ESET): the set was aborted while being written.
    pub const ESET_ABORTED_SET: u32 = 1 << 18;
}

/// `MTF_TAPE_ADDRESS` (Section 4, Structure 2): the size and the offset, from the start of the
/// DBLK, of a variable-length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapeAddress {
    pub size: u16,
    pub offset: u16,
}

impl TapeAddress {
    /// The field's bytes inside `block` (the DBLK's bytes up to its first stream). A field
    /// must lie after the fixed part (`fixed`) and end inside the block: anything else points
    /// into the header or past the DBLK, which only damage or a hostile file does.
    pub fn slice(self, block: &[u8], fixed: usize) -> Result<Option<&[u8]>, String> {
        if self.size == 0 {
            return Ok(None);
        }
        let start = usize::from(self.offset);
        let end = start + usize::from(self.size);
        if start < fixed {
            return Err(format!(
                "a field of {} bytes at offset {start} overlaps the block's fixed part ({fixed} bytes)",
                self.size
            ));
        }
        match block.get(start..end) {
            Some(s) => Ok(Some(s)),
            None => Err(format!(
                "a field of {} bytes at offset {start} ends past the block's {} bytes (before its first stream)",
                self.size,
                block.len()
            )),
        }
    }
}

/// The common block header, `MTF_DB_HDR` (Section 5.1, Structure 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub block_type: BlockType,
    /// Block Attributes (Table 3, [`attr`]).
    pub attributes: u32,
    /// Offset To First Event: where the DBLK's first stream header is, from the DBLK's start.
    pub first_event: u16,
    /// OS ID and OS Version (Appendix A, Table 29): 14 is Windows NT.
    pub os_id: u8,
    pub os_version: u8,
    pub displayable_size: u64,
    pub format_logical_address: u64,
    pub control_block_id: u32,
    /// OS Specific Data (Appendix A).
    pub os_data: TapeAddress,
    /// String Type, byte 48 (Table 4): 0 no strings, 1 ANSI, 2 Unicode.
    pub string_type: u8,
    pub checksum: u16,
}

/// Why 52 bytes are not a usable common block header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The Header Checksum does not match the XOR of the header's words.
    Checksum { stored: u16, computed: u16 },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Checksum { stored, computed } => write!(
                f,
                "header checksum {stored:#06x} does not match the header's words ({computed:#06x})"
            ),
        }
    }
}

impl BlockHeader {
    /// Reads and checks a common block header: the checksum (Section 5.1, *Header
    /// Checksum*) is verified before any field is believed.
    pub fn parse(b: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        let stored = u16::from_le_bytes([b[50], b[51]]);
        let computed = xor16(&b[..50]);
        if stored != computed {
            return Err(HeaderError::Checksum { stored, computed });
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(a)
        };
        Ok(Self {
            block_type: BlockType([b[0], b[1], b[2], b[3]]),
            attributes: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            first_event: u16::from_le_bytes([b[8], b[9]]),
            os_id: b[10],
            os_version: b[11],
            displayable_size: u64_at(12),
            format_logical_address: u64_at(20),
            control_block_id: u32::from_le_bytes([b[36], b[37], b[38], b[39]]),
            os_data: TapeAddress {
                size: u16::from_le_bytes([b[44], b[45]]),
                offset: u16::from_le_bytes([b[46], b[47]]),
            },
            string_type: b[48],
            checksum: stored,
        })
    }

    /// The string type this DBLK's strings are in, if it is one Table 4 defines.
    pub fn strings(&self) -> Option<StringType> {
        StringType::from_raw(self.string_type)
    }
}

/// String Type (Section 5.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringType {
    /// `NO_STRINGS` (0).
    None,
    /// `ANSI_STR` (1): single-byte characters of the writer's ANSI code page, which the file
    /// does not name; only ASCII is certain.
    Ansi,
    /// `UNICODE_STR` (2): UTF-16LE.
    Unicode,
}

impl StringType {
    pub fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::None),
            1 => Some(Self::Ansi),
            2 => Some(Self::Unicode),
            _ => None,
        }
    }

    /// Bytes of one character unit (and of the NUL that separates path components).
    fn unit(self) -> usize {
        match self {
            Self::Unicode => 2,
            _ => 1,
        }
    }
}

/// A string as recorded in a DBLK (not NUL-terminated unless said, Section 5.1 *Strings in
/// DBLKs*), with the type it was recorded in.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MtfString {
    pub raw: Vec<u8>,
    pub kind: StringType,
}

impl MtfString {
    pub fn new(raw: &[u8], kind: StringType) -> Self {
        Self {
            raw: raw.to_vec(),
            kind,
        }
    }

    /// The name as bytes, the way every source gives names: UTF-16 as (generalized) UTF-8,
    /// an unpaired surrogate keeping its value (as NTFS names are carried); ANSI as the bytes
    /// recorded (their code page is not known, so they are not converted).
    pub fn bytes(&self) -> Vec<u8> {
        match self.kind {
            StringType::Unicode => {
                let mut out = Vec::with_capacity(self.raw.len());
                let units = self
                    .raw
                    .chunks_exact(2)
                    .map(|w| u16::from_le_bytes([w[0], w[1]]));
                utf16_to_bytes(units, &mut out);
                if self.raw.len() % 2 == 1 {
                    // An odd byte count cannot be UTF-16: the last byte is kept, escaped.
                    out.extend_from_slice(&self.raw[self.raw.len() - 1..]);
                }
                out
            }
            _ => self.raw.clone(),
        }
    }

    /// The text, escaped losslessly for display (`escape::escape_bytes`).
    pub fn text(&self) -> String {
        escape_bytes(&self.bytes())
    }

    /// True when the text is exactly what was recorded: UTF-16 without unpaired surrogates
    /// or an odd byte, or ANSI that is all ASCII.
    pub fn is_exact(&self) -> bool {
        match self.kind {
            StringType::Unicode => {
                self.raw.len() % 2 == 0
                    && char::decode_utf16(
                        self.raw
                            .chunks_exact(2)
                            .map(|w| u16::from_le_bytes([w[0], w[1]])),
                    )
                    .all(|c| c.is_ok())
            }
            _ => self.raw.is_ascii(),
        }
    }

    /// The string without trailing NUL characters (some writers terminate strings although
    /// the specification does not).
    fn trimmed(raw: &[u8], kind: StringType) -> &[u8] {
        let u = kind.unit();
        let mut end = raw.len() - raw.len() % u;
        while end >= u && raw[end - u..end].iter().all(|&b| b == 0) {
            end -= u;
        }
        &raw[..end]
    }

    /// Splits a `DIRB` Directory Name or a `PNAM` stream into its components: each component
    /// ends with a NUL character and the root is a single NUL (Section 5.2.4, *Directory
    /// Name*). A last component without its NUL is kept. An empty component (two NULs in a
    /// row, a leading NUL) is kept as an empty string for the caller to refuse.
    pub fn split_path(raw: &[u8], kind: StringType) -> Vec<MtfString> {
        let u = kind.unit();
        let whole = raw.len() - raw.len() % u;
        if raw[..whole].iter().all(|&b| b == 0) && whole == u {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut start = 0;
        let mut at = 0;
        while at + u <= whole {
            if raw[at..at + u].iter().all(|&b| b == 0) {
                out.push(MtfString::new(&raw[start..at], kind));
                start = at + u;
            }
            at += u;
        }
        if start < raw.len() {
            out.push(MtfString::new(&raw[start..], kind));
        }
        out
    }
}

impl fmt::Display for MtfString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for MtfString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

/// `MTF_DATE_TIME` (Section 4, Structure 3): five bytes packing, from the most significant
/// bit of the first byte, a 14-bit year, 4-bit month, 5-bit day, 5-bit hour, 6-bit minute and
/// 6-bit second. Five zero bytes mean "unknown". Which zone the time is in is not part of it
/// (see [`crate::backup::mtf::DataSet::time_zone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MtfDateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// Five bytes that are not a date (month 13, 31 February…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDate(pub [u8; 5]);

impl MtfDateTime {
    pub fn decode(raw: [u8; 5]) -> Result<Option<Self>, InvalidDate> {
        if raw == [0; 5] {
            return Ok(None);
        }
        let v = raw.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        let field = |shift: u32, bits: u32| (v >> shift) & ((1 << bits) - 1);
        let d = Self {
            year: field(26, 14) as u16,
            month: field(22, 4) as u8,
            day: field(17, 5) as u8,
            hour: field(12, 5) as u8,
            minute: field(6, 6) as u8,
            second: field(0, 6) as u8,
        };
        if d.to_time().is_none() {
            return Err(InvalidDate(raw));
        }
        Ok(Some(d))
    }

    /// The packed form (the inverse of [`MtfDateTime::decode`]).
    pub fn encode(&self) -> [u8; 5] {
        let v = (u64::from(self.year) << 26)
            | (u64::from(self.month) << 22)
            | (u64::from(self.day) << 17)
            | (u64::from(self.hour) << 12)
            | (u64::from(self.minute) << 6)
            | u64::from(self.second);
        let b = v.to_be_bytes();
        [b[3], b[4], b[5], b[6], b[7]]
    }

    fn to_time(self) -> Option<time::PrimitiveDateTime> {
        let month = time::Month::try_from(self.month).ok()?;
        let date = time::Date::from_calendar_date(i32::from(self.year), month, self.day).ok()?;
        let t = time::Time::from_hms(self.hour, self.minute, self.second).ok()?;
        Some(time::PrimitiveDateTime::new(date, t))
    }

    /// The moment, read as UTC (the zone question is the caller's); `None` only for fields
    /// that [`MtfDateTime::decode`] would have refused.
    pub fn timestamp(&self) -> Option<crate::model::time::Timestamp> {
        self.to_time().map(|t| {
            crate::model::time::Timestamp::from_unix_nanos(t.assume_utc().unix_timestamp_nanos())
        })
    }
}

/// Why a DBLK's fields cannot be used.
pub type FieldError = String;

/// Reads the string at `addr` in `block` (its fixed part `fixed` bytes long) in the DBLK's
/// string type. A string whose DBLK says `NO_STRINGS`, or whose string type is not defined,
/// is an error for the caller to report, not a guess.
pub fn string_at(
    block: &[u8],
    fixed: usize,
    addr: TapeAddress,
    kind: Option<StringType>,
) -> Result<Option<MtfString>, FieldError> {
    let Some(raw) = addr.slice(block, fixed)? else {
        return Ok(None);
    };
    match kind {
        Some(StringType::None) => Err(format!(
            "a string of {} bytes in a block whose string type says it has none",
            raw.len()
        )),
        None => Err("a string in a block of undefined string type".to_owned()),
        Some(k) => Ok(Some(MtfString::new(MtfString::trimmed(raw, k), k))),
    }
}

fn short(what: &str) -> impl Fn(Short) -> FieldError + '_ {
    move |_| format!("the {what} block is shorter than its fixed fields")
}

/// Problems with one field that do not make the rest of the DBLK unusable (a string pointing
/// outside the block, a date that is not one): collected for the caller to report, the field
/// read as absent.
pub type Soft = Vec<FieldError>;

/// The string at the `MTF_TAPE_ADDRESS` at `at`, or `None` (with the problem in `soft`).
fn soft_string(
    block: &[u8],
    fixed: usize,
    at: usize,
    h: &BlockHeader,
    soft: &mut Soft,
) -> Result<Option<MtfString>, Short> {
    let addr = Le(block).address(at)?;
    Ok(
        string_at(block, fixed, addr, h.strings()).unwrap_or_else(|e| {
            soft.push(e);
            None
        }),
    )
}

/// The `MTF_DATE_TIME` at `at`, or `None` (unknown, or not a date: then noted in `soft`).
fn soft_date(le: Le<'_>, at: usize, soft: &mut Soft) -> Result<Option<MtfDateTime>, Short> {
    Ok(
        MtfDateTime::decode(le.date(at)?).unwrap_or_else(|InvalidDate(raw)| {
            soft.push(format!("bytes {raw:02x?} at offset {at} are not a date"));
            None
        }),
    )
}

/// The dates of a `DIRB` or `FILE` (Structures 8 and 9), and any that could not be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dates {
    pub modified: Option<MtfDateTime>,
    pub created: Option<MtfDateTime>,
    pub backed_up: Option<MtfDateTime>,
    pub accessed: Option<MtfDateTime>,
}

fn dates(le: Le<'_>, at: usize, soft: &mut Soft) -> Result<Dates, Short> {
    Ok(Dates {
        modified: soft_date(le, at, soft)?,
        created: soft_date(le, at + 5, soft)?,
        backed_up: soft_date(le, at + 10, soft)?,
        accessed: soft_date(le, at + 15, soft)?,
    })
}

/// `MTF_TAPE` (Section 5.2.1, Structure 5): the media header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tape {
    pub media_family_id: u32,
    /// TAPE Attributes (Table 5): BIT0 soft filemarks, BIT1 media label.
    pub attributes: u32,
    pub media_sequence: u16,
    pub password_encryption_algorithm: u16,
    /// Soft Filemark Block Size, in 512-byte units.
    pub soft_filemark_blocks: u16,
    /// Media Based Catalog Type (Table 6): 0 none, 1 type 1, 2 type 2.
    pub catalog_type: u16,
    pub media_name: Option<MtfString>,
    pub media_description: Option<MtfString>,
    pub software_name: Option<MtfString>,
    /// Format Logical Block Size: the alignment of every DBLK (512 or 1024).
    pub flb_size: u16,
    pub software_vendor_id: u16,
    pub media_date: Option<MtfDateTime>,
    pub major_version: u8,
    /// Whether a media password is recorded (never read).
    pub has_password: bool,
}

/// TAPE Attributes BIT0 (Table 5): soft filemarks are used.
pub const TAPE_SOFT_FILEMARK: u32 = 1 << 0;

impl Tape {
    pub fn parse(block: &[u8], h: &BlockHeader, soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("TAPE");
        let fixed = BlockType::TAPE.fixed_len();
        let mut s = |at: usize| soft_string(block, fixed, at, h, soft).map_err(&e);
        let (media_name, media_description, software_name) = (s(68)?, s(72)?, s(80)?);
        Ok(Self {
            media_family_id: le.u32(52).map_err(&e)?,
            attributes: le.u32(56).map_err(&e)?,
            media_sequence: le.u16(60).map_err(&e)?,
            password_encryption_algorithm: le.u16(62).map_err(&e)?,
            soft_filemark_blocks: le.u16(64).map_err(&e)?,
            catalog_type: le.u16(66).map_err(&e)?,
            media_name,
            media_description,
            has_password: le.address(76).map_err(&e)?.size != 0,
            software_name,
            flb_size: le.u16(84).map_err(&e)?,
            software_vendor_id: le.u16(86).map_err(&e)?,
            media_date: soft_date(le, 88, soft).map_err(&e)?,
            major_version: le.u8(93).map_err(&e)?,
        })
    }
}

/// `MTF_SSET` (Section 5.2.2, Structure 6): the start of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sset {
    /// SSET Attributes (Table 9): the data management operation (BIT0 transfer … BIT5 daily).
    pub attributes: u32,
    pub password_encryption_algorithm: u16,
    pub software_compression_algorithm: u16,
    pub software_vendor_id: u16,
    pub number: u16,
    pub name: Option<MtfString>,
    pub description: Option<MtfString>,
    pub user: Option<MtfString>,
    pub has_password: bool,
    pub physical_block_address: u64,
    pub write_date: Option<MtfDateTime>,
    pub software_major: u8,
    pub software_minor: u8,
    /// Time Zone (Table 10): UTC offset in 15-minute steps (−48…48), or 127 (`LOCAL_TZ`):
    /// times not coordinated to UTC.
    pub time_zone: i8,
    pub mtf_minor_version: u8,
    pub catalog_version: u8,
}

impl Sset {
    pub fn parse(block: &[u8], h: &BlockHeader, soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("SSET");
        let fixed = BlockType::SSET.fixed_len();
        let mut s = |at: usize| soft_string(block, fixed, at, h, soft).map_err(&e);
        let (name, description, user) = (s(64)?, s(68)?, s(76)?);
        Ok(Self {
            attributes: le.u32(52).map_err(&e)?,
            password_encryption_algorithm: le.u16(56).map_err(&e)?,
            software_compression_algorithm: le.u16(58).map_err(&e)?,
            software_vendor_id: le.u16(60).map_err(&e)?,
            number: le.u16(62).map_err(&e)?,
            name,
            description,
            has_password: le.address(72).map_err(&e)?.size != 0,
            user,
            physical_block_address: le.u64(80).map_err(&e)?,
            write_date: soft_date(le, 88, soft).map_err(&e)?,
            software_major: le.u8(93).map_err(&e)?,
            software_minor: le.u8(94).map_err(&e)?,
            time_zone: le.u8(95).map_err(&e)? as i8,
            mtf_minor_version: le.u8(96).map_err(&e)?,
            catalog_version: le.u8(97).map_err(&e)?,
        })
    }
}

/// `MTF_VOLB` (Section 5.2.3, Structure 7): a volume of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volb {
    /// VOLB Attributes (Table 12): BIT2 "C:" drive letter, BIT3 UNC, BIT4/5 OS/vendor form.
    pub attributes: u32,
    pub device: Option<MtfString>,
    pub volume: Option<MtfString>,
    pub machine: Option<MtfString>,
    pub write_date: Option<MtfDateTime>,
}

impl Volb {
    pub fn parse(block: &[u8], h: &BlockHeader, soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("VOLB");
        let fixed = BlockType::VOLB.fixed_len();
        let attributes = le.u32(52).map_err(&e)?;
        let mut s = |at: usize| soft_string(block, fixed, at, h, soft).map_err(&e);
        let (device, volume, machine) = (s(56)?, s(60)?, s(64)?);
        Ok(Self {
            attributes,
            device,
            volume,
            machine,
            write_date: soft_date(le, 68, soft).map_err(&e)?,
        })
    }
}

/// DIRB Attributes BIT17 (Table 13) and FILE Attributes BIT17 (Table 14): the name is in the
/// first stream (`PNAM` / `FNAM`, Section 6.2.1) instead of the DBLK.
pub const NAME_IN_STREAM: u32 = 1 << 17;
/// DIRB BIT18 / FILE BIT18 (`DIRB_CORRUPT_BIT`, `FILE_CORRUPT_BIT`): the object's data could
/// not be read when the backup was written.
pub const OBJECT_CORRUPT: u32 = 1 << 18;

/// `MTF_DIRB` (Section 5.2.4, Structure 8): a directory, by its full path from the volume's
/// root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirb {
    /// DIRB Attributes (Table 13): BIT8 read-only, 9 hidden, 10 system, 11 modified,
    /// 16 empty, 17 path in stream, 18 corrupt.
    pub attributes: u32,
    pub dates: Dates,
    pub directory_id: u32,
    /// The raw Directory Name (NUL-separated components), absent when in a `PNAM` stream.
    pub name: Option<MtfString>,
}

impl Dirb {
    pub fn parse(block: &[u8], h: &BlockHeader, soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("DIRB");
        let fixed = BlockType::DIRB.fixed_len();
        let attributes = le.u32(52).map_err(&e)?;
        let addr = le.address(80).map_err(&e)?;
        // The path keeps its NULs: they separate the components.
        let name = match (addr.slice(block, fixed), h.strings()) {
            (Ok(None), _) => None,
            (Ok(Some(raw)), Some(k @ (StringType::Ansi | StringType::Unicode))) => {
                Some(MtfString::new(raw, k))
            }
            (Ok(Some(_)), _) => {
                soft.push("a directory name in a block without a string type".to_owned());
                None
            }
            (Err(why), _) => {
                soft.push(why);
                None
            }
        };
        Ok(Self {
            attributes,
            dates: dates(le, 56, soft).map_err(&e)?,
            directory_id: le.u32(76).map_err(&e)?,
            name,
        })
    }
}

/// `MTF_FILE` (Section 5.2.5, Structure 9): a file of the directory before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDblk {
    /// FILE Attributes (Table 14): BIT8 read-only, 9 hidden, 10 system, 11 modified,
    /// 16 in use, 17 name in stream, 18 corrupt.
    pub attributes: u32,
    pub dates: Dates,
    pub directory_id: u32,
    pub file_id: u32,
    pub name: Option<MtfString>,
}

impl FileDblk {
    pub fn parse(block: &[u8], h: &BlockHeader, soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("FILE");
        let fixed = BlockType::FILE.fixed_len();
        Ok(Self {
            attributes: le.u32(52).map_err(&e)?,
            dates: dates(le, 56, soft).map_err(&e)?,
            directory_id: le.u32(76).map_err(&e)?,
            file_id: le.u32(80).map_err(&e)?,
            name: soft_string(block, fixed, 84, h, soft).map_err(&e)?,
        })
    }
}

/// The Windows NT OS Specific Data of a `FILE` or `DIRB` (Appendix A, OS ID 14, versions 0
/// and 1, Structures 39, 40 and 42): the first field is the `dwFileAttributes` of
/// `WIN32_FIND_DATA`.
pub fn nt_attributes(block: &[u8], h: &BlockHeader) -> Option<u32> {
    if h.os_id != 14 || h.os_version > 1 || h.os_data.size < 4 {
        return None;
    }
    let raw = h.os_data.slice(block, h.block_type.fixed_len()).ok()??;
    Le(raw).u32(0).ok()
}

/// Win32 file attributes (`dwFileAttributes`) kbscan acts on.
pub mod win32 {
    pub const COMPRESSED: u32 = 0x800;
    pub const ENCRYPTED: u32 = 0x4000;
    pub const SPARSE_FILE: u32 = 0x200;
    pub const REPARSE_POINT: u32 = 0x400;
}

/// `MTF_CFIL` (Section 5.2.6, Structure 10): the object before it has corrupt data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cfil {
    /// Corrupt Object Attributes (Table 15): BIT16 length changed, 17 unreadable block,
    /// 18 deadlock.
    pub attributes: u32,
    pub stream_offset: u64,
    /// Which stream of the previous object (1 is the first) holds the zero-filled part.
    pub stream_number: u16,
}

impl Cfil {
    pub fn parse(block: &[u8]) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("CFIL");
        Ok(Self {
            attributes: le.u32(52).map_err(&e)?,
            stream_offset: le.u64(64).map_err(&e)?,
            stream_number: le.u16(72).map_err(&e)?,
        })
    }
}

/// `MTF_ESET` (Section 5.2.8, Structure 12): the end of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eset {
    pub attributes: u32,
    pub corrupt_files: u32,
    pub fdd_media_sequence: u16,
    pub number: u16,
    pub write_date: Option<MtfDateTime>,
}

impl Eset {
    pub fn parse(block: &[u8], soft: &mut Soft) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("ESET");
        Ok(Self {
            attributes: le.u32(52).map_err(&e)?,
            corrupt_files: le.u32(56).map_err(&e)?,
            fdd_media_sequence: le.u16(76).map_err(&e)?,
            number: le.u16(78).map_err(&e)?,
            write_date: soft_date(le, 80, soft).map_err(&e)?,
        })
    }
}

/// `MTF_EOTM` (Section 5.2.9, Structure 13): the end of this medium; the media family
/// continues on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eotm {
    pub last_eset_pba: u64,
}

impl Eotm {
    pub fn parse(block: &[u8]) -> Result<Self, FieldError> {
        Ok(Self {
            last_eset_pba: Le(block).u64(52).map_err(short("EOTM"))?,
        })
    }
}

/// `MTF_SFMB` (Section 5.2.10, Structure 14): a soft filemark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sfmb {
    pub entries: u32,
    pub used: u32,
}

impl Sfmb {
    pub fn parse(block: &[u8]) -> Result<Self, FieldError> {
        let le = Le(block);
        let e = short("SFMB");
        Ok(Self {
            entries: le.u32(52).map_err(&e)?,
            used: le.u32(56).map_err(&e)?,
        })
    }
}
