//! VHD (Virtual PC / Hyper-V gen 1), read here directly: fixed (a raw disk followed by a
//! 512-byte footer) and dynamic (footer, dynamic header, block allocation table, blocks each
//! preceded by a sector bitmap). The `vhd` crate is not used: its `open_reader` reads the
//! whole file into memory (`read_to_end`), which a 40 GB evidence image cannot afford, and it
//! rejects a footer whose checksum is wrong before `--verify-image` can report it.
//! Differencing disks are read over their parent (`chain`): the parent is found by the
//! child's relative locator (`W2ru`) or, without one, its parent name, in the child's folder
//! only, and must be the VHD whose unique id the child records; each sector the child's block
//! bitmap marks is the child's, every other one the parent's.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::chain::{self, Ancestry, Held, Map, ParentId};
use super::{
    pread, pread_exact, ContainerError, ContainerMeta, Opened, Verification, MAX_TABLE_BYTES,
};
use crate::image::reader::ByteSource;

const FOOTER: u64 = 512;

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("VHD", e)
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn be64(b: &[u8], o: usize) -> u64 {
    (u64::from(be32(b, o)) << 32) | u64::from(be32(b, o + 4))
}

/// One's-complement sum of the bytes with the checksum field (`at..at+4`) taken as zero.
fn checksum(b: &[u8], at: usize) -> u32 {
    let sum = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !(at..at + 4).contains(i))
        .fold(0u32, |s, (_, &x)| s.wrapping_add(u32::from(x)));
    !sum
}

#[derive(Debug)]
enum Layout {
    Fixed,
    Dynamic {
        /// Shared with a differencing disk's [`Sectors`] (up to 256 MiB: never copied).
        bat: Arc<[u32]>,
        block: u64,
        bitmap: u64,
    },
}

#[derive(Debug)]
pub struct VhdSource {
    file: File,
    file_len: u64,
    len: u64,
    layout: Layout,
}

pub fn open(path: &Path, file: File) -> Result<Opened, ContainerError> {
    let mut anc = Ancestry::default();
    let opened = open_in(path, file, &mut anc)?;
    Ok(chain::opened_with(opened, anc))
}

/// How to read a chain kbscan refuses: with a reader that follows it, then the raw result.
pub(crate) fn merge_hint(path: &Path) -> String {
    format!(
        "read the chain where its parent is with libvhdi's `vhdimount {} MOUNTPOINT` (Debian \
         package libvhdi-utils), which exposes it as one raw disk to scan, or merge it with \
         Hyper-V's Merge-VHD",
        path.display()
    )
}

/// The refusals `chain` words for qemu-img, worded for a VHD chain (qemu-img cannot read one).
fn vhd_worded(path: &Path, message: &str) -> String {
    let qemu = super::qemu_convert(path);
    let hint = merge_hint(path);
    message
        .replace(
            &format!("merge the chain: {qemu}, then scan disk.raw"),
            &hint,
        )
        .replace(
            &format!("merge the chain where the parent is: {qemu}, then scan disk.raw"),
            &hint,
        )
}

/// The most bytes of a parent locator's data read (a Windows path in UTF-16).
const MAX_LOCATOR: usize = 4096;

/// The parent a differencing VHD's dynamic header `hdr` names: its relative Windows locator
/// (`W2ru`, the one Windows writes for a parent beside the child) with `\` read as `/`, else
/// its parent unicode name (a file name). The absolute locator (`W2ku`, a path on the
/// machine that made it) is not used: the parent is looked for in the child's folder only.
fn parent_name(file: &mut File, hdr: &[u8]) -> Result<String, ContainerError> {
    let utf16 = |units: Vec<u16>, what: &str| {
        String::from_utf16(&units).map_err(|_| {
            // Escaped here, losslessly, as NTFS names are (an unpaired surrogate is
            // `\u{d800}`, not U+FFFD): the printers escape the message once more.
            let mut raw = Vec::new();
            crate::escape::utf16_to_bytes(units.iter().copied(), &mut raw);
            let shown = crate::escape::escape_bytes(&raw);
            ContainerError::Refused(format!(
                "differencing VHD whose parent {what} \"{shown}\" is not valid UTF-16 (an \
                 unpaired surrogate): it could name two files, so no parent is looked for; not \
                 read"
            ))
        })
    };
    for i in 0..8 {
        let e = &hdr[576 + 24 * i..600 + 24 * i];
        if &e[0..4] != b"W2ru" {
            continue;
        }
        let len = be32(e, 8) as usize;
        let at = be64(e, 16);
        if len == 0 || len > MAX_LOCATOR || len % 2 != 0 {
            return Err(damaged(format!("a relative parent locator of {len} bytes")));
        }
        let raw = pread_exact(file, at, len, "parent locator")?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let name = utf16(units, "locator")?.replace('\\', "/");
        return Ok(name);
    }
    let units: Vec<u16> = hdr[64..576]
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .take_while(|&c| c != 0)
        .collect();
    // A name with a folder in it is a path of the machine that made the disk: read as the
    // locator is, and placed (or refused) below the child's folder by `chain`.
    Ok(utf16(units, "name")?.replace('\\', "/"))
}

