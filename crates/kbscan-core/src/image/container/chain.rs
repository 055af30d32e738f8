//! Differencing disks (a qcow2 overlay, a VMDK snapshot) read as their chain: each cluster or
//! grain the child holds is read from the child, a zeroed one as zeros, and every other one
//! from its parent, as QEMU reads the chain. The parent is the file the child's own locator
//! names (qcow2 backing file name, VMDK `parentFileNameHint`), looked for in the child's
//! folder only and opened like a VMDK extent ([`open_extent`]: no link, no FIFO, no device,
//! never outside the folder). A missing parent, a loop, a chain deeper than [`MAX_DEPTH`], a
//! parent outside the folder, or a VMDK parent whose content id is not the one the child was
//! made from, is refused by name: reading the child alone, or over the wrong parent, would
//! give a disk that never existed.
//!
//! [`open_extent`]: super::vmdk::open_extent

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::{detect, open_as, qcow2, qemu_convert, vhd, vmdk, ChainParent, ContainerError, Opened};
use crate::image::reader::{ByteSource, Segments};

// The containers compared by address below are `static`s (a `const` has no one address).

/// What identifies the parent a child was made from, as the child records it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ParentId {
    /// A VMDK snapshot's `parentCID`: the parent's content id when the snapshot was taken.
    VmdkCid(u32),
    /// A differencing VHD's parent unique id: the parent's footer `Unique Id`.
    VhdUuid([u8; 16]),
}

/// The most parents a chain may have: far beyond real snapshot trees, small enough that a
/// crafted chain cannot hold the scan.
pub const MAX_DEPTH: usize = 16;

/// What one layer holds at a place of the virtual disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Data of its own.
    Data,
    /// Zeros of its own (a qcow2 zero cluster, a VMDK zeroed grain): never the parent's data.
    Zero,
    /// Nothing: the parent's data shows through.
    Parent,
}

/// A child's allocation table, read from its file.
pub(crate) trait Map: Send + std::fmt::Debug {
    /// The bytes one entry covers (a qcow2 cluster, a VMDK grain).
    fn granule(&self) -> u64;
    /// What the child holds at granule `index`.
    fn held(&mut self, index: u64) -> io::Result<Held>;
    /// What the child holds at granule `index`, and for how many granules from there (at
    /// least 1, at most `max`) it holds the same: a map whose granule is small (a VHD sector)
    /// lets a read take a run at once.
    fn run(&mut self, index: u64, max: u64) -> io::Result<(Held, u64)> {
        let _ = max;
        Ok((self.held(index)?, 1))
    }
}

/// The files of a chain being opened, so that a loop is seen and its depth bounded.
#[derive(Debug, Default)]
pub(crate) struct Ancestry {
    /// (device, inode) of every file of the chain so far, the child first.
    seen: Vec<(u64, u64)>,
    /// The parents opened so far, nearest first.
    pub(crate) parents: Vec<ChainParent>,
    /// What the parents' readers noticed (a wrong checksum…), each naming its parent.
    notices: Vec<String>,
}

impl Ancestry {
    /// Records `file` (the child, or a parent just opened); `Err` when it is already in the
    /// chain.
    fn enter(&mut self, file: &File, shown: &str) -> Result<(), ContainerError> {
        let st = rustix::fs::fstat(file).map_err(|e| ContainerError::Io(e.into()))?;
        let id = (st.st_dev, st.st_ino);
        if self.seen.contains(&id) {
            return Err(ContainerError::Refused(format!(
                "differencing disk chain loops: its parent \"{shown}\" is already a disk of the chain; not read"
            )));
        }
        self.seen.push(id);
        Ok(())
    }
}

/// A child over its parent, as one disk.
#[derive(Debug)]
pub(crate) struct Chain {
    child: Box<dyn ByteSource>,
    map: Box<dyn Map>,
    parent: Box<dyn ByteSource>,
    len: u64,
}

