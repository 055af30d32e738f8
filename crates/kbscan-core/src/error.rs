//! Typed errors. The library never prints; `app/` and `main.rs` alone turn these into
//! messages and exit codes.

use std::io;

use crate::model::ErrorKind;

/// Why one candidate file could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file system could not say what the entry is (its `lstat` failed).
    #[error("cannot read file metadata: {0}")]
    Metadata(String),
    #[error("too short to be a PE ({0} bytes)")]
    TooShort(u64),
    #[error("too large to be the target ({size} bytes, limit {limit}); not read")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a PE file: {0}")]
    NotPe(String),
    #[error("malformed PE: {0}")]
    MalformedPe(String),
    #[error("no version resource")]
    NoVersionResource,
    #[error("corrupt version resource: {0}")]
    CorruptVersion(String),
    #[error("corrupt version resource: the PE parser failed on this file")]
    ParserPanic,
    #[error("changed while being read (was {expected} bytes, read {got})")]
    Changed { expected: u64, got: u64 },
    /// Two reads of the same file (`kbscan version`'s hashes, then its signature pass) gave
    /// different bytes.
    #[error("changed while being read (two reads gave different SHA-256)")]
    ChangedContent,
    /// A file-system structure inside a disk image is damaged (bad MFT record, broken chain).
    #[error("damaged file system: {0}")]
    FileSystem(String),
    /// NTFS-compressed data (LZNT1) is not decompressed; the bytes would be garbage.
    #[error("compressed, not supported: {0}")]
    Compressed(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    /// More version resource entries than kbscan reads in one file.
    #[error("more than {limit} version resource entries (RT_VERSION); not read")]
    TooManyResources { limit: usize },
}

impl InspectError {
    /// A stable identifier for reports and scripts.
    pub fn kind(&self) -> ErrorKind {
        match self {
            InspectError::Io(_) | InspectError::Metadata(_) => ErrorKind::Io,
            InspectError::TooShort(_) => ErrorKind::TooShort,
            InspectError::TooLarge { .. } => ErrorKind::TooLarge,
            InspectError::NotPe(_) => ErrorKind::NotPe,
            InspectError::MalformedPe(_) => ErrorKind::MalformedPe,
            InspectError::NoVersionResource => ErrorKind::NoVersionResource,
            InspectError::CorruptVersion(_) | InspectError::ParserPanic => {
                ErrorKind::CorruptVersionResource
            }
            InspectError::Changed { .. } | InspectError::ChangedContent => ErrorKind::Changed,
            InspectError::FileSystem(_) => ErrorKind::Filesystem,
            InspectError::Compressed(_) => ErrorKind::Compressed,
            InspectError::Unsupported(_) => ErrorKind::Unsupported,
            InspectError::TooManyResources { .. } => ErrorKind::TooManyResources,
        }
    }

    /// Whether the file is a PE whose version could not be established (status
    /// `unknown_version`) rather than a file that could not be read as a PE at all (`error`).
    pub fn is_version_problem(&self) -> bool {
        matches!(
            self,
            InspectError::NoVersionResource
                | InspectError::CorruptVersion(_)
                | InspectError::ParserPanic
        )
    }
}
