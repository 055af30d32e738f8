//! Hostile image structures (issue 11, cases 5–7), built from real bytes at test time with
//! mkfs.fat + mtools, then patched here: FAT folders whose cluster points back at their
//! parent, a FAT file chain that loops or runs past the file's size, 4,096 GPT entries
//! describing one volume, and an EBR chain that repeats a logical partition and loops. Each
//! scan must finish (the wall bound is only a hang guard), name the damage with the right
//! kind, and never hash bytes the file does not hold.
#![cfg(unix)]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The vulnerable Nscm.exe (15,872 bytes; SHA-256 4c0e39…).
const NSCM: &str = "w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe";
const NSCM_SHA256: &str = "4c0e3938c228db1542495851e71f4ee16f4a313db0a58a6244b82598ef128e6e";
/// A hang guard, not a speed claim.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Whether mkfs.fat and mtools are here (see `common::require`).
fn have_tools() -> bool {
    have_all(&["mkfs.fat", "mcopy", "mmd"])
}

fn mkfs_fat() -> &'static str {
    for p in ["/usr/sbin/mkfs.fat", "/sbin/mkfs.fat"] {
        if Path::new(p).exists() {
            return p;
        }
    }
    "mkfs.fat"
}

fn sh(cmd: &mut Command) {
    let o = cmd.output().expect("tool runs");
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A FAT16 volume of `kib` KiB with 512-byte clusters (`-s 1`), as in tests/images/build.sh.
fn fat16(dir: &Path, kib: u64) -> PathBuf {
    let vol = dir.join("vol.img");
    sh(Command::new(mkfs_fat())
        .args([
            "--invariant",
            "-i",
            "4B53434E",
            "-n",
            "KBSCAN",
            "-F",
            "16",
            "-s",
            "1",
            "-C",
        ])
        .arg(&vol)
        .arg(kib.to_string()));
    vol
}

fn mmd(vol: &Path, dirs: &[&str]) {
    sh(Command::new("mmd").arg("-i").arg(vol).args(dirs));
}

fn mcopy(vol: &Path, from: &Path, to: &str) {
    sh(Command::new("mcopy").arg("-i").arg(vol).arg(from).arg(to));
}

fn u16_at(b: &[u8], o: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[o], b[o + 1]]))
}

/// FAT16 layout from the boot sector: bytes per sector (offset 11), sectors per cluster
/// (13), reserved sectors (14), FAT count (16), root entries (17), sectors per FAT (22).
/// The first FAT is at reserved × bps, the root folder after the FATs, cluster 2 after it.
struct Fat16 {
    bps: u64,
    cluster: u64,
    fat: u64,
    fat_len: u64,
    fats: u64,
    root: u64,
    root_entries: u64,
    data: u64,
}

impl Fat16 {
    fn read(img: &[u8]) -> Self {
        let bps = u16_at(img, 11);
        let spc = u64::from(img[13]);
        let reserved = u16_at(img, 14);
        let fats = u64::from(img[16]);
        let root_entries = u16_at(img, 17);
        let fat_len = u16_at(img, 22) * bps;
        let fat = reserved * bps;
        let root = fat + fats * fat_len;
        Self {
            bps,
            cluster: bps * spc,
            fat,
            fat_len,
            fats,
            root,
            root_entries,
            data: root + (root_entries * 32).div_ceil(bps) * bps,
        }
    }
    fn cluster_offset(&self, c: u64) -> usize {
        (self.data + (c - 2) * self.cluster) as usize
    }
    /// The byte offset of the 32-byte entry named `short` (8+3, space-padded) among `n`
    /// entries from `at`.
    fn find(&self, img: &[u8], at: usize, n: u64, short: &[u8; 11]) -> usize {
        (0..n as usize)
            .map(|i| at + 32 * i)
            .find(|&o| &img[o..o + 11] == short)
            .unwrap_or_else(|| panic!("no entry {}", String::from_utf8_lossy(short)))
    }
    fn find_in_root(&self, img: &[u8], short: &[u8; 11]) -> usize {
        self.find(img, self.root as usize, self.root_entries, short)
    }
    /// The first cluster of the entry at `e` (low word at +26; FAT16 has no high word).
    fn first_cluster(img: &[u8], e: usize) -> u64 {
        u16_at(img, e + 26)
    }
    fn set_first_cluster(img: &mut [u8], e: usize, c: u64) {
        img[e + 26..e + 28].copy_from_slice(&(c as u16).to_le_bytes());
    }
    fn next(&self, img: &[u8], c: u64) -> u64 {
        u16_at(img, (self.fat + 2 * c) as usize)
    }
    /// Sets cluster `c`'s FAT entry in every FAT copy.
    fn set_next(&self, img: &mut [u8], c: u64, v: u64) {
        for k in 0..self.fats {
            let o = (self.fat + k * self.fat_len + 2 * c) as usize;
            img[o..o + 2].copy_from_slice(&(v as u16).to_le_bytes());
        }
    }
}

