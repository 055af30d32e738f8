//! Finding the version resources of a PE file.
//!
//! pelite walks the PE headers and the resource directory; every `RT_VERSION` entry (all
//! names/ids and all languages, not only id 1) is handed to our own `VS_VERSIONINFO` reader.
//! pelite runs inside `contain::contained`: a panic inside it on hostile input becomes a typed error
//! for that one file instead of ending the scan.

use super::versioninfo::{self, CorruptVersion};
use crate::error::InspectError;
pub use crate::model::pe::{PeFormat, PeHeader, PeVersionData, VersionResource, VS_VERSION_INFO};
use pelite::resources::{Directory, Name, Resources};
use pelite::{PeFile, Wrap};

const RT_VERSION: u32 = 16;
const IMAGE_DIRECTORY_ENTRY_RESOURCE: usize = 2;
/// The smallest file that can hold a DOS header and a PE header.
pub const MIN_PE_SIZE: u64 = 64 + 24;

/// The most `RT_VERSION` entries (name × language) read from one file. Real files have one,
/// rarely a few; a crafted directory can make N names share one language directory of M
/// entries (N × M readings from a few KB of directory). Past this the file is an error
/// (`too_many_resources`) and the directory is not walked further.
pub const MAX_VERSION_RESOURCES: usize = 64;

fn name_text(name: Name<'_>) -> String {
    match name {
        Name::Id(id) => id.to_string(),
        Name::Wide(w) => String::from_utf16_lossy(w),
        Name::Str(s) => s.to_owned(),
    }
}

/// Collects every data entry under the `RT_VERSION` type directory: names, then languages.
/// At most [`MAX_VERSION_RESOURCES`] entries are visited: one more is an error, whatever the
/// directory claims, so the work and the report stay bounded. Entries pointing at the same
/// data (offset and size) are parsed once.
fn version_entries(root: Directory<'_>) -> Result<Vec<VersionResource>, InspectError> {
    let malformed =
        |e: pelite::Error| InspectError::MalformedPe(format!("resource directory: {e}"));
    let mut out: Vec<VersionResource> = Vec::new();
    for type_entry in root.entries() {
        if !matches!(type_entry.name(), Ok(Name::Id(RT_VERSION))) {
            continue;
        }
        // The depth is fixed (type → name → language), so a directory that points back at
        // itself cannot make this loop run away.
        let Some(names) = type_entry.entry().map_err(malformed)?.dir() else {
            continue;
        };
        for name_entry in names.entries() {
            let (name, id) = match name_entry.name() {
                Ok(Name::Id(id)) => (id.to_string(), Some(id)),
                Ok(other) => (name_text(other), None),
                Err(e) => (format!("<{e}>"), None),
            };
            let Some(langs) = name_entry.entry().map_err(malformed)?.dir() else {
                continue;
            };
            for lang_entry in langs.entries() {
                if out.len() >= MAX_VERSION_RESOURCES {
                    return Err(InspectError::TooManyResources {
                        limit: MAX_VERSION_RESOURCES,
                    });
                }
                let lang = match lang_entry.name() {
                    Ok(Name::Id(id)) => id,
                    _ => 0,
                };
                let (data, info) = match lang_entry.entry().map_err(malformed)?.data() {
                    Some(entry) => {
                        let key = (entry.image().OffsetToData, entry.image().Size);
                        let info = match out.iter().find(|r| r.data == key) {
                            Some(same) => same.info.clone(),
                            None => match entry.bytes() {
                                Ok(bytes) => versioninfo::parse(bytes),
                                Err(e) => {
                                    Err(CorruptVersion(format!("resource data out of range: {e}")))
                                }
                            },
                        };
                        (key, info)
                    }
                    None => (
                        (0, 0),
                        Err(CorruptVersion("language entry is a directory".to_owned())),
                    ),
                };
                out.push(VersionResource {
                    name: name.clone(),
                    id,
                    lang,
                    data,
                    info,
                });
            }
        }
    }
    Ok(out)
}

/// Refuses a section table that is not 4-byte aligned, before pelite sees the file.
///
/// pelite 0.10 builds `&[IMAGE_SECTION_HEADER]` in place at `e_lfanew + 24 +
/// SizeOfOptionalHeader` without checking that `SizeOfOptionalHeader` keeps it aligned: with
/// a size such as 22 that is undefined behaviour, and an abort in debug builds. No linker
/// writes such a size (it is 0xE0 or 0xF0), so the file is reported as malformed.
fn check_section_table(image: &[u8]) -> Result<(), InspectError> {
    let Some(nt) = e_lfanew(image) else {
        return Ok(());
    };
    let signed = nt % 4 == 0 && nt.checked_add(4).and_then(|e| image.get(nt..e)) == Some(b"PE\0\0");
    let opt_size = nt
        .checked_add(20)
        .and_then(|at| image.get(at..at.checked_add(2)?))
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    match opt_size {
        Some(size) if signed && size % 4 != 0 => Err(InspectError::MalformedPe(format!(
            "headers: SizeOfOptionalHeader {size} leaves the section table misaligned"
        ))),
        _ => Ok(()),
    }
}