impl ByteSource for Chain {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, mut pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let g = self.map.granule();
        let mut done = 0;
        while done < buf.len() && pos < self.len {
            let within = pos % g;
            let end = pos.saturating_add((buf.len() - done) as u64).min(self.len);
            let (held, count) = self.map.run(pos / g, (end - 1) / g - pos / g + 1)?;
            let want = usize::try_from(
                count
                    .max(1)
                    .saturating_mul(g)
                    .saturating_sub(within)
                    .min(end - pos),
            )
            .unwrap_or(usize::MAX)
            .min(buf.len() - done);
            let out = &mut buf[done..done + want];
            let n = match held {
                Held::Data => self.child.read_at(pos, out)?,
                Held::Zero => {
                    out.fill(0);
                    want
                }
                Held::Parent => {
                    // A child larger than its parent reads zeros past the parent's end.
                    let plen = self.parent.len();
                    if pos >= plen {
                        out.fill(0);
                        want
                    } else {
                        let cut = usize::try_from(plen - pos).unwrap_or(usize::MAX).min(want);
                        read_full(&mut *self.parent, pos, &mut out[..cut])?;
                        out[cut..].fill(0);
                        want
                    }
                }
            };
            if n == 0 {
                break;
            }
            done += n;
            pos += n as u64;
        }
        Ok(done)
    }
}

/// Reads `buf` whole from the parent, or fails: a short read inside the parent is damage,
/// never zeros.
fn read_full(src: &mut dyn ByteSource, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = src.read_at(pos + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the parent disk of the chain ends before its stated size (truncated?)",
            ));
        }
        done += n;
    }
    Ok(())
}

/// The child's folder, as the examiner named the child (where its locator is resolved).
fn folder_of(child: &Path) -> &Path {
    match child.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The parent's name below the child's folder, from the child's locator: a relative name of
/// plain components, or an absolute name whose folder is the child's own folder. Anything else
/// would be read outside the folder the examiner gave.
fn below_folder(child: &Path, locator: &str) -> Result<String, ContainerError> {
    let outside = || {
        ContainerError::Refused(format!(
            "differencing disk whose parent \"{locator}\" is outside its folder: only a parent \
             beside the child (or below its folder) is read; merge the chain where the parent is: {}, \
             then scan disk.raw",
            qemu_convert(child)
        ))
    };
    if locator.is_empty() || locator.contains('\\') || locator.contains('\0') {
        return Err(outside());
    }
    let p = Path::new(locator);
    if p.is_absolute() {
        let here = std::fs::canonicalize(folder_of(child)).map_err(ContainerError::Io)?;
        return match (p.parent(), p.file_name().and_then(|n| n.to_str())) {
            (Some(dir), Some(name)) if dir == here => Ok(name.to_owned()),
            _ => Err(outside()),
        };
    }
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str().ok_or_else(outside)?),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(parts.join("/"))
}

