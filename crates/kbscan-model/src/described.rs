//! The model of `kbscan version`: any PE's version information, decoded for people.

use serde::Serialize;

use super::file::{FileFacts, StringTable, Translation};
use super::verdict::ErrorKind;
use super::version::FileVersion;
use super::ToolInfo;

#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    pub tool: ToolInfo,
    pub files: Vec<DescribedFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedFile {
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    #[serde(flatten)]
    pub file: FileFacts,
    pub resources: Vec<DescribedResource>,
    pub error: Option<String>,
    pub error_kind: Option<ErrorKind>,
    /// A fact that is not an error: `no version resource` for a readable PE without one
    /// (issue 15: `kbscan version` exits 0 for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedResource {
    /// Resource name or id (`1`).
    pub name: String,
    /// Resource language id, 4 hex digits.
    pub lang: String,
    pub fixed: Option<DescribedFixed>,
    pub string_tables: Vec<StringTable>,
    pub translations: Vec<Translation>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedFixed {
    pub file_version: FileVersion,
    pub product_version: FileVersion,
    /// Flags set (masked by `dwFileFlagsMask`), by name.
    pub flags: Vec<&'static str>,
    pub flags_raw: u32,
    pub flags_mask: u32,
    pub os: String,
    pub os_raw: u32,
    pub file_type: String,
    pub file_type_raw: u32,
    pub file_subtype: u32,
    pub file_date: u64,
    pub struct_version: String,
}
