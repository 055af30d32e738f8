//! `kbscan case`: every evidence item of a case (a folder's entries, or a manifest's lines)
//! scanned with the library's scanner, a few items at a time, each written as its own JSON
//! report, then the matrix of systems × rules written in four formats.
//!
//! Resuming: each item's report records the evidence's identity as it was before the scan
//! (`EvidenceIdentity`: size and modification time of every file of an image's set, the
//! hashes an E01 stores, a folder's metadata digest) and a hash of the settings. A re-run
//! reads that record and reuses the report only when both are equal; a failed item, an
//! unreadable record, or an identity that could not be taken completely is scanned again.
//!
//! Memory: `jobs` items are scanned at once, each with the bounds of a single scan; only the
//! matrix rows of finished items are kept.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::outfile::{self, Existing, Inputs, Sink};
use super::progress::Progress;
use super::record;
use crate::cli::CaseArgs;
use crate::error::Error;
use kbscan_core::escape::{escape_bytes, escape_str};
use kbscan_core::model::case::{
    CaseCell, CaseCounts, CaseItem, CaseReport, CaseSystem, EvidenceFile, EvidenceIdentity,
    TreeDigest,
};
use kbscan_core::model::{exit, Report, RootReport, Summary, ToolInfo};
use kbscan_core::rules::RuleSet;
use kbscan_core::scan::Scanner;

/// The largest manifest read (a line per item: far above any case).
const MAX_MANIFEST: u64 = 16 << 20;
/// The most items a case takes: every file written is checked against every item (the
/// output guard), so the checks grow with the square of the items.
const MAX_ITEMS: usize = 10_000;
/// The most entries digested under a folder item; more, and its identity is left incomplete
/// (it is scanned again on every run). As many as an image volume's walk takes.
const MAX_TREE_ENTRIES: u64 = kbscan_core::image::MAX_VOLUME_ENTRIES;
/// The largest item report read back to resume (its record is at its start).
const MAX_ITEM_REPORT: u64 = 1 << 30;

/// Why an item that is neither a folder nor a regular file (a FIFO, a socket, a device) is
/// not opened: opening a FIFO would wait for a writer.
const NOT_EVIDENCE: &str = "neither a folder nor a regular file (a disk image); not opened";

/// Each worker's stack: the main thread's usual 8 MiB, on which `kbscan scan` runs.
const WORKER_STACK: usize = 8 << 20;

/// One evidence item to scan.
struct Item {
    /// Escaped, for the reports.
    id: String,
    path: PathBuf,
    /// The report's file name under `items/`.
    file: String,
}

fn os_bytes(s: &OsStr) -> &[u8] {
    s.as_encoded_bytes()
}

fn shown(p: &Path) -> String {
    escape_bytes(os_bytes(p.as_os_str()))
}

