//! `kbscan version`: the version information of any PE file, decoded for people.

use std::path::Path;

use serde::Serialize;

use crate::escape::escape_bytes;
use crate::inspect;
use crate::pe::PeVersionData;
use crate::report::{PeFacts, ToolInfo};
use crate::version::FileVersion;
use crate::versioninfo::{FixedFileInfo, StringTable, Translation};

#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    pub tool: ToolInfo,
    pub files: Vec<DescribedFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedFile {
    pub path: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub modified: Option<String>,
    pub accessed: Option<String>,
    pub created: Option<String>,
    pub changed: Option<String>,
    pub pe: Option<PeFacts>,
    pub resources: Vec<DescribedResource>,
    pub error: Option<String>,
    pub error_kind: Option<&'static str>,
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

const FLAGS: &[(u32, &str)] = &[
    (0x01, "DEBUG"),
    (0x02, "PRERELEASE"),
    (0x04, "PATCHED"),
    (0x08, "PRIVATEBUILD"),
    (0x10, "INFOINFERRED"),
    (0x20, "SPECIALBUILD"),
];

/// `dwFileOS` as the `VOS_*` name.
pub fn os_name(os: u32) -> String {
    let base = match os & 0xffff_0000 {
        0x0000_0000 => "",
        0x0001_0000 => "DOS",
        0x0002_0000 => "OS2_16",
        0x0003_0000 => "OS2_32",
        0x0004_0000 => "NT",
        _ => "?",
    };
    let sub = match os & 0xffff {
        0 => "",
        1 => "WINDOWS16",
        2 => "PM16",
        3 => "PM32",
        4 => "WINDOWS32",
        _ => "?",
    };
    match (base, sub) {
        ("", "") => "UNKNOWN".to_owned(),
        ("", s) => format!("_{s}"),
        (b, "") => b.to_owned(),
        (b, s) => format!("{b}_{s}"),
    }
}

/// `dwFileType` as the `VFT_*` name.
pub fn type_name(t: u32) -> &'static str {
    match t {
        0 => "UNKNOWN",
        1 => "APP",
        2 => "DLL",
        3 => "DRV",
        4 => "FONT",
        5 => "VXD",
        7 => "STATIC_LIB",
        _ => "?",
    }
}

fn describe_fixed(f: &FixedFileInfo) -> DescribedFixed {
    let set = f.flags & f.flags_mask;
    DescribedFixed {
        file_version: f.file_version,
        product_version: f.product_version,
        flags: FLAGS
            .iter()
            .filter(|(b, _)| set & b != 0)
            .map(|(_, n)| *n)
            .collect(),
        flags_raw: f.flags,
        flags_mask: f.flags_mask,
        os: os_name(f.os),
        os_raw: f.os,
        file_type: type_name(f.file_type).to_owned(),
        file_type_raw: f.file_type,
        file_subtype: f.file_subtype,
        file_date: f.file_date,
        struct_version: format!("{}.{}", f.struct_version >> 16, f.struct_version & 0xffff),
    }
}

fn describe_pe(pe: &PeVersionData) -> Vec<DescribedResource> {
    pe.resources
        .iter()
        .map(|r| {
            let mut d = DescribedResource {
                name: r.name.clone(),
                lang: format!("{:04x}", r.lang),
                fixed: None,
                string_tables: Vec::new(),
                translations: Vec::new(),
                warnings: Vec::new(),
                error: None,
            };
            match &r.info {
                Ok(info) => {
                    d.fixed = info.fixed.as_ref().map(describe_fixed);
                    d.string_tables.clone_from(&info.string_tables);
                    d.translations.clone_from(&info.translations);
                    d.warnings.clone_from(&info.warnings);
                }
                Err(e) => d.error = Some(e.to_string()),
            }
            d
        })
        .collect()
}

/// Describes one file given on the command line.
pub fn describe_file(path: &Path, max_size: u64) -> DescribedFile {
    let mut d = DescribedFile {
        path: escape_bytes(path.as_os_str().as_encoded_bytes()),
        size: None,
        sha256: None,
        md5: None,
        modified: None,
        accessed: None,
        created: None,
        changed: None,
        pe: None,
        resources: Vec::new(),
        error: None,
        error_kind: None,
    };
    let ev = match inspect::inspect_path(path, max_size) {
        Ok(ev) => ev,
        Err(e) => {
            d.error = Some(e.to_string());
            d.error_kind = Some(e.kind());
            return d;
        }
    };
    d.size = ev.size;
    d.sha256 = ev.sha256;
    d.md5 = ev.md5;
    d.modified = ev.times.modified;
    d.accessed = ev.times.accessed;
    d.created = ev.times.created;
    d.changed = ev.times.changed;
    match &ev.pe {
        Ok(pe) => {
            d.pe = Some(PeFacts::of(&pe.header));
            d.resources = describe_pe(pe);
            if d.resources.is_empty() {
                let e = crate::error::InspectError::NoVersionResource;
                d.error = Some(e.to_string());
                d.error_kind = Some(e.kind());
            }
        }
        Err(e) => {
            d.error = Some(e.to_string());
            d.error_kind = Some(e.kind());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fixed_info_names() {
        assert_eq!(os_name(0x0004_0004), "NT_WINDOWS32");
        assert_eq!(os_name(0x0000_0004), "_WINDOWS32");
        assert_eq!(os_name(0x0004_0000), "NT");
        assert_eq!(os_name(0), "UNKNOWN");
        assert_eq!(type_name(1), "APP");
        assert_eq!(type_name(2), "DLL");
        assert_eq!(type_name(99), "?");
    }
}
