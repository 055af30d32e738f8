//! One candidate's bytes: size check, bounded read (through whatever source holds the file),
//! hashes, and the PE reader. Also the direct reading of a file named on the command line
//! (`kbscan version`). Evidence is never opened for writing.

use std::fs::Metadata;
use std::io;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::pe::{self, PeVersionData};
use crate::error::InspectError;
use crate::model::time::Times;
use crate::source::host::{open_evidence, times_of};

/// Files larger than this are not read (the real targets are a few hundred KB).
pub const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

/// What was learnt from one file's bytes.
#[derive(Debug)]
pub struct FileEvidence {
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub times: Times,
    pub pe: Result<PeVersionData, InspectError>,
}

/// Inspects one regular file: the metadata was taken by the walk before the file was opened,
/// so the access time shown is the one the evidence had.
pub fn inspect_file(path: &Path, meta: &Metadata, max_size: u64) -> FileEvidence {
    let size = meta.len();
    evidence_from_bytes(size, times_of(meta), max_size, || {
        open_and_read(path, size, max_size)
    })
}

/// The one inspection every source shares (host files and files inside disk images): size
/// check, bounded read through `read` (which returns at most `max_size + 1` bytes), hashes,
/// PE and version reading. `size` and `times` are what the file system said before reading.
pub fn evidence_from_bytes(
    size: u64,
    times: Times,
    max_size: u64,
    read: impl FnOnce() -> Result<Vec<u8>, InspectError>,
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
    let bytes = match read() {
        Ok(v) if v.len() as u64 > max_size => {
            ev.pe = Err(InspectError::TooLarge {
                size: v.len() as u64,
                limit: max_size,
            });
            return ev;
        }
        Ok(v) => v,
        Err(e) => {
            ev.pe = Err(e);
            return ev;
        }
    };
    // pe::inspect copies the bytes itself when pelite needs another alignment.
    let data = &bytes[..];
    ev.sha256 = Some(format!("{:x}", Sha256::digest(data)));
    ev.md5 = Some(format!("{:x}", Md5::digest(data)));
    ev.pe = if data.len() as u64 != size {
        Err(InspectError::Changed {
            expected: size,
            got: data.len() as u64,
        })
    } else {
        pe::inspect(data)
    };
    ev
}

fn open_and_read(path: &Path, size: u64, max_size: u64) -> Result<Vec<u8>, InspectError> {
    let file = open_evidence(path)?;
    // The caller saw a regular file; make sure the opened handle still is one.
    let fmeta = file.metadata()?;
    if !fmeta.is_file() {
        return Err(InspectError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no longer a regular file when opened",
        )));
    }
    Ok(crate::source::read_bounded(file, size, max_size)?)
}

/// Inspects a file named on the command line (`kbscan version`): follows links as the
/// examiner asked for that path explicitly.
pub fn inspect_path(path: &Path, max_size: u64) -> Result<FileEvidence, InspectError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(InspectError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let real = std::fs::canonicalize(path)?;
    Ok(inspect_file(&real, &meta, max_size))
}
