//! Deterministic mutation test on stable: every sample PE, damaged thousands of ways, must give
//! `pe::inspect` a typed answer (`Ok` or an `InspectError`), never a panic (pelite's panics are
//! caught inside `pe::inspect` and turned into `ParserPanic`, which this test also refuses),
//! never an abort, and never a version the bytes do not contain.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use common::pe_layout::{self, put_u16, put_u32, resource_tables, Layout};
use common::samples;
use kbscan_core::error::InspectError;
use kbscan_core::evidence::pe::{self, PeVersionData};
use kbscan_core::model::version::FileVersion;

/// xorshift64*: tiny, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sample_pes() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    let mut todo = vec![samples().join("systems")];
    while let Some(dir) = todo.pop() {
        for e in fs::read_dir(&dir).expect("read samples") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                // Only the PE files: the example systems also hold registry hives.
                let bytes = fs::read(&p).expect("read sample");
                if bytes.starts_with(b"MZ") {
                    out.entry(bytes).or_insert(p);
                }
            }
        }
    }
    out.into_iter().map(|(b, p)| (p, b)).collect()
}

/// The versions the fixed info of every resource states.
fn fixed_versions(d: &PeVersionData) -> BTreeSet<FileVersion> {
    d.resources
        .iter()
        .filter_map(|r| r.info.as_ref().ok()?.fixed.as_ref().map(|f| f.file_version))
        .collect()
}

/// Runs one mutant; returns a short outcome label. Fails on a panic or a `ParserPanic`.
fn check(image: &[u8], what: &dyn Fn() -> String) -> (String, Option<PeVersionData>) {
    let r = std::panic::catch_unwind(|| pe::inspect(image))
        .unwrap_or_else(|_| panic!("pe::inspect panicked on {}", what()));
    // The reader for files too large to hold whole (headers and resource section only) must
    // give the same answer on every mutant.
    let partial = std::panic::catch_unwind(|| {
        kbscan_core::evidence::partial::inspect_reader(&image, image.len() as u64)
    })
    .unwrap_or_else(|_| panic!("partial::inspect_reader panicked on {}", what()));
    assert_eq!(
        format!("{partial:?}"),
        format!("{r:?}"),
        "partial and whole reads differ on {}",
        what()
    );
    match r {
        Ok(d) => {
            let label = if d.resources.iter().any(|r| r.info.is_err()) {
                "ok_with_corrupt_resource"
            } else if d.resources.is_empty() {
                "ok_no_resources"
            } else {
                "ok"
            };
            (label.to_owned(), Some(d))
        }
        Err(InspectError::ParserPanic) => panic!("pelite panicked on {}", what()),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            (e.kind().as_str().to_owned(), None)
        }
    }
}

/// Offsets worth cutting the file at: every byte of the headers, the section table, the
/// resource directory and the version block, plus a coarse sweep of the rest.
fn cut_points(b: &[u8], l: &Layout) -> BTreeSet<usize> {
    let mut cuts: BTreeSet<usize> = (0..=0x40).collect();
    cuts.extend(l.e_lfanew.saturating_sub(4)..l.section_table + 40 * l.sections + 8);
    cuts.extend((0..b.len()).step_by(97));
    if let Some((rsrc, size)) = l.resources {
        cuts.extend(rsrc..(rsrc + size.min(0x200)).min(b.len()));
        for (dir, entries) in resource_tables(b, rsrc) {
            cuts.extend(dir..dir + 16);
            for e in entries {
                cuts.extend(e..e + 8);
            }
        }
    }
    for &(at, len) in &l.version_blocks {
        cuts.extend(at..(at + len).min(b.len()));
    }
    cuts.retain(|&c| c <= b.len());
    cuts
}

/// 16/32-bit fields to overwrite with extreme values: every aligned field of the resource
/// directory tables and of the version block, and the header fields that carry sizes.
fn field_offsets(b: &[u8], l: &Layout) -> (Vec<usize>, Vec<usize>) {
    let mut f16 = vec![0x3c, l.file_header + 2, l.file_header + 16];
    let mut f32 = vec![0x3c, l.optional_header + 56, l.optional_header + 60];
    for s in 0..l.sections {
        let sh = l.section_table + 40 * s;
        f32.extend([sh + 8, sh + 12, sh + 16, sh + 20]);
    }
    if let Some((rsrc, _)) = l.resources {
        for (dir, entries) in resource_tables(b, rsrc) {
            f16.extend([dir + 12, dir + 14]);
            for e in entries {
                f32.extend([e, e + 4]);
                let off = pe_layout::u32_at(b, e + 4);
                if off & 0x8000_0000 == 0 {
                    // IMAGE_RESOURCE_DATA_ENTRY: OffsetToData, Size.
                    f32.extend([rsrc + off, rsrc + off + 4]);
                }
            }
        }
    }
    for &(at, len) in &l.version_blocks {
        f16.extend((at..at + len).step_by(2));
        f32.extend((at..at + len).step_by(4));
    }
    f16.retain(|&o| o + 2 <= b.len());
    f32.retain(|&o| o + 4 <= b.len());
    (f16, f32)
}

