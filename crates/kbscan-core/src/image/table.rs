//! Partition tables and file-system signatures, read by small bounded readers: MBR with the
//! extended/logical chain (read as far as it goes: `mbrman` fails the whole table when one EBR
//! is unreadable, which loses every partition of a truncated image) and GPT (header and entry
//! array, CRC-checked; the `gpt` crate wants a writable device). Sector size 512 (GPT also
//! tried at 4096).
//!
//! Over 400 lines with its tests: the MBR/EBR and GPT readers share the bounds and notices.

use super::reader::Disk;
use crate::model::PartitionTable;

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
    pub kind: PartitionTable,
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

/// A container inside a virtual disk (an E01 holding a VMDK, a gzip copy given as a raw
/// image…), which kbscan does not open a second time: recognised by the registered list.
pub fn container_format(disk: &mut Disk) -> Option<&'static str> {
    let head = disk.read_exact_at(0, 512).ok()?;
    let len = disk.len();
    let foot = (len >= 1024 && len % 512 == 0)
        .then(|| disk.read_exact_at(len - 512, 512).ok())
        .flatten();
    super::container::recognise(&super::container::Probe {
        head: &head,
        tail: foot.as_deref(),
    })
    .map(|c| c.display)
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
            kind: PartitionTable::Gpt,
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
                kind: PartitionTable::Gpt,
                parts: Vec::new(),
                notices,
            });
        }
        None => {
            notices.push("GPT entry array position overflows".to_owned());
            return Some(Table {
                kind: PartitionTable::Gpt,
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
        kind: PartitionTable::Gpt,
        parts,
        notices,
    })
}

/// Logical partitions read at most (a longer EBR chain is damaged or hostile).
const MAX_LOGICAL: usize = 128;

