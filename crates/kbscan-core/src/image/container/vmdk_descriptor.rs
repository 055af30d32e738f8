//! The one reading of a VMDK text descriptor (VMware Virtual Disk Format 1.1, §4.3): the
//! reader opens the extents it names and the `-o` guard protects the same files, so both ask
//! this parser and nothing else. It is strict: a line it cannot read as a comment, a
//! `key = value` pair or an extent line, a key given twice, a name that could be split two
//! ways, or extents that do not fit the `createType` make the whole descriptor unreadable
//! (refused), because another reader could take such a descriptor to name other files.
//!
//! An extent line is `ACCESS SECTORS TYPE ["NAME" [OFFSET]]`: the name quoted (as VMware and
//! qemu-img write it) or bare (`RW 65536 FLAT b-flat.vmdk 0`, which other readers accept
//! too); a bare name has no quote and no blank, a quoted one no quote inside. A name is a
//! path relative to the descriptor's folder: `/`-separated, no empty, `.` or `..` component,
//! no backslash, no control character.

/// Descriptor files larger than this are not read (a real one is under 2 KiB).
pub const MAX_DESCRIPTOR: usize = 1024 * 1024;
/// Extents one descriptor may name (a 2 TiB disk in 2 GiB extents has 1,024).
pub const MAX_EXTENTS: usize = 1024;
/// Bytes in an extent name.
const MAX_NAME: usize = 4096;

/// Why a descriptor is not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("a {0}-byte descriptor is implausible (at most {MAX_DESCRIPTOR} bytes are read)")]
    TooLarge(u64),
    #[error("it is not text: {0}")]
    NotText(&'static str),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("the key \"{key}\" is given twice (lines {first} and {second})")]
    Duplicate {
        key: String,
        first: usize,
        second: usize,
    },
    #[error("it has no createType")]
    NoCreateType,
    #[error("it names no extent")]
    NoExtent,
    #[error("it names more than {MAX_EXTENTS} extents")]
    TooManyExtents,
    #[error("its extents add up to more sectors than a disk can have")]
    TooLargeDisk,
    #[error("a {create} descriptor cannot hold a {kind} extent (line {line})")]
    Mismatch {
        create: String,
        kind: &'static str,
        line: usize,
    },
}

/// How an extent is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentKind {
    /// Raw bytes of a file from a sector offset (`FLAT`, `VMFS`).
    Flat,
    /// A hosted sparse or COWD extent file with its own header (`SPARSE`, `VMFSSPARSE`).
    Sparse,
    /// No file: zeros (`ZERO`).
    Zero,
}

/// One extent line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    /// Line number (from 1), for messages.
    pub line: usize,
    pub sectors: u64,
    pub kind: ExtentKind,
    /// The type word as written (`FLAT`, `VMFSSPARSE`…).
    pub type_word: &'static str,
    /// The file, relative to the descriptor's folder (none for `ZERO`).
    pub name: Option<String>,
    /// Where the extent's data starts in its file, in sectors (flat extents).
    pub offset: u64,
}

/// A descriptor as kbscan reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub create_type: String,
    /// `CID`: the content id, which a child's `parentCID` names.
    pub cid: Option<u32>,
    /// `parentCID`, when given and not `ffffffff`: a differencing disk.
    pub parent_cid: Option<u32>,
    pub parent_hint: Option<String>,
    pub extents: Vec<Extent>,
}

/// createTypes whose extents are flat files (or zeros).
const FLAT_TYPES: &[&str] = &[
    "monolithicFlat",
    "twoGbMaxExtentFlat",
    "vmfs",
    "vmfsPreallocated",
    "vmfsEagerZeroedThick",
];
/// createTypes whose extents are sparse files.
const SPARSE_TYPES: &[&str] = &[
    "monolithicSparse",
    "streamOptimized",
    "twoGbMaxExtentSparse",
    "vmfsSparse",
    "vmfsThin",
];