fn scan_timed(path: &Path) -> (i32, Value) {
    let start = Instant::now();
    let (code, doc) = scan_json(&[path], &["--rule", "MS04-008", "-j", "2"]);
    assert!(start.elapsed() < HANG_GUARD, "scan of {path:?} hung");
    (code, doc)
}

/// The FAT volume with the vulnerable Nscm.exe at its root, 31 clusters of 512 bytes.
fn volume_with_nscm(dir: &Path) -> (PathBuf, Vec<u8>, Fat16, usize) {
    let vol = fat16(dir, 8 * 1024);
    mcopy(&vol, &sample_file(NSCM), "::/NSCM.EXE");
    let img = fs::read(&vol).unwrap();
    let g = Fat16::read(&img);
    let e = g.find_in_root(&img, b"NSCM    EXE");
    (vol, img, g, e)
}

#[test]
fn fat_folders_pointing_back_at_their_parent_are_filesystem_errors_not_a_hang() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vol = fat16(dir.path(), 8 * 1024);
    mmd(&vol, &["::/P", "::/P/A", "::/P/B"]);
    mcopy(&vol, &sample_file(NSCM), "::/P/NSCM.EXE");
    let mut img = fs::read(&vol).unwrap();
    let g = Fat16::read(&img);
    assert_eq!(g.bps, 512);
    // P's entry is in the fixed root folder; A's and B's in P's first cluster, after "."
    // and "..". Both get P's cluster: each folder then holds P's entries, itself included.
    let p = Fat16::first_cluster(&img, g.find_in_root(&img, b"P          "));
    let pdir = g.cluster_offset(p);
    let n = g.cluster / 32;
    for name in [b"A          ", b"B          "] {
        let e = g.find(&img, pdir, n, name);
        Fat16::set_first_cluster(&mut img, e, p);
    }
    fs::write(&vol, &img).unwrap();
    let (code, doc) = scan_timed(&vol);
    let root = &doc["roots"][0];
    let errors: Vec<(&str, &str)> = root["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for ((path, message), want) in errors.iter().zip(["P/A", "P/B"]) {
        assert_eq!(*path, want);
        assert!(
            message.starts_with("damaged file system:") && message.contains("directory cycle"),
            "{message}"
        );
    }
    // The file beside them is judged once, from its real bytes; the damage makes the
    // volume's verdict no better than it is.
    let f = finding(root, "P/NSCM.EXE");
    assert_eq!(f["sha256"], NSCM_SHA256);
    assert_eq!(root["verdict"], "vulnerable");
    assert_eq!(code, 1);
}

