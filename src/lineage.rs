//! Build lineage as data (`rules/lineage.toml`): which update shipped which build of a file, each
//! row with its source. A finding's version is looked up here to say "installed by KB952068
//! (MS08-076)" or "not a build any known update shipped".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use crate::model::finding::LineageMatch;
use crate::model::rule::{Cite, SourceDoc};
use crate::model::FileVersion;

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
    pub fn parse(text: &str) -> Result<Self, String> {
        let l: Lineage = toml::from_str(text).map_err(|e| e.to_string())?;
        for b in &l.builds {
            if let Some(v) = &b.version {
                if FileVersion::parse_lenient(v).is_err() {
                    return Err(format!("{}: version {v:?} is not a version", b.file));
                }
            }
            for c in &b.sources {
                if !l.sources.iter().any(|s| s.id == c.source) {
                    return Err(format!("{}: unknown source {:?}", b.file, c.source));
                }
            }
        }
        Ok(l)
    }

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

/// The built-in lineage (`rules/lineage.toml`), parsed once.
pub fn builtin() -> &'static Lineage {
    static L: OnceLock<Lineage> = OnceLock::new();
    L.get_or_init(|| {
        Lineage::parse(include_str!("../rules/lineage.toml"))
            .expect("the built-in rules/lineage.toml is valid (tested)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_lineage_parses_and_names_the_updates() {
        let l = builtin();
        let m = l
            .lookup("Nscm.exe", FileVersion::new(4, 1, 0, 3936))
            .unwrap();
        assert_eq!(m.text, "4.1.0.3936 — installed by KB952068 (MS08-076)");
        assert_eq!(m.bulletin.as_deref(), Some("MS08-076"));
        let m = l
            .lookup("NSUM.EXE", FileVersion::new(4, 1, 0, 3939))
            .unwrap();
        assert!(m.text.contains("KB980858 (MS10-025"), "{}", m.text);
        let m = l
            .lookup("nscm.exe", FileVersion::new(4, 1, 0, 3917))
            .unwrap();
        assert_eq!(m.text, "4.1.0.3917 — not a build any known update shipped");
        assert_eq!(m.kb, None);
        let m = l
            .lookup("nsum.exe", FileVersion::new(4, 1, 0, 3928))
            .unwrap();
        assert!(m.text.contains("hotfix"), "{}", m.text);
        assert!(l
            .lookup("other.dll", FileVersion::new(1, 0, 0, 0))
            .is_none());
        // Every row is sourced.
        assert!(l.builds.iter().all(|b| !b.sources.is_empty()));
    }

    #[test]
    fn unknown_sources_are_refused() {
        let bad =
            include_str!("../rules/lineage.toml").replace("ref = \"kb324951\"", "ref = \"nope\"");
        assert!(Lineage::parse(&bad).unwrap_err().contains("nope"));
    }
}