/// A file name for an item's report: letters, digits, `.`, `_`, `-` kept, the rest `_`,
/// never hidden, at most 100 characters; a name taken already gets `-2`, `-3`…
fn report_name(id: &[u8], taken: &mut HashSet<String>) -> String {
    let mut base: String = id
        .iter()
        .take(100)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    if base.is_empty() || base.starts_with('.') {
        base.insert(0, '_');
    }
    let mut name = base.clone();
    let mut n = 1;
    while !taken.insert(name.to_ascii_lowercase()) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

/// The items of a case folder: its entries in name order, less the files that belong to
/// another entry's image set (`disk.002` beside `disk.001`, `case.E02`, VMDK extents).
fn folder_items(dir: &Path) -> Result<Vec<(Vec<u8>, PathBuf)>, Error> {
    let root_err = |source| Error::Root {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(root_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(root_err)?;
    entries.sort();
    let mut members: HashSet<PathBuf> = HashSet::new();
    for e in &entries {
        if kbscan_core::image::is_image(e) && !members.contains(e) {
            for s in kbscan_core::image::reader::segment_paths(e)
                .into_iter()
                .skip(1)
            {
                members.insert(s);
            }
            for (f, _) in kbscan_core::image::container::set_files(e).files {
                members.insert(f);
            }
        }
    }
    Ok(entries
        .into_iter()
        .filter(|e| !members.contains(e))
        .filter_map(|e| Some((os_bytes(e.file_name()?).to_vec(), e.clone())))
        .collect())
}

/// The items of a manifest: CSV with `id` and `path` columns when its first line names an
/// `id` column, else one path per line.
fn manifest_items(file: &Path) -> Result<Vec<(Vec<u8>, PathBuf)>, Error> {
    let usage = |why: String| Error::Usage(format!("--manifest {}: {why}", file.display()));
    let mut data = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_MANIFEST + 1).read_to_end(&mut data))
        .map_err(|source| Error::Root {
            path: file.to_path_buf(),
            source,
        })?;
    if data.len() as u64 > MAX_MANIFEST {
        return Err(usage(format!("larger than {MAX_MANIFEST} bytes")));
    }
    // A spreadsheet's CSV may begin with a byte order mark.
    if data.starts_with(b"\xef\xbb\xbf") {
        data.drain(..3);
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let at = |p: &[u8]| -> PathBuf {
        #[cfg(unix)]
        let p = PathBuf::from(<OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(p));
        #[cfg(not(unix))]
        let p = PathBuf::from(String::from_utf8_lossy(p).into_owned());
        if p.is_absolute() {
            p
        } else {
            base.join(p)
        }
    };
    let name_of = |p: &Path| os_bytes(p.file_name().unwrap_or(p.as_os_str())).to_vec();
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut header = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first);
    let head = header
        .byte_records()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    let col = |name: &str| {
        head.iter()
            .position(|f| f.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let mut out = Vec::new();
    if let Some(id_col) = col("id") {
        let path_col = col("path").ok_or_else(|| {
            usage("a CSV manifest needs a path column beside its id column".to_owned())
        })?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(&data[..]);
        let mut ids = HashSet::new();
        for (n, rec) in r.byte_records().enumerate() {
            let rec = rec.map_err(|e| usage(format!("row {}: {e}", n + 2)))?;
            let (Some(id), Some(p)) = (rec.get(id_col), rec.get(path_col)) else {
                return Err(usage(format!("row {} has no id or path", n + 2)));
            };
            let (id, p) = (id.trim_ascii(), p.trim_ascii());
            if id.is_empty() && p.is_empty() {
                continue;
            }
            if id.is_empty() || p.is_empty() {
                return Err(usage(format!("row {}: an empty id or path", n + 2)));
            }
            if !ids.insert(id.to_vec()) {
                return Err(usage(format!(
                    "row {}: the id {} is given twice",
                    n + 2,
                    escape_bytes(id)
                )));
            }
            out.push((id.to_vec(), at(p)));
        }
    } else {
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.trim_ascii().is_empty() || line.starts_with(b"#") {
                continue;
            }
            let p = at(line);
            out.push((name_of(&p), p));
        }
    }
    Ok(out)
}

fn modified_ns(m: &std::fs::Metadata) -> Option<i64> {
    let t = m.modified().ok()?;
    let nanos = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).ok()?,
        Err(e) => -i128::try_from(e.duration().as_nanos()).ok()?,
    };
    i64::try_from(nanos).ok()
}

fn evidence_file(p: &Path) -> std::io::Result<EvidenceFile> {
    let m = std::fs::metadata(p)?;
    // Canonical: the same evidence reached from another working folder is the same.
    let at = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    Ok(EvidenceFile {
        path: shown(&at),
        size: m.len(),
        modified_ns: modified_ns(&m),
    })
}

