//! qcow2 (v2 and v3, compressed clusters included) through `qcow2-core`, given our read-only
//! handle. An overlay is read over its backing file, the clusters it does not hold from the
//! backing file ([`chain`]); encrypted images are refused.
//!
//! [`chain`]: super::chain

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use qcow2_core::Qcow2Reader;

use super::chain::{self, Ancestry, Held, Map};
use super::{
    pread_exact, ContainerError, ContainerMeta, Opened, SeekSource, Verification, MAX_TABLE_BYTES,
};
use crate::contain::contained;
use crate::image::reader::ByteSource;

fn damaged(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::damaged("qcow2", e)
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Opens a qcow2 file; an overlay is read over its backing file ([`chain`]).
///
/// [`chain`]: super::chain
pub fn open(path: &Path, file: File) -> Result<Opened, ContainerError> {
    let mut anc = Ancestry::default();
    let opened = open_in(path, file, &mut anc)?;
    Ok(chain::opened_with(opened, anc))
}

/// The backing file name an overlay's header gives, if any (bounded, lossless UTF-8 only).
pub(crate) fn backing_name(file: &mut File) -> Option<String> {
    let h = pread_exact(file, 0, 72, "header").ok()?;
    let off = (u64::from(be32(&h, 8)) << 32) | u64::from(be32(&h, 12));
    let len = be32(&h, 16);
    if off == 0 || len == 0 || len > MAX_BACKING_NAME {
        return None;
    }
    let b = pread_exact(file, off, len as usize, "backing file name").ok()?;
    String::from_utf8(b).ok()
}

/// The longest backing file name read (QEMU's own limit is 1023 bytes).
const MAX_BACKING_NAME: u32 = 1023;

pub(crate) fn open_in(
    path: &Path,
    mut file: File,
    anc: &mut Ancestry,
) -> Result<Opened, ContainerError> {
    let h = pread_exact(&mut file, 0, 72, "header")?;
    let version = be32(&h, 4);
    let backing_off = (u64::from(be32(&h, 8)) << 32) | u64::from(be32(&h, 12));
    let crypt = be32(&h, 32);
    if crypt != 0 {
        return Err(ContainerError::Refused(
            "format not supported: this qcow2 image is encrypted; decrypt it with qemu-img (it \
             needs the secret) and scan the raw result"
                .to_owned(),
        ));
    }
    let parent = if backing_off != 0 {
        let len = be32(&h, 16);
        if len == 0 || len > MAX_BACKING_NAME {
            return Err(damaged(format!(
                "a backing file name of {len} bytes (1 to {MAX_BACKING_NAME} are valid)"
            )));
        }
        let raw = pread_exact(&mut file, backing_off, len as usize, "backing file name")?;
        let name = String::from_utf8(raw).map_err(|_| {
            damaged("a backing file name that is not UTF-8 (it could name two files)")
        })?;
        let map = Clusters::read(&h, version, file.try_clone()?)?;
        let src = chain::open_parent(path, &file, &name, None, anc)?;
        Some((map, src))
    } else {
        None
    };
    file.seek(SeekFrom::Start(0))?;
    // The reader refuses any header naming a backing file; it is given the header with that
    // name's offset as zero, and reads the clusters the overlay holds (never past them: the
    // chain asks the overlay only for what its tables say it holds).
    let reader = contained(|| Qcow2Reader::from_reader(NoBacking { file, pos: 0 }))
        .ok_or_else(|| damaged("the qcow2 reader failed on a damaged structure"))?
        .map_err(damaged)?;
    let len = reader.virtual_disk_size();
    let own: Box<dyn ByteSource> = Box::new(SeekSource {
        inner: reader,
        len,
        name: "qcow2",
    });
    let (src, what) = match parent {
        Some((map, parent)) => (
            chain::layered(own, Box::new(map), parent),
            "the overlay and its backing files",
        ),
        None => (own, "the disk's data"),
    };
    Ok(Opened {
        kind: "qcow2",
        segments: 1,
        meta: ContainerMeta {
            subformat: Some(format!("v{version}")),
            virtual_size: Some(len),
            ..ContainerMeta::default()
        },
        notices: Vec::new(),
        src,
        verify: Box::new(move || {
            Verification::none(format!("qcow2 stores no hash or checksum of {what}"))
        }),
    })
}

/// The file with its header's backing file offset read as zero.
struct NoBacking {
    file: File,
    pos: u64,
}

impl Read for NoBacking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        // Bytes 8..16 of the header: the backing file name's offset.
        for (i, b) in buf[..n].iter_mut().enumerate() {
            if (8..16).contains(&(self.pos + i as u64)) {
                *b = 0;
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for NoBacking {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let end = self.file.metadata()?.len();
        let next = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = next.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

/// An overlay's L1/L2 tables: which clusters it holds (qcow2 specification, "Cluster
/// mapping": an L2 entry is compressed (bit 62), a standard cluster at a host offset (bits
/// 9–55), or, in version 3, all zeros (bit 0); an entry with neither is unallocated and
/// reads from the backing file).
#[derive(Debug)]
struct Clusters {
    file: File,
    cluster_bits: u32,
    l1: Vec<u64>,
    v3: bool,
    /// The last L2 table read (host offset, entries).
    cached: Option<(u64, Vec<u64>)>,
}

const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;

impl Clusters {
    fn read(h: &[u8], version: u32, mut file: File) -> Result<Self, ContainerError> {
        let cluster_bits = be32(h, 20);
        if !(9..=21).contains(&cluster_bits) {
            return Err(damaged(format!(
                "cluster_bits {cluster_bits} (9 to 21 are valid)"
            )));
        }
        let l1_size = u64::from(be32(h, 36));
        let l1_off = (u64::from(be32(h, 40)) << 32) | u64::from(be32(h, 44));
        if l1_size * 8 > MAX_TABLE_BYTES {
            return Err(damaged(format!("an L1 table of {l1_size} entries")));
        }
        let raw = pread_exact(&mut file, l1_off, (l1_size * 8) as usize, "L1 table")?;
        let l1 = raw
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Ok(Self {
            file,
            cluster_bits,
            l1,
            v3: version >= 3,
            cached: None,
        })
    }
}

impl Map for Clusters {
    fn granule(&self) -> u64 {
        1 << self.cluster_bits
    }

    fn held(&mut self, index: u64) -> io::Result<Held> {
        let per_l2 = 1u64 << (self.cluster_bits - 3);
        let Some(&l1e) = usize::try_from(index / per_l2)
            .ok()
            .and_then(|i| self.l1.get(i))
        else {
            return Ok(Held::Parent);
        };
        let l2_off = l1e & OFFSET_MASK;
        if l2_off == 0 {
            return Ok(Held::Parent);
        }
        if self.cached.as_ref().map(|(o, _)| *o) != Some(l2_off) {
            let raw = pread_exact(&mut self.file, l2_off, (per_l2 * 8) as usize, "L2 table")?;
            let entries = raw
                .chunks_exact(8)
                .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
            self.cached = Some((l2_off, entries));
        }
        let e = self
            .cached
            .as_ref()
            .and_then(|(_, t)| t.get((index % per_l2) as usize).copied())
            .unwrap_or(0);
        Ok(if e & (1 << 62) != 0 {
            Held::Data
        } else if self.v3 && e & 1 != 0 {
            Held::Zero
        } else if e & OFFSET_MASK != 0 {
            Held::Data
        } else {
            Held::Parent
        })
    }
}

pub(crate) static QCOW2: super::Container = super::Container {
    name: "qcow2",
    display: "qcow2",
    detect: |p| p.starts(b"QFI\xfb"),
    reading: super::Reading::Read(open),
    companions: chain::parent_paths,
    companion: "a parent disk of the scanned differencing disk",
};