/// Opens the parent `locator` names for the child at `child` and every parent above it.
pub(crate) fn open_parent(
    child: &Path,
    child_file: &File,
    locator: &str,
    expect: Option<ParentId>,
    anc: &mut Ancestry,
) -> Result<Box<dyn ByteSource>, ContainerError> {
    if anc.seen.is_empty() {
        anc.enter(child_file, &child.display().to_string())?;
    }
    if anc.parents.len() >= MAX_DEPTH {
        return Err(ContainerError::Refused(format!(
            "differencing disk chain deeper than {MAX_DEPTH} disks: not read"
        )));
    }
    let name = below_folder(child, locator)?;
    let dir_path = folder_of(child);
    let dir: OwnedFd = rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ContainerError::Io(e.into()))?;
    let mut file =
        vmdk::open_extent(&dir, &name).map_err(|e| {
            ContainerError::Refused(format!(
            "differencing disk whose parent cannot be read: {}; the child alone is not the disk. \
             Put the parent beside it and scan again, or merge the chain: {}, then scan disk.raw",
            e.to_string()
                .replacen("extent", "parent", 1)
                .replacen("beside the descriptor", "beside the child", 1),
            qemu_convert(child)
        ))
        })?;
    anc.enter(&file, &name)?;
    let path = dir_path.join(&name);
    let container = detect(&mut file)?;
    let kind = container.map_or("raw", |c| c.name);
    match (expect, container) {
        (Some(ParentId::VmdkCid(want)), Some(c)) => {
            let descriptor_file = std::ptr::eq(c, &vmdk::DESCRIPTOR);
            if descriptor_file || std::ptr::eq(c, &vmdk::SPARSE) {
                check_cid(child, &name, want, vmdk::content_id(&file, descriptor_file))?;
            }
        }
        (Some(ParentId::VhdUuid(want)), c) => {
            let got = c
                .filter(|c| std::ptr::eq(*c, &vhd::VHD))
                .and_then(|_| vhd::unique_id(&mut file));
            check_uuid(child, &name, want, got)?;
        }
        _ => {}
    }
    let at = anc.parents.len();
    anc.parents.push(ChainParent {
        file: name.clone(),
        container: kind.to_owned(),
    });
    // Detection and the content id moved the file position; the readers read from where the
    // handle is.
    file.seek(SeekFrom::Start(0))?;
    let opened = match container {
        None => {
            let raw = Segments::from_file(file)?;
            return Ok(Box::new(raw));
        }
        Some(c) if std::ptr::eq(c, &qcow2::QCOW2) => qcow2::open_in(&path, file, anc),
        Some(c) if std::ptr::eq(c, &vmdk::SPARSE) => vmdk::open_sparse_in(&path, file, anc),
        Some(c) if std::ptr::eq(c, &vhd::VHD) => vhd::open_in(&path, file, anc),
        Some(c) => open_as(c, &path, file),
    }
    .map_err(|e| match e {
        ContainerError::Refused(m) => ContainerError::Refused(format!("parent \"{name}\": {m}")),
        ContainerError::Damaged { kind, message } => ContainerError::Damaged {
            kind,
            message: format!("parent \"{name}\": {message}"),
        },
        other => other,
    })?;
    anc.parents[at].container = opened.kind.to_owned();
    anc.notices.extend(
        opened
            .notices
            .iter()
            .map(|n| format!("parent \"{name}\": {n}")),
    );
    Ok(opened.src)
}

/// A VMDK parent must be the disk the child was made from: its content id (`CID`) must be
/// the child's `parentCID` (VMware and QEMU give a disk a new CID at its first write after
/// opening, so a parent written after the snapshot was taken has another).
fn check_cid(child: &Path, name: &str, want: u32, got: Option<u32>) -> Result<(), ContainerError> {
    match got {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(ContainerError::Refused(format!(
            "differencing VMDK whose parent \"{name}\" has content id {got:08x} where the child \
             was made from {want:08x}: the parent was written after the snapshot was taken, so \
             the chain is not the disk the snapshot recorded; not read (merging it anyway: {})",
            qemu_convert(child)
        ))),
        None => Err(ContainerError::Refused(format!(
            "differencing VMDK whose parent \"{name}\" gives no readable content id: whether it \
             is the disk the child was made from cannot be told; not read"
        ))),
    }
}

/// A differencing VHD's parent must be the disk it was made from: a VHD whose footer's unique
/// id is the one the child records (Windows will not attach the chain otherwise).
fn check_uuid(
    child: &Path,
    name: &str,
    want: [u8; 16],
    got: Option<[u8; 16]>,
) -> Result<(), ContainerError> {
    let hex = |b: &[u8; 16]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    match got {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(ContainerError::Refused(format!(
            "differencing VHD whose parent \"{name}\" has unique id {} where the child was made \
             from {}: it is another disk, so the chain is not the disk the child recorded; not \
             read ({})",
            hex(&got),
            hex(&want),
            vhd::merge_hint(child)
        ))),
        None => Err(ContainerError::Refused(format!(
            "differencing VHD whose parent \"{name}\" is not a VHD with a readable footer: whether \
             it is the disk the child was made from cannot be told; not read"
        ))),
    }
}

