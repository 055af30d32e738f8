//! Errors that stop a command (per-file errors go into the report instead). Only this crate
//! turns them into messages and exit codes.

use std::io;
use std::path::PathBuf;

use kbscan_core::rules::RuleError;

/// Errors that stop a command (as opposed to per-file errors, which go into the report).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("cannot scan {}: {source}", path.display())]
    Root { path: PathBuf, source: io::Error },
    #[error("cannot write the report to {}: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
    /// `-o` names an input (a root, an image segment, a hive, a rule file, a `version`
    /// input) or a place inside a scanned folder; nothing was created or truncated.
    #[error("refusing to write the report to {}: {reason}; kbscan never writes into evidence", path.display())]
    OutputRefused { path: PathBuf, reason: String },
    #[error("cannot write the report: {0}")]
    Write(io::Error),
    #[error("cannot write the report: standard output is closed (give -o FILE, or redirect it)")]
    StdoutClosed,
    #[error("cannot encode the report: {0}")]
    Encode(String),
    /// Flags that cannot go together (`--format html` for `kbscan version`).
    #[error("{0}")]
    Usage(String),
}

/// A printer's failure, as the command reports it.
impl From<kbscan_output::Error> for Error {
    fn from(e: kbscan_output::Error) -> Self {
        match e {
            kbscan_output::Error::Write(e) => Error::Write(e),
            kbscan_output::Error::Encode(s) => Error::Encode(s),
            kbscan_output::Error::Usage(s) => Error::Usage(s),
        }
    }
}
