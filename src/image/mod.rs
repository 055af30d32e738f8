//! Disk images scanned without mounting: raw (dd) images of a disk or of one partition, and
//! split raw sets (`disk.001`, `disk.002`…). The partition table is read (MBR with logical
//! partitions, GPT), each NTFS or FAT volume is scanned as its own root (`disk.img#p1`) with
//! the same inspection and judgement as a folder, and the disk gets the most urgent of its
//! volumes' verdicts. Virtual disk containers (E01, VMDK, VHD, qcow2…) are recognised and
//! refused with the conversion to use.

pub mod container; // [containers hook]
pub mod fat;
pub mod lznt; // [containers hook] NTFS compression
pub mod ntfs;
pub mod reader;
pub mod table;

use std::path::Path;

use crate::error::InspectError;
use crate::escape::escape_bytes;
use crate::filter::NameMatcher;
use crate::inspect::{self, FileEvidence, Times};
use crate::judge::{self, Verdict};
use crate::registry::{self, SystemEvidence};
use crate::report::{ImageReport, ImageSource, PathMessage, RootReport};
use crate::rules::RuleSet;
use crate::scan::{self, CandidateInput, ScanOptions};
use crate::vfs::{self, VEvent, Vfs};
use crate::walk::{EntryKind, WalkStats};

use reader::{Disk, ReadOnly, Segments, Window};
use table::FsKind;

