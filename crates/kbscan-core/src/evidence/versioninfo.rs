//! A bounds-checked reader for the `VS_VERSIONINFO` block of an `RT_VERSION` resource.
//!
//! pelite 0.10 panics on some malformed version blocks (`version_info.rs:592`), only reads a
//! fixed-info value of exactly 52 bytes and never checks its signature. Version data is the
//! evidence kbscan judges, so this small reader owns that job: every length is validated
//! against the bytes really present, nothing is trusted, and damage below the root block is
//! reported as a warning while whatever was readable is kept.
//!
//! Layout (all little endian, every block 32-bit aligned from the start of the resource):
//! `wLength, wValueLength, wType, szKey (UTF-16, NUL), pad, Value, pad, Children…`.
//!
//! Over 400 lines with its tests (the byte-level layout cases are about 200 of them).

pub use crate::model::file::{StringTable, Translation};
pub use crate::model::pe::{CorruptVersion, FixedFileInfo, VersionInfo};
use crate::model::version::FileVersion;

/// The `VS_FIXEDFILEINFO` signature.
pub const FIXED_SIGNATURE: u32 = 0xFEEF_04BD;
const FIXED_LEN: usize = 52;

/// One block header with the byte ranges it covers.
struct Block<'a> {
    key: String,
    value_type: u16,
    value_len: usize,
    /// Bytes from the aligned value start to the end of the block.
    after_key: &'a [u8],
    /// Absolute offset of `after_key[0]` (alignment is relative to the resource start).
    after_key_at: usize,
    /// Absolute offset one past the end of the block (clamped to the bytes present).
    end: usize,
    /// Set when wLength claimed more bytes than exist.
    clamped: bool,
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn align4(x: usize) -> usize {
    x.saturating_add(3) & !3
}

/// Decodes UTF-16LE up to the first NUL or the end of `bytes`; unpaired surrogates become U+FFFD.
/// Returns the text and the offset just past the NUL (or `bytes.len()` and `false` if none).
fn utf16z(bytes: &[u8]) -> (String, usize, bool) {
    let mut units = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let u = u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        i += 2;
        if u == 0 {
            return (String::from_utf16_lossy(&units), i, true);
        }
        units.push(u);
    }
    (String::from_utf16_lossy(&units), bytes.len(), false)
}

/// Reads the block header at `at`, limited to `limit` (the parent's end).
fn block(data: &[u8], at: usize, limit: usize) -> Result<Block<'_>, String> {
    let limit = limit.min(data.len());
    let len = u16_at(data, at).ok_or_else(|| format!("block at offset {at} is cut off"))? as usize;
    if len < 6 {
        return Err(format!("block at offset {at} has length {len}"));
    }
    let claimed_end = at + len;
    let (end, clamped) = if claimed_end > limit {
        (limit, true)
    } else {
        (claimed_end, false)
    };
    if end < at + 6 {
        return Err(format!("block at offset {at} is cut off"));
    }
    let value_len = u16_at(data, at + 2).unwrap_or(0) as usize;
    let value_type = u16_at(data, at + 4).unwrap_or(0);
    let (key, used, terminated) = utf16z(&data[at + 6..end]);
    if !terminated {
        return Err(format!("block at offset {at} has an unterminated key"));
    }
    let value_at = align4(at + 6 + used).min(end);
    Ok(Block {
        key,
        value_type,
        value_len,
        after_key: &data[value_at..end],
        after_key_at: value_at,
        end,
        clamped,
    })
}

/// The children of a block whose value occupies `value_bytes` bytes.
fn children<'a>(
    data: &'a [u8],
    parent: &Block<'a>,
    value_bytes: usize,
    warnings: &mut Vec<String>,
) -> Vec<Block<'a>> {
    let mut out = Vec::new();
    let mut pos = align4(parent.after_key_at.saturating_add(value_bytes));
    while pos.saturating_add(6) <= parent.end {
        match block(data, pos, parent.end) {
            Ok(child) => {
                if child.clamped {
                    warnings.push(format!(
                        "block {:?} claims more bytes than its parent holds",
                        child.key
                    ));
                }
                pos = align4(child.end);
                out.push(child);
            }
            Err(e) => {
                // Zero padding at the end of a list is normal; anything else is damage.
                if data[pos..parent.end].iter().any(|&b| b != 0) {
                    warnings.push(format!("inside {:?}: {e}", parent.key));
                }
                break;
            }
        }
    }
    out
}

fn parse_fixed(bytes: &[u8]) -> Option<FixedFileInfo> {
    let d = |i: usize| u32_at(bytes, i * 4);
    Some(FixedFileInfo {
        struct_version: d(1)?,
        file_version: FileVersion::from_ms_ls(d(2)?, d(3)?),
        product_version: FileVersion::from_ms_ls(d(4)?, d(5)?),
        flags_mask: d(6)?,
        flags: d(7)?,
        os: d(8)?,
        file_type: d(9)?,
        file_subtype: d(10)?,
        file_date: (u64::from(d(11)?) << 32) | u64::from(d(12)?),
    })
}

