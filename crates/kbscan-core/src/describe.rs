//! `kbscan version`: the version information of any PE file, decoded for people (an offline
//! sigcheck). Evidence in, `model::described` out.

use std::path::Path;

use crate::escape::escape_bytes;
use crate::evidence::inspect;
use crate::evidence::pe::PeVersionData;
use crate::evidence::versioninfo::FixedFileInfo;
use crate::model::described::{DescribedFile, DescribedFixed, DescribedResource};
use crate::model::{FileFacts, PeFacts};

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
        file: FileFacts::default(),
        resources: Vec::new(),
        error: None,
        error_kind: None,
        note: None,
    };
    let ev = match inspect::inspect_path(path, max_size) {
        Ok(ev) => ev,
        Err(e) => {
            d.error = Some(e.to_string());
            d.error_kind = Some(e.kind());
            return d;
        }
    };
    d.file.size = ev.size;
    d.file.sha256.clone_from(&ev.sha256);
    d.file.md5.clone_from(&ev.md5);
    d.file.set_times(&ev.times);
    match &ev.pe {
        Ok(pe) => {
            d.file.pe = Some(PeFacts::from(&pe.header));
            d.resources = describe_pe(pe);
            if d.resources.is_empty() {
                // A readable PE without a version resource: a fact, not an error (issue 15).
                d.note = Some(crate::error::InspectError::NoVersionResource.to_string());
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