/// The file's length and its footer: the last 512 bytes, or the copy a dynamic disk keeps at
/// its start (some writers leave a 511-byte footer: the copy is then what is read).
fn footer(file: &mut File) -> Result<(u64, Vec<u8>), ContainerError> {
    let file_len = crate::image::reader::evidence_len(file)?;
    if file_len < FOOTER {
        return Err(damaged("shorter than its 512-byte footer"));
    }
    let foot = pread_exact(file, file_len - FOOTER, FOOTER as usize, "footer")?;
    if &foot[0..8] == b"conectix" {
        return Ok((file_len, foot));
    }
    let head = pread_exact(file, 0, FOOTER as usize, "footer copy")?;
    if &head[0..8] != b"conectix" {
        return Err(damaged("no footer (\"conectix\") at its end or start"));
    }
    Ok((file_len, head))
}

/// The parent a differencing VHD names (for the `-o` guard), if `file` is one.
pub(crate) fn parent_locator(file: &mut File) -> Option<String> {
    let (_, foot) = footer(file).ok()?;
    if be32(&foot, 60) != 4 {
        return None;
    }
    let hdr = pread_exact(file, be64(&foot, 16), 1024, "dynamic header").ok()?;
    parent_name(file, &hdr).ok()
}

/// The footer's unique id (what a differencing child records of its parent).
pub(crate) fn unique_id(file: &mut File) -> Option<[u8; 16]> {
    let (_, foot) = footer(file).ok()?;
    foot[68..84].try_into().ok()
}

/// A differencing VHD's sectors: a block the table does not allocate is the parent's; in an
/// allocated block, a sector whose bit in the block's bitmap is set (most significant bit
/// first) is the child's, any other the parent's.
#[derive(Debug)]
struct Sectors {
    file: File,
    file_len: u64,
    bat: Arc<[u32]>,
    block: u64,
    bitmap: u64,
    /// The last bitmap read (its block, its bytes).
    cached: Option<(u64, Vec<u8>)>,
}

impl Map for Sectors {
    fn granule(&self) -> u64 {
        512
    }

    fn held(&mut self, index: u64) -> io::Result<Held> {
        let per_block = self.block / 512;
        let b = index / per_block;
        let entry = usize::try_from(b)
            .ok()
            .and_then(|i| self.bat.get(i))
            .copied();
        let sector = match entry {
            None | Some(0xFFFF_FFFF) => return Ok(Held::Parent),
            Some(s) => u64::from(s),
        };
        if self.cached.as_ref().is_none_or(|(c, _)| *c != b) {
            let at = sector * 512;
            if at.saturating_add(self.bitmap) > self.file_len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "VHD block {b}'s bitmap lies past the end of the file (truncated image?)"
                    ),
                ));
            }
            let mut bits = vec![0u8; self.bitmap as usize];
            if pread(&mut self.file, at, &mut bits)? < bits.len() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("VHD block {b}: short read of its bitmap"),
                ));
            }
            self.cached = Some((b, bits));
        }
        let within = index % per_block;
        let bits = self
            .cached
            .as_ref()
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        Ok(if bit(bits, within) {
            Held::Data
        } else {
            Held::Parent
        })
    }

    fn run(&mut self, index: u64, max: u64) -> io::Result<(Held, u64)> {
        let held = self.held(index)?;
        let per_block = self.block / 512;
        let within = index % per_block;
        // Within this block only: the next block has a table entry and a bitmap of its own.
        let limit = (per_block - within).min(max.max(1));
        let allocated = self
            .cached
            .as_ref()
            .is_some_and(|(b, _)| *b == index / per_block);
        if !allocated {
            return Ok((held, limit));
        }
        let bits = self
            .cached
            .as_ref()
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        let want = held == Held::Data;
        let mut n = 1;
        while n < limit && bit(bits, within + n) == want {
            n += 1;
        }
        Ok((held, n))
    }
}