#[test]
fn damaged_samples_never_panic_and_never_lie() {
    let start = Instant::now();
    let pes = sample_pes();
    assert!(
        pes.len() >= 8,
        "expected the distinct sample PEs, found {}",
        pes.len()
    );
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0usize;
    let mut rng = Rng(0x6b62_7363_616e_2121);
    for (path, orig) in &pes {
        let name = path
            .strip_prefix(samples())
            .unwrap_or(path)
            .display()
            .to_string();
        let l = pe_layout::layout(orig);
        let (label, data) = check(orig, &|| format!("{name} unchanged"));
        assert!(label.starts_with("ok"), "{name}: {label}");
        let truth = fixed_versions(data.as_ref().expect("parsed"));
        let mut tally = |label: String| {
            *outcomes.entry(label).or_default() += 1;
            total += 1;
        };

        // 1. Truncations: the bytes kept are the original's, so any version found must be
        //    one the whole file states.
        for cut in cut_points(orig, &l) {
            let (label, data) = check(&orig[..cut], &|| format!("{name} cut at {cut}"));
            if let Some(d) = &data {
                let found = fixed_versions(d);
                assert!(
                    found.is_subset(&truth),
                    "{name} cut at {cut}: {found:?}, file says {truth:?}"
                );
            }
            tally(label);
        }

        // 2. Extreme values in length and offset fields.
        let (f16, f32) = field_offsets(orig, &l);
        for &at in &f16 {
            for v in [0u16, 1, 6, 0x7fff, 0xfffe, 0xffff] {
                let mut m = orig.clone();
                put_u16(&mut m, at, v);
                tally(check(&m, &|| format!("{name} u16 {v:#x} at {at:#x}")).0);
            }
        }
        for &at in &f32 {
            for v in [0u32, 1, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff] {
                let mut m = orig.clone();
                put_u32(&mut m, at, v);
                tally(check(&m, &|| format!("{name} u32 {v:#x} at {at:#x}")).0);
            }
        }

        // 3. Seeded random byte flips, mostly in the structures, some anywhere.
        let mut hot: Vec<usize> = (0..l.section_table + 40 * l.sections).collect();
        if let Some((rsrc, size)) = l.resources {
            hot.extend(rsrc..(rsrc + size).min(orig.len()));
        }
        for i in 0..5000 {
            let mut m = orig.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = if i % 4 == 0 {
                    rng.below(m.len())
                } else {
                    hot[rng.below(hot.len())]
                };
                m[at] ^= 1 << rng.below(8);
            }
            if i % 10 == 0 {
                let cut = rng.below(m.len());
                m.truncate(cut);
            }
            tally(check(&m, &|| format!("{name} flip round {i}")).0);
        }
    }
    eprintln!("{total} mutants in {:?}: {outcomes:?}", start.elapsed());
    assert!(total > 20_000, "only {total} mutants");
    // The mutants reach every layer: header errors, resource damage and clean reads.
    for kind in [
        "too_short",
        "malformed_pe",
        "ok",
        "ok_with_corrupt_resource",
    ] {
        assert!(
            outcomes.contains_key(kind),
            "no mutant gave {kind}: {outcomes:?}"
        );
    }
}

#[test]
fn a_resource_subdirectory_pointing_at_the_root_terminates() {
    // A directory loop: every subdirectory entry points back at the root table. The walk is
    // fixed-depth (type, name, language), so it must end with a typed answer.
    for (path, orig) in sample_pes() {
        let l = pe_layout::layout(&orig);
        let Some((rsrc, _)) = l.resources else {
            continue;
        };
        let mut m = orig.clone();
        for (_, entries) in resource_tables(&orig, rsrc) {
            for e in entries {
                if pe_layout::u32_at(&orig, e + 4) & 0x8000_0000 != 0 {
                    put_u32(&mut m, e + 4, 0x8000_0000);
                }
            }
        }
        let (label, _) = check(&m, &|| {
            format!("{} with a looping directory", path.display())
        });
        assert!(
            label == "ok_with_corrupt_resource" || label == "malformed_pe",
            "{}: {label}",
            path.display()
        );
    }
}

#[test]
fn a_resource_section_at_an_odd_file_offset_is_read_correctly() {
    // Found by this test: pelite 0.10 reads IMAGE_RESOURCE_DIRECTORY in place and checks
    // alignment only relative to the resource data, so resources at an odd file offset were
    // undefined behaviour (an abort in debug builds). Shift the resource section's raw data by
    // one byte (and the sections after it): the version must read exactly as before.
    let mut tried = 0;
    for (path, orig) in sample_pes() {
        let l = pe_layout::layout(&orig);
        let Some((rsrc, _)) = l.resources else {
            continue;
        };
        let mut m = orig.clone();
        for s in 0..l.sections {
            let raw_at = l.section_table + 40 * s + 20;
            let raw = pe_layout::u32_at(&orig, raw_at);
            if raw >= rsrc - (rsrc % 512) && raw != 0 {
                put_u32(&mut m, raw_at, raw as u32 + 1);
            }
        }
        m.insert(rsrc - (rsrc % 512), 0);
        let want = fixed_versions(&pe::inspect(&orig).expect("sample reads"));
        let got = pe::inspect(&m).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(fixed_versions(&got), want, "{}", path.display());
        assert!(!want.is_empty() || path.to_string_lossy().contains("string-only"));
        tried += 1;
    }
    assert!(tried >= 7, "{tried}");
}
