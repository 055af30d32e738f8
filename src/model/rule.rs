//! Advisories as data: the shape of a rule (one advisory) as the report carries it. Parsing
//! and validation of rule files live in `rules.rs`.

use serde::{Deserialize, Serialize};

use super::version::FileVersion;

/// One advisory.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub kb: String,
    pub cves: Vec<String>,
    pub title: String,
    pub published: Option<String>,
    pub severity: Option<String>,
    pub summary: Option<String>,
    pub affected: Vec<String>,
    pub not_affected: Vec<String>,
    pub uninstall_dir: Option<String>,
    /// Which Windows the advisory covers, when the registry can tell.
    pub applies_to: Option<AppliesTo>,
    pub files: Vec<RuleFile>,
    /// Where the rule came from: `built-in:…` or the path given with `--rules`.
    pub source: String,
}

/// One file the update replaces.
#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub name: String,
    pub description: Option<String>,
    pub fixed_version: FileVersion,
    /// Size of the fixed English build, as published (a note when a patched copy differs).
    pub size: Option<u64>,
    pub date: Option<String>,
    /// Folder the live copy is installed in, relative to `%SystemRoot%`, `/`-separated.
    pub install_dir: Option<String>,
    /// Name of the service that runs this file (its key under `Services`).
    pub service: Option<String>,
}

/// The Windows an advisory covers, compared with the offline registry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// `CurrentVersion` values (NT version) covered, e.g. `["5.0"]`; others are `not_applicable`.
    #[serde(default)]
    pub os_versions: Vec<String>,
    /// `ProductType` values covered (`ServerNT`, `LanmanNT`); others get a note.
    #[serde(default)]
    pub product_types: Vec<String>,
    /// `CSDVersion` values covered (`Service Pack 4`); others get a note.
    #[serde(default)]
    pub service_packs: Vec<String>,
}

impl Rule {
    /// `Nscm.exe, Nspmon.exe`: the file names, for messages.
    pub fn file_names(&self) -> String {
        self.files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
