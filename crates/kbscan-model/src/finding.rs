//! One candidate file judged against one rule file, and where it lives.

use serde::Serialize;

use super::file::{FileFacts, StringTable};
use super::verdict::{Comparison, Counting, ErrorKind, Status, VersionSource};
use super::version::FileVersion;

/// The two location classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationClass {
    Live,
    Backup,
}

/// A location class with the backup rule that matched and the folder that matched it
/// (flattened into a finding as `location`, `location_rule`, `location_folder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(rename = "location")]
    pub class: LocationClass,
    /// Id of the backup rule (`ntuninstall`, `dllcache`, …), for backups; `service` for a live
    /// copy a service's `ImagePath` names in a folder otherwise classed as inactive (issue 10
    /// case 3; `location_folder` is then that folder).
    #[serde(rename = "location_rule")]
    pub rule: Option<&'static str>,
    /// The folder name, as found and escaped (`escape::escape_bytes`), that matched the rule.
    #[serde(rename = "location_folder", serialize_with = "crate::escape::name_opt")]
    pub folder: Option<String>,
}

impl Location {
    pub fn live() -> Self {
        Self {
            class: LocationClass::Live,
            rule: None,
            folder: None,
        }
    }
    pub fn is_live(&self) -> bool {
        self.class == LocationClass::Live
    }
    /// Short label for tables and CSV: `live`, `backup:<rule>` or `live:service`.
    pub fn label(&self) -> String {
        match self.rule {
            Some(rule) => format!("{}:{rule}", self.class_str()),
            None => "live".to_owned(),
        }
    }
    /// The class alone: `live` or `backup`.
    pub fn class_str(&self) -> &'static str {
        match self.class {
            LocationClass::Live => "live",
            LocationClass::Backup => "backup",
        }
    }
}

/// One `RT_VERSION` resource of a file as kbscan read it, kept as evidence when a file has
/// more than one (or only ones Windows does not read): which it is, what it says, and whether
/// `GetFileVersionInfo` could read it (docs/judgement.md, "Which version resource Windows reads").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionReading {
    /// The resource name: a numeric id as text (`1`) or the string name.
    pub name: String,
    /// The resource language as four hex digits (`0409`; `0000` is language-neutral).
    pub language: String,
    /// `VS_FIXEDFILEINFO` file version, when the block has a valid one.
    pub fixed_version: Option<FileVersion>,
    /// The string `FileVersion` of its first string table that has one.
    pub file_version_string: Option<String>,
    /// The version this reading would be judged by (fixed, else the string).
    pub version: Option<FileVersion>,
    /// Whether Windows could read this resource: name id 1 (`VS_VERSION_INFO`), any language
    /// (which language is read depends on the machine).
    pub windows_reads: bool,
    /// What this reading alone would mean for the rule (`None` when Windows does not read it).
    pub status: Option<Status>,
    /// Why the reading has no version, or why it is not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One candidate file judged against one rule file.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Relative to the root, `/`-separated, escaped losslessly.
    #[serde(serialize_with = "crate::escape::name")]
    pub path: String,
    /// The root as given joined with `path`.
    #[serde(serialize_with = "crate::escape::name")]
    pub abs_path: String,
    /// File name as found on disk.
    #[serde(serialize_with = "crate::escape::name")]
    pub name: String,
    pub rule: String,
    pub kb: String,
    /// The rule's spelling of the file name (`Nscm.exe`).
    pub target: String,
    pub status: Status,
    /// The copy's own comparison with the fixed version, whether or not it counts.
    pub comparison: Comparison,
    /// Whether the copy counts for its rule's verdict, and why not (`counts`, `counts_why`).
    #[serde(flatten)]
    pub counting: Counting,
    #[serde(flatten)]
    pub location: Location,
    /// The version judged by: numeric file version, or the string as a fallback.
    pub version: Option<FileVersion>,
    pub version_source: Option<VersionSource>,
    /// `VS_FIXEDFILEINFO` file version.
    pub file_version: Option<FileVersion>,
    /// String-table `FileVersion` of the first table that has one.
    pub file_version_string: Option<String>,
    pub product_version: Option<FileVersion>,
    pub product_version_string: Option<String>,
    pub string_tables: Vec<StringTable>,
    /// Every version resource's reading, when the file has more than one or none that Windows
    /// reads (absent from JSON otherwise: the fields above are then that one resource).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_resources: Vec<VersionReading>,
    pub required_version: FileVersion,
    pub published_size: Option<u64>,
    #[serde(flatten)]
    pub file: FileFacts,
    /// For a symbolic link: what it points to.
    #[serde(serialize_with = "crate::escape::name_opt")]
    pub link_target: Option<String>,
    /// What the file system's times mean (its note is among `notes`).
    #[serde(skip)]
    pub time_basis: crate::time::TimeBasis,
    /// Its `$STANDARD_INFORMATION` creation is earlier than its `$FILE_NAME` creation, so its SI
    /// times are taken as back-dated: the `timestamps_inconsistent` note saying so (also among
    /// `notes`), which the timeline carries on the SI times.
    #[serde(skip)]
    pub si_backdated: Option<String>,
    /// The service whose `ImagePath` names this copy: the one Windows starts.
    pub service_image: Option<String>,
    /// Which update shipped this build, from the lineage table (`rules/lineage.toml`), when
    /// the table knows the file.
    pub lineage: Option<LineageMatch>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    pub error_kind: Option<ErrorKind>,
}

impl Finding {
    /// A live copy (not in a backup or cache folder).
    pub fn is_live(&self) -> bool {
        self.location.is_live()
    }
    /// The status as the tables show it: the status of a copy that counts (`vulnerable`), else
    /// its comparison and why it does not count (`below_fixed (not counted: backup copy)`), so
    /// an old copy that does not count never reads as an alarm.
    /// The status for a narrow table cell: the finding's status where it counts, else only
    /// that it does not (`not counted`, `not applicable`); the location cell says which copy,
    /// and the evidence block's `judged` line and every other format the comparison and why.
    pub fn status_cell(&self) -> String {
        if self.counting.counted() {
            self.status.as_str().to_owned()
        } else {
            self.counting.state.as_str().replace('_', " ")
        }
    }
    pub fn status_label(&self) -> String {
        if self.counting.counted() {
            self.status.as_str().to_owned()
        } else {
            format!("{} ({})", self.comparison.as_str(), self.counting.label())
        }
    }
    /// `4.1.0.3917`, `4.1.0.3934 (string)` or `-`, for tables.
    pub fn version_label(&self) -> String {
        match (self.version, self.version_source) {
            (Some(v), Some(VersionSource::String)) => format!("{v} (string)"),
            (Some(v), _) => v.to_string(),
            (None, _) => "-".to_owned(),
        }
    }
}

/// What the lineage says about one finding's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageMatch {
    /// `4.1.0.3936 — installed by KB952068 (MS08-076)`.
    pub text: String,
    /// The update that shipped the build; none for a build no known update shipped.
    pub kb: Option<String>,
    pub bulletin: Option<String>,
}
