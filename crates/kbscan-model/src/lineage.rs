//! Build lineage as data (`rules/lineage.toml`, read by the core): which update shipped which
//! build of a file, each row with its source. A finding's version is looked up here to say
//! "installed by KB952068 (MS08-076)" or "not a build any known update shipped".

use serde::{Deserialize, Serialize};

pub use crate::finding::LineageMatch;
use crate::rule::{Cite, SourceDoc};
use crate::FileVersion;

/// One published build of a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub file: String,
    pub component: String,
    /// Absent when no source gives it (the row is then listed, never matched).
    pub version: Option<String>,
    pub size: Option<u64>,
    pub size_build: Option<String>,
    pub date: Option<String>,
    pub time: Option<String>,
    pub time_zone: Option<String>,
    /// The bulletin (`MS08-076`), or `(none: hotfix)`.
    pub bulletin: String,
    pub kb: String,
    pub release: Option<String>,
    pub note: Option<String>,
    pub sources: Vec<Cite>,
}

/// The lineage table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    pub schema: u32,
    pub product_line: Option<String>,
    pub builds: Vec<Build>,
    pub sources: Vec<SourceDoc>,
}

impl Build {
    fn parsed(&self) -> Option<FileVersion> {
        self.version
            .as_deref()
            .and_then(|v| FileVersion::parse_lenient(v).ok())
    }
    /// `KB952068 (MS08-076)`, or `KB324951 (hotfix, no security bulletin)`.
    pub fn shipped_by(&self) -> String {
        if self.bulletin.starts_with("MS") {
            let rel = self
                .release
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default();
            format!("{} ({}{rel})", self.kb, self.bulletin)
        } else {
            format!("{} (hotfix, no security bulletin)", self.kb)
        }
    }
}

impl Lineage {
    /// The lineage of `file` at `version`: `None` when the table knows nothing of the file.
    pub fn lookup(&self, file: &str, version: FileVersion) -> Option<LineageMatch> {
        let rows: Vec<&Build> = self
            .builds
            .iter()
            .filter(|b| b.file.eq_ignore_ascii_case(file))
            .collect();
        if rows.is_empty() {
            return None;
        }
        match rows.iter().find(|b| b.parsed() == Some(version)) {
            Some(b) => Some(LineageMatch {
                text: format!("{version} — installed by {}", b.shipped_by()),
                kb: Some(b.kb.clone()),
                bulletin: b.bulletin.starts_with("MS").then(|| b.bulletin.clone()),
            }),
            None => Some(LineageMatch {
                text: format!("{version} — not a build any known update shipped"),
                kb: None,
                bulletin: None,
            }),
        }
    }
}