/// The identity of an item before it is scanned; `Err` when it cannot be read at all.
/// `complete` is false when part of it could not be taken (such an item is never reused).
fn identify(path: &Path, cross_mounts: bool) -> Result<(EvidenceIdentity, bool), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the evidence: {e}"))?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(NOT_EVIDENCE.to_owned());
    }
    if meta.is_dir() {
        let (tree, complete) = tree_digest(path, cross_mounts);
        let id = EvidenceIdentity {
            kind: "folder".to_owned(),
            files: vec![evidence_file(path).map_err(|e| e.to_string())?],
            stored_md5: None,
            stored_sha1: None,
            tree: Some(tree),
        };
        return Ok((id, complete));
    }
    // Every file of the set, as the output guard lists them (segments, extents, companions).
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    let set = kbscan_core::image::reader::segment_paths(path)
        .into_iter()
        .chain(
            kbscan_core::image::container::set_files(path)
                .files
                .into_iter()
                .map(|(f, _)| f),
        );
    for f in set {
        if !seen.insert(f.clone()) {
            continue;
        }
        match evidence_file(&f) {
            Ok(e) => files.push(e),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && f != path => {}
            Err(e) => return Err(format!("cannot read {}: {e}", shown(&f))),
        }
    }
    // What the container stores of the whole disk (E01's MD5/SHA-1), read from its headers:
    // cheap, unlike hashing the image.
    let meta = kbscan_core::image::container::open(path)
        .ok()
        .flatten()
        .map(|o| o.meta);
    let id = EvidenceIdentity {
        kind: "image".to_owned(),
        files,
        stored_md5: meta
            .as_ref()
            .and_then(|m| m.stored_md5.as_deref().map(escape_str)),
        stored_sha1: meta
            .as_ref()
            .and_then(|m| m.stored_sha1.as_deref().map(escape_str)),
        tree: None,
    };
    Ok((id, true))
}

/// The metadata digest of a folder: every entry below it (links not followed, other mounts
/// not entered unless `cross_mounts`), by relative name, type, size and modification time,
/// in name order. Contents are not read: a change that keeps an entry's size and time is not
/// seen (docs/scale.md). `false` when part of the tree could not be listed.
fn tree_digest(root: &Path, cross_mounts: bool) -> (TreeDigest, bool) {
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    let mut hasher = Sha256::new();
    let (mut entries, mut bytes, mut complete) = (0u64, 0u64, true);
    #[cfg(unix)]
    let dev = std::fs::metadata(root).map(|m| m.dev()).ok();
    let mut stack = vec![(PathBuf::new(), root.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            complete = false;
            continue;
        };
        let mut list: Vec<_> = rd.filter_map(|e| e.ok()).collect();
        list.sort_by_key(|e| e.file_name());
        let mut below = Vec::new();
        for e in list {
            entries += 1;
            if entries > MAX_TREE_ENTRIES {
                return (
                    TreeDigest {
                        entries,
                        bytes,
                        sha256: String::new(),
                    },
                    false,
                );
            }
            let name = rel.join(e.file_name());
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                complete = false;
                continue;
            };
            let kind = if m.is_dir() {
                'd'
            } else if m.is_symlink() {
                'l'
            } else {
                'f'
            };
            bytes = bytes.saturating_add(m.len());
            hasher.update(os_bytes(name.as_os_str()));
            hasher.update(format!("\0{kind}\0{}\0{:?}\n", m.len(), modified_ns(&m)));
            #[cfg(unix)]
            let other_mount = dev.is_some_and(|d| d != m.dev());
            #[cfg(not(unix))]
            let other_mount = false;
            if m.is_dir() && (cross_mounts || !other_mount) {
                below.push((name, e.path()));
            }
        }
        // Depth first, in name order.
        stack.extend(below.into_iter().rev());
    }
    let digest = TreeDigest {
        entries,
        bytes,
        sha256: format!("{:x}", hasher.finalize()),
    };
    (digest, complete)
}

/// The settings that decide an item's report, hashed: a report made with other rules or
/// other flags is never reused.
fn settings_hash(a: &CaseArgs, rules: &RuleSet) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "kbscan {}\nas_of {:?}\nmax_size {}\nfollow_symlinks {}\ncross_mounts {}\nverify_image {}\n",
        env!("CARGO_PKG_VERSION"),
        a.as_of.map(|t| t.to_string()),
        a.max_size,
        a.follow_symlinks,
        a.cross_mounts,
        a.verify_image
    ));
    for r in &rules.rules {
        h.update(format!("rule {} {}\n", r.id, r.text_sha256));
    }
    format!("{:x}", h.finalize())
}

