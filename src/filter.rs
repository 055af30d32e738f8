//! Which directory entries are candidates: file names that equal a rule's file name,
//! ASCII-case-insensitively as Windows compares them, tested without allocating.

use std::ffi::OsStr;

use crate::rules::RuleSet;

/// A (rule, file) pair a name stands for: indexes into `RuleSet::rules` and `Rule::files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub rule: usize,
    pub file: usize,
}

/// The set of target names. A name may stand for several rules (two bulletins that both
/// replace `Nscm.exe`), so each name carries every target it matches.
#[derive(Debug, Clone)]
pub struct NameMatcher {
    names: Vec<(Box<[u8]>, Vec<Target>)>,
    min_len: usize,
    max_len: usize,
}

impl NameMatcher {
    pub fn new(rules: &RuleSet) -> Self {
        let mut names: Vec<(Box<[u8]>, Vec<Target>)> = Vec::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            for (fi, file) in rule.files.iter().enumerate() {
                let lower = file
                    .name
                    .to_ascii_lowercase()
                    .into_bytes()
                    .into_boxed_slice();
                let target = Target { rule: ri, file: fi };
                match names.iter_mut().find(|(n, _)| *n == lower) {
                    Some((_, targets)) => targets.push(target),
                    None => names.push((lower, vec![target])),
                }
            }
        }
        let min_len = names.iter().map(|(n, _)| n.len()).min().unwrap_or(0);
        let max_len = names.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        Self {
            names,
            min_len,
            max_len,
        }
    }

    /// The targets a directory entry's name matches, if any.
    #[inline]
    pub fn matches(&self, name: &OsStr) -> Option<&[Target]> {
        self.matches_bytes(name.as_encoded_bytes())
    }

    /// The targets a name given as bytes matches, if any.
    #[inline]
    pub fn matches_bytes(&self, bytes: &[u8]) -> Option<&[Target]> {
        if bytes.len() < self.min_len || bytes.len() > self.max_len {
            return None;
        }
        self.names
            .iter()
            .find(|(n, _)| n.len() == bytes.len() && n.eq_ignore_ascii_case(bytes))
            .map(|(_, t)| t.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_match_case_insensitively_and_exactly() {
        let set = RuleSet::load_selected(&[] as &[&Path], &["MS04-008"]).unwrap();
        let m = NameMatcher::new(&set);
        for name in ["Nscm.exe", "NSCM.EXE", "nscm.exe", "NsCm.ExE"] {
            assert_eq!(
                m.matches(OsStr::new(name)),
                Some(&[Target { rule: 0, file: 0 }][..]),
                "{name}"
            );
        }
        for name in ["Nspmon.exe", "NsPmOn.ExE"] {
            assert_eq!(
                m.matches(OsStr::new(name)),
                Some(&[Target { rule: 0, file: 1 }][..]),
                "{name}"
            );
        }
        for name in [
            "nscm.ex",
            "nscm.exe.bak",
            "xnscm.exe",
            "nscm.ex_",
            "",
            "nscm exe",
            "ｎscm.exe",
        ] {
            assert!(m.matches(OsStr::new(name)).is_none(), "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_never_match_and_never_fail() {
        use std::os::unix::ffi::OsStrExt;
        let set = RuleSet::load(&[] as &[&Path]).unwrap();
        let m = NameMatcher::new(&set);
        assert!(m.matches(OsStr::from_bytes(b"nscm\xff.exe")).is_none());
        assert!(m.matches(OsStr::from_bytes(b"nscm.ex\xff")).is_none());
    }
}
