//! kbscan, the command line: flags become settings (`cli`), settings run the scan and the
//! printers (`app`), and only this crate prints to standard error or chooses exit codes.
//!
//! The work is done by three crates below it, in one direction (docs/architecture.md):
//! `kbscan-core` (source → walk → candidates → evidence → judgement: a `Report`),
//! `kbscan-model` (the report and the rules as plain data) and `kbscan-output` (the printers,
//! which see the model alone).

pub mod app;
pub mod cli;
pub mod error;