fn mbr_entry(sector: &[u8], i: usize) -> (u8, u64, u64) {
    let e = &sector[446 + 16 * i..446 + 16 * (i + 1)];
    let le = |o: usize| u64::from(u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
    (e[4], le(8), le(12))
}

fn is_extended(t: u8) -> bool {
    matches!(t, 0x05 | 0x0F | 0x85)
}

/// MBR partitions: primary 1–4, then logical ones from 5 along the EBR chain. The chain must
/// move forward (no loops) and is read as far as it can be: an EBR that cannot be read (a
/// truncated image) ends it with a notice, and the partitions before it are kept.
fn read_mbr(sector0: &[u8], disk: &mut Disk) -> Table {
    let mut parts = Vec::new();
    let mut notices = Vec::new();
    let mut ext_base = None;
    for i in 0..4 {
        let (ty, lba, sectors) = mbr_entry(sector0, i);
        if ty == 0 || sectors == 0 {
            continue;
        }
        if is_extended(ty) {
            if ext_base.is_none() {
                ext_base = Some(lba);
            } else {
                notices.push(format!("p{}: a second extended partition, ignored", i + 1));
            }
            continue;
        }
        parts.push(Part {
            volume: format!("p{}", i + 1),
            offset: lba * 512,
            length: sectors * 512,
            ptype: Some(format!("0x{ty:02x}")),
        });
    }
    if let Some(base) = ext_base {
        let mut ebr = base;
        let mut index = 5;
        loop {
            if index - 5 >= MAX_LOGICAL {
                notices.push(format!(
                    "more than {MAX_LOGICAL} logical partitions: the rest of the EBR chain is not read"
                ));
                break;
            }
            let s = match disk.read_exact_at(ebr * 512, 512) {
                Ok(s) => s,
                Err(e) => {
                    notices.push(format!(
                        "the extended boot record at sector {ebr} cannot be read ({e}): logical partitions from p{index} on are missing (truncated image?)"
                    ));
                    break;
                }
            };
            if s[510] != 0x55 || s[511] != 0xAA {
                if ebr != base {
                    notices.push(format!(
                        "no extended boot record signature at sector {ebr}: logical partitions from p{index} on are missing"
                    ));
                }
                break;
            }
            let (ty, rel, sectors) = mbr_entry(&s, 0);
            if ty != 0 && sectors != 0 {
                parts.push(Part {
                    volume: format!("p{index}"),
                    offset: (ebr + rel) * 512,
                    length: sectors * 512,
                    ptype: Some(format!("0x{ty:02x}")),
                });
            }
            index += 1;
            let (nty, next, _) = mbr_entry(&s, 1);
            if nty == 0 {
                break;
            }
            let next_abs = base + next;
            if next == 0 {
                notices.push(format!(
                    "the EBR chain loops (the record at sector {ebr} points back to the first one, sector {base}): not followed"
                ));
                break;
            }
            if next_abs <= ebr {
                notices.push(format!(
                    "the EBR chain points back (sector {next_abs} after {ebr}): not followed"
                ));
                break;
            }
            ebr = next_abs;
        }
    }
    Table {
        kind: PartitionTable::Mbr,
        parts,
        notices,
    }
}

/// Overlap notices given at most (each names two partitions); the rest are counted.
const MAX_OVERLAP_NOTICES: usize = 16;
/// Duplicate partition names listed in one notice at most.
const MAX_NAMED_DUPLICATES: usize = 8;

/// Keeps one partition per start offset: entries that start at the same byte (the same
/// (offset, length), or the same start with another length) hold the same file system, so
/// each is scanned once, as the first entry naming it, and one notice per kept partition
/// names the others. Partitions that overlap without starting at the same byte are kept and
/// noticed. Without this, 4,096 GPT entries describing one volume scan it 4,096 times.
fn dedupe(parts: Vec<Part>, notices: &mut Vec<String>) -> Vec<Part> {
    use std::collections::HashMap;
    let mut kept: Vec<Part> = Vec::new();
    let mut by_offset: HashMap<u64, usize> = HashMap::new();
    // For each kept partition: the duplicates (name, length).
    let mut dups: Vec<Vec<(String, u64)>> = Vec::new();
    for p in parts {
        match by_offset.get(&p.offset) {
            Some(&k) => dups[k].push((p.volume, p.length)),
            None => {
                by_offset.insert(p.offset, kept.len());
                kept.push(p);
                dups.push(Vec::new());
            }
        }
    }
    for (k, d) in kept.iter().zip(&dups) {
        if d.is_empty() {
            continue;
        }
        let same = d.iter().filter(|(_, l)| *l == k.length).count();
        let names: Vec<&str> = d
            .iter()
            .take(MAX_NAMED_DUPLICATES)
            .map(|(n, _)| n.as_str())
            .collect();
        let more = if d.len() > names.len() {
            format!(" and {} more", d.len() - names.len())
        } else {
            String::new()
        };
        notices.push(format!(
            "duplicate partitions: {} more entr{} ({}{more}) start at byte {} like {} ({same} with the same length {}): the volume is scanned once, as {}",
            d.len(),
            if d.len() == 1 { "y" } else { "ies" },
            names.join(", "),
            k.offset,
            k.volume,
            k.length,
            k.volume
        ));
    }
    // Overlaps among the kept partitions, by start offset.
    let mut order: Vec<&Part> = kept.iter().collect();
    order.sort_by_key(|p| (p.offset, p.length));
    let mut overlaps = 0usize;
    let mut widest: Option<&Part> = None;
    for p in order {
        if let Some(w) = widest {
            let w_end = w.offset.saturating_add(w.length);
            if p.offset < w_end {
                overlaps += 1;
                if overlaps <= MAX_OVERLAP_NOTICES {
                    notices.push(format!(
                        "overlapping partitions: {} (bytes {}..{}) overlaps {} (bytes {}..{}); both are scanned",
                        p.volume,
                        p.offset,
                        p.offset.saturating_add(p.length),
                        w.volume,
                        w.offset,
                        w_end
                    ));
                }
            }
            if p.offset.saturating_add(p.length) > w_end {
                widest = Some(p);
            }
        } else {
            widest = Some(p);
        }
    }
    if overlaps > MAX_OVERLAP_NOTICES {
        notices.push(format!(
            "overlapping partitions: {} more overlaps not listed",
            overlaps - MAX_OVERLAP_NOTICES
        ));
    }
    kept
}

/// Reads the partition table (see [`read_table_raw`]); partitions starting at the same byte
/// are scanned once, and overlaps are noticed ([`dedupe`]).
pub fn read_table(disk: &mut Disk) -> Table {
    let mut t = read_table_raw(disk);
    let parts = std::mem::take(&mut t.parts);
    t.parts = dedupe(parts, &mut t.notices);
    t
}

/// Reads the partition table: a volume boot sector at 0 means the image is one volume; GPT
/// (protective MBR or a GPT header) next, then MBR. Without a usable table the whole image is
/// tried as one volume, and a notice says so.
fn read_table_raw(disk: &mut Disk) -> Table {
    let whole = |notices: Vec<String>, disk: &Disk| Table {
        kind: PartitionTable::None,
        parts: vec![Part {
            volume: "whole".to_owned(),
            offset: 0,
            length: disk.len(),
            ptype: None,
        }],
        notices,
    };
    // A BitLocker/exFAT/ReFS boot sector is a volume, not an MBR.
    if detect_fs(disk, 0).is_some() || super::container::foreign_volume(disk, 0).is_some() {
        return whole(Vec::new(), disk);
    }
    for ss in [512, 4096] {
        if let Some(t) = read_gpt(disk, ss) {
            return t;
        }
    }
    let sector0 = disk.read_exact_at(0, 512).ok();
    match sector0 {
        Some(s) if s[510] == 0x55 && s[511] == 0xAA => {
            let t = read_mbr(&s, disk);
            if t.parts.is_empty() {
                let mut notices = t.notices;
                notices.push(
                    "the MBR lists no partition; the whole image is tried as one volume".to_owned(),
                );
                whole(notices, disk)
            } else {
                t
            }
        }
        _ => whole(
            vec!["no partition table and no known file system at the start of the image; the whole image is tried as one volume".to_owned()],
            disk,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk_of(bytes: &[u8]) -> (tempfile::TempDir, Disk) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.img");
        std::fs::write(&p, bytes).unwrap();
        let disk = Disk::new(Box::new(
            super::super::reader::Segments::open(&[p]).unwrap(),
        ));
        (dir, disk)
    }

    fn entry(s: &mut [u8], i: usize, ty: u8, lba: u32, sectors: u32) {
        let e = &mut s[446 + 16 * i..446 + 16 * (i + 1)];
        e[4] = ty;
        e[8..12].copy_from_slice(&lba.to_le_bytes());
        e[12..16].copy_from_slice(&sectors.to_le_bytes());
    }

    #[test]
    fn an_ebr_chain_that_loops_or_ends_early_is_cut_with_a_notice() {
        let mut img = vec![0u8; 512 * 64];
        img[510] = 0x55;
        img[511] = 0xAA;
        entry(&mut img, 0, 0x07, 1, 8);
        entry(&mut img, 1, 0x0F, 16, 40);
        // EBR at 16: logical at 16+2, next EBR at 16+8 = 24.
        let e1 = 16 * 512;
        img[e1 + 510] = 0x55;
        img[e1 + 511] = 0xAA;
        entry(&mut img[e1..e1 + 512], 0, 0x0C, 2, 4);
        entry(&mut img[e1..e1 + 512], 1, 0x05, 8, 8);
        // EBR at 24: logical at 24+2, next EBR back at 16 + 0 → a loop.
        let e2 = 24 * 512;
        img[e2 + 510] = 0x55;
        img[e2 + 511] = 0xAA;
        entry(&mut img[e2..e2 + 512], 0, 0x07, 2, 4);
        entry(&mut img[e2..e2 + 512], 1, 0x05, 0, 8);
        let (_d, mut disk) = disk_of(&img);
        let t = read_table(&mut disk);
        assert_eq!(t.kind, PartitionTable::Mbr);
        let names: Vec<_> = t.parts.iter().map(|p| p.volume.as_str()).collect();
        assert_eq!(names, ["p1", "p5", "p6"]);
        assert_eq!(t.parts[1].offset, 18 * 512);
        // A next entry of start 0 points back at the first EBR: a loop, cut with a notice.
        assert!(t.notices[0].contains("loops"), "{:?}", t.notices);
        // A next entry of type 0 ends the chain: no notice.
        entry(&mut img[e2..e2 + 512], 1, 0x00, 0, 0);
        let (_d, mut disk) = disk_of(&img);
        let t = read_table(&mut disk);
        assert_eq!(t.parts.len(), 3);
        assert!(t.notices.is_empty(), "{:?}", t.notices);
        // Now point it backwards.
        entry(&mut img[e2..e2 + 512], 1, 0x05, 4, 8);
        let (_d, mut disk) = disk_of(&img);
        let t = read_table(&mut disk);
        assert_eq!(t.parts.len(), 3);
        assert!(t.notices[0].contains("points back"), "{:?}", t.notices);
        // An EBR past the end of a truncated image.
        img.truncate(20 * 512);
        let (_d, mut disk) = disk_of(&img);
        let t = read_table(&mut disk);
        assert_eq!(t.parts.len(), 2);
        assert!(t.notices[0].contains("cannot be read"), "{:?}", t.notices);
    }

    #[test]
    fn partitions_starting_at_the_same_byte_are_kept_once_and_overlaps_noticed() {
        let part = |v: &str, offset, length| Part {
            volume: v.to_owned(),
            offset,
            length,
            ptype: None,
        };
        let mut notices = Vec::new();
        let kept = dedupe(
            vec![
                part("p1", 1024, 4096),
                part("p2", 1024, 4096),
                part("p3", 1024, 8192),
                part("p4", 2048, 512),
                part("p5", 8192, 512),
            ],
            &mut notices,
        );
        let names: Vec<_> = kept.iter().map(|p| p.volume.as_str()).collect();
        assert_eq!(names, ["p1", "p4", "p5"]);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].starts_with("duplicate partitions: 2 more entries (p2, p3) start at byte 1024 like p1 (1 with the same length 4096)"), "{notices:?}");
        assert!(
            notices[1].starts_with("overlapping partitions: p4"),
            "{notices:?}"
        );
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