/// The record of an earlier report, read back (only its `case_item`, which comes first).
fn earlier(path: &Path) -> Result<Option<CaseItem>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let r = std::io::BufReader::new(f.take(MAX_ITEM_REPORT));
    let head: kbscan_core::model::case::ItemReportHead =
        serde_json::from_reader(r).map_err(|e| e.to_string())?;
    Ok(Some(head.case_item))
}

/// The matrix rows of one report: one per root, a cell per rule.
fn systems(roots: &[RootReport], rules: &RuleSet) -> Vec<CaseSystem> {
    roots
        .iter()
        .map(|r| {
            let cells = rules
                .rules
                .iter()
                .map(|rule| {
                    // One rule loaded: the root's verdict is that rule's.
                    let verdict = match r.rule_verdicts.iter().find(|v| v.rule == rule.id) {
                        Some(v) => v.verdict.as_str(),
                        None if rules.rules.len() == 1 => r.verdict.as_str(),
                        None => "-",
                    };
                    let as_of = r.as_of.as_ref().map(|a| {
                        a.rules
                            .iter()
                            .find(|x| x.rule == rule.id)
                            .map_or("-", |x| x.state.as_str())
                            .to_owned()
                    });
                    CaseCell {
                        rule: escape_str(&rule.id),
                        verdict: verdict.to_owned(),
                        as_of,
                    }
                })
                .collect();
            CaseSystem {
                system: r.root.clone(),
                verdict: r.verdict.as_str().to_owned(),
                as_of: r.as_of.as_ref().map(|a| a.state.as_str().to_owned()),
                cells,
            }
        })
        .collect()
}

/// What one worker needs, shared by all.
struct Job<'a> {
    args: &'a CaseArgs,
    rules: &'a RuleSet,
    scanner: Scanner<'a>,
    settings: String,
    inputs: &'a Inputs,
    items_dir: PathBuf,
    /// The case's examination record, each item's record is made from.
    record: kbscan_core::model::Examination,
}

/// Scans (or reuses) one item and writes its report. Never fails: a failure is the item's.
fn run_item(job: &Job, item: &Item) -> CaseItem {
    let report_path = job.items_dir.join(&item.file);
    let identity = identify(&item.path, job.args.cross_mounts);
    let mut note = if job.args.rescan {
        "--rescan".to_owned()
    } else {
        "no earlier report".to_owned()
    };
    if !job.args.rescan {
        match (earlier(&report_path), &identity) {
            (Ok(Some(old)), Ok((id, complete))) => {
                note = if old.status == "failed" {
                    "it failed last time".to_owned()
                } else if old.settings != job.settings {
                    "the settings (rules, flags or kbscan's version) changed".to_owned()
                } else if !complete {
                    "its identity could not be taken completely".to_owned()
                } else if old.evidence.as_ref() != Some(id) {
                    "the evidence changed".to_owned()
                } else {
                    return CaseItem {
                        status: "reused".to_owned(),
                        note: "its report matches the evidence and the settings".to_owned(),
                        id: item.id.clone(),
                        path: shown(&item.path),
                        ..old
                    };
                };
            }
            (Err(e), _) => note = format!("its earlier report could not be read ({e})"),
            (Ok(Some(_)), Err(_)) => note = "the evidence cannot be read".to_owned(),
            (Ok(None), _) => {}
        }
    }
    if std::fs::metadata(&item.path).is_ok_and(|m| !m.is_dir() && !m.is_file()) {
        let mut failed = failed_item(job, item, note);
        failed.error = Some(NOT_EVIDENCE.to_owned());
        return failed;
    }
    let scanned = kbscan_core::contain::contained(|| scan_item(job, item));
    let (report, image_error) = match scanned {
        Some(r) => r,
        None => {
            let mut failed = failed_item(job, item, note);
            failed.error = Some("kbscan stopped on this item (an internal error)".to_owned());
            return failed;
        }
    };
    let root_error = report
        .roots
        .iter()
        .all(|r| r.findings.is_empty() && r.errors.iter().any(|e| e.path.is_empty()))
        .then(|| {
            report
                .roots
                .iter()
                .flat_map(|r| r.errors.iter())
                .find(|e| e.path.is_empty())
                .map(|e| e.message.clone())
        })
        .flatten();
    let error = match &identity {
        Err(e) => Some(escape_str(e)),
        Ok(_) => image_error.map(|e| escape_str(&e)).or(root_error),
    };
    let mut out = CaseItem {
        id: item.id.clone(),
        path: shown(&item.path),
        report: format!("items/{}", item.file),
        status: if error.is_some() { "failed" } else { "scanned" }.to_owned(),
        note,
        exit_code: if error.is_some() {
            kbscan_core::model::case::worst_exit([report.summary.exit_code, exit::INCOMPLETE])
        } else {
            report.summary.exit_code
        },
        error,
        settings: job.settings.clone(),
        evidence: identity.ok().map(|(id, _)| id),
        systems: Vec::new(),
    };
    if out.error.is_none() {
        out.systems = systems(&report.roots, job.rules);
    }
    let written =
        Sink::open(Some(&report_path), job.inputs, Existing::Replace).and_then(|mut sink| {
            let w = kbscan_output::write_case_item(&out, &report, sink.writer());
            sink.finish(w, job.inputs)
        });
    if let Err(e) = written {
        out.status = "failed".to_owned();
        out.error = Some(escape_str(&e.to_string()));
        out.systems.clear();
        out.exit_code = kbscan_core::model::case::worst_exit([out.exit_code, exit::INCOMPLETE]);
    }
    out
}

