//! The I/O edge for one candidate: open read-only, read a bounded number of bytes, hash,
//! and hand the bytes to the PE reader. Evidence is never opened for writing.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;

use md5::Md5;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::InspectError;
use crate::pe::{self, PeVersionData};

/// Files larger than this are not read (the real targets are a few hundred KB).
pub const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

/// File-system timestamps, UTC RFC 3339; `None` where the file system has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Times {
    pub modified: Option<String>,
    pub accessed: Option<String>,
    pub created: Option<String>,
    /// Inode change time (Unix `ctime`).
    pub changed: Option<String>,
}

/// What was learnt from one file's bytes.
#[derive(Debug)]
pub struct FileEvidence {
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub times: Times,
    pub pe: Result<PeVersionData, InspectError>,
}

/// Formats a time as RFC 3339 UTC; times a file system cannot mean (before year 1 or after
/// 9999) are shown as Unix seconds rather than failing.
pub fn rfc3339(t: SystemTime) -> String {
    let secs: i128 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    unix_nanos_rfc3339(secs)
}

pub fn unix_nanos_rfc3339(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{}", nanos.div_euclid(1_000_000_000)))
}

/// Unix seconds as RFC 3339 UTC (PE link times).
pub fn unix_rfc3339(secs: i64) -> String {
    unix_nanos_rfc3339(i128::from(secs) * 1_000_000_000)
}

/// The timestamps of an `lstat`/`stat` result.
pub fn times_of(meta: &Metadata) -> Times {
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        Some(unix_nanos_rfc3339(
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        ))
    };
    #[cfg(not(unix))]
    let changed = None;
    Times {
        modified: meta.modified().ok().map(rfc3339),
        accessed: meta.accessed().ok().map(rfc3339),
        created: meta.created().ok().map(rfc3339),
        changed,
    }
}

/// Opens evidence read-only. On Unix: `O_NOFOLLOW` (a link swapped in after the walk is
/// refused), `O_NONBLOCK` (a FIFO swapped in cannot block), and `O_NOATIME` where the kernel
/// allows it (it needs file ownership), silently without it otherwise.
pub fn open_evidence(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        match OpenOptions::new()
            .read(true)
            .custom_flags(base | libc::O_NOATIME)
            .open(path)
        {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                OpenOptions::new().read(true).custom_flags(base).open(path)
            }
            other => other,
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    }
    #[cfg(not(unix))]
    {
        OpenOptions::new().read(true).open(path)
    }
}

/// Reads at most `limit + 1` bytes, so a file that grew past the limit is noticed.
fn read_bounded(file: &mut File, size_hint: u64, limit: u64) -> io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(size_hint.min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut v)?;
    Ok(v)
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
    let mut file = open_evidence(path)?;
    // The walk saw a regular file; make sure the opened handle still is one.
    let fmeta = file.metadata()?;
    if !fmeta.is_file() {
        return Err(InspectError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no longer a regular file when opened",
        )));
    }
    Ok(read_bounded(&mut file, size, max_size)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_never_fail() {
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_rfc3339(1_074_124_800), "2004-01-15T00:00:00Z");
        assert_eq!(unix_rfc3339(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(unix_rfc3339(i64::MAX), format!("@{}", i64::MAX));
    }
}