/// Bit `i` of a VHD sector bitmap (sector 0 is the most significant bit of byte 0).
fn bit(bits: &[u8], i: u64) -> bool {
    let byte = usize::try_from(i / 8)
        .ok()
        .and_then(|b| bits.get(b))
        .copied()
        .unwrap_or(0);
    byte & (0x80 >> (i % 8)) != 0
}

pub(crate) fn open_in(
    path: &Path,
    mut file: File,
    anc: &mut Ancestry,
) -> Result<Opened, ContainerError> {
    let (file_len, foot) = footer(&mut file)?;
    let footer_ok = checksum(&foot, 64) == be32(&foot, 64);
    let disk_type = be32(&foot, 60);
    // Current Size (offset 48), not Original Size (40): a disk expanded after creation has
    // grown past its original size.
    let current_size = be64(&foot, 48);
    let data_offset = be64(&foot, 16);
    let mut meta = ContainerMeta {
        virtual_size: Some(current_size),
        ..ContainerMeta::default()
    };
    let mut header_ok = None;
    let mut differencing: Option<Vec<u8>> = None;
    let (layout, subformat) = match disk_type {
        2 => (Layout::Fixed, "fixed"),
        3 | 4 => {
            let hdr = pread_exact(&mut file, data_offset, 1024, "dynamic header")?;
            if &hdr[0..8] != b"cxsparse" {
                return Err(damaged("the dynamic header (\"cxsparse\") is missing"));
            }
            header_ok = Some(checksum(&hdr, 36) == be32(&hdr, 36));
            if disk_type == 4 {
                differencing = Some(hdr.clone());
            }
            let bat_off = be64(&hdr, 16);
            let entries = u64::from(be32(&hdr, 28));
            let block = u64::from(be32(&hdr, 32));
            if block == 0 || block % 512 != 0 || block > 256 * 1024 * 1024 {
                return Err(damaged(format!("implausible block size {block}")));
            }
            let bytes = entries * 4;
            if bytes > MAX_TABLE_BYTES {
                return Err(damaged(format!(
                    "implausible block table of {entries} entries"
                )));
            }
            if entries.saturating_mul(block) < current_size {
                return Err(damaged(format!(
                    "{entries} blocks of {block} bytes cannot hold the {current_size}-byte disk"
                )));
            }
            let raw = pread_exact(&mut file, bat_off, bytes as usize, "block allocation table")?;
            let bat: Arc<[u32]> = raw.chunks_exact(4).map(|c| be32(c, 0)).collect();
            let bitmap = (block / (8 * 512)).div_ceil(512) * 512;
            let sub = if differencing.is_some() {
                "differencing"
            } else {
                "dynamic"
            };
            (Layout::Dynamic { bat, block, bitmap }, sub)
        }
        other => return Err(damaged(format!("unknown disk type {other}"))),
    };
    meta.subformat = Some(subformat.to_owned());
    let len = match layout {
        Layout::Fixed => current_size.min(file_len - FOOTER),
        Layout::Dynamic { .. } => current_size,
    };
    // qemu-img refuses such a disk: its reading is said to be doubtful whether or not
    // --verify-image is given.
    let mut notices = Vec::new();
    if !footer_ok {
        notices.push(
            "the VHD footer's checksum is wrong: its size, type and geometry may be damaged \
             (qemu-img refuses this disk); what it describes is read"
                .to_owned(),
        );
    }
    if header_ok == Some(false) {
        notices.push(
            "the VHD dynamic header's checksum is wrong: its block table may be damaged; what \
             it describes is read"
                .to_owned(),
        );
    }
    let verify = Box::new(move || {
        let mut detail = format!(
            "footer checksum {}",
            if footer_ok { "correct" } else { "wrong" }
        );
        if let Some(h) = header_ok {
            detail.push_str(&format!(
                ", dynamic header checksum {}",
                if h { "correct" } else { "wrong" }
            ));
        }
        detail.push_str(" (VHD stores no hash of the disk's data)");
        if footer_ok && header_ok != Some(false) {
            Verification::verified(detail)
        } else {
            Verification::mismatch(detail)
        }
    });
    let chained = match (&differencing, &layout) {
        (Some(hdr), Layout::Dynamic { bat, block, bitmap }) => {
            let mut want = [0u8; 16];
            want.copy_from_slice(&hdr[40..56]);
            let name = parent_name(&mut file, hdr)?;
            let map = Sectors {
                file: file.try_clone()?,
                file_len,
                bat: Arc::clone(bat),
                block: *block,
                bitmap: *bitmap,
                cached: None,
            };
            let parent = chain::open_parent(path, &file, &name, Some(ParentId::VhdUuid(want)), anc)
                .map_err(|e| match e {
                    ContainerError::Refused(m) => ContainerError::Refused(vhd_worded(path, &m)),
                    other => other,
                })?;
            Some((map, parent))
        }
        _ => None,
    };
    let own: Box<dyn ByteSource> = Box::new(VhdSource {
        file,
        file_len,
        len,
        layout,
    });
    let src = match chained {
        Some((map, parent)) => chain::layered(own, Box::new(map), parent),
        None => own,
    };
    Ok(Opened {
        kind: "vhd",
        segments: 1,
        meta,
        notices,
        src,
        verify,
    })
}

