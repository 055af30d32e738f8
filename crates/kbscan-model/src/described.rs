//! The model of `kbscan version`: any PE's version information, decoded for people.

use serde::Serialize;

use super::file::{FileFacts, StringTable, Translation};
use super::verdict::ErrorKind;
use super::version::FileVersion;
use super::ToolInfo;

#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    pub tool: ToolInfo,
    pub files: Vec<DescribedFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedFile {
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    #[serde(flatten)]
    pub file: FileFacts,
    pub resources: Vec<DescribedResource>,
    pub error: Option<String>,
    pub error_kind: Option<ErrorKind>,
    /// A fact that is not an error: `no version resource` for a readable PE without one
    /// (issue 15: `kbscan version` exits 0 for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// SHA-1 of the whole file (hash sets such as the NSRL key on it), beside `sha256`, `md5`.
    pub sha1: Option<String>,
    /// For a PE: its Authenticode image hash and what its certificate table holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticode: Option<Authenticode>,
}

/// What a PE's Authenticode facts are, read offline (Microsoft, "Windows Authenticode Portable
/// Executable Signature Format"). Nothing here is a trust decision: a signature is `present`,
/// never verified.
#[derive(Debug, Clone, Serialize)]
pub struct Authenticode {
    /// The image hash Authenticode signs and catalogs list: the file without its checksum field,
    /// its certificate-table directory entry and the certificate table. `None` when the table's
    /// entry cannot be read (the ranges to leave out are unknown).
    pub image_sha1: Option<String>,
    pub image_sha256: Option<String>,
    pub signature: Signature,
    /// What may make the image hash differ from the one Windows computes (sections that do not
    /// follow each other, data after the certificate table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Whether the file carries a signature in its certificate table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureState {
    /// No certificate table (data directory 4 is empty).
    None,
    /// A PKCS#7 SignedData is there and was read; not verified (no trust decision offline).
    PresentNotVerified,
    /// A certificate table is there but could not be read as a signature (`error` says why).
    Unreadable,
}

impl SignatureState {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureState::None => "none",
            SignatureState::PresentNotVerified => "present, not verified",
            SignatureState::Unreadable => "unreadable",
        }
    }
}

/// The signature's facts as the PKCS#7 SignedData states them.
#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub state: SignatureState,
    /// The signer's certificate subject (`CN=…, O=…`), from the certificate the SignerInfo names.
    pub signer_subject: Option<String>,
    /// The issuer the SignerInfo names.
    pub signer_issuer: Option<String>,
    /// The signer certificate's serial number, hex.
    pub signer_serial: Option<String>,
    /// The authenticated attribute `signingTime`: the time the signer's tool claimed.
    pub signing_time: Option<crate::time::Timestamp>,
    /// A counter-signature's time (PKCS#9 `counterSignature`'s `signingTime`, or an RFC 3161
    /// time-stamp token's `genTime`): the time a time-stamping authority gave.
    pub timestamp_time: Option<crate::time::Timestamp>,
    /// `pkcs9_counter_signature` or `rfc3161`.
    pub timestamp_kind: Option<&'static str>,
    /// The algorithm of the signed image hash (`sha1`, `sha256`, or the OID).
    pub digest_algorithm: Option<String>,
    /// The image hash the signature carries (`SpcIndirectDataContent`), hex.
    pub signed_digest: Option<String>,
    /// Whether `signed_digest` equals the image hash kbscan computed with that algorithm: the
    /// file is the one that was signed. Not a trust decision.
    pub digest_matches: Option<bool>,
    /// Certificate-table entries (`WIN_CERTIFICATE`) read.
    pub entries: usize,
    pub error: Option<String>,
}

impl Signature {
    pub fn none() -> Self {
        Self {
            state: SignatureState::None,
            signer_subject: None,
            signer_issuer: None,
            signer_serial: None,
            signing_time: None,
            timestamp_time: None,
            timestamp_kind: None,
            digest_algorithm: None,
            signed_digest: None,
            digest_matches: None,
            entries: 0,
            error: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedResource {
    /// Resource name or id (`1`).
    pub name: String,
    /// Resource language id, 4 hex digits.
    pub lang: String,
    pub fixed: Option<DescribedFixed>,
    pub string_tables: Vec<StringTable>,
    pub translations: Vec<Translation>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribedFixed {
    pub file_version: FileVersion,
    pub product_version: FileVersion,
    /// Flags set (masked by `dwFileFlagsMask`), by name.
    pub flags: Vec<&'static str>,
    pub flags_raw: u32,
    pub flags_mask: u32,
    pub os: String,
    pub os_raw: u32,
    pub file_type: String,
    pub file_type_raw: u32,
    pub file_subtype: u32,
    pub file_date: u64,
    pub struct_version: String,
}
