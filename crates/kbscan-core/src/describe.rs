//! `kbscan version`: the version information of any PE file, decoded for people (an offline
//! sigcheck). Evidence in, `model::described` out.

use std::path::Path;

use crate::error::InspectError;
use crate::escape::escape_bytes;
use crate::evidence::inspect;
use crate::evidence::pe::PeVersionData;
use crate::evidence::versioninfo::FixedFileInfo;
use crate::model::described::{DescribedFile, DescribedFixed, DescribedResource};
use crate::model::{FileFacts, PeFacts};
use crate::source::ReadAt;

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

/// Describes one file given on the command line (a link named there is followed: the examiner
/// asked for that path).
pub fn describe_file(path: &Path, max_size: u64) -> DescribedFile {
    let shown = escape_bytes(path.as_os_str().as_encoded_bytes());
    let opened = (|| -> Result<_, InspectError> {
        let real = std::fs::canonicalize(path)?;
        let file = crate::source::host::open_evidence(&real)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(InspectError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        Ok((file, meta))
    })();
    match opened {
        Ok((file, meta)) => describe_reader(
            shown,
            meta.len(),
            crate::source::host::times_of(&meta),
            max_size,
            &file,
        ),
        Err(e) => failed(shown, &e),
    }
}

fn empty(path: String) -> DescribedFile {
    DescribedFile {
        path,
        file: FileFacts::default(),
        resources: Vec::new(),
        error: None,
        error_kind: None,
        note: None,
        sha1: None,
        authenticode: None,
    }
}

fn failed(path: String, e: &InspectError) -> DescribedFile {
    let mut d = empty(path);
    d.error = Some(e.to_string());
    d.error_kind = Some(e.kind());
    d
}

/// Describes one opened file (`size` and `times` as its metadata gave them before reading): the
/// version resources and hashes (`inspect`), then SHA-1 and the Authenticode facts from a
/// second pass over the same handle, which must give the same SHA-256.
pub fn describe_reader(
    path: String,
    size: u64,
    times: crate::model::time::Times,
    max_size: u64,
    reader: &dyn ReadAt,
) -> DescribedFile {
    let mut d = empty(path);
    let ev = inspect::evidence_from_reader(size, times, max_size, || Ok(Box::new(reader)));
    d.file.size = ev.size;
    d.file.sha256.clone_from(&ev.sha256);
    d.file.md5.clone_from(&ev.md5);
    d.file.set_times(&ev.times);
    if ev.sha256.is_some() {
        match signature_pass(reader, size, ev.sha256.as_deref()) {
            Ok((sha1, auth)) => {
                d.sha1 = Some(sha1);
                d.authenticode = auth;
            }
            Err(e) => {
                d.error = Some(e.to_string());
                d.error_kind = Some(e.kind());
                return d;
            }
        }
    }
    match &ev.pe {
        Ok(pe) => {
            d.file.pe = Some(PeFacts::from(&pe.header));
            d.resources = describe_pe(pe);
            if d.resources.is_empty() {
                // A readable PE without a version resource: a fact, not an error (issue 15).
                d.note = Some(InspectError::NoVersionResource.to_string());
            }
        }
        Err(e) => {
            d.error = Some(e.to_string());
            d.error_kind = Some(e.kind());
        }
    }
    d
}

/// The second pass `kbscan version` makes: SHA-1 and the Authenticode facts
/// (`evidence::authenticode`), which must see the SHA-256 the first pass saw (else the file
/// changed between them, and neither is trusted).
fn signature_pass(
    reader: &dyn ReadAt,
    size: u64,
    sha256: Option<&str>,
) -> Result<(String, Option<crate::model::described::Authenticode>), InspectError> {
    use crate::evidence::authenticode::{examine, HEAD};
    let mut head = vec![0u8; usize::try_from(size.min(HEAD as u64)).unwrap_or(HEAD)];
    let mut got = 0;
    while got < head.len() {
        match reader.read_at(&mut head[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    let (hashes, auth) = examine(reader, size, &head)?;
    if Some(hashes.sha256.as_str()) != sha256 {
        return Err(InspectError::ChangedContent);
    }
    Ok((hashes.sha1, auth))
}

/// The most files `kbscan version -r` describes under one folder.
pub const MAX_TREE_FILES: usize = 100_000;

/// What `kbscan version -r FOLDER` found: the PE files described (in path order), and what it
/// did not describe.
#[derive(Debug, Default)]
pub struct Tree {
    pub files: Vec<DescribedFile>,
    /// Regular files that do not begin with `MZ`: not PE images, not described.
    pub not_pe: usize,
    /// Links, devices and other entries that are not regular files: not followed, not read.
    pub not_files: usize,
    /// Folders or files that could not be read, with why.
    pub errors: Vec<String>,
    /// [`MAX_TREE_FILES`] was reached: the rest was not described.
    pub truncated: bool,
}

/// Describes every PE file under `dir`, read through the same read-only source the scan uses
/// (folders opened relative to their parent, links never followed, so nothing outside `dir` is
/// reached even if the tree changes meanwhile), no deeper than [`crate::source::MAX_DEPTH`].
pub fn describe_tree(dir: &Path, max_size: u64) -> Tree {
    use crate::source::host::HostSource;
    use crate::source::{EntryKind, Source, MAX_DEPTH};
    let src = HostSource::new(dir, false, 1);
    let mut tree = Tree::default();
    let root = match src.root() {
        Ok((node, _)) => node,
        Err(e) => {
            tree.errors.push(format!(
                "{}: {e}",
                escape_bytes(dir.as_os_str().as_encoded_bytes())
            ));
            return tree;
        }
    };
    let mut stack = vec![(root, Vec::<Vec<u8>>::new())];
    while let Some((node, parts)) = stack.pop() {
        let shown = |parts: &[Vec<u8>]| {
            let rel: Vec<String> = parts.iter().map(|p| escape_bytes(p)).collect();
            src.display_path(&rel.join("/"), parts)
        };
        let mut entries = match src.list(&node) {
            Ok(e) => e,
            Err(e) => {
                tree.errors.push(format!("{}: {e}", shown(&parts)));
                continue;
            }
        };
        entries.sort_by(|a, b| b.name.cmp(&a.name));
        for e in entries {
            let mut p = parts.clone();
            p.push(e.name.clone());
            match e.kind {
                EntryKind::Dir if p.len() < MAX_DEPTH => stack.push((e.node, p)),
                EntryKind::Dir => tree.errors.push(format!(
                    "{}: deeper than {MAX_DEPTH} folders, not entered",
                    shown(&p)
                )),
                EntryKind::File => {
                    if tree.files.len() >= MAX_TREE_FILES {
                        tree.truncated = true;
                        return finish(tree);
                    }
                    describe_entry(&src, &e.node, shown(&p), max_size, &mut tree);
                }
                _ => tree.not_files += 1,
            }
        }
    }
    finish(tree)
}

fn finish(mut tree: Tree) -> Tree {
    tree.files.sort_by(|a, b| a.path.cmp(&b.path));
    tree
}

fn describe_entry<S: crate::source::Source>(
    src: &S,
    node: &S::Node,
    shown: String,
    max_size: u64,
    tree: &mut Tree,
) {
    let stat = match src.stat(node) {
        Ok(s) => s,
        Err(e) => {
            tree.errors.push(format!("{shown}: {e}"));
            return;
        }
    };
    let size = stat.size.unwrap_or(0);
    let reader = match src.open(node, size, max_size) {
        Ok(r) => r,
        Err(e) => {
            tree.errors.push(format!("{shown}: {e}"));
            return;
        }
    };
    let mut mz = [0u8; 2];
    if !matches!(reader.read_at(&mut mz, 0), Ok(2)) || &mz != b"MZ" {
        tree.not_pe += 1;
        return;
    }
    tree.files
        .push(describe_reader(shown, size, stat.times, max_size, &*reader));
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