#[test]
fn a_looping_or_overlong_fat_chain_is_a_filesystem_error_without_hashes() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (vol, clean, g, e) = volume_with_nscm(dir.path());
    // The control: the intact chain gives the file's own hash.
    let (code, doc) = scan_timed(&vol);
    let f = finding(&doc["roots"][0], "NSCM.EXE");
    assert_eq!(f["sha256"], NSCM_SHA256);
    assert_eq!(code, 1);
    let first = Fat16::first_cluster(&clean, e);
    let third = g.next(&clean, g.next(&clean, first));
    // Damage 1: the third cluster's FAT entry points back at the first (a loop).
    let mut looped = clean.clone();
    g.set_next(&mut looped, third, first);
    // Damage 2: the directory entry says 1,000 bytes (2 clusters) for a 31-cluster chain.
    let mut overlong = clean.clone();
    overlong[e + 28..e + 32].copy_from_slice(&1000u32.to_le_bytes());
    for (img, what) in [
        (&looped, "loops"),
        (&overlong, "longer than the file's size"),
    ] {
        fs::write(&vol, img).unwrap();
        let (code, doc) = scan_timed(&vol);
        let root = &doc["roots"][0];
        let f = finding(root, "NSCM.EXE");
        assert_eq!(f["status"], "error", "{f}");
        assert_eq!(f["error_kind"], "filesystem", "{f}");
        assert!(f["error"].as_str().unwrap().contains(what), "{f}");
        // No hash of invented (repeated or cut) bytes.
        assert!(f.get("sha256").is_none_or(Value::is_null), "{f}");
        assert!(f.get("md5").is_none_or(Value::is_null), "{f}");
        assert_eq!(root["verdict"], "inconclusive");
        assert_eq!(code, 2);
    }
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

/// Microsoft basic data, as stored (mixed-endian).
const BASIC_DATA: [u8; 16] = [
    0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44, 0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7,
];

#[test]
fn thousands_of_identical_gpt_entries_scan_the_volume_once_with_a_notice() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (vol, _, _, _) = volume_with_nscm(dir.path());
    let volume = fs::read(&vol).unwrap();
    // LBA 0 protective MBR, LBA 1 header, LBA 2–1025 the 4,096 entries of 128 bytes, the
    // volume from LBA 2048, the backup header in the last sector.
    let start = 2048u64;
    let sectors = volume.len() as u64 / 512;
    let total = start + sectors + 1;
    let mut img = vec![0u8; (total * 512) as usize];
    img[446 + 4] = 0xEE;
    img[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    img[446 + 12..446 + 16].copy_from_slice(&((total - 1) as u32).to_le_bytes());
    img[510] = 0x55;
    img[511] = 0xAA;
    let mut entry = [0u8; 128];
    entry[0..16].copy_from_slice(&BASIC_DATA);
    entry[16..32].copy_from_slice(b"kbscan-dup-part!");
    entry[32..40].copy_from_slice(&start.to_le_bytes());
    entry[40..48].copy_from_slice(&(start + sectors - 1).to_le_bytes());
    let count = 4096usize;
    let array: Vec<u8> = entry.iter().copied().cycle().take(128 * count).collect();
    img[1024..1024 + array.len()].copy_from_slice(&array);
    let h = &mut img[512..1024];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[32..40].copy_from_slice(&(total - 1).to_le_bytes());
    h[40..48].copy_from_slice(&1026u64.to_le_bytes());
    h[48..56].copy_from_slice(&(total - 2).to_le_bytes());
    h[56..72].copy_from_slice(b"kbscan-dup-disk!");
    h[72..80].copy_from_slice(&2u64.to_le_bytes());
    h[80..84].copy_from_slice(&(count as u32).to_le_bytes());
    h[84..88].copy_from_slice(&128u32.to_le_bytes());
    h[88..92].copy_from_slice(&crc32(&array).to_le_bytes());
    let hcrc = crc32(&h[..92]);
    h[16..20].copy_from_slice(&hcrc.to_le_bytes());
    let at = (start * 512) as usize;
    img[at..at + volume.len()].copy_from_slice(&volume);
    let disk = dir.path().join("dup-gpt.img");
    fs::write(&disk, &img).unwrap();
    let (code, doc) = scan_timed(&disk);
    let image = &doc["images"][0];
    assert_eq!(image["partition_table"], "gpt");
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "scanned once");
    assert!(roots[0]["root"].as_str().unwrap().ends_with("#p1"));
    let notices: Vec<&str> = image["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    // The CRCs are right: the only notice is the duplicate one.
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("duplicate partitions: 4095 more entries (p2, p3,")
            && notices[0].contains("scanned once, as p1"),
        "{notices:?}"
    );
    assert_eq!(image["verdict"], "vulnerable");
    assert_eq!(code, 1);
}

