//! Backups read in place, read-only. `mtf` reads NTBackup `.bkf` files (Microsoft Tape
//! Format 1.00a, the Windows 2000 backup format) into data sets, each with its volumes,
//! directories and files, and where each file's data is in the `.bkf`; `source` shows one
//! data set (or one volume of it) as a [`crate::source::Source`], so the walk, the
//! inspection and the registry can read a backup like any other file system.
//!
//! The scan driver reads a `.bkf` given as a root through these (`scan/backups.rs`).

pub mod mtf;
pub mod source;

use std::path::Path;

use crate::source::host::open_evidence;

/// The first bytes of every MTF medium: its `TAPE` descriptor block (MTF 1.00a, Section
/// 5.2.1). A backup is recognised by content, never by its name.
pub fn is_backup(path: &Path) -> bool {
    let Ok(f) = open_evidence(path) else {
        return false;
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut magic = [0u8; 4];
    crate::source::ReadAt::read_at(&f, &mut magic, 0).is_ok_and(|n| n == 4) && &magic == b"TAPE"
}

#[cfg(test)]
mod tests;