fn read_pe(image: &[u8]) -> Result<PeVersionData, InspectError> {
    check_section_table(image)?;
    let pe = PeFile::from_bytes(image).map_err(|e| match e {
        pelite::Error::BadMagic | pelite::Error::PeMagic => {
            InspectError::NotPe("no MZ/PE signature".to_owned())
        }
        other => InspectError::MalformedPe(format!("headers: {other}")),
    })?;
    let fh = pe.file_header();
    let header = PeHeader {
        format: match pe {
            Wrap::T32(_) => PeFormat::Pe32,
            Wrap::T64(_) => PeFormat::Pe32Plus,
        },
        machine: fh.Machine,
        timestamp: fh.TimeDateStamp,
    };
    let entries = match pe.resources() {
        // No resource section at all: a PE without a version resource.
        Err(pelite::Error::Null) => Vec::new(),
        Err(e) => return Err(InspectError::MalformedPe(format!("resource section: {e}"))),
        Ok(_) => {
            // The same bytes `pe.resources()` uses, but placed on 4 bytes: pelite checks
            // resource offsets for alignment relative to the start of the resource data only,
            // and reads `IMAGE_RESOURCE_DIRECTORY` in place, so a resource RVA or a section
            // PointerToRawData that is not a multiple of 4 is undefined behaviour in pelite
            // 0.10 (an abort in debug builds). Data entry offsets stay relative to `dir`.
            let malformed =
                |e: pelite::Error| InspectError::MalformedPe(format!("resource section: {e}"));
            let dir = *pe
                .data_directory()
                .get(IMAGE_DIRECTORY_ENTRY_RESOURCE)
                .ok_or(InspectError::MalformedPe(
                    "resource section: no data directory".to_owned(),
                ))?;
            let bytes = pe.slice_bytes(dir.VirtualAddress).map_err(malformed)?;
            let section = &bytes[..bytes.len().min(dir.Size as usize)];
            let copy = (section.as_ptr() as usize % 4 != 0).then(|| placed(section, 0));
            let section = copy.as_ref().map_or(section, Realigned::bytes);
            version_entries(
                Resources::new(section, &dir)
                    .root()
                    .map_err(|e| InspectError::MalformedPe(format!("resource directory: {e}")))?,
            )?
        }
    };
    Ok(PeVersionData {
        header,
        resources: entries,
    })
}

/// Where `IMAGE_DOS_HEADER.e_lfanew` says the PE header is, when the file is long enough.
fn e_lfanew(image: &[u8]) -> Option<usize> {
    let b = image.get(0x3c..0x40)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
}