fn mbr_entry(s: &mut [u8], i: usize, ty: u8, lba: u32, sectors: u32) {
    let e = &mut s[446 + 16 * i..446 + 16 * (i + 1)];
    e[4] = ty;
    e[8..12].copy_from_slice(&lba.to_le_bytes());
    e[12..16].copy_from_slice(&sectors.to_le_bytes());
}

#[test]
fn an_ebr_chain_that_repeats_and_loops_is_cut_with_notices() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (vol, _, _, _) = volume_with_nscm(dir.path());
    let volume = fs::read(&vol).unwrap();
    let sectors = (volume.len() / 512) as u32;
    // MBR: p1 extended from LBA 64. EBR 1 (LBA 64): a logical FAT volume at 64+64 = 128,
    // next EBR at 64+32 = 96. EBR 2 (LBA 96): the same logical volume again (96+32 = 128),
    // next EBR at relative 0, the first EBR again: a loop.
    let total = 128 + sectors as usize;
    let mut img = vec![0u8; total * 512];
    img[510] = 0x55;
    img[511] = 0xAA;
    mbr_entry(&mut img, 0, 0x05, 64, total as u32 - 64);
    for (ebr, rel, next) in [(64usize, 64u32, 32u32), (96, 32, 0)] {
        let s = &mut img[ebr * 512..ebr * 512 + 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        mbr_entry(s, 0, 0x06, rel, sectors);
        mbr_entry(s, 1, 0x05, next, 32);
    }
    img[128 * 512..].copy_from_slice(&volume);
    let disk = dir.path().join("ebr-loop.img");
    fs::write(&disk, &img).unwrap();
    let (code, doc) = scan_timed(&disk);
    let image = &doc["images"][0];
    let roots = doc["roots"].as_array().unwrap();
    assert_eq!(
        roots.len(),
        1,
        "the repeated logical volume is scanned once"
    );
    assert!(roots[0]["root"].as_str().unwrap().ends_with("#p5"));
    let notices: Vec<&str> = image["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notices.iter().any(|n| n.contains("EBR chain loops")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("duplicate partitions: 1 more entry (p6)")),
        "{notices:?}"
    );
    assert_eq!(image["verdict"], "vulnerable");
    assert_eq!(code, 1);
}

#[test]
fn volumes_scanned_in_parallel_give_the_same_report_as_one_thread() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in ["gpt", "mbr"] {
        let gz = repo().join("tests/images").join(format!("{name}.img.gz"));
        let mut data = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(&gz).expect("image"))
            .read_to_end(&mut data)
            .expect("gunzip");
        let out = dir.path().join(format!("{name}.img"));
        fs::write(&out, data).unwrap();
        paths.push(out);
    }
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let one = scan_json(&paths, &["--rule", "MS04-008", "-q", "-j", "1"]);
    for j in ["2", "4", "7"] {
        let many = scan_json(&paths, &["--rule", "MS04-008", "-q", "-j", j]);
        assert_eq!(one.0, many.0, "-j {j}");
        assert_eq!(one.1["roots"], many.1["roots"], "-j {j}");
        assert_eq!(one.1["images"], many.1["images"], "-j {j}");
        assert_eq!(one.1["summary"], many.1["summary"], "-j {j}");
    }
    assert_eq!(one.1["roots"].as_array().unwrap().len(), 7);
}
