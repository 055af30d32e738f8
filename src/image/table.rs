//! Partition tables and file-system signatures. MBR (with extended/logical partitions) is read
//! by `mbrman`, inside `contain::contained`; GPT by the small reader below (header and entry
//! array, CRC-checked, bounded). Sector size 512 (GPT also tried at 4096).

use super::reader::Disk;
use crate::contain::contained;

/// One partition (or the whole image as one volume).
#[derive(Debug, Clone)]
pub struct Part {
    /// `p1`… or `whole`.
    pub volume: String,
    pub offset: u64,
    pub length: u64,
    pub ptype: Option<String>,
}

/// A partition table as read.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: &'static str,
    pub parts: Vec<Part>,
    pub notices: Vec<String>,
}

/// A file system recognised by its boot sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    Ntfs,
    Fat(&'static str),
}

impl FsKind {
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Ntfs => "ntfs",
            FsKind::Fat(n) => n,
        }
    }
}

/// The file system whose boot sector starts at `offset`, if recognised.
pub fn detect_fs(disk: &mut Disk, offset: u64) -> Option<FsKind> {
    let b = disk.read_exact_at(offset, 512).ok()?;
    if &b[3..11] == b"NTFS    " {
        return Some(FsKind::Ntfs);
    }
    let bps = u16::from_le_bytes([b[11], b[12]]);
    let boot_sig = b[510] == 0x55 && b[511] == 0xAA;
    let plausible = matches!(bps, 512 | 1024 | 2048 | 4096) && b[13] != 0 && b[16] != 0;
    if plausible && (boot_sig || b[0] == 0xEB || b[0] == 0xE9) {
        if &b[82..87] == b"FAT32" {
            return Some(FsKind::Fat("fat32"));
        }
        if &b[54..59] == b"FAT16" {
            return Some(FsKind::Fat("fat16"));
        }
        if &b[54..59] == b"FAT12" {
            return Some(FsKind::Fat("fat12"));
        }
        if &b[54..57] == b"FAT" {
            return Some(FsKind::Fat("fat"));
        }
    }
    None
}

/// Virtual disk containers recognised by their magic, which kbscan does not read.
pub fn container_format(disk: &mut Disk) -> Option<&'static str> {
    let head = disk.read_exact_at(0, 512).ok()?;
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"EVF\x09\x0d\x0a\xff\x00") {
        return Some("E01 (EnCase/EWF)");
    }
    if starts(b"EVF2\x0d\x0a\x81\x00") {
        return Some("Ex01 (EnCase 7 EWF2)");
    }
    if starts(b"LVF\x09\x0d\x0a\xff\x00") {
        return Some("L01 (EnCase logical evidence)");
    }
    if starts(b"KDMV") || starts(b"# Disk DescriptorFile") || starts(b"COWD") {
        return Some("VMDK");
    }
    if starts(b"conectix") {
        return Some("VHD");
    }
    if starts(b"vhdxfile") {
        return Some("VHDX");
    }
    if starts(b"QFI\xfb") {
        return Some("qcow2");
    }
    if head.len() >= 0x44 && head[0x40..0x44] == [0x7f, 0x10, 0xda, 0xbe] {
        return Some("VDI");
    }
    let len = disk.len();
    if len >= 512 && len % 512 == 0 {
        if let Ok(foot) = disk.read_exact_at(len - 512, 512) {
            if foot.starts_with(b"conectix") {
                return Some("VHD");
            }
        }
    }
    None
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn guid_text(g: &[u8]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10..16]
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    )
}