/// The child over its parent.
pub(crate) fn layered(
    child: Box<dyn ByteSource>,
    map: Box<dyn Map>,
    parent: Box<dyn ByteSource>,
) -> Box<dyn ByteSource> {
    let len = child.len();
    Box::new(Chain {
        child,
        map,
        parent,
        len,
    })
}

/// The parent files of the chain a differencing disk at `path` begins, as the reader would
/// open them (for the `-o` guard); none when `path` is not a differencing disk kbscan reads.
pub fn parent_paths(path: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut here = path.to_path_buf();
    for _ in 0..=MAX_DEPTH {
        let Ok(mut f) = crate::source::host::open_evidence(&here) else {
            break;
        };
        let locator = match detect(&mut f) {
            Ok(Some(c)) if std::ptr::eq(c, &qcow2::QCOW2) => qcow2::backing_name(&mut f),
            Ok(Some(c)) if std::ptr::eq(c, &vmdk::SPARSE) => f
                .seek(SeekFrom::Start(0))
                .ok()
                .and_then(|_| vmdk::parent_hint(f)),
            Ok(Some(c)) if std::ptr::eq(c, &vhd::VHD) => vhd::parent_locator(&mut f),
            _ => None,
        };
        let Some(locator) = locator else { break };
        let Ok(name) = below_folder(&here, &locator) else {
            break;
        };
        let next = folder_of(&here).join(name);
        if out.contains(&next) || next == path {
            break;
        }
        out.push(next.clone());
        here = next;
    }
    Ok(out)
}

/// The metadata line for a chain: the files read under the child.
pub(crate) fn opened_with(mut child: Opened, anc: Ancestry) -> Opened {
    child.segments += anc.parents.len();
    child.meta.parents = anc.parents;
    child.notices.extend(anc.notices);
    child
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parent that is itself a child must be opened with the chain's ancestry (else a loop
    /// would recurse without end): the containers are told apart by address.
    #[test]
    fn the_containers_a_chain_opens_are_recognised_by_address() {
        use super::super::{recognise, Probe};
        let probe = |head: &[u8]| recognise(&Probe { head, tail: None }).unwrap();
        assert!(std::ptr::eq(probe(b"QFI\xfb\0\0\0\x03"), &qcow2::QCOW2));
        assert!(std::ptr::eq(probe(b"KDMV\x01\0\0\0"), &vmdk::SPARSE));
        assert!(std::ptr::eq(
            probe(b"# Disk DescriptorFile\n"),
            &vmdk::DESCRIPTOR
        ));
    }

    #[test]
    fn a_locator_is_read_only_below_the_childs_folder() {
        let dir = tempfile::tempdir().unwrap();
        let child = dir.path().join("c.qcow2");
        let here = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(below_folder(&child, "base.qcow2").unwrap(), "base.qcow2");
        assert_eq!(
            below_folder(&child, "sub/base.qcow2").unwrap(),
            "sub/base.qcow2"
        );
        assert_eq!(below_folder(&child, "./base.qcow2").unwrap(), "base.qcow2");
        let abs = here.join("base.qcow2");
        assert_eq!(
            below_folder(&child, abs.to_str().unwrap()).unwrap(),
            "base.qcow2"
        );
        for bad in [
            "../base.qcow2",
            "sub/../../base",
            "/etc/passwd",
            "C:\\VMs\\base.vmdk",
            "",
            ".",
        ] {
            assert!(
                matches!(below_folder(&child, bad), Err(ContainerError::Refused(_))),
                "{bad}"
            );
        }
        let deeper = here.join("sub/base.qcow2");
        assert!(below_folder(&child, deeper.to_str().unwrap()).is_err());
    }
}