fn split_key(key: &str) -> (Option<String>, Option<String>) {
    if key.len() == 8 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        (
            Some(key[..4].to_ascii_lowercase()),
            Some(key[4..].to_ascii_lowercase()),
        )
    } else {
        (None, None)
    }
}

/// Parses one `VS_VERSIONINFO` block (the bytes of one `RT_VERSION` resource).
pub fn parse(data: &[u8]) -> Result<VersionInfo, CorruptVersion> {
    let root = block(data, 0, data.len()).map_err(CorruptVersion)?;
    if root.key != "VS_VERSION_INFO" {
        return Err(CorruptVersion(format!(
            "root block key is {:?}, not \"VS_VERSION_INFO\"",
            root.key
        )));
    }
    let mut info = VersionInfo::default();
    if root.clamped {
        info.warnings.push(format!(
            "VS_VERSION_INFO claims more bytes than the resource holds ({})",
            data.len()
        ));
    }

    let value_bytes = root.value_len.min(root.after_key.len());
    if root.value_len > root.after_key.len() {
        info.warnings.push(format!(
            "VS_VERSION_INFO wValueLength {} is more than the {} bytes after its key; nothing after the value can be read",
            root.value_len,
            root.after_key.len()
        ));
    }
    if root.value_len > 0 {
        if root.value_len < FIXED_LEN || root.after_key.len() < FIXED_LEN {
            info.warnings.push(format!(
                "VS_FIXEDFILEINFO is {} bytes, needs {FIXED_LEN}; ignored",
                value_bytes
            ));
        } else {
            let sig = u32_at(root.after_key, 0).unwrap_or(0);
            if sig == FIXED_SIGNATURE {
                info.fixed = parse_fixed(root.after_key);
            } else {
                info.warnings.push(format!(
                    "VS_FIXEDFILEINFO signature is {sig:#010x}, not {FIXED_SIGNATURE:#010x}; ignored"
                ));
            }
        }
    }

    let mut warnings = Vec::new();
    for section in children(data, &root, value_bytes, &mut warnings) {
        let section_value = section.value_len.min(section.after_key.len());
        if section.key.eq_ignore_ascii_case("StringFileInfo") {
            for table in children(data, &section, section_value, &mut warnings) {
                let table_value = table.value_len.min(table.after_key.len());
                let (lang, codepage) = split_key(&table.key);
                let mut strings = Vec::new();
                for s in children(data, &table, table_value, &mut warnings) {
                    // The value runs to the end of the block: wValueLength is written in
                    // words by some tools and in bytes by others, so it is not trusted.
                    let (value, _, _) = utf16z(s.after_key);
                    strings.push((s.key, value));
                }
                info.string_tables.push(StringTable {
                    key: table.key,
                    lang,
                    codepage,
                    strings,
                });
            }
        } else if section.key.eq_ignore_ascii_case("VarFileInfo") {
            for var in children(data, &section, section_value, &mut warnings) {
                if var.key.eq_ignore_ascii_case("Translation") && var.value_type == 0 {
                    let bytes = &var.after_key[..var.value_len.min(var.after_key.len())];
                    for pair in bytes.chunks_exact(4) {
                        info.translations.push(Translation {
                            lang: u16::from_le_bytes([pair[0], pair[1]]),
                            codepage: u16::from_le_bytes([pair[2], pair[3]]),
                        });
                    }
                }
            }
        } else {
            warnings.push(format!("unknown block {:?} ignored", section.key));
        }
    }
    info.warnings.extend(warnings);
    Ok(info)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a block the way rc.exe/windres do: header, key, pad, value, pad, children.
    pub(crate) fn blk(
        key: &str,
        value_type: u16,
        value: &[u8],
        value_len: u16,
        kids: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut b = vec![0, 0];
        b.extend_from_slice(&value_len.to_le_bytes());
        b.extend_from_slice(&value_type.to_le_bytes());
        for u in key.encode_utf16().chain([0]) {
            b.extend_from_slice(&u.to_le_bytes());
        }
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b.extend_from_slice(value);
        for k in kids {
            while b.len() % 4 != 0 {
                b.push(0);
            }
            b.extend_from_slice(k);
        }
        let len = b.len() as u16;
        b[..2].copy_from_slice(&len.to_le_bytes());
        b
    }

    fn wstr(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect()
    }

    pub(crate) fn fixed(ms: u32, ls: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for d in [
            FIXED_SIGNATURE,
            0x10000,
            ms,
            ls,
            ms,
            ls,
            0x3f,
            0,
            0x40004,
            1,
            0,
            0,
            0,
        ] {
            v.extend_from_slice(&u32::to_le_bytes(d));
        }
        v
    }

    fn string(k: &str, v: &str) -> Vec<u8> {
        let w = wstr(v);
        blk(k, 1, &w, (w.len() / 2) as u16, &[])
    }

    pub(crate) fn sample(ms: u32, ls: u32, file_version: &str) -> Vec<u8> {
        let en = blk(
            "040904b0",
            1,
            &[],
            0,
            &[
                string("CompanyName", "Fixture"),
                string("FileVersion", file_version),
            ],
        );
        let de = blk(
            "040704b0",
            1,
            &[],
            0,
            &[string("FileDescription", "Stationsdienst für Tests")],
        );
        let sfi = blk("StringFileInfo", 1, &[], 0, &[en, de]);
        let tr: Vec<u8> = [0x0409u16, 1200, 0x0407, 1200]
            .iter()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let var = blk("Translation", 0, &tr, 8, &[]);
        let vfi = blk("VarFileInfo", 1, &[], 0, &[var]);
        blk("VS_VERSION_INFO", 0, &fixed(ms, ls), 52, &[sfi, vfi])
    }

    #[test]
    fn reads_fixed_info_every_table_and_translations() {
        let info = parse(&sample(0x0004_0001, 3934, "4.1.0.3934")).unwrap();
        let fixed = info.fixed.unwrap();
        assert_eq!(fixed.file_version, FileVersion::new(4, 1, 0, 3934));
        assert_eq!(fixed.os, 0x40004);
        assert_eq!(info.string_tables.len(), 2);
        assert_eq!(info.string_tables[0].lang.as_deref(), Some("0409"));
        assert_eq!(info.string_tables[0].codepage.as_deref(), Some("04b0"));
        assert_eq!(info.string_tables[0].get("fileversion"), Some("4.1.0.3934"));
        assert_eq!(info.string_tables[1].lang.as_deref(), Some("0407"));
        assert_eq!(
            info.string_tables[1].get("FileDescription"),
            Some("Stationsdienst für Tests")
        );
        assert_eq!(info.translations.len(), 2);
        assert_eq!(
            info.translations[1],
            Translation {
                lang: 0x407,
                codepage: 1200
            }
        );
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    }

    #[test]
    fn a_bad_signature_drops_fixed_info_but_keeps_strings() {
        let mut data = sample(0x0004_0001, 3934, "4.1.0.3934");
        let at = data
            .windows(4)
            .position(|w| w == FIXED_SIGNATURE.to_le_bytes())
            .unwrap();
        data[at..at + 4].copy_from_slice(&[0; 4]);
        let info = parse(&data).unwrap();
        assert!(info.fixed.is_none());
        assert!(info.warnings[0].contains("signature"));
        assert_eq!(info.string_tables[0].get("FileVersion"), Some("4.1.0.3934"));
    }

    #[test]
    fn lying_lengths_never_read_past_the_data() {
        let data = sample(0x0004_0001, 3934, "4.1.0.3934");
        // Every truncation and every wLength value at the root must give a result, not a panic.
        for cut in 0..data.len() {
            let _ = parse(&data[..cut]);
        }
        for len in [0u16, 1, 5, 6, 7, 51, 100, 0xffff] {
            let mut d = data.clone();
            d[..2].copy_from_slice(&len.to_le_bytes());
            let _ = parse(&d);
        }
        // Every 16-bit field anywhere set to extremes.
        for at in (0..data.len() - 1).step_by(2) {
            for val in [0u16, 6, 0x7fff, 0xffff] {
                let mut d = data.clone();
                d[at..at + 2].copy_from_slice(&val.to_le_bytes());
                let _ = parse(&d);
            }
        }
    }

    #[test]
    fn root_damage_is_an_error_with_a_reason() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[4, 0, 0, 0]).is_err());
        let other = blk("NOT_VERSION", 0, &[], 0, &[]);
        let e = parse(&other).unwrap_err();
        assert!(e.0.contains("NOT_VERSION"));
    }

    #[test]
    fn a_value_length_past_the_block_is_a_warning() {
        // Found by the hostile tree tests: the string tables vanished without a word.
        let mut data = sample(0x0004_0001, 3934, "4.1.0.3934");
        data[2..4].copy_from_slice(&0xffffu16.to_le_bytes());
        let info = parse(&data).unwrap();
        assert_eq!(
            info.fixed.unwrap().file_version,
            FileVersion::new(4, 1, 0, 3934)
        );
        assert!(info.string_tables.is_empty());
        assert!(
            info.warnings
                .iter()
                .any(|w| w.contains("wValueLength 65535")),
            "{:?}",
            info.warnings
        );
        // An honest block gets no such warning.
        let info = parse(&sample(0x0004_0001, 3934, "4.1.0.3934")).unwrap();
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    }

    #[test]
    fn a_short_fixed_value_is_a_warning() {
        let data = blk("VS_VERSION_INFO", 0, &fixed(0x40001, 3934)[..40], 40, &[]);
        let info = parse(&data).unwrap();
        assert!(info.fixed.is_none());
        assert!(info.warnings[0].contains("40 bytes"));
    }
}