/// An item that could not be scanned at all, with no report.
fn failed_item(job: &Job, item: &Item, note: String) -> CaseItem {
    CaseItem {
        id: item.id.clone(),
        path: shown(&item.path),
        report: String::new(),
        status: "failed".to_owned(),
        note,
        error: None,
        exit_code: exit::INCOMPLETE,
        settings: job.settings.clone(),
        evidence: None,
        systems: Vec::new(),
    }
}

/// One item through the library's scanner, as `kbscan scan ITEM -f json` would report it;
/// also the image's error when it could not be read at all.
fn scan_item(job: &Job, item: &Item) -> (Report, Option<String>) {
    let mut rec = record::again(&job.record);
    let mut none = |_| {};
    let scanned = super::scan_root(&job.scanner, &item.path, &mut none);
    let mut roots = scanned.roots;
    let images: Vec<_> = scanned.image.into_iter().collect();
    let backups: Vec<_> = scanned.backup.into_iter().collect();
    if let Some(date) = job.args.as_of {
        for r in &mut roots {
            r.as_of = Some(kbscan_core::judge::installed::as_of(r, job.rules, date));
        }
    }
    record::finish(&mut rec, job.rules, &images);
    let image_error = images
        .iter()
        .find_map(|i| i.error.clone())
        .or_else(|| backups.iter().find_map(|b| b.error.clone()));
    let summary = Summary::of(&roots);
    let report = Report {
        tool: ToolInfo::this(),
        examination: rec,
        rules: job.rules.rules.clone(),
        roots,
        images,
        backups,
        summary,
    };
    (report, image_error)
}

