//! Which directory entries are candidates: file names that equal a rule's file name,
//! ASCII-case-insensitively as Windows compares them, tested without allocating.

use std::ffi::OsStr;

use crate::rules::RuleSet;

pub use crate::model::rule::{on_install_path, Target};

/// The set of target names. A name may stand for several rules (two bulletins that both
/// replace `Nscm.exe`), so each name carries every target it matches.
#[derive(Debug, Clone)]
pub struct NameMatcher {
    names: Vec<(Box<[u8]>, Vec<Target>)>,
    /// Issue 10 case 6 hook: the rules' install folders (`system32/Windows Media/Server`), so
    /// the walker can report a link that hides one.
    install_dirs: Vec<String>,
    min_len: usize,
    max_len: usize,
    /// Per name in `names`: the rule's spelling and the install folders of its rule files, for
    /// the near-miss notices.
    near: Vec<(String, Vec<String>)>,
}

impl NameMatcher {
    /// Issue 10 case 6 hook: true when the path (components from the root down) ends with a
    /// leading part of a rule's install folder, e.g. `WINNT/system32/Windows Media`.
    pub fn on_install_path(&self, parts: &[Vec<u8>]) -> bool {
        self.install_dirs
            .iter()
            .any(|d| on_install_path(parts.iter().map(Vec::as_slice), d))
    }

