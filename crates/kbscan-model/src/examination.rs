//! The examination record: who ran kbscan, when, where, with which program and which rules.
//! Filled by `app/` from the process (no command line parsing here); printed by every printer.
//! Every text field holds text already escaped (`escape::escape_bytes` / `escape_str`) and is
//! serialized as a name, so the printers never escape it twice.

use serde::Serialize;

use crate::time::Timestamp;

/// One examination: the run that produced a report.
#[derive(Debug, Clone, Serialize)]
pub struct Examination {
    /// `kbscan`.
    pub tool: &'static str,
    /// kbscan's version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// The program that ran: its path and the SHA-256 of its bytes.
    pub executable: Executable,
    /// The command line, one escaped argument per item, the program name first.
    #[serde(serialize_with = "crate::escape::names")]
    pub command_line: Vec<String>,
    /// Before the first input was opened.
    pub started: Timestamp,
    /// When the scan ended, before the report was written (the start until then).
    pub finished: Timestamp,
    /// The host name of the examining machine (escaped), null when it could not be read.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub host: Option<String>,
    /// `--case ID`, escaped.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub case: Option<String>,
    /// `--examiner NAME`, escaped.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub examiner: Option<String>,
    /// Every rule loaded, with the SHA-256 of its text.
    pub rules: Vec<RuleRecord>,
    /// The disk images checked with `--verify-image`: what their check said (the hashes are in
    /// `images[].container_metadata` and `images[].verification`).
    pub images: Vec<ImageRecord>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Executable {
    /// The executable's path as the kernel names it (escaped), null when unknown.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub path: Option<String>,
    /// Lower-case hex SHA-256 of the executable, null when it could not be read.
    pub sha256: Option<String>,
    /// Why the executable could not be hashed.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleRecord {
    #[serde(serialize_with = "crate::escape::name")]
    pub id: String,
    /// `built-in:ms04-008.toml` or the `--rules` path.
    #[serde(serialize_with = "crate::escape::name")]
    pub source: String,
    /// Lower-case hex SHA-256 of the rule file's text (the built-in text, or the file's bytes).
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageRecord {
    /// The image as given (as `images[].path`).
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    pub status: crate::container::VerificationStatus,
    /// What was compared (the hashes, escaped).
    #[serde(serialize_with = "crate::escape::name")]
    pub detail: String,
    /// The hashes stored in the container (E01), lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_sha1: Option<String>,
}