/// A copy of an image placed so that pelite can read it in place.
struct Realigned {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Realigned {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

/// The address offset (0 or 4 modulo 8) the image must start at so that pelite's in-place
/// reads are aligned: the image on 4 bytes, and the PE header at `e_lfanew` on 8.
///
/// pelite checks only that the image and `e_lfanew` are 4-byte aligned, then makes a
/// reference to an `IMAGE_NT_HEADERS64` (8-byte aligned: it holds `u64` fields) at
/// `e_lfanew`, for PE32 files too (it tries PE32+ first). With the header on 4 modulo 8 that
/// is undefined behaviour, and with debug assertions a non-unwinding panic that aborts the
/// process: `catch_unwind` cannot contain it. A header offset that is not a multiple of 4 is
/// refused by pelite (`Misaligned`) before any read, so only 0 and 4 matter.
fn wanted_start_mod8(image: &[u8]) -> usize {
    match e_lfanew(image) {
        Some(off) if off % 8 == 4 => 4,
        _ => 0,
    }
}

/// `image` itself when its placement already suits pelite, otherwise an aligned copy.
fn realign(image: &[u8]) -> Option<Realigned> {
    let want = wanted_start_mod8(image);
    if (image.as_ptr() as usize) % 8 == want {
        return None;
    }
    Some(placed(image, want))
}

/// A copy of `bytes` starting at `mod8` modulo 8 in memory.
fn placed(bytes: &[u8], mod8: usize) -> Realigned {
    let len = bytes.len();
    let mut buf = vec![0u8; len + 7];
    let start = (mod8 + 8 - (buf.as_ptr() as usize) % 8) % 8;
    buf[start..start + len].copy_from_slice(bytes);
    Realigned { buf, start, len }
}

/// Reads the PE headers and every version resource of `image` (the whole file). Any
/// placement in memory is accepted: the bytes are copied when pelite needs another alignment.
pub fn inspect(image: &[u8]) -> Result<PeVersionData, InspectError> {
    let len = image.len() as u64;
    if len < 2 {
        return Err(InspectError::TooShort(len));
    }
    if !image.starts_with(b"MZ") {
        return Err(InspectError::NotPe("no MZ signature".to_owned()));
    }
    if len < MIN_PE_SIZE {
        return Err(InspectError::TooShort(len));
    }
    // A 16-bit NE executable (Windows 3.x, OS/2 1.x) is named as such (issue 15).
    let lfanew = u32::from_le_bytes([image[0x3c], image[0x3d], image[0x3e], image[0x3f]]);
    if image.get(lfanew as usize..(lfanew as usize).saturating_add(2)) == Some(b"NE") {
        return Err(InspectError::NotPe(
            "a 16-bit NE executable, not a PE".to_owned(),
        ));
    }
    let copy = realign(image);
    let image = copy.as_ref().map_or(image, Realigned::bytes);
    crate::contain::contained(|| read_pe(image)).unwrap_or(Err(InspectError::ParserPanic))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `image` placed at `mod8` modulo 8 in memory (the buffer is kept alive by the caller).
    fn placed(image: &[u8], mod8: usize) -> (Vec<u8>, usize) {
        let mut buf = vec![0u8; image.len() + 16];
        let start = (mod8 + 8 - (buf.as_ptr() as usize) % 8) % 8;
        buf[start..start + image.len()].copy_from_slice(image);
        (buf, start)
    }

    /// A minimal PE32 (no sections, no resources) with its PE header at `lfanew`.
    fn tiny_pe(lfanew: usize) -> Vec<u8> {
        let mut v = vec![0u8; lfanew + 24 + 224];
        v[..2].copy_from_slice(b"MZ");
        v[0x3c..0x40].copy_from_slice(&(lfanew as u32).to_le_bytes());
        v[lfanew..lfanew + 4].copy_from_slice(b"PE\0\0");
        v[lfanew + 4..lfanew + 6].copy_from_slice(&0x014cu16.to_le_bytes());
        v[lfanew + 20..lfanew + 22].copy_from_slice(&224u16.to_le_bytes());
        let opt = lfanew + 24;
        v[opt..opt + 2].copy_from_slice(&0x10bu16.to_le_bytes());
        v[opt + 56..opt + 60].copy_from_slice(&0x1000u32.to_le_bytes()); // SizeOfImage
        v[opt + 60..opt + 64].copy_from_slice(&((lfanew + 248) as u32).to_le_bytes()); // SizeOfHeaders
        v[opt + 92..opt + 96].copy_from_slice(&16u32.to_le_bytes()); // NumberOfRvaAndSizes
        v
    }

    #[test]
    fn any_placement_and_header_offset_is_read_the_same() {
        // Regression (found by fuzzing): a PE header at 4 modulo 8 made pelite build a
        // misaligned `&IMAGE_NT_HEADERS64`, which aborts a debug build outright.
        for lfanew in [0x40, 0x44, 0x80, 0x84] {
            let pe = tiny_pe(lfanew);
            let want = inspect(&pe);
            assert!(want.is_ok(), "lfanew {lfanew:#x}: {want:?}");
            for mod8 in 0..8 {
                let (buf, start) = placed(&pe, mod8);
                let got = inspect(&buf[start..start + pe.len()]);
                assert_eq!(
                    got.as_ref().map(|d| d.header.clone()).ok(),
                    want.as_ref().map(|d| d.header.clone()).ok(),
                    "lfanew {lfanew:#x}, placed at {mod8} mod 8"
                );
            }
        }
        // Regression (found by fuzzing): an optional header size that is not a multiple of 4
        // made pelite build a misaligned section table slice.
        let mut pe = tiny_pe(0x80);
        pe[0x80 + 20..0x80 + 22].copy_from_slice(&222u16.to_le_bytes());
        let e = inspect(&pe).unwrap_err();
        assert_eq!(e.kind().as_str(), "malformed_pe", "{e}");
        assert!(e.to_string().contains("SizeOfOptionalHeader 222"), "{e}");
        // Garbage after a DOS header pointing at 4 modulo 8 is an error, not an abort.
        let mut junk = vec![0x41u8; 600];
        junk[..2].copy_from_slice(b"MZ");
        junk[0x3c..0x40].copy_from_slice(&4u32.to_le_bytes());
        for mod8 in [0, 4] {
            let (buf, start) = placed(&junk, mod8);
            let e = inspect(&buf[start..start + junk.len()]).unwrap_err();
            assert_eq!(e.kind().as_str(), "not_pe", "{e}");
        }
    }
}