pub fn run_case(a: CaseArgs) -> Result<i32, Error> {
    let found = match (&a.dir, &a.manifest) {
        (_, Some(m)) => manifest_items(m)?,
        (Some(d), None) => folder_items(d)?,
        (None, None) => return Err(Error::Usage("give a case folder or --manifest FILE".into())),
    };
    if found.is_empty() {
        // Exit 0 would say every system was judged: there was none.
        return Err(Error::Usage(match &a.manifest {
            Some(m) => format!("--manifest {}: no evidence item listed", m.display()),
            None => format!(
                "{}: no evidence item in this folder",
                a.dir.as_deref().unwrap_or(Path::new("")).display()
            ),
        }));
    }
    if found.len() > MAX_ITEMS {
        return Err(Error::Usage(format!(
            "{} evidence items; a case takes at most {MAX_ITEMS}",
            found.len()
        )));
    }
    let (mut taken, mut ids) = (HashSet::new(), HashSet::new());
    let items: Vec<Item> = found
        .into_iter()
        .map(|(id, path)| {
            // Two items of the same file name (a list naming disk.E01 in two folders): the
            // second is `disk.E01-2`.
            let mut unique = id.clone();
            let mut n = 1;
            while !ids.insert(unique.clone()) {
                n += 1;
                unique = [&id[..], format!("-{n}").as_bytes()].concat();
            }
            Item {
                file: format!("{}.json", report_name(&unique, &mut taken)),
                id: escape_bytes(&unique),
                path,
            }
        })
        .collect();
    // The output folder may not touch the evidence, the case folder, the manifest or a rule.
    let mut inputs = Inputs::default();
    for r in &a.rules.rules {
        inputs.add(r, "the rule file");
    }
    if let Some(d) = &a.dir {
        inputs.add(d, "the case folder");
    }
    if let Some(m) = &a.manifest {
        inputs.add(m, "the manifest");
    }
    for i in &items {
        inputs.add_root(&i.path);
    }
    outfile::check_dir(&a.output_dir, &inputs)?;
    let items_dir = a.output_dir.join("items");
    outfile::check_dir(&items_dir, &inputs)?;
    std::fs::create_dir_all(&items_dir).map_err(|source| Error::Output {
        path: items_dir.clone(),
        source,
    })?;
    let rules = kbscan_core::rules::load_selected(&a.rules.rules, &a.rules.select)?;
    let cores = kbscan_core::walk::default_threads();
    let jobs = a.jobs.unwrap_or(cores).clamp(1, items.len().max(1));
    let threads = a.threads.unwrap_or((cores / jobs).max(1));
    let mut rec = record::start(a.case.as_deref(), a.examiner.as_deref());
    let job = Job {
        args: &a,
        rules: &rules,
        scanner: Scanner::new(&rules, a.settings(threads)),
        settings: settings_hash(&a, &rules),
        inputs: &inputs,
        items_dir,
        record: rec.clone(),
    };
    let progress = Progress::items(a.quiet, items.len() as u64);
    let mut done: Vec<Option<CaseItem>> = items.iter().map(|_| None).collect();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Option<CaseItem>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, next, job, items) = (tx.clone(), &next, &job, &items);
            let work = move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if tx.send((i, None)).is_err() {
                    break;
                }
                let r = run_item(job, item);
                if tx.send((i, Some(r))).is_err() {
                    break;
                }
            };
            // The stack `kbscan scan` has on the main thread, for a scan on a worker.
            let spawned = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, work);
            if spawned.is_err() {
                // No thread to be had: the items left are scanned by the workers started
                // (or, with none, reported failed below).
                break;
            }
        }
        drop(tx);
        let mut running: Vec<usize> = Vec::new();
        for (i, r) in rx {
            match r {
                None => running.push(i),
                Some(r) => {
                    running.retain(|&x| x != i);
                    progress.item_done();
                    if !a.quiet {
                        let line = match (r.status.as_str(), &r.error) {
                            (_, Some(e)) => Some(format!("kbscan: {}: failed: {e}", r.id)),
                            ("reused", _) => Some(format!("kbscan: {}: reused: {}", r.id, r.note)),
                            (_, None)
                                if !matches!(r.note.as_str(), "no earlier report" | "--rescan") =>
                            {
                                Some(format!("kbscan: {}: scanned again: {}", r.id, r.note))
                            }
                            _ => None,
                        };
                        if let Some(l) = line {
                            progress.message(&l);
                        }
                    }
                    done[i] = Some(r);
                }
            }
            let names: Vec<&str> = running.iter().map(|&x| items[x].id.as_str()).collect();
            progress.set_message(names.join(", "));
        }
    });
    progress.finish();
    let case_items: Vec<CaseItem> = done
        .into_iter()
        .zip(&items)
        .map(|(r, item)| {
            r.unwrap_or_else(|| {
                let mut f = failed_item(&job, item, String::new());
                f.error = Some("kbscan stopped on this item (an internal error)".to_owned());
                f
            })
        })
        .collect();
    record::finish(&mut rec, &rules, &[]);
    let summary = CaseCounts::of(&case_items);
    let report = CaseReport {
        tool: ToolInfo::this(),
        examination: rec,
        as_of: a.as_of.map(|t| t.to_string()),
        rules: rules.rules.iter().map(|r| escape_str(&r.id)).collect(),
        items: case_items,
        summary,
    };
    if !a.quiet {
        let c = &report.summary;
        eprintln!(
            "kbscan: case: {} item(s): {} scanned, {} reused (report matches the evidence), {} failed",
            c.items, c.scanned, c.reused, c.failed
        );
    }
    for (ext, print) in kbscan_output::CASE_FORMATS {
        let path = a.output_dir.join(format!("case.{ext}"));
        let mut sink = Sink::open(Some(&path), &inputs, Existing::Replace)?;
        // The text as it reads off a terminal (the width of a file), as the table below is.
        let style = kbscan_output::Style {
            width: Some(kbscan_output::WIDTH),
            ..kbscan_output::Style::default()
        };
        let w = print(&report, style, sink.writer());
        sink.finish(w, &inputs)?;
    }
    // The table on standard output too, when it is open.
    if !super::stdout_closed() {
        let out = crate::cli::OutputArgs {
            format: kbscan_output::default_format(),
            output: None,
            force: false,
            color: a.color,
            excel: false,
            width: None,
        };
        let style = super::style(&out, false);
        let mut sink = Sink::open(None, &inputs, Existing::Refuse)?;
        let w = (kbscan_output::CASE_FORMATS[0].1)(&report, style, sink.writer());
        sink.finish(w, &inputs)?;
    }
    Ok(report.summary.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &[u8]) -> Result<Vec<(String, PathBuf)>, Error> {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.csv");
        std::fs::write(&m, text).unwrap();
        Ok(manifest_items(&m)?
            .into_iter()
            .map(|(id, p)| {
                let rel = p
                    .strip_prefix(dir.path())
                    .map(Path::to_path_buf)
                    .unwrap_or(p);
                (String::from_utf8(id).unwrap(), rel)
            })
            .collect())
    }

    #[test]
    fn manifests_csv_with_ids_or_one_path_per_line() {
        let csv = manifest(
            b"\xef\xbb\xbfID , Path,notes\r\nsrv-1,a/b.E01,x\r\n\"srv 2\",/abs/c\r\n,\r\n",
        )
        .unwrap();
        assert_eq!(
            csv,
            [
                ("srv-1".to_owned(), PathBuf::from("a/b.E01")),
                ("srv 2".to_owned(), PathBuf::from("/abs/c")),
            ]
        );
        let lines = manifest(b"# case\n\nimages/x.dd\r\n/abs/tree\n").unwrap();
        assert_eq!(
            lines,
            [
                ("x.dd".to_owned(), PathBuf::from("images/x.dd")),
                ("tree".to_owned(), PathBuf::from("/abs/tree")),
            ]
        );
        for bad in [
            &b"id,where\na,b\n"[..],
            b"id,path\na,b\na,c\n",
            b"id,path\na,\n",
        ] {
            assert!(matches!(manifest(bad), Err(Error::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn report_names_are_plain_unique_and_never_hidden() {
        let mut taken = HashSet::new();
        assert_eq!(report_name(b"srv-1.E01", &mut taken), "srv-1.E01");
        assert_eq!(report_name(b"SRV-1.e01", &mut taken), "SRV-1.e01-2");
        assert_eq!(report_name(b"../x", &mut taken), "_.._x");
        assert_eq!(report_name(b".hidden", &mut taken), "_.hidden");
        assert_eq!(report_name(b"a/b\x1b", &mut taken), "a_b_");
        assert_eq!(report_name(b"", &mut taken), "_");
        assert_eq!(report_name(&[b'x'; 300], &mut taken).len(), 100);
    }
}
