//! What a PE file's headers and version resources say, as plain data: read by the core's
//! evidence readers (`evidence::pe`, `evidence::versioninfo`), judged by `judge::findings`,
//! which so never imports a reader. What one file gave as a whole is [`FileEvidence`].

use serde::Serialize;

use crate::file::{StringTable, Translation};
use crate::time::Times;
use crate::version::FileVersion;

/// PE32 or PE32+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PeFormat {
    #[serde(rename = "PE32")]
    Pe32,
    #[serde(rename = "PE32+")]
    Pe32Plus,
}

impl PeFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PeFormat::Pe32 => "PE32",
            PeFormat::Pe32Plus => "PE32+",
        }
    }
}

/// Header facts worth putting in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeHeader {
    pub format: PeFormat,
    /// `IMAGE_FILE_HEADER.Machine`, e.g. `0x014c` (i386), `0x8664` (x64).
    pub machine: u16,
    /// `IMAGE_FILE_HEADER.TimeDateStamp`: link time as Unix seconds (often forged or zero).
    pub timestamp: u32,
}

impl PeHeader {
    pub fn machine_name(&self) -> &'static str {
        match self.machine {
            0x014c => "i386",
            0x8664 => "x86_64",
            0x0200 => "ia64",
            0x01c0 | 0x01c4 => "arm",
            0xaa64 => "arm64",
            0x0184 => "alpha",
            _ => "unknown",
        }
    }
}

/// The name id of the version resource `GetFileVersionInfo` reads: `VS_VERSION_INFO` (winver.h).
pub const VS_VERSION_INFO: u32 = 1;

/// One `RT_VERSION` resource: its name/id, language, and what it contained.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionResource {
    /// Resource name: the numeric id as text (`1`) or the string name.
    pub name: String,
    /// The numeric id, when the name is one (`None` for a string name).
    pub id: Option<u32>,
    pub lang: u32,
    /// `OffsetToData` (an RVA) and `Size` of the data entry: entries that share both share
    /// one reading (parsed once).
    pub data: (u32, u32),
    pub info: Result<VersionInfo, CorruptVersion>,
}

impl VersionResource {
    /// Whether `GetFileVersionInfo` could read this resource: type `RT_VERSION`, name id 1
    /// (`VS_VERSION_INFO`), in any language — which language it reads depends on the
    /// machine's language settings (docs/judgement.md). String names and other ids are never
    /// read by it.
    pub fn windows_reads(&self) -> bool {
        self.id == Some(VS_VERSION_INFO)
    }
}

/// What a PE file said about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PeVersionData {
    pub header: PeHeader,
    /// Every `RT_VERSION` resource in directory order; empty when the file has none.
    pub resources: Vec<VersionResource>,
}

/// Everything read from one `VS_VERSIONINFO` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VersionInfo {
    pub fixed: Option<FixedFileInfo>,
    pub string_tables: Vec<StringTable>,
    /// `VarFileInfo\Translation` pairs: the languages/code pages the file declares.
    pub translations: Vec<Translation>,
    /// Damage found and tolerated (the block was still usable).
    pub warnings: Vec<String>,
}

/// `VS_FIXEDFILEINFO`, the numeric and authoritative version record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixedFileInfo {
    pub file_version: FileVersion,
    pub product_version: FileVersion,
    pub struct_version: u32,
    pub flags_mask: u32,
    pub flags: u32,
    pub os: u32,
    pub file_type: u32,
    pub file_subtype: u32,
    /// `dwFileDateMS:dwFileDateLS`, a FILETIME; almost always 0.
    pub file_date: u64,
}

/// Why a version block could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptVersion(pub String);

impl std::fmt::Display for CorruptVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CorruptVersion {}

/// What was learnt from one file's bytes; `E` is the reader's error for a file it could not
/// read as a PE (the core's `InspectError`).
#[derive(Debug)]
pub struct FileEvidence<E> {
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub times: Times,
    pub pe: Result<PeVersionData, E>,
}

/// The header facts the report shows.
impl From<&PeHeader> for crate::file::PeFacts {
    fn from(h: &PeHeader) -> Self {
        Self {
            format: h.format.as_str(),
            machine: h.machine_name().to_owned(),
            link_time: (h.timestamp != 0)
                .then(|| crate::time::Timestamp::from_unix_secs(i64::from(h.timestamp))),
            link_timestamp_raw: h.timestamp,
        }
    }
}
