//! Data streams (MTF 1.00a Section 6): the stream header `MTF_STREAM_HDR` (Section 6.1,
//! Structure 15, 22 bytes, checksummed), the stream ids of Section 6.2 (Tables 19 and 20) and
//! the `CSUM` data checksum (Section 6.2.1.4). Stream data follows its header directly; the
//! next header starts at the next multiple of four (the Stream Alignment Factor, Section
//! 3.5.2).

use super::block::{xor16, Le};

/// Bytes of `MTF_STREAM_HDR`.
pub const STREAM_HEADER_LEN: u64 = 22;

/// Stream ids (Section 6.2, Tables 19 and 20), as their four ASCII letters.
pub mod id {
    /// `STANDARD_DATA_STREAM`: the file's data.
    pub const STAN: [u8; 4] = *b"STAN";
    /// `PATH_NAME_STREAM`: a `DIRB` path too long for the DBLK.
    pub const PNAM: [u8; 4] = *b"PNAM";
    /// `FILE_NAME_STREAM`: a `FILE` name too long for the DBLK.
    pub const FNAM: [u8; 4] = *b"FNAM";
    /// `CHECKSUM_STREAM`: the 32-bit XOR of the stream before it.
    pub const CSUM: [u8; 4] = *b"CSUM";
    /// `CORRUPT_STREAM`: the stream before it is corrupt.
    pub const CRPT: [u8; 4] = *b"CRPT";
    /// `PAD_STREAM`: the last stream of a DBLK, padding to the next format logical block.
    pub const SPAD: [u8; 4] = *b"SPAD";
    /// `SPARSE_STREAM`: a piece of sparse data.
    pub const SPAR: [u8; 4] = *b"SPAR";
    /// Media Based Catalog streams of an `ESET` (Section 7).
    pub const TSMP: [u8; 4] = *b"TSMP";
    pub const TFDD: [u8; 4] = *b"TFDD";
    pub const MAP2: [u8; 4] = *b"MAP2";
    pub const FDD2: [u8; 4] = *b"FDD2";
    /// Windows NT streams (Table 20).
    pub const ADAT: [u8; 4] = *b"ADAT";
    pub const NTEA: [u8; 4] = *b"NTEA";
    pub const NACL: [u8; 4] = *b"NACL";
    /// `NT_ENCRYPTED_STREAM`: an EFS-encrypted file's raw (encrypted) data.
    pub const NTED: [u8; 4] = *b"NTED";
    pub const NTQU: [u8; 4] = *b"NTQU";
    pub const NTPR: [u8; 4] = *b"NTPR";
    pub const NTRP: [u8; 4] = *b"NTRP";
    pub const NTOI: [u8; 4] = *b"NTOI";
}

/// Stream File System Attributes (Table 17).
pub mod fs_attr {
    pub const MODIFIED_BY_READ: u16 = 1 << 0;
    pub const CONTAINS_SECURITY: u16 = 1 << 1;
    pub const NON_PORTABLE: u16 = 1 << 2;
    /// `STREAM_IS_SPARSE`: the data follows as `SPAR` streams.
    pub const SPARSE: u16 = 1 << 3;
}

/// Stream Media Format Attributes (Table 18).
pub mod media_attr {
    /// `STREAM_CONTINUE`: the stream continues from the previous medium.
    pub const CONTINUE: u16 = 1 << 0;
    pub const VARIABLE: u16 = 1 << 1;
    pub const VAR_END: u16 = 1 << 2;
    pub const ENCRYPTED: u16 = 1 << 3;
    pub const COMPRESSED: u16 = 1 << 4;
    /// `STREAM_CHECKSUMED`: a `CSUM` stream follows.
    pub const CHECKSUMED: u16 = 1 << 5;
    pub const EMBEDDED_LENGTH: u16 = 1 << 6;
}

/// `MTF_STREAM_HDR` (Section 6.1, Structure 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHeader {
    pub id: [u8; 4],
    pub fs_attributes: u16,
    pub media_attributes: u16,
    /// Stream Length: the data's bytes, without the header or the alignment pad.
    pub length: u64,
    pub encryption_algorithm: u16,
    pub compression_algorithm: u16,
    pub checksum: u16,
}

/// A stream header whose checksum does not match its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadStreamChecksum {
    pub stored: u16,
    pub computed: u16,
}

impl StreamHeader {
    /// Reads a stream header and checks its Checksum (Section 6.1: the word-wise XOR of
    /// every field before it) before any field is believed.
    pub fn parse(b: &[u8; STREAM_HEADER_LEN as usize]) -> Result<Self, BadStreamChecksum> {
        let le = Le(b);
        let stored = u16::from_le_bytes([b[20], b[21]]);
        let computed = xor16(&b[..20]);
        if stored != computed {
            return Err(BadStreamChecksum { stored, computed });
        }
        Ok(Self {
            id: [b[0], b[1], b[2], b[3]],
            fs_attributes: u16::from_le_bytes([b[4], b[5]]),
            media_attributes: u16::from_le_bytes([b[6], b[7]]),
            length: le.u64(8).unwrap_or_default(),
            encryption_algorithm: u16::from_le_bytes([b[16], b[17]]),
            compression_algorithm: u16::from_le_bytes([b[18], b[19]]),
            checksum: stored,
        })
    }

    pub fn has_media(&self, bit: u16) -> bool {
        self.media_attributes & bit != 0
    }
}

/// The next Stream Alignment Factor boundary at or after `pos` (Section 3.5.2), or `None` on
/// overflow.
pub fn align4(pos: u64) -> Option<u64> {
    pos.checked_add(3).map(|p| p & !3)
}

/// The `CSUM` checksum (Section 6.2.1.4): the 32-bit XOR of the stream data, the same however
/// the data is cut into pieces. Each byte is XORed into the accumulator byte its position
/// modulo four selects, so the bytes can be fed in any pieces; the value is the accumulator
/// read little-endian, like every MTF number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataChecksum {
    acc: [u8; 4],
    pos: u64,
}

impl DataChecksum {
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.acc[(self.pos % 4) as usize] ^= b;
            self.pos += 1;
        }
    }

    pub fn value(&self) -> u32 {
        u32::from_le_bytes(self.acc)
    }
}