/// True when `path` should be read as a disk image: a regular file (after links).
pub fn is_image(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The advice given for a container kbscan does not read.
fn unsupported(format: &str) -> String {
    if format.ends_with("compressed") || format.ends_with("archive") {
        return format!(
            "format not supported: this is a {format} file, not a raw image; decompress or \
             extract it first (e.g. `gunzip -k`, `unxz -k`, `unzstd`, `7z x`), then scan the raw image"
        );
    }
    format!(
        "format not supported: this is a {format} container, not a raw image; convert it to raw \
         first, e.g. `qemu-img convert -O raw IMAGE disk.raw` (Debian package qemu-utils; VMDK, \
         VHD/VHDX, qcow2, VDI) or `ewfexport -t disk -f raw IMAGE.E01` (Debian package \
         ewf-tools; E01/Ex01), then scan disk.raw"
    )
}

/// A root that could not be scanned at all: `inconclusive`, `root_unreadable`.
fn failed_root(name: String, rules: &RuleSet, message: String) -> RootReport {
    scan::finish_root(
        name,
        rules,
        Vec::new(),
        vec![PathMessage {
            path: String::new(),
            message,
        }],
        Vec::new(),
        WalkStats {
            errors: 1,
            ..Default::default()
        },
        SystemEvidence::default,
    )
}

/// Partition types that claim a FAT or NTFS file system: when such a partition holds none,
/// it is reported as a root that could not be scanned (it may hide a system).
fn claims_windows_fs(ptype: Option<&str>) -> bool {
    match ptype {
        Some(t) if t.starts_with("0x") => matches!(
            t,
            "0x01"
                | "0x04"
                | "0x06"
                | "0x07"
                | "0x0b"
                | "0x0c"
                | "0x0e"
                | "0x11"
                | "0x14"
                | "0x16"
                | "0x17"
                | "0x1b"
                | "0x1c"
                | "0x1e"
                | "0x27"
                | "0x86"
                | "0x87"
        ),
        // GPT: Microsoft basic data.
        Some(t) => t == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        None => true,
    }
}

/// Scans one disk image: every volume a root, plus the disk's own report.
pub fn scan_image(
    path: &Path,
    rules: &RuleSet,
    matcher: &NameMatcher,
    opts: &ScanOptions,
    progress: &mut dyn FnMut(u64),
) -> (Vec<RootReport>, ImageReport) {
    let shown = escape_bytes(path.as_os_str().as_encoded_bytes());
    // The examiner named this file: a link to it is followed here (the segments themselves
    // are then opened with O_NOFOLLOW), as `kbscan version` does for its files.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let segments = reader::segment_paths(&real);
    let mut image = ImageReport {
        path: shown.clone(),
        format: if segments.len() > 1 {
            "split_raw".to_owned()
        } else {
            "raw".to_owned()
        },
        segments: segments.len(),
        size: None,
        partition_table: None,
        volumes: Vec::new(),
        verdict: Verdict::Inconclusive,
        notices: Vec::new(),
        error: None,
        container: "raw",
        container_metadata: None,
        verification: None,
    };
    let fail = |mut image: ImageReport, message: String| {
        image.error = Some(message.clone());
        (vec![failed_root(shown.clone(), rules, message)], image)
    };
    // [containers hook] a container (E01, VHD, VMDK…) gives the virtual disk's bytes.
    let src: Box<dyn reader::ByteSource> =
        match container::open_for_scan(&real, &segments, opts, &mut image) {
            Ok(Some(src)) => src,
            Ok(None) => match Segments::open(&segments) {
                Ok(s) => Box::new(s),
                Err(e) => return fail(image, format!("cannot open the image: {e}")),
            },
            Err(message) => return fail(image, message),
        };
    let mut disk = Disk::new(src);
    image.size = Some(disk.len());
    if let Some(format) = table::container_format(&mut disk) {
        image.format = format.to_owned();
        return fail(image, unsupported(format));
    }
    let table = table::read_table(&mut disk);
    image.partition_table = Some(table.kind);
    image.notices.extend(table.notices.iter().cloned());
    let mut roots = Vec::new();
    for part in &table.parts {
        let name = if table.kind == "none" {
            shown.clone()
        } else {
            format!("{shown}#{}", part.volume)
        };
        let end = part.offset.saturating_add(part.length);
        if part.offset >= disk.len() {
            let msg = format!(
                "{}: starts at byte {} beyond the end of the image ({} bytes): truncated image?",
                part.volume,
                part.offset,
                disk.len()
            );
            image.notices.push(msg.clone());
            roots.push(failed_root(name, rules, msg));
            continue;
        }
        let mut volume_notices = Vec::new();
        if end > disk.len() {
            let msg = format!(
                "the volume ends at byte {end}, after the end of the image ({} bytes): truncated image? What is there is read",
                disk.len()
            );
            image.notices.push(format!("{}: {msg}", part.volume));
            volume_notices.push(PathMessage {
                path: String::new(),
                message: msg,
            });
        }
        let Some(kind) = table::detect_fs(&mut disk, part.offset) else {
            let what = part.ptype.as_deref().unwrap_or("no partition table");
            // [containers hook] BitLocker, exFAT, ReFS: refused by name.
            if let Some(foreign) = container::foreign_volume(&mut disk, part.offset) {
                let msg = format!("{} (type {what}): {foreign}", part.volume);
                image.notices.push(msg.clone());
                if table.kind == "none" {
                    image.error = Some(msg.clone());
                }
                roots.push(failed_root(name, rules, msg));
                continue;
            }
            if claims_windows_fs(part.ptype.as_deref()) {
                let msg = format!(
                    "{} (type {what}): no NTFS or FAT file system recognised (damaged boot sector, or a file system kbscan does not read)",
                    part.volume
                );
                image.notices.push(msg.clone());
                if table.kind == "none" {
                    image.error = Some(msg.clone());
                }
                roots.push(failed_root(name, rules, msg));
            } else {
                image.notices.push(format!(
                    "{} (type {what}): not NTFS or FAT, not scanned",
                    part.volume
                ));
            }
            continue;
        };
        let source = ImageSource {
            path: shown.clone(),
            partition_table: table.kind,
            volume: part.volume.clone(),
            offset: part.offset,
            length: part.length,
            filesystem: kind.name(),
            partition_type: part.ptype.clone(),
        };
        let window = Window::new(&mut disk, part.offset, part.length);
        let mut root = match kind {
            FsKind::Ntfs => match ntfs::NtfsVfs::open(window) {
                Ok(mut fs) => scan_vfs(&mut fs, &name, rules, matcher, opts, progress, None),
                Err(e) => failed_root(name.clone(), rules, format!("NTFS volume: {e}")),
            },
            FsKind::Fat(_) => match fat::open(ReadOnly(window)) {
                Ok(f) => {
                    let mut fs = fat::FatVfs { fs: &f };
                    scan_vfs(
                        &mut fs,
                        &name,
                        rules,
                        matcher,
                        opts,
                        progress,
                        Some(fat::FAT_TIME_NOTE),
                    )
                }
                Err(e) => failed_root(name.clone(), rules, format!("FAT volume: {e}")),
            },
        };
        root.notices.extend(volume_notices);
        root.image = Some(source);
        roots.push(root);
    }
    if roots.is_empty() {
        let msg = "no NTFS or FAT volume found in the image".to_owned();
        image.error = Some(msg.clone());
        roots.push(failed_root(shown.clone(), rules, msg));
    }
    container::apply_verification(&image, &mut roots); // [containers hook]
    image.volumes = roots.iter().map(|r| r.root.clone()).collect();
    image.verdict = judge::combine(roots.iter().map(|r| r.verdict));
    (roots, image)
}

/// Walks one volume and judges it exactly as a folder is judged.
fn scan_vfs<F: Vfs>(
    fs: &mut F,
    root_name: &str,
    rules: &RuleSet,
    matcher: &NameMatcher,
    opts: &ScanOptions,
    progress: &mut dyn FnMut(u64),
    finding_note: Option<&str>,
) -> RootReport {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    let text = |parts: &[String]| {
        let b: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        scan::parts_text(&b)
    };
    let max = opts.max_size;
    let result = vfs::walk_vfs(fs, matcher, &mut |fs, event| match event {
        VEvent::Candidate(c) => {
            let parts: Vec<&[u8]> = c.parts.iter().map(|p| p.as_bytes()).collect();
            let (meta, skip, evidence) = match (c.kind, &c.node) {
                (EntryKind::File, Some(node)) => match fs.stat(node) {
                    Ok(st) => {
                        let ev = inspect::evidence_from_bytes(
                            st.size,
                            st.times.clone(),
                            max,
                            || {
                                let v = fs.read(node, max)?;
                                // An image cannot change while it is read: fewer bytes than
                                // the file system promised means the image ends inside the file.
                                if (v.len() as u64) < st.size.min(max) {
                                    return Err(InspectError::Io(std::io::Error::other(format!(
                                        "only {} of {} bytes could be read: the image ends inside this file (truncated image?)",
                                        v.len(),
                                        st.size
                                    ))));
                                }
                                Ok(v)
                            },
                        );
                        (Ok((st.times, Some(st.size))), None, Some(ev))
                    }
                    Err(e) => (
                        Ok((Times::default(), None)),
                        None,
                        Some(FileEvidence {
                            size: None,
                            sha256: None,
                            md5: None,
                            times: Times::default(),
                            pe: Err(e.into()),
                        }),
                    ),
                },
                (EntryKind::Symlink, _) => (
                    Ok((Times::default(), None)),
                    Some("a reparse point (junction or symbolic link), not followed".to_owned()),
                    None,
                ),
                (kind, _) => (
                    Ok((Times::default(), None)),
                    Some(kind.skip_reason().unwrap_or("not a file").to_owned()),
                    None,
                ),
            };
            let input = CandidateInput {
                abs_path: format!("{root_name}/{}", scan::parts_text(&parts)),
                parts,
                targets: c.targets,
                link_target: None,
                meta,
                skip,
                evidence,
            };
            let mut found = scan::findings_from(rules, &input);
            if let Some(note) = finding_note {
                for f in &mut found {
                    if f.status != crate::judge::Status::Skipped {
                        f.notes.push(note.to_owned());
                    }
                }
            }
            findings.extend(found);
        }
        VEvent::Error { parts, message } => errors.push(PathMessage {
            path: text(&parts),
            message,
        }),
        VEvent::Notice { parts, message } => notices.push(PathMessage {
            path: text(&parts),
            message,
        }),
        VEvent::Progress { entries } => progress(entries),
    });
    let stats = scan::stats_or_root_error(
        result,
        &mut errors,
        "cannot read the root folder of this volume",
    );
    scan::finish_root(
        root_name.to_owned(),
        rules,
        findings,
        errors,
        notices,
        stats,
        || registry::gather_in(fs, &rules.rules, &opts.hives),
    )
}