    pub fn new(rules: &RuleSet) -> Self {
        let mut names: Vec<(Box<[u8]>, Vec<Target>)> = Vec::new();
        let mut near: Vec<(String, Vec<String>)> = Vec::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            for (fi, file) in rule.files.iter().enumerate() {
                let lower = file
                    .name
                    .to_ascii_lowercase()
                    .into_bytes()
                    .into_boxed_slice();
                let target = Target { rule: ri, file: fi };
                let at = match names.iter().position(|(n, _)| *n == lower) {
                    Some(i) => {
                        names[i].1.push(target);
                        i
                    }
                    None => {
                        names.push((lower, vec![target]));
                        near.push((file.name.clone(), Vec::new()));
                        names.len() - 1
                    }
                };
                if let Some(dir) = &file.install_dir {
                    if !near[at].1.contains(dir) {
                        near[at].1.push(dir.clone());
                    }
                }
            }
        }
        let mut install_dirs: Vec<String> = rules
            .rules
            .iter()
            .flat_map(|r| r.files.iter().filter_map(|f| f.install_dir.clone()))
            .collect();
        install_dirs.sort();
        install_dirs.dedup();
        let min_len = names.iter().map(|(n, _)| n.len()).min().unwrap_or(0);
        let max_len = names.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        Self {
            names,
            install_dirs,
            min_len,
            max_len,
            near,
        }
    }

    /// For a name that matches no target: a notice when it nearly is one — trailing spaces or
    /// dots, a backup-style suffix (`Nscm.exe.bak`), the compressed setup form (`Nscm.ex_`),
    /// look-alike letters (Cyrillic, Greek, full-width) or invisible characters — and it is in
    /// that target's install folder (`folders`, asked for only then). Such a file is not what
    /// Windows starts, so it is not judged, but an examiner should see it. Cheap for the
    /// common name: a length test, then one byte comparison.
    pub fn near_miss(&self, name: &[u8], folders: impl FnOnce() -> Vec<Vec<u8>>) -> Option<String> {
        if name.len() + 1 < self.min_len {
            return None;
        }
        let (i, why) = if name.is_ascii() {
            self.near_ascii(name)?
        } else {
            let folded = fold_lookalikes(name)?;
            match self
                .names
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(&folded))
            {
                Some(i) => (i, "look-alike or invisible characters".to_owned()),
                None => {
                    let (i, why) = self.near_ascii(&folded)?;
                    (i, format!("{why}, with look-alike or invisible characters"))
                }
            }
        };
        let (spelled, dirs) = &self.near[i];
        let folders = folders();
        let in_install_dir = dirs.iter().any(|d| ends_with_dir(&folders, d));
        in_install_dir.then(|| format!("similar name, not judged: looks like {spelled} ({why})"))
    }

    /// The near-miss test on an ASCII name: which target, and why.
    fn near_ascii(&self, name: &[u8]) -> Option<(usize, String)> {
        for (i, (n, _)) in self.names.iter().enumerate() {
            let first = n.first().copied().unwrap_or_default();
            if !name.first().is_some_and(|b| b.eq_ignore_ascii_case(&first)) {
                continue;
            }
            if name.len() > n.len() && name[..n.len()].eq_ignore_ascii_case(n) {
                let rest = &name[n.len()..];
                if rest.iter().all(|b| *b == b' ' || *b == b'.') {
                    return Some((i, "trailing spaces or dots".to_owned()));
                }
                if matches!(rest[0], b'.' | b'~' | b'_' | b'-' | b' ' | b'(') {
                    return Some((
                        i,
                        format!("a copy's name, suffix {:?}", String::from_utf8_lossy(rest)),
                    ));
                }
            }
            if name.len() == n.len()
                && name.last() == Some(&b'_')
                && name[..n.len() - 1].eq_ignore_ascii_case(&n[..n.len() - 1])
            {
                return Some((i, "compressed setup copy, last letter `_`".to_owned()));
            }
        }
        None
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

/// Whether the folders (from the root down) end with `dir` (`/`-separated), compared
/// ASCII-case-insensitively as Windows compares names.
fn ends_with_dir(folders: &[Vec<u8>], dir: &str) -> bool {
    let mut have = folders.iter().rev();
    dir.rsplit('/').filter(|s| !s.is_empty()).all(|want| {
        have.next()
            .is_some_and(|f| f.eq_ignore_ascii_case(want.as_bytes()))
    })
}

/// A UTF-8 name with invisible characters dropped and look-alike letters (Cyrillic, Greek,
/// full-width) replaced by the ASCII letter they imitate; `None` when anything else non-ASCII
/// remains (a name in another script is not a near miss).
fn fold_lookalikes(name: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(name).ok()?;
    let mut out = Vec::with_capacity(name.len());
    for c in text.chars() {
        let ascii = match c {
            c if c.is_ascii() => c,
            // Zero-width, joiners, direction marks and embeddings, word joiner, BOM, soft hyphen.
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}' => continue,
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
            'а' | 'α' => 'a',
            'А' | 'Α' => 'A',
            'В' | 'Β' => 'B',
            'с' | 'ϲ' => 'c',
            'С' | 'Ϲ' => 'C',
            'ԁ' => 'd',
            'е' => 'e',
            'Е' | 'Ε' => 'E',
            'һ' => 'h',
            'Н' | 'Η' => 'H',
            'і' | 'ι' => 'i',
            'І' | 'Ι' => 'I',
            'ј' => 'j',
            'Ј' => 'J',
            'К' | 'Κ' => 'K',
            'М' | 'Μ' => 'M',
            'Ν' => 'N',
            'о' | 'ο' => 'o',
            'О' | 'Ο' => 'O',
            'р' | 'ρ' => 'p',
            'Р' | 'Ρ' => 'P',
            'ѕ' => 's',
            'Ѕ' => 'S',
            'Т' | 'Τ' => 'T',
            'ν' => 'v',
            'ԝ' => 'w',
            'х' | 'χ' => 'x',
            'Х' | 'Χ' => 'X',
            'у' => 'y',
            'Υ' => 'Y',
            'Ζ' => 'Z',
            _ => return None,
        };
        out.push(ascii as u8);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_match_case_insensitively_and_exactly() {
        let set = crate::rules::load_selected(&[] as &[&Path], &["MS04-008"]).unwrap();
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

    #[test]
    fn near_miss_names_in_the_install_folder_are_noticed() {
        let set = crate::rules::load_selected(&[] as &[&Path], &["MS04-008"]).unwrap();
        let m = NameMatcher::new(&set);
        let live = || {
            ["WINNT", "system32", "Windows Media", "Server"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        for name in [
            "Nscm.exe ",
            "Nscm.exe.",
            "Nscm.exe. .",
            "Nscm.exe.bak",
            "NSCM.EX_",
            "Nspmon.ex_",
            "N\u{0455}cm.exe",
            "Ns\u{0441}m.\u{0435}x\u{0435}",
            "Nscm\u{200B}.exe",
            "\u{FEFF}nscm.exe",
            "ｎscm.exe",
        ] {
            let msg = m.near_miss(name.as_bytes(), live);
            assert!(
                msg.as_deref()
                    .is_some_and(|t| t.starts_with("similar name, not judged")),
                "{name:?}: {msg:?}"
            );
        }
        for name in [
            "Nscm.dll",
            "nscmx.exe",
            "readme.txt",
            "N\u{00e9}cm.exe",
            "Н",
            "",
        ] {
            assert_eq!(m.near_miss(name.as_bytes(), live), None, "{name:?}");
        }
        // Elsewhere (an installation source holds `NSCM.EX_` by design): no notice.
        let i386 = || vec![b"I386".to_vec()];
        assert_eq!(m.near_miss(b"NSCM.EX_", i386), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_never_match_and_never_fail() {
        use std::os::unix::ffi::OsStrExt;
        let set = crate::rules::load(&[] as &[&Path]).unwrap();
        let m = NameMatcher::new(&set);
        assert!(m.matches(OsStr::from_bytes(b"nscm\xff.exe")).is_none());
        assert!(m.matches(OsStr::from_bytes(b"nscm.ex\xff")).is_none());
    }
}
