//! Where things are in a PE file, read the simple way, so tests can damage them on purpose.

/// Offsets of the structures a mutation or a hostile file targets.
#[derive(Debug, Clone)]
pub struct Layout {
    pub e_lfanew: usize,
    /// `IMAGE_FILE_HEADER` (just after the `PE\0\0` signature).
    pub file_header: usize,
    pub optional_header: usize,
    pub optional_size: usize,
    pub section_table: usize,
    pub sections: usize,
    /// File offset and size of the resource directory (data directory 2), if any.
    pub resources: Option<(usize, usize)>,
    /// File offset and `wLength` of every `VS_VERSIONINFO` block.
    pub version_blocks: Vec<(usize, usize)>,
}

pub fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

pub fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// File offset of an RVA, through the section table.
pub fn rva_to_offset(b: &[u8], l: &Layout, rva: usize) -> Option<usize> {
    (0..l.sections).find_map(|i| {
        let s = l.section_table + 40 * i;
        let va = u32_at(b, s + 12);
        let raw_size = u32_at(b, s + 16);
        let raw = u32_at(b, s + 20);
        (rva >= va && rva < va + raw_size).then(|| rva - va + raw)
    })
}

/// Reads the layout of a well-formed sample PE (panics on anything else: test input only).
pub fn layout(b: &[u8]) -> Layout {
    assert_eq!(&b[..2], b"MZ");
    let e_lfanew = u32_at(b, 0x3c);
    assert_eq!(&b[e_lfanew..e_lfanew + 4], b"PE\0\0");
    let file_header = e_lfanew + 4;
    let sections = u16_at(b, file_header + 2);
    let optional_size = u16_at(b, file_header + 16);
    let optional_header = file_header + 20;
    let dirs = match u16_at(b, optional_header) {
        0x10b => optional_header + 96,
        0x20b => optional_header + 112,
        m => panic!("optional header magic {m:#x}"),
    };
    let mut l = Layout {
        e_lfanew,
        file_header,
        optional_header,
        optional_size,
        section_table: optional_header + optional_size,
        sections,
        resources: None,
        version_blocks: Vec::new(),
    };
    let (rva, size) = (u32_at(b, dirs + 16), u32_at(b, dirs + 20));
    if rva != 0 {
        l.resources = rva_to_offset(b, &l, rva).map(|off| (off, size));
    }
    let key: Vec<u8> = "VS_VERSION_INFO"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let mut from = 0;
    while let Some(i) = b[from..].windows(key.len()).position(|w| w == &key[..]) {
        let at = from + i - 6;
        l.version_blocks.push((at, u16_at(b, at)));
        from += i + 1;
    }
    l
}

/// The resource directory tables: (offset of each `IMAGE_RESOURCE_DIRECTORY`, offsets of its
/// entries), walked from the root (depth-limited: these are well-formed samples).
pub fn resource_tables(b: &[u8], rsrc: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out = Vec::new();
    let mut todo = vec![(rsrc, 0)];
    while let Some((dir, depth)) = todo.pop() {
        let n = u16_at(b, dir + 12) + u16_at(b, dir + 14);
        let entries: Vec<usize> = (0..n).map(|i| dir + 16 + 8 * i).collect();
        for &e in &entries {
            let off = u32_at(b, e + 4);
            if off & 0x8000_0000 != 0 && depth < 3 {
                todo.push((rsrc + (off & 0x7fff_ffff), depth + 1));
            }
        }
        out.push((dir, entries));
    }
    out
}