impl ByteSource for VhdSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        if pos >= self.len {
            return Ok(0);
        }
        let want = usize::try_from(self.len - pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match &self.layout {
            Layout::Fixed => pread(&mut self.file, pos, &mut buf[..want]),
            Layout::Dynamic { bat, block, bitmap } => {
                let (block, bitmap) = (*block, *bitmap);
                let mut done = 0;
                while done < want {
                    let p = pos + done as u64;
                    let i = p / block;
                    let within = p % block;
                    let n = ((block - within) as usize).min(want - done);
                    let entry = usize::try_from(i).ok().and_then(|i| bat.get(i)).copied();
                    match entry {
                        None | Some(0xFFFF_FFFF) => buf[done..done + n].fill(0),
                        Some(sector) => {
                            let at = u64::from(sector) * 512 + bitmap + within;
                            if at.saturating_add(n as u64) > self.file_len {
                                return Err(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!("VHD block {i} lies past the end of the file (truncated image?)"),
                                ));
                            }
                            let got = pread(&mut self.file, at, &mut buf[done..done + n])?;
                            if got < n {
                                return Err(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!("VHD block {i}: short read"),
                                ));
                            }
                        }
                    }
                    done += n;
                }
                Ok(done)
            }
        }
    }
}

/// A dynamic or differencing VHD starts with a copy of its footer; a fixed VHD is a raw disk
/// followed by the footer (last in the list: a raw disk could end so too).
pub(crate) static VHD: super::Container = super::Container {
    name: "vhd",
    display: "VHD",
    detect: |p| p.starts(b"conectix") || p.tail.is_some_and(|t| t.starts_with(b"conectix")),
    reading: super::Reading::Read(open),
    companions: chain::parent_paths,
    companion: "a parent disk of the scanned differencing disk",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_differencing_block_is_read_in_runs_of_its_bitmap() {
        // Blocks of 8 sectors: block 0 at sector 1 (its bitmap: sectors 0-2 and 7 the
        // child's), block 1 not allocated.
        let mut f = tempfile::tempfile().unwrap();
        let mut bytes = vec![0u8; 512 * 11];
        bytes[512] = 0b1110_0001;
        std::io::Write::write_all(&mut f, &bytes).unwrap();
        let mut m = Sectors {
            file: f,
            file_len: bytes.len() as u64,
            bat: Arc::from([1, 0xFFFF_FFFF]),
            block: 8 * 512,
            bitmap: 512,
            cached: None,
        };
        assert_eq!(m.run(0, 100).unwrap(), (Held::Data, 3));
        assert_eq!(m.run(1, 1).unwrap(), (Held::Data, 1));
        assert_eq!(m.run(3, 100).unwrap(), (Held::Parent, 4));
        assert_eq!(m.run(7, 100).unwrap(), (Held::Data, 1));
        assert_eq!(m.run(8, 100).unwrap(), (Held::Parent, 8));
        assert_eq!(m.run(9, 2).unwrap(), (Held::Parent, 2));
        // Past the table: the parent's.
        assert_eq!(m.run(16, 3).unwrap(), (Held::Parent, 3));
        assert_eq!(
            (0..8).map(|i| m.held(i).unwrap()).collect::<Vec<_>>(),
            [
                Held::Data,
                Held::Data,
                Held::Data,
                Held::Parent,
                Held::Parent,
                Held::Parent,
                Held::Parent,
                Held::Data
            ]
        );
    }
}