impl Descriptor {
    /// Whether kbscan reads this createType (raw device mappings, seSparse and unknown
    /// types are refused by the caller).
    pub fn create_type_read(&self) -> bool {
        FLAT_TYPES.contains(&self.create_type.as_str())
            || SPARSE_TYPES.contains(&self.create_type.as_str())
    }

    /// The names of the extent files, in order (each once).
    pub fn file_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for n in self.extents.iter().filter_map(|e| e.name.as_deref()) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// The virtual disk's size in sectors (checked when parsed).
    pub fn sectors(&self) -> u64 {
        self.extents.iter().map(|e| e.sectors).sum()
    }
}

fn line_err(line: usize, why: impl Into<String>) -> DescriptorError {
    DescriptorError::Line {
        line,
        why: why.into(),
    }
}

/// Splits off one blank-separated word.
fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches([' ', '\t']);
    if s.is_empty() {
        return None;
    }
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

fn number(w: &str, line: usize, what: &str) -> Result<u64, DescriptorError> {
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return Err(line_err(
            line,
            format!("{what} \"{w}\" is not a decimal number"),
        ));
    }
    w.parse()
        .map_err(|_| line_err(line, format!("{what} \"{w}\" is too large")))
}

/// Checks an extent name: relative, plain components, nothing two readers could split or
/// resolve differently.
fn check_name(name: &str, line: usize) -> Result<(), DescriptorError> {
    let bad = |why: &str| Err(line_err(line, format!("extent name \"{name}\": {why}")));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME {
        return bad("too long");
    }
    if name.chars().any(char::is_control) {
        return bad("it holds a control character");
    }
    if name.contains('\\') {
        return bad("a backslash (a folder on Windows, a character elsewhere)");
    }
    if name.starts_with('/') {
        return bad("an absolute path: extents are read only beside the descriptor");
    }
    for c in name.split('/') {
        match c {
            "" => return bad("an empty path component"),
            "." | ".." => {
                return bad(
                    "a . or .. component: extents are read only below the descriptor's folder",
                )
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads an extent line (`access` already recognised).
fn extent(rest: &str, line: usize) -> Result<Extent, DescriptorError> {
    let (sectors, rest) = word(rest).ok_or_else(|| line_err(line, "extent without a size"))?;
    let sectors = number(sectors, line, "extent size")?;
    if sectors == 0 {
        return Err(line_err(line, "an extent of 0 sectors"));
    }
    let (ty, rest) = word(rest).ok_or_else(|| line_err(line, "extent without a type"))?;
    let (kind, type_word) = match ty {
        "FLAT" => (ExtentKind::Flat, "FLAT"),
        "VMFS" => (ExtentKind::Flat, "VMFS"),
        "SPARSE" => (ExtentKind::Sparse, "SPARSE"),
        "VMFSSPARSE" => (ExtentKind::Sparse, "VMFSSPARSE"),
        "ZERO" => (ExtentKind::Zero, "ZERO"),
        other => {
            return Err(line_err(
                line,
                format!("extent type \"{other}\" is not read (raw device mappings, seSparse and unknown types are not)"),
            ))
        }
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    if kind == ExtentKind::Zero {
        if !rest.is_empty() {
            return Err(line_err(line, "a ZERO extent names no file"));
        }
        return Ok(Extent {
            line,
            sectors,
            kind,
            type_word,
            name: None,
            offset: 0,
        });
    }
    let (name, rest) = if let Some(inner) = rest.strip_prefix('"') {
        let close = inner
            .find('"')
            .ok_or_else(|| line_err(line, "a quoted extent name without its closing quote"))?;
        let after = &inner[close + 1..];
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return Err(line_err(line, "text right after a quoted extent name"));
        }
        (&inner[..close], after)
    } else {
        let (w, after) = word(rest).ok_or_else(|| line_err(line, "extent without a file name"))?;
        if w.contains('"') {
            return Err(line_err(line, "a quote inside an unquoted extent name"));
        }
        (w, after)
    };
    check_name(name, line)?;
    let (offset, rest) = match word(rest) {
        Some((w, after)) => (Some(number(w, line, "extent offset")?), after),
        None => (None, rest),
    };
    if !rest.trim_matches([' ', '\t']).is_empty() {
        return Err(line_err(line, "more words after the extent's offset"));
    }
    let offset = match (type_word, offset) {
        ("FLAT", None) => return Err(line_err(line, "a FLAT extent without its offset")),
        (_, Some(_)) if kind == ExtentKind::Sparse => {
            return Err(line_err(line, "an offset on a sparse extent"))
        }
        (_, o) => o.unwrap_or(0),
    };
    Ok(Extent {
        line,
        sectors,
        kind,
        type_word,
        name: Some(name.to_owned()),
        offset,
    })
}

/// Reads a `key = value` line's value: quoted, or one bare word.
fn value(v: &str, line: usize) -> Result<&str, DescriptorError> {
    let v = v.trim_matches([' ', '\t']);
    if let Some(inner) = v.strip_prefix('"') {
        let close = inner
            .find('"')
            .ok_or_else(|| line_err(line, "a quoted value without its closing quote"))?;
        if close + 1 != inner.len() {
            return Err(line_err(line, "text after a quoted value"));
        }
        return Ok(&inner[..close]);
    }
    if v.contains(['"', ' ', '\t']) {
        return Err(line_err(
            line,
            "an unquoted value with a quote or a blank in it",
        ));
    }
    Ok(v)
}

/// Parses a descriptor: a descriptor file's bytes, or the embedded descriptor of a sparse
/// extent (NUL-padded to a sector; the padding ends it, and nothing but NULs may follow).
pub fn parse(bytes: &[u8]) -> Result<Descriptor, DescriptorError> {
    if bytes.len() > MAX_DESCRIPTOR {
        return Err(DescriptorError::TooLarge(bytes.len() as u64));
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    if bytes[end..].iter().any(|&b| b != 0) {
        return Err(DescriptorError::NotText("a NUL byte inside it"));
    }
    let text = std::str::from_utf8(&bytes[..end])
        .map_err(|_| DescriptorError::NotText("not UTF-8 (names could be read two ways)"))?;
    let mut keys: Vec<(String, usize)> = Vec::new();
    let mut create_type = None;
    let mut cid = None;
    let mut parent_cid = None;
    let mut parent_hint = None;
    let mut extents = Vec::new();
    let mut total = 0u64;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l.contains('\r') {
            return Err(line_err(n, "a carriage return inside the line"));
        }
        let l = l.trim_matches([' ', '\t']);
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let first = word(l).map_or("", |(w, _)| w);
        if matches!(first, "RW" | "RDONLY" | "NOACCESS") {
            if first == "NOACCESS" {
                return Err(line_err(
                    n,
                    "a NOACCESS extent: its data is not in the set, and zeros in its place could hide evidence",
                ));
            }
            if extents.len() == MAX_EXTENTS {
                return Err(DescriptorError::TooManyExtents);
            }
            let e = extent(&l[first.len()..], n)?;
            total = total
                .checked_add(e.sectors)
                .filter(|t| t.checked_mul(512).is_some())
                .ok_or(DescriptorError::TooLargeDisk)?;
            extents.push(e);
            continue;
        }
        let Some((key, v)) = l.split_once('=') else {
            return Err(line_err(
                n,
                "neither a comment, a key = value pair nor an extent",
            ));
        };
        let key = key.trim_matches([' ', '\t']);
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            return Err(line_err(n, format!("\"{key}\" is not a key")));
        }
        if let Some((_, first)) = keys.iter().find(|(k, _)| k == key) {
            return Err(DescriptorError::Duplicate {
                key: key.to_owned(),
                first: *first,
                second: n,
            });
        }
        keys.push((key.to_owned(), n));
        let v = value(v, n)?;
        match key {
            "createType" => create_type = Some(v.to_owned()),
            "CID" => cid = Some(content_id(key, v, n)?),
            "parentCID" => {
                let id = content_id(key, v, n)?;
                parent_cid = (id != u32::MAX).then_some(id);
            }
            "parentFileNameHint" => parent_hint = Some(v.to_owned()),
            _ => {}
        }
    }
    let create_type = create_type.ok_or(DescriptorError::NoCreateType)?;
    if extents.is_empty() {
        return Err(DescriptorError::NoExtent);
    }
    let (flat, sparse) = (
        FLAT_TYPES.contains(&create_type.as_str()),
        SPARSE_TYPES.contains(&create_type.as_str()),
    );
    for e in &extents {
        let fits = match e.kind {
            ExtentKind::Flat | ExtentKind::Zero => !sparse,
            ExtentKind::Sparse => !flat,
        };
        if !fits {
            return Err(DescriptorError::Mismatch {
                create: create_type.clone(),
                kind: e.type_word,
                line: e.line,
            });
        }
    }
    Ok(Descriptor {
        create_type,
        cid,
        parent_cid,
        parent_hint,
        extents,
    })
}

/// A `CID` or `parentCID`: a 32-bit number in hex; qemu-img writes it without leading zeros
/// (`parentCID=b8db268`), so 1 to 8 digits.
fn content_id(key: &str, v: &str, n: usize) -> Result<u32, DescriptorError> {
    let hex = !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| u32::from_str_radix(v, 16).ok())
        .flatten()
        .ok_or_else(|| {
            line_err(
                n,
                format!("{key} \"{v}\" is not a hexadecimal number of 1 to 8 digits"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "# Disk DescriptorFile\nversion=1\nCID=593e94a4\nparentCID=ffffffff\n";

    fn with(create: &str, extents: &str) -> String {
        format!("{HEAD}createType=\"{create}\"\n\n# Extent description\n{extents}\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"ide\"\n")
    }

    fn names(text: &str) -> Vec<String> {
        parse(text.as_bytes())
            .unwrap()
            .file_names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// qemu-img writes the parent's CID with `%x`: a CID whose first digit is 0 has 7 digits
    /// (seen on a qemu-img child whose random CID was 0b8db268).
    #[test]
    fn a_parent_cid_without_leading_zeros_is_read() {
        for (cid, want) in [
            ("b8db268", 0x0b8d_b268),
            ("1", 1),
            ("0b8db268", 0x0b8d_b268),
        ] {
            let text = with("monolithicSparse", "RW 8 SPARSE \"c.vmdk\"")
                .replace("parentCID=ffffffff", &format!("parentCID={cid}"));
            let d = parse(text.as_bytes()).unwrap();
            assert_eq!(d.parent_cid, Some(want), "{cid}");
        }
        for bad in ["", "123456789", "+1", "xyz", "-1"] {
            let text = with("monolithicSparse", "RW 8 SPARSE \"c.vmdk\"")
                .replace("parentCID=ffffffff", &format!("parentCID={bad}"));
            assert!(parse(text.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quoted_and_bare_names_are_the_same_extent() {
        for line in [
            "RW 65536 FLAT \"b-flat.vmdk\" 0",
            "RW 65536 FLAT b-flat.vmdk 0",
            "RW\t65536\tFLAT\tb-flat.vmdk\t0",
            "  RDONLY 65536 FLAT b-flat.vmdk 0  ",
        ] {
            let d = parse(with("monolithicFlat", line).as_bytes()).unwrap();
            assert_eq!(d.file_names(), ["b-flat.vmdk"], "{line}");
            assert_eq!(d.sectors(), 65536);
        }
        assert_eq!(
            names(&with("monolithicFlat", "RW 8 FLAT \"with space.vmdk\" 0")),
            ["with space.vmdk"]
        );
        assert_eq!(
            names(&with(
                "twoGbMaxExtentSparse",
                "RW 8 SPARSE \"a-s001.vmdk\"\r\nRW 8 SPARSE a-s002.vmdk"
            )),
            ["a-s001.vmdk", "a-s002.vmdk"]
        );
        assert_eq!(
            names(&with("vmfs", "RW 8 VMFS sub/x-flat.vmdk\nRW 8 ZERO")),
            ["sub/x-flat.vmdk"]
        );
    }

    #[test]
    fn whatever_could_be_read_two_ways_is_refused() {
        for (create, line) in [
            ("monolithicFlat", "RW 8 FLAT \"a b.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT \"a\"b.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT a\"b.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT a b.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT a.vmdk"),
            ("monolithicFlat", "RW 8 FLAT a.vmdk 0 9"),
            ("monolithicFlat", "RW 8 FLAT a.vmdk -1"),
            ("monolithicFlat", "RW 0x8 FLAT a.vmdk 0"),
            ("monolithicFlat", "RW 0 FLAT a.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT ../a.vmdk 0"),
            ("monolithicFlat", "RW 8 FLAT /dev/sda 0"),
            ("monolithicFlat", "RW 8 FLAT a//b 0"),
            ("monolithicFlat", "RW 8 FLAT a\\b 0"),
            ("monolithicFlat", "RW 8 FLAT \"\" 0"),
            ("monolithicFlat", "RW 8 FLAT a\rb 0"),
            ("monolithicFlat", "NOACCESS 8 FLAT a.vmdk 0"),
            ("monolithicFlat", "RW 8 VMFSRDM a.vmdk"),
            ("monolithicFlat", "RW 8 SESPARSE a.vmdk"),
            ("monolithicFlat", "RW 8 SPARSE a.vmdk"),
            ("twoGbMaxExtentSparse", "RW 8 FLAT a.vmdk 0"),
            ("twoGbMaxExtentSparse", "RW 8 SPARSE a.vmdk 0"),
            ("monolithicFlat", "rw 8 FLAT a.vmdk 0"),
            ("monolithicFlat", "RW 8 ZERO a.vmdk"),
            ("monolithicFlat", "RW 18446744073709551615 FLAT a.vmdk 0"),
            ("monolithicFlat", ""),
        ] {
            let t = with(create, line);
            assert!(parse(t.as_bytes()).is_err(), "{create}: {line:?}");
        }
        let twice = format!(
            "{}createType=\"vmfs\"\n",
            with("monolithicFlat", "RW 8 FLAT a 0")
        );
        assert!(matches!(
            parse(twice.as_bytes()),
            Err(DescriptorError::Duplicate { .. })
        ));
        let nul = format!(
            "{}\0RW 8 FLAT b 0\n",
            with("monolithicFlat", "RW 8 FLAT a 0")
        );
        assert!(parse(nul.as_bytes()).is_err());
        let padded = format!("{}\0\0\0", with("monolithicFlat", "RW 8 FLAT a 0"));
        assert!(parse(padded.as_bytes()).is_ok());
        assert!(parse(b"# Disk DescriptorFile\nRW 8 FLAT a 0\n").is_err());
        assert!(parse(&[b'#'; MAX_DESCRIPTOR + 1]).is_err());
        let latin1 = with("monolithicFlat", "RW 8 FLAT caf\u{e9} 0").replace('\u{e9}', "\u{1}");
        let mut bytes = latin1.into_bytes();
        let at = bytes.iter().position(|&b| b == 1).unwrap();
        bytes[at] = 0xe9;
        assert!(parse(&bytes).is_err());
    }

    #[test]
    fn a_differencing_descriptor_names_its_parent() {
        let t = with("monolithicSparse", "RW 8 SPARSE c.vmdk").replace(
            "parentCID=ffffffff",
            "parentCID=1234abcd\nparentFileNameHint=\"p.vmdk\"",
        );
        let d = parse(t.as_bytes()).unwrap();
        assert_eq!(d.parent_cid, Some(0x1234_abcd));
        assert_eq!(d.parent_hint.as_deref(), Some("p.vmdk"));
        let bad = with("monolithicSparse", "RW 8 SPARSE c.vmdk").replace("ffffffff", "zz");
        assert!(parse(bad.as_bytes()).is_err());
    }
}