/// GPT at sector size `ss`, if its header signature is there.
fn read_gpt(disk: &mut Disk, ss: u64) -> Option<Table> {
    let h = disk.read_exact_at(ss, 512).ok()?;
    if &h[0..8] != b"EFI PART" {
        return None;
    }
    let mut notices = Vec::new();
    let hsize = u32::from_le_bytes([h[12], h[13], h[14], h[15]]) as usize;
    if (92..=512).contains(&hsize) {
        let mut hdr = h[..hsize].to_vec();
        let want = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        hdr[16..20].fill(0);
        if crc32(&hdr) != want {
            notices.push("GPT header checksum is wrong; its entries are read anyway".to_owned());
        }
    } else {
        notices.push(format!("GPT header size {hsize} is invalid"));
    }
    let le64 = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let entries_lba = le64(&h, 72);
    let count = u32::from_le_bytes([h[80], h[81], h[82], h[83]]) as usize;
    let esize = u32::from_le_bytes([h[84], h[85], h[86], h[87]]) as usize;
    let want_crc = u32::from_le_bytes([h[88], h[89], h[90], h[91]]);
    if !(128..=4096).contains(&esize) || count > 4096 {
        notices.push(format!(
            "GPT entry array is implausible ({count} entries of {esize} bytes); not read"
        ));
        return Some(Table {
            kind: "gpt",
            parts: Vec::new(),
            notices,
        });
    }
    let array = match entries_lba
        .checked_mul(ss)
        .map(|pos| disk.read_exact_at(pos, count * esize))
    {
        Some(Ok(a)) => a,
        Some(Err(e)) => {
            notices.push(format!("GPT entry array cannot be read: {e}"));
            return Some(Table {
                kind: "gpt",
                parts: Vec::new(),
                notices,
            });
        }
        None => {
            notices.push("GPT entry array position overflows".to_owned());
            return Some(Table {
                kind: "gpt",
                parts: Vec::new(),
                notices,
            });
        }
    };
    if crc32(&array) != want_crc {
        notices.push("GPT entry array checksum is wrong; entries are read anyway".to_owned());
    }
    let mut parts = Vec::new();
    for (i, e) in array.chunks_exact(esize).enumerate() {
        if e[0..16].iter().all(|&b| b == 0) {
            continue;
        }
        let first = le64(e, 32);
        let last = le64(e, 40);
        if last < first {
            notices.push(format!(
                "GPT entry {}: ends before it starts; skipped",
                i + 1
            ));
            continue;
        }
        let (Some(offset), Some(length)) = (
            first.checked_mul(ss),
            (last - first)
                .checked_add(1)
                .and_then(|n| n.checked_mul(ss)),
        ) else {
            notices.push(format!("GPT entry {}: position overflows; skipped", i + 1));
            continue;
        };
        parts.push(Part {
            volume: format!("p{}", i + 1),
            offset,
            length,
            ptype: Some(guid_text(&e[0..16])),
        });
    }
    Some(Table {
        kind: "gpt",
        parts,
        notices,
    })
}

/// MBR partitions (primary 1–4, logical from 5) through mbrman.
fn read_mbr(disk: &mut Disk) -> Result<Table, String> {
    let len = disk.len();
    let mut w = super::reader::Window::new(disk, 0, len);
    let mbr = contained(|| mbrman::MBR::read_from(&mut w, 512))
        .ok_or_else(|| "the MBR reader failed on it".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    let ext = |t: u8| matches!(t, 0x05 | 0x0F | 0x85);
    for (i, p) in mbr.iter() {
        if !p.is_used() || ext(p.sys) {
            continue;
        }
        parts.push(Part {
            volume: format!("p{i}"),
            offset: u64::from(p.starting_lba) * 512,
            length: u64::from(p.sectors) * 512,
            ptype: Some(format!("0x{:02x}", p.sys)),
        });
    }
    Ok(Table {
        kind: "mbr",
        parts,
        notices: Vec::new(),
    })
}

/// Reads the partition table: a volume boot sector at 0 means the image is one volume; GPT
/// (protective MBR or a GPT header) next, then MBR. Without a usable table the whole image is
/// tried as one volume, and a notice says so.
pub fn read_table(disk: &mut Disk) -> Table {
    let whole = |notices: Vec<String>, disk: &Disk| Table {
        kind: "none",
        parts: vec![Part {
            volume: "whole".to_owned(),
            offset: 0,
            length: disk.len(),
            ptype: None,
        }],
        notices,
    };
    if detect_fs(disk, 0).is_some() {
        return whole(Vec::new(), disk);
    }
    for ss in [512, 4096] {
        if let Some(t) = read_gpt(disk, ss) {
            return t;
        }
    }
    let sector0 = disk.read_exact_at(0, 512).ok();
    match sector0 {
        Some(s) if s[510] == 0x55 && s[511] == 0xAA => match read_mbr(disk) {
            Ok(t) => t,
            Err(e) => whole(
                vec![format!(
                    "the MBR partition table is damaged ({e}); the whole image is tried as one volume"
                )],
                disk,
            ),
        },
        _ => whole(
            vec!["no partition table and no known file system at the start of the image; the whole image is tried as one volume".to_owned()],
            disk,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
