//! One candidate's bytes: size check, hashes by streaming (through whatever source holds the
//! file), and the PE reader on only the parts it needs; `kbscan version` reads through the same
//! function (`describe.rs`). Evidence is never opened for writing.

use std::fs::Metadata;
use std::io;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::pe;
use crate::error::InspectError;
use crate::model::time::Times;
use crate::source::host::{open_evidence, times_of};
use crate::source::ReadAt;

/// Files larger than this are not read (the real targets are a few hundred KB).
pub const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

/// What was learnt from one file's bytes.
pub type FileEvidence = crate::model::pe::FileEvidence<InspectError>;

/// Inspects one regular file: the metadata was taken by the walk before the file was opened,
/// so the access time shown is the one the evidence had.
pub fn inspect_file(path: &Path, meta: &Metadata, max_size: u64) -> FileEvidence {
    let size = meta.len();
    evidence_from_reader(size, times_of(meta), max_size, || open_checked(path))
}

/// Files up to this size are kept in memory whole while they are hashed, and the PE reader
/// sees them whole (every real target is a few hundred KB). Larger files are hashed by
/// streaming and only the parts the PE reader needs are read (`partial::inspect_reader`), so the
/// memory a candidate costs does not depend on its size.
pub const WHOLE_FILE: u64 = 4 * 1024 * 1024;

/// Bytes read at once while hashing.
const CHUNK: usize = 256 * 1024;

/// The one inspection every source shares (host files and files inside disk images): size
/// check, hashes by streaming through the opened reader (at most `max_size + 1` bytes are
/// read, so a file that grew is noticed), then PE and version reading of only what is needed.
/// `size` and `times` are what the file system said before reading.
pub fn evidence_from_reader<'r>(
    size: u64,
    times: Times,
    max_size: u64,
    open: impl FnOnce() -> Result<Box<dyn ReadAt + 'r>, InspectError>,
) -> FileEvidence {
    let mut ev = FileEvidence {
        size: Some(size),
        sha256: None,
        md5: None,
        times,
        pe: Err(InspectError::NoVersionResource),
    };
    if size > max_size {
        ev.pe = Err(InspectError::TooLarge {
            size,
            limit: max_size,
        });
        return ev;
    }
    let reader = match open() {
        Ok(r) => r,
        Err(e) => {
            ev.pe = Err(e);
            return ev;
        }
    };
    let want = max_size.saturating_add(1);
    let mut whole: Option<Vec<u8>> =
        (size <= WHOLE_FILE).then(|| Vec::with_capacity(usize::try_from(size).unwrap_or(0)));
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    while total < want {
        let ask = usize::try_from((want - total).min(CHUNK as u64)).unwrap_or(CHUNK);
        let n = match reader.read_at(&mut buf[..ask], total) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                ev.pe = Err(InspectError::Io(e));
                return ev;
            }
        };
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        if let Some(w) = whole.as_mut() {
            if (w.len() + n) as u64 <= WHOLE_FILE {
                w.extend_from_slice(&buf[..n]);
            } else {
                whole = None;
            }
        }
        total += n as u64;
    }
    drop(buf);
    if total > max_size {
        ev.pe = Err(InspectError::TooLarge {
            size: total,
            limit: max_size,
        });
        return ev;
    }
    ev.sha256 = Some(format!("{:x}", sha.finalize()));
    ev.md5 = Some(format!("{:x}", md5.finalize()));
    ev.pe = if total != size {
        Err(InspectError::Changed {
            expected: size,
            got: total,
        })
    } else {
        match whole {
            // pe::inspect copies the bytes itself when pelite needs another alignment.
            Some(bytes) => pe::inspect(&bytes),
            None => super::partial::inspect_reader(&*reader, total),
        }
    };
    ev
}

fn open_checked<'r>(path: &Path) -> Result<Box<dyn ReadAt + 'r>, InspectError> {
    let file = open_evidence(path)?;
    // The caller saw a regular file; make sure the opened handle still is one.
    let fmeta = file.metadata()?;
    if !fmeta.is_file() {
        return Err(InspectError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no longer a regular file when opened",
        )));
    }
    Ok(Box::new(file))
}
