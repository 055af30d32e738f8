//! Reads the build lineage (`rules/lineage.toml`, the data type is `model::lineage`) and keeps
//! the built-in one.

use std::sync::OnceLock;

pub use crate::model::lineage::{Build, Lineage, LineageMatch};
use crate::model::FileVersion;

/// Parses and checks a lineage table: every version is a version, every cited source listed.
pub fn parse(text: &str) -> Result<Lineage, String> {
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

/// The built-in lineage (`rules/lineage.toml`), parsed once.
pub fn builtin() -> &'static Lineage {
    static L: OnceLock<Lineage> = OnceLock::new();
    L.get_or_init(|| {
        parse(include_str!("../../../rules/lineage.toml"))
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
        let bad = include_str!("../../../rules/lineage.toml")
            .replace("ref = \"kb324951\"", "ref = \"nope\"");
        assert!(parse(&bad).unwrap_err().contains("nope"));
    }
}
