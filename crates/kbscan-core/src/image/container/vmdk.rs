//! VMDK through `vmdk-core`: monolithicSparse, streamOptimized and COWD from our own
//! read-only handle (`VmdkReader::open`); descriptor files (monolithicFlat,
//! twoGbMaxExtentFlat, twoGbMaxExtentSparse, vmfs…) through `VmdkReader::open_path`, which
//! opens the extent files itself with `File::open` (read-only) and refuses extent names that
//! leave the descriptor's folder. Before that, every extent named by the descriptor is
//! checked here to be a regular file (not a link, not a device). Differencing disks
//! (`parentCID` set) are refused, naming the parent.

use std::fs::File;
use std::path::Path;

use vmdk_core::VmdkReader;

use super::{pread, qemu_convert, ContainerError, ContainerMeta, Opened, SeekSource, Verification};
use crate::contain::contained;

const MAX_DESCRIPTOR: usize = 1024 * 1024;

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("VMDK", e)
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        Some(rest.trim().trim_matches('"'))
    })
}

fn refuse_child(text: &str, path: &Path) -> Result<(), ContainerError> {
    let parent_cid = field(text, "parentCID").unwrap_or("ffffffff");
    if parent_cid.eq_ignore_ascii_case("ffffffff") {
        return Ok(());
    }
    let parent = field(text, "parentFileNameHint").unwrap_or("(not named)");
    Err(ContainerError::Refused(format!(
        "format not supported: this is a differencing (snapshot) VMDK whose parent is \"{parent}\"; \
         kbscan does not read parent chains. Merge it first, with the parent beside it: {}, \
         then scan disk.raw",
        qemu_convert(path)
    )))
}

fn no_hash() -> Box<dyn FnOnce() -> Verification + Send> {
    Box::new(|| Verification::none("VMDK stores no hash or checksum of the disk's data".to_owned()))
}

pub fn open_sparse(file: File) -> Result<Opened, ContainerError> {
    let reader = contained(|| VmdkReader::open(file))
        .ok_or_else(|| damaged("the VMDK reader failed on a damaged structure"))?
        .map_err(damaged)?;
    refuse_child(reader.descriptor_text(), Path::new("CHILD.vmdk"))?;
    let len = reader.virtual_disk_size();
    let subformat = reader.disk_type().to_owned();
    Ok(Opened {
        kind: "vmdk",
        segments: 1,
        meta: ContainerMeta {
            subformat: Some(subformat),
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        src: Box::new(SeekSource {
            inner: reader,
            len,
            name: "VMDK",
        }),
        verify: no_hash(),
    })
}

/// The file names of a descriptor's extent lines (`RW 4192256 FLAT "x-flat.vmdk" 0`).
fn extent_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let access = l.split_whitespace().next()?;
            if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
                return None;
            }
            let start = l.find('"')? + 1;
            let len = l[start..].find('"')?;
            Some(&l[start..start + len])
        })
        .collect()
}

/// The extent files a VMDK descriptor file names, beside it (none for anything else): inputs
/// as much as the descriptor, so `-o` must never land on one. Reads at most `MAX_DESCRIPTOR`
/// bytes, read-only, and only when the file starts as a descriptor.
pub fn extent_paths(path: &Path) -> Vec<std::path::PathBuf> {
    let Ok(mut file) = crate::source::host::open_evidence(path) else {
        return Vec::new();
    };
    let mut raw = vec![0u8; MAX_DESCRIPTOR];
    let Ok(n) = pread(&mut file, 0, &mut raw) else {
        return Vec::new();
    };
    raw.truncate(n);
    if !raw.starts_with(b"# Disk DescriptorFile") {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&raw);
    let dir = path.parent().unwrap_or(Path::new("."));
    extent_names(&text)
        .into_iter()
        .map(|name| dir.join(name))
        .collect()
}

pub fn open_descriptor(path: &Path, mut file: File) -> Result<Opened, ContainerError> {
    let size = file.metadata()?.len();
    if size > MAX_DESCRIPTOR as u64 {
        return Err(damaged(format!(
            "a {size}-byte descriptor file is implausible"
        )));
    }
    let mut raw = vec![0u8; size as usize];
    let n = pread(&mut file, 0, &mut raw)?;
    raw.truncate(n);
    let text = String::from_utf8_lossy(&raw);
    refuse_child(&text, path)?;
    let create = field(&text, "createType").unwrap_or("");
    if !matches!(
        create,
        "monolithicFlat"
            | "twoGbMaxExtentFlat"
            | "twoGbMaxExtentSparse"
            | "monolithicSparse"
            | "streamOptimized"
            | "vmfs"
            | "vmfsPreallocated"
            | "vmfsEagerZeroedThick"
            | "vmfsSparse"
            | "vmfsThin"
    ) {
        return Err(ContainerError::Refused(format!(
            "format not supported: a VMDK descriptor of type \"{create}\" (raw device mappings and \
             unknown types are not read); convert it: {}",
            qemu_convert(path)
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let names = extent_names(&text);
    if names.is_empty() {
        return Err(damaged("the descriptor names no extent file"));
    }
    for name in &names {
        let p = dir.join(name);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_file() => {}
            Ok(_) => {
                return Err(damaged(format!(
                    "extent \"{name}\" is not a regular file (a link or a device): not opened"
                )))
            }
            Err(e) => {
                return Err(damaged(format!(
                    "extent \"{name}\" cannot be found beside the descriptor: {e}"
                )))
            }
        }
    }
    let reader = contained(|| VmdkReader::open_path(path))
        .ok_or_else(|| damaged("the VMDK reader failed on a damaged structure"))?
        .map_err(damaged)?;
    let len = reader.virtual_disk_size();
    Ok(Opened {
        kind: "vmdk",
        segments: 1 + names.len(),
        meta: ContainerMeta {
            subformat: Some(create.to_owned()),
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        src: Box::new(SeekSource {
            inner: reader,
            len,
            name: "VMDK",
        }),
        verify: no_hash(),
    })
}

/// A VMDK whose data is in the file itself (monolithicSparse, streamOptimized, COWD).
pub(crate) const SPARSE: super::Container = super::Container {
    name: "vmdk",
    display: "VMDK",
    detect: |p| p.starts(b"KDMV") || p.starts(b"COWD"),
    reading: super::Reading::Read(|_, f| open_sparse(f)),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};

/// A VMDK descriptor file naming its extent files beside it.
pub(crate) const DESCRIPTOR: super::Container = super::Container {
    name: "vmdk",
    display: "VMDK",
    detect: |p| p.starts(b"# Disk DescriptorFile"),
    reading: super::Reading::Read(open_descriptor),
    companions: extent_paths,
    companion: "an extent file of the scanned VMDK",
};
