//! VHD (Virtual PC / Hyper-V gen 1), read here directly: fixed (a raw disk followed by a
//! 512-byte footer) and dynamic (footer, dynamic header, block allocation table, blocks each
//! preceded by a sector bitmap). The `vhd` crate is not used: its `open_reader` reads the
//! whole file into memory (`read_to_end`), which a 40 GB evidence image cannot afford, and it
//! rejects a footer whose checksum is wrong before `--verify-image` can report it.
//! Differencing disks are refused, naming the parent recorded in the dynamic header.

use std::fs::File;
use std::io;

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
        bat: Vec<u32>,
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

pub fn open(mut file: File) -> Result<Opened, ContainerError> {
    let file_len = crate::image::reader::evidence_len(&file)?;
    if file_len < FOOTER {
        return Err(damaged("shorter than its 512-byte footer"));
    }
    // The footer is the last 512 bytes; a dynamic disk also keeps a copy at the start (and
    // some writers leave a 511-byte footer: the copy is then what is read).
    let mut foot = pread_exact(&mut file, file_len - FOOTER, FOOTER as usize, "footer")?;
    if &foot[0..8] != b"conectix" {
        let head = pread_exact(&mut file, 0, FOOTER as usize, "footer copy")?;
        if &head[0..8] != b"conectix" {
            return Err(damaged("no footer (\"conectix\") at its end or start"));
        }
        foot = head;
    }
    let footer_ok = checksum(&foot, 64) == be32(&foot, 64);
    let disk_type = be32(&foot, 60);
    let current_size = be64(&foot, 40);
    let data_offset = be64(&foot, 16);
    let mut meta = ContainerMeta {
        virtual_size: Some(current_size),
        ..ContainerMeta::default()
    };
    let mut header_ok = None;
    let (layout, subformat) = match disk_type {
        2 => (Layout::Fixed, "fixed"),
        3 | 4 => {
            let hdr = pread_exact(&mut file, data_offset, 1024, "dynamic header")?;
            if &hdr[0..8] != b"cxsparse" {
                return Err(damaged("the dynamic header (\"cxsparse\") is missing"));
            }
            header_ok = Some(checksum(&hdr, 36) == be32(&hdr, 36));
            if disk_type == 4 {
                let name = hdr[64..576]
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .take_while(|&c| c != 0);
                // Escaped here, losslessly, as NTFS names are (an unpaired surrogate is
                // `\u{d800}`, not U+FFFD): the printers escape the message once more.
                let mut raw = Vec::new();
                crate::escape::utf16_to_bytes(name, &mut raw);
                let parent = crate::escape::escape_bytes(&raw);
                return Err(ContainerError::Refused(format!(
                    "format not supported: this is a differencing VHD whose parent is \"{parent}\"; \
                     kbscan does not read parent chains. Merge it with its parent first: \
                     `qemu-img convert -O raw CHILD.vhd disk.raw` with the parent beside it \
                     (Debian package qemu-utils), then scan disk.raw"
                )));
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
            let bat = raw.chunks_exact(4).map(|c| be32(c, 0)).collect();
            let bitmap = (block / (8 * 512)).div_ceil(512) * 512;
            (Layout::Dynamic { bat, block, bitmap }, "dynamic")
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
    Ok(Opened {
        kind: "vhd",
        segments: 1,
        meta,
        notices,
        src: Box::new(VhdSource {
            file,
            file_len,
            len,
            layout,
        }),
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
pub(crate) const VHD: super::Container = super::Container {
    name: "vhd",
    display: "VHD",
    detect: |p| p.starts(b"conectix") || p.tail.is_some_and(|t| t.starts_with(b"conectix")),
    reading: super::Reading::Read(|_, f| open(f)),
    companions: super::no_companions,
    companion: "a segment of the scanned image",
};
