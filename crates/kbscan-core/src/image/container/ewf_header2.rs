//! The `header2` section of an EWF1 first segment: the same case fields as the ASCII `header`
//! section the `ewf` crate reads, but in UTF-16LE, so an examiner's or a case's name outside
//! ASCII arrives as written (ewfacquire and EnCase write every other character of the ASCII
//! copy as 0x1A). Read here from our own read-only handle, every length bounded: the section
//! chain is followed at most `MAX_SECTIONS` steps and only forwards, the compressed data and
//! what it inflates to are capped.

use std::fs::File;
use std::io::Read;

use super::pread;

/// The EWF1 file header before the first section descriptor.
const FILE_HEADER: u64 = 13;
/// A section descriptor: type (16 bytes), next offset, size, padding, checksum.
const DESCRIPTOR: u64 = 76;
/// Sections followed before giving up (a first segment has a handful before `sectors`).
const MAX_SECTIONS: usize = 4096;
/// The compressed `header2` data accepted, and what it may inflate to.
const MAX_DATA: u64 = 1024 * 1024;
const MAX_TEXT: u64 = 4 * 1024 * 1024;

/// The case fields of a `header2` section, each as written (absent when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header2 {
    pub case_number: Option<String>,
    pub evidence_number: Option<String>,
    pub description: Option<String>,
    pub examiner: Option<String>,
    pub notes: Option<String>,
}

/// The `header2` fields of the segment in `f`, or `None` when it has no readable `header2`
/// (older formats have only `header`; a damaged one is left to the ASCII copy).
pub fn read(f: &mut File) -> Option<Header2> {
    let data = section_data(f, b"header2")?;
    let mut text = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..])
        .take(MAX_TEXT)
        .read_to_end(&mut text)
        .ok()?;
    parse(&utf16le(&text))
}

/// The data of the first section of type `want`, following the chain forwards from the
/// file header.
fn section_data(f: &mut File, want: &[u8]) -> Option<Vec<u8>> {
    let mut at = FILE_HEADER;
    for _ in 0..MAX_SECTIONS {
        let mut d = [0u8; DESCRIPTOR as usize];
        if pread(f, at, &mut d).ok()? < d.len() {
            return None;
        }
        let kind = d[..16].split(|&b| b == 0).next().unwrap_or_default();
        let next = u64::from_le_bytes(d[16..24].try_into().ok()?);
        let size = u64::from_le_bytes(d[24..32].try_into().ok()?);
        if kind == want {
            let len = size.checked_sub(DESCRIPTOR)?;
            if len == 0 || len > MAX_DATA {
                return None;
            }
            let mut data = vec![0u8; usize::try_from(len).ok()?];
            let n = pread(f, at + DESCRIPTOR, &mut data).ok()?;
            data.truncate(n);
            return Some(data);
        }
        // `done` and `next` end a segment; a chain that does not move forwards is damage.
        if kind == b"done" || kind == b"next" || next <= at {
            return None;
        }
        at = next;
    }
    None
}

/// UTF-16LE bytes as text (a leading byte-order mark dropped; an unpaired surrogate becomes
/// U+FFFD, which the printers then show as itself).
fn utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let units = units.strip_prefix(&[0xFEFF]).unwrap_or(&units);
    String::from_utf16_lossy(units)
}

/// `1` / `main` / field codes / values, tab-separated, the first category only.
fn parse(text: &str) -> Option<Header2> {
    let text = text.replace("\r\n", "\n");
    let mut lines = text.split('\n');
    let _count = lines.next()?;
    if lines.next()?.trim() != "main" {
        return None;
    }
    let names = lines.next()?;
    let values = lines.next()?;
    let mut h = Header2::default();
    for (name, value) in names.split('\t').zip(values.split('\t')) {
        if value.is_empty() {
            continue;
        }
        let field = match name.trim() {
            "c" => &mut h.case_number,
            "n" => &mut h.evidence_number,
            "a" => &mut h.description,
            "e" => &mut h.examiner,
            "t" => &mut h.notes,
            _ => continue,
        };
        *field = Some(value.to_owned());
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_category_gives_the_case_fields() {
        let h = parse("1\nmain\nc\tn\ta\te\tt\tav\nCase ü\tEV-1\t\tJosé\tnote\t20\n\n").unwrap();
        assert_eq!(h.case_number.as_deref(), Some("Case ü"));
        assert_eq!(h.evidence_number.as_deref(), Some("EV-1"));
        assert_eq!(h.description, None);
        assert_eq!(h.examiner.as_deref(), Some("José"));
        assert_eq!(h.notes.as_deref(), Some("note"));
        assert_eq!(parse("1\nsrce\nc\nx\n"), None);
        assert_eq!(parse("1\nmain\n"), None);
        assert_eq!(parse(""), None);
    }

    /// A segment: the file header, then descriptors (type, next offset, size) with data.
    fn segment(sections: &[(&[u8], Vec<u8>, Option<u64>)]) -> File {
        let mut b = b"EVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00".to_vec();
        for (kind, data, next) in sections {
            let at = b.len() as u64;
            let size = DESCRIPTOR + data.len() as u64;
            let mut d = [0u8; DESCRIPTOR as usize];
            d[..kind.len()].copy_from_slice(kind);
            d[16..24].copy_from_slice(&next.unwrap_or(at + size).to_le_bytes());
            d[24..32].copy_from_slice(&size.to_le_bytes());
            b.extend_from_slice(&d);
            b.extend_from_slice(data);
        }
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &b).unwrap();
        f
    }

    fn zlib_utf16(text: &str) -> Vec<u8> {
        let raw: Vec<u8> = format!("\u{feff}{text}")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, &raw).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn the_section_chain_is_followed_forwards_and_bounded() {
        let h2 = zlib_utf16("1\nmain\nc\te\nFall \u{202e}1\tJos\u{e9}\n\n");
        let mut f = segment(&[
            (b"header", vec![0; 8], None),
            (b"header2", h2.clone(), None),
        ]);
        let h = read(&mut f).unwrap();
        assert_eq!(h.case_number.as_deref(), Some("Fall \u{202e}1"));
        assert_eq!(h.examiner.as_deref(), Some("Jos\u{e9}"));
        // A chain pointing back at itself, a `done` before `header2`, a truncated descriptor,
        // data that is not zlib: nothing, and no hang.
        let mut looped = segment(&[
            (b"header", vec![0; 8], Some(13)),
            (b"header2", h2.clone(), None),
        ]);
        assert_eq!(read(&mut looped), None);
        let mut done = segment(&[(b"done", Vec::new(), None), (b"header2", h2, None)]);
        assert_eq!(read(&mut done), None);
        let mut short = tempfile::tempfile().unwrap();
        std::io::Write::write_all(
            &mut short,
            b"EVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00head",
        )
        .unwrap();
        assert_eq!(read(&mut short), None);
        let mut junk = segment(&[(b"header2", vec![0x55; 64], None)]);
        assert_eq!(read(&mut junk), None);
    }

    #[test]
    fn utf16_with_a_byte_order_mark() {
        let b: Vec<u8> = "\u{feff}Ab\u{e9}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(utf16le(&b), "Ab\u{e9}");
        assert_eq!(utf16le(&[0x00, 0xd8, 0x41, 0x00]), "\u{fffd}A");
        assert_eq!(utf16le(&[0x41]), "");
    }
}
