//! PE evidence from a file that is not held in memory whole: what `pe::inspect` needs (the
//! headers, the section table and the one section holding the resource directory), read
//! through a positional reader, bounded, and handed to `pe::inspect` as a compact image.

use super::pe::{inspect, PeVersionData, MIN_PE_SIZE};
use crate::error::InspectError;
use crate::source::ReadAt;

/// The most bytes of headers, or of one resource section, read from a file that is not read
/// whole (`inspect_reader`): real ones are a few KB.
pub const MAX_PART: u64 = 16 * 1024 * 1024;

fn le_u16(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le_u32(b: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

/// `n` bytes at `off` (fewer at the end of the file), read exactly.
fn read_part(r: &dyn ReadAt, off: u64, n: u64) -> Result<Vec<u8>, InspectError> {
    let n = usize::try_from(n).map_err(|_| InspectError::MalformedPe("part too large".into()))?;
    let mut buf = vec![0u8; n];
    let mut done = 0;
    while done < n {
        match r.read_at(&mut buf[done..], off + done as u64) {
            Ok(0) => {
                return Err(InspectError::Io(std::io::Error::other(
                    "the file shrank while being read",
                )))
            }
            Ok(k) => done += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(InspectError::Io(e)),
        }
    }
    Ok(buf)
}

/// Reads the PE headers and every version resource of a file of `len` bytes without holding
/// it in memory: the headers and section table are read, then the raw data of the one section
/// pelite maps the resource directory to (the first whose virtual range holds it), and pelite
/// is given a compact image — the headers, then that section's bytes placed at the end with
/// its `PointerToRawData` pointed at them (pelite slices resources through the section table
/// only, and refuses a section the file does not hold whole, which the headers alone show):
/// the answer is the one [`inspect`] gives on the whole file (tested on every mutant of
/// `tests/library/mutation.rs` and every truncation of the samples). Headers or a resource section larger than
/// [`MAX_PART`] are refused as malformed (memory stays bounded).
pub fn inspect_reader(r: &dyn ReadAt, len: u64) -> Result<PeVersionData, InspectError> {
    if len < 2 {
        return Err(InspectError::TooShort(len));
    }
    let first = read_part(r, 0, len.min(4096))?;
    if !first.starts_with(b"MZ") {
        return Err(InspectError::NotPe("no MZ signature".to_owned()));
    }
    if len < MIN_PE_SIZE {
        return Err(InspectError::TooShort(len));
    }
    let too_big = |what: &str, n: u64| {
        InspectError::MalformedPe(format!(
            "{what}: {n} bytes, more than the {MAX_PART} kbscan reads from a file it does not read whole"
        ))
    };
    let nt = le_u32(&first, 0x3c).unwrap_or(0);
    // pelite refuses these before reading anything else: the first bytes give its answer.
    if nt % 4 != 0 || nt > 0x0100_0000 {
        return inspect(&first);
    }
    // The NT headers (the larger, PE32+, form) and the data directory.
    let mut head = first;
    let want = len.min(nt + 264);
    if want > head.len() as u64 {
        head = read_part(r, 0, want)?;
    }
    let opt = nt + 24;
    let (Some(opt_size), Some(nsec), Some(magic), Some(size_of_headers)) = (
        le_u16(&head, nt + 20),
        le_u16(&head, nt + 6),
        le_u16(&head, opt),
        le_u32(&head, opt + 60),
    ) else {
        return inspect(&head);
    };
    let table = opt + opt_size;
    // Everything pelite checks against the length of the image lies below `need`.
    let need = (table + 40 * nsec).max(size_of_headers).max(nt + 264);
    if need.min(len) > MAX_PART {
        return Err(too_big("headers", need.min(len)));
    }
    if need >= len {
        // The headers reach the end of the file: the compact image is the file itself.
        return inspect(&read_part(r, 0, len)?);
    }
    if need > head.len() as u64 {
        head = read_part(r, 0, need)?;
    }
    let (count_at, dd) = match magic {
        0x10b => (opt + 92, opt + 96),
        0x20b => (opt + 108, opt + 112),
        _ => return inspect(&head),
    };
    let rva = match le_u32(&head, count_at) {
        Some(n) if n > 2 => le_u32(&head, dd + 16).unwrap_or(0),
        _ => 0,
    };
    if rva == 0 {
        return inspect(&head);
    }
    // The section pelite maps `rva` through, found the way pelite does.
    let section = (0..nsec).map(|i| table + 40 * i).find(|&at| {
        let (Some(vs), Some(va), Some(srd)) = (
            le_u32(&head, at + 8),
            le_u32(&head, at + 12),
            le_u32(&head, at + 16),
        ) else {
            return false;
        };
        let end = (va as u32).wrapping_add(vs.max(srd) as u32);
        va <= rva && rva < u64::from(end)
    });
    let Some(at) = section else {
        return inspect(&head);
    };
    let (Some(srd), Some(ptr)) = (le_u32(&head, at + 16), le_u32(&head, at + 20)) else {
        return inspect(&head);
    };
    if ptr + srd > u64::from(u32::MAX) || ptr + srd > len {
        // pelite refuses a section whose raw data the file does not hold whole (or whose end
        // overflows) from the section header alone: the headers give the same answer.
        return inspect(&head);
    }
    let (from, to) = (ptr, ptr + srd);
    if to - from > MAX_PART {
        // pelite would first refuse damaged headers: that answer, if any, comes first.
        let mut bare = head.clone();
        let at = dd as usize + 16;
        bare[at..at + 4].copy_from_slice(&[0; 4]);
        inspect(&bare)?;
        return Err(too_big("resource section", to - from));
    }
    let raw = read_part(r, from, to - from)?;
    let place = (head.len() as u64).next_multiple_of(8);
    let mut image = head;
    image.resize(place as usize, 0);
    image.extend_from_slice(&raw);
    let p = at as usize + 20;
    image[p..p + 4].copy_from_slice(&(place as u32).to_le_bytes());
    inspect(&image)
}
