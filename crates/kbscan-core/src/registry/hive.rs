//! Loading a hive: read bounded and read-only, hashed, opened with nt-hive inside
//! `contain::contained` (nt-hive panics on some hostile hives), validated when the header
//! allows and otherwise read as found and said so. `.LOG` files are never replayed.

use std::fs;
use std::path::Path;

use nt_hive::{Hive, KeyNode, NtHiveError};
use sha2::{Digest, Sha256};

use crate::model::system::HiveInfo;
use crate::source::host::open_evidence;

/// Hives larger than this are not read (real SOFTWARE hives of the era are tens of MB).
pub const MAX_HIVE_SIZE: u64 = 1 << 30;

/// Reads a whole hive read-only, bounded: what was opened must be a regular file no larger
/// than `MAX_HIVE_SIZE`, checked before a byte is read.
pub fn read_hive_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() > MAX_HIVE_SIZE {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    let file = open_evidence(path).map_err(|e| e.to_string())?;
    // The file opened may not be the one looked at (a swap in between): checked again.
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() > MAX_HIVE_SIZE {
        return Err(format!("too large ({} bytes)", meta.len()));
    }
    crate::source::read_bounded(file, meta.len(), MAX_HIVE_SIZE).map_err(|e| e.to_string())
}

/// A hive loaded for reading: its bytes and how it was opened.
pub struct LoadedHive {
    bytes: Vec<u8>,
    validated: bool,
}

pub fn load(
    bytes: Result<Vec<u8>, String>,
    shown: String,
    origin: &'static str,
) -> (HiveInfo, Option<LoadedHive>) {
    let mut info = HiveInfo {
        path: shown,
        origin,
        size: None,
        sha256: None,
        format_version: None,
        validated: false,
        validation_error: None,
        error: None,
    };
    let bytes = match bytes {
        Ok(b) if b.len() as u64 > MAX_HIVE_SIZE => {
            info.error = Some(format!(
                "cannot read: too large (over {MAX_HIVE_SIZE} bytes)"
            ));
            return (info, None);
        }
        Ok(b) => b,
        Err(e) => {
            info.error = Some(format!("cannot read: {e}"));
            return (info, None);
        }
    };
    info.size = Some(bytes.len() as u64);
    info.sha256 = Some(format!("{:x}", Sha256::digest(&bytes)));
    let opened = crate::contain::contained(|| {
        match Hive::new(&bytes[..]) {
            Ok(h) => Ok((
                true,
                format!("{}.{}", h.major_version(), h.minor_version()),
                None,
            )),
            Err(e) => {
                let why = e.to_string();
                match Hive::without_validation(&bytes[..]) {
                    Ok(h) => {
                        // Without validation a hive still needs a readable root key.
                        h.root_key_node().map_err(|e| e.to_string())?;
                        Ok((
                            false,
                            format!("{}.{}", h.major_version(), h.minor_version()),
                            Some(why),
                        ))
                    }
                    Err(e2) => Err(format!("{why}; {e2}")),
                }
            }
        }
    });
    match opened {
        Some(Ok((validated, version, why))) => {
            info.validated = validated;
            info.format_version = Some(version);
            info.validation_error = why;
            (info, Some(LoadedHive { bytes, validated }))
        }
        Some(Err(e)) => {
            info.error = Some(format!("not a usable hive: {e}"));
            (info, None)
        }
        None => {
            info.error = Some("not a usable hive: the hive reader failed on it".to_owned());
            (info, None)
        }
    }
}

impl LoadedHive {
    /// The hive's bytes (issue 14: key time stamps are read from them, see `installtime`).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Runs `f` over the hive's root key; any error or panic inside becomes `Err(text)`.
    pub fn with_root<T>(
        &self,
        f: impl FnOnce(KeyNode<&[u8]>) -> Result<T, NtHiveError>,
    ) -> Result<T, String> {
        let bytes = &self.bytes[..];
        let validated = self.validated;
        crate::contain::contained(|| {
            let hive = if validated {
                Hive::new(bytes)
            } else {
                Hive::without_validation(bytes)
            }
            .map_err(|e| e.to_string())?;
            let root = hive.root_key_node().map_err(|e| e.to_string())?;
            f(root).map_err(|e| e.to_string())
        })
        .unwrap_or_else(|| Err("the hive reader failed on this hive".to_owned()))
    }
}
