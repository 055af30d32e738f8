//! Criterion benches for the per-candidate costs: parsing a version resource, reading a PE's
//! version data, the whole inspection of a 222 KB PE (open, read, hash, parse), and the
//! judgement. Run: `cargo bench --bench inspect`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use kbscan_core::judge::{self, CandidateFacts};
use kbscan_core::model::version::FileVersion;
use kbscan_core::model::Status;

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_binaries/systems")
        .join(rel)
}

/// The patched Nscm.exe: 222,384 bytes, the size Microsoft published.
const BIG_PE: &str = "w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe";

fn benches(c: &mut Criterion) {
    let path = sample(BIG_PE);
    let meta = std::fs::metadata(&path).expect("sample binary");
    let bytes = std::fs::read(&path).expect("sample binary");

    c.bench_function(
        "inspect_file 222 KB PE (open, read, SHA-256, MD5, parse)",
        |b| {
            b.iter(|| {
                kbscan_core::evidence::inspect::inspect_file(black_box(&path), &meta, 64 << 20)
            })
        },
    );
    c.bench_function(
        "pe::inspect 222 KB PE (headers, resources, VS_VERSIONINFO)",
        |b| b.iter(|| kbscan_core::evidence::pe::inspect(black_box(&bytes))),
    );
    c.bench_function("FileVersion::parse_lenient", |b| {
        b.iter(|| FileVersion::parse_lenient(black_box("4.1.00.3934 (srv_wms.040115-1200)")))
    });
    let fixed = FileVersion::new(4, 1, 0, 3934);
    let facts: Vec<CandidateFacts> = (0..8)
        .map(|i| CandidateFacts {
            path: "WINNT/system32/Windows Media/Server/Nscm.exe",
            status: if i % 2 == 0 {
                Status::Patched
            } else {
                Status::Vulnerable
            },
            live: i < 4,
            kept_out: false,
            version: Some(FileVersion::new(4, 1, 0, 3917 + i)),
            required: fixed,
            error: None,
            readings: &[],
        })
        .collect();
    c.bench_function("judge::rule_verdict (8 candidates)", |b| {
        b.iter(|| judge::rule_verdict(black_box("Nscm.exe, Nspmon.exe"), black_box(&facts), 0))
    });
}

criterion_group!(all, benches);
criterion_main!(all);
