//! What a disk image's container says about itself and the outcome of `--verify-image`:
//! plain data, filled in by `image::container`, reported in `images[]`.

use serde::Serialize;

/// What the container says about itself, reported in `images[].container_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerMeta {
    /// `fixed`, `dynamic`, `streamOptimized`, `monolithicSparse`, `v3`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subformat: Option<String>,
    /// The size of the virtual disk the container holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
    /// A differencing disk's parents, nearest first: the disk read is the child over these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<ChainParent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examiner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The acquisition notes (E01 `t`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquisition_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquisition_software: Option<String>,
    /// Hex, as the container records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_sha1: Option<String>,
    /// Sectors the acquisition tool could not read (EWF `error2`), as `first+count`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acquisition_errors: Vec<String>,
}

/// One parent of a differencing disk, as its child's locator named it and as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainParent {
    /// The file, below the child's folder.
    pub file: String,
    /// `qcow2`, `vmdk`, `raw`, …
    pub container: String,
}

/// What `--verify-image` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VerificationStatus {
    #[serde(rename = "verified")]
    Verified,
    #[serde(rename = "mismatch")]
    Mismatch,
    #[serde(rename = "no stored hash")]
    NoStoredHash,
    /// A segment of the set is missing: the media cannot be read whole.
    #[serde(rename = "incomplete")]
    Incomplete,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Verified => "verified",
            VerificationStatus::Mismatch => "mismatch",
            VerificationStatus::NoStoredHash => "no stored hash",
            VerificationStatus::Incomplete => "incomplete",
        }
    }
}

impl std::fmt::Display for VerificationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of `--verify-image` for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: VerificationStatus,
    /// What was compared.
    pub detail: String,
}

impl Verification {
    pub fn verified(detail: String) -> Self {
        Self {
            status: VerificationStatus::Verified,
            detail,
        }
    }
    pub fn mismatch(detail: String) -> Self {
        Self {
            status: VerificationStatus::Mismatch,
            detail,
        }
    }
    pub fn none(detail: String) -> Self {
        Self {
            status: VerificationStatus::NoStoredHash,
            detail,
        }
    }

    pub fn incomplete(detail: String) -> Self {
        Self {
            status: VerificationStatus::Incomplete,
            detail,
        }
    }

    /// The image does not match what it stores, or cannot be read whole to check it: its
    /// roots cannot be trusted.
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self.status,
            VerificationStatus::Mismatch | VerificationStatus::Incomplete
        )
    }
}
