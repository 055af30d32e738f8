//! Finding the version resources of a PE file.
//!
//! pelite walks the PE headers and the resource directory; every `RT_VERSION` entry (all
//! names/ids and all languages, not only id 1) is handed to our own `VS_VERSIONINFO` reader.
//! pelite runs inside `contain::contained`: a panic inside it on hostile input becomes a typed error
//! for that one file instead of ending the scan.

use pelite::resources::{Directory, Name};
use pelite::{PeFile, Wrap};
use serde::Serialize;

use crate::error::InspectError;
use crate::versioninfo::{self, CorruptVersion, VersionInfo};

const RT_VERSION: u32 = 16;
/// The smallest file that can hold a DOS header and a PE header.
pub const MIN_PE_SIZE: u64 = 64 + 24;

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

/// One `RT_VERSION` resource: its name/id, language, and what it contained.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionResource {
    /// Resource name: the numeric id as text (`1`) or the string name.
    pub name: String,
    pub lang: u32,
    pub info: Result<VersionInfo, CorruptVersion>,
}

/// What a PE file said about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PeVersionData {
    pub header: PeHeader,
    /// Every `RT_VERSION` resource in directory order; empty when the file has none.
    pub resources: Vec<VersionResource>,
}

fn name_text(name: Name<'_>) -> String {
    match name {
        Name::Id(id) => id.to_string(),
        Name::Wide(w) => String::from_utf16_lossy(w),
        Name::Str(s) => s.to_owned(),
    }
}

/// Collects every data entry under the `RT_VERSION` type directory: names, then languages.
fn version_entries(root: Directory<'_>) -> Result<Vec<VersionResource>, InspectError> {
    let malformed =
        |e: pelite::Error| InspectError::MalformedPe(format!("resource directory: {e}"));
    let mut out = Vec::new();
    for type_entry in root.entries() {
        if !matches!(type_entry.name(), Ok(Name::Id(RT_VERSION))) {
            continue;
        }
        // The depth is fixed (type → name → language), so a directory that points back at
        // itself cannot make this loop run away.
        let Some(names) = type_entry.entry().map_err(malformed)?.dir() else {
            continue;
        };
        for name_entry in names.entries() {
            let name = name_entry
                .name()
                .map(name_text)
                .unwrap_or_else(|e| format!("<{e}>"));
            let Some(langs) = name_entry.entry().map_err(malformed)?.dir() else {
                continue;
            };
            for lang_entry in langs.entries() {
                let lang = match lang_entry.name() {
                    Ok(Name::Id(id)) => id,
                    _ => 0,
                };
                let info = match lang_entry.entry().map_err(malformed)?.data() {
                    Some(data) => match data.bytes() {
                        Ok(bytes) => versioninfo::parse(bytes),
                        Err(e) => Err(CorruptVersion(format!("resource data out of range: {e}"))),
                    },
                    None => Err(CorruptVersion("language entry is a directory".to_owned())),
                };
                out.push(VersionResource {
                    name: name.clone(),
                    lang,
                    info,
                });
            }
        }
    }
    Ok(out)
}

fn read_pe(image: &[u8]) -> Result<PeVersionData, InspectError> {
    let pe = PeFile::from_bytes(image).map_err(|e| match e {
        pelite::Error::BadMagic | pelite::Error::PeMagic => {
            InspectError::NotPe("no MZ/PE signature".to_owned())
        }
        other => InspectError::MalformedPe(format!("headers: {other}")),
    })?;
    let fh = pe.file_header();
    let header = PeHeader {
        format: match pe {
            Wrap::T32(_) => PeFormat::Pe32,
            Wrap::T64(_) => PeFormat::Pe32Plus,
        },
        machine: fh.Machine,
        timestamp: fh.TimeDateStamp,
    };
    let entries = match pe.resources() {
        // No resource section at all: a PE without a version resource.
        Err(pelite::Error::Null) => Vec::new(),
        Err(e) => return Err(InspectError::MalformedPe(format!("resource section: {e}"))),
        Ok(resources) => version_entries(
            resources
                .root()
                .map_err(|e| InspectError::MalformedPe(format!("resource directory: {e}")))?,
        )?,
    };
    Ok(PeVersionData {
        header,
        resources: entries,
    })
}

/// Reads the PE headers and every version resource of `image` (the whole file, 4-byte aligned).
pub fn inspect(image: &[u8]) -> Result<PeVersionData, InspectError> {
    let len = image.len() as u64;
    if len < 2 {
        return Err(InspectError::TooShort(len));
    }
    if !image.starts_with(b"MZ") {
        return Err(InspectError::NotPe("no MZ signature".to_owned()));
    }
    if len < MIN_PE_SIZE {
        return Err(InspectError::TooShort(len));
    }
    crate::contain::contained(|| read_pe(image)).unwrap_or(Err(InspectError::ParserPanic))
}
