//! Backups read in place, read-only. `mtf` reads NTBackup `.bkf` files (Microsoft Tape
//! Format 1.00a, the Windows 2000 backup format) into data sets, each with its volumes,
//! directories and files, and where each file's data is in the `.bkf`; `source` shows one
//! data set (or one volume of it) as a [`crate::source::Source`], so the walk, the
//! inspection and the registry can read a backup like any other file system.
//!
//! Not yet wired into the scan driver: nothing calls this module outside its tests.

pub mod mtf;
pub mod source;

#[cfg(test)]
mod tests;
