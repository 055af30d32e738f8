//! Advisories as data: a rule is a TOML file naming the files an update replaces and the
//! version that fixes each. The scanner, the judgement and the printers are generic over rules;
//! MS04-008 is just the built-in file `rules/ms04-008.toml`. Format: `docs/rules.md`.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use crate::model::rule::{AppliesTo, Rule, RuleFile};
use crate::model::version::FileVersion;

/// The rule files compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[(
    "built-in:ms04-008.toml",
    include_str!("../rules/ms04-008.toml"),
)];

/// Rule files larger than this are refused before they are read (the built-in one is 2 KiB).
pub const MAX_RULE_FILE: u64 = 1 << 20;

/// What a non-regular file is, for a message.
fn kind_of(ft: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else {
        "not a file"
    }
}

/// Reads a rule file: opened without blocking (a FIFO cannot hang it), a regular file only,
/// its size checked before reading and the read itself bounded.
fn read_rule_file(path: &Path) -> Result<String, RuleError> {
    use std::io::Read;
    let shown = path.display().to_string();
    let io_err = |source| RuleError::Io {
        path: shown.clone(),
        source,
    };
    let mut o = fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    let file = o.open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(RuleError::NotRegular {
            path: shown,
            what: kind_of(meta.file_type()),
        });
    }
    if meta.len() > MAX_RULE_FILE {
        return Err(RuleError::TooLarge {
            path: shown,
            size: meta.len(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_RULE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_RULE_FILE {
        return Err(RuleError::TooLarge {
            path: shown,
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|_| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

/// The rule-file format this build reads.
pub const SCHEMA: u32 = 1;

/// A mistake in a rule file, located precisely.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read rule file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read rule file {path}: {what}, not a regular file")]
    NotRegular { path: String, what: &'static str },
    #[error("rule file {path} is too large ({size} bytes; the limit is {MAX_RULE_FILE})")]
    TooLarge { path: String, size: u64 },
    #[error("rule file {source_name}: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("rule file {source_name}, line {line}, column {column}: field `{field}`: {message}")]
    Invalid {
        source_name: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    #[error("rule {id} is defined twice: in {first} and in {second}")]
    Duplicate {
        id: String,
        first: String,
        second: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    schema: Spanned<u32>,
    id: Spanned<String>,
    kb: Spanned<String>,
    #[serde(default)]
    cves: Vec<String>,
    title: String,
    published: Option<String>,
    severity: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    affected: Vec<String>,
    #[serde(default)]
    not_affected: Vec<String>,
    uninstall_dir: Option<String>,
    applies_to: Option<AppliesTo>,
    files: Spanned<Vec<RawFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Spanned<String>,
    description: Option<String>,
    fixed_version: Spanned<String>,
    size: Option<u64>,
    date: Option<String>,
    install_dir: Option<String>,
    service: Option<String>,
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses and validates one rule file's text.
pub fn parse_rule(text: &str, source_name: &str) -> Result<Rule, RuleError> {
    let raw: RawRule = toml::from_str(text).map_err(|e| RuleError::Syntax {
        source_name: source_name.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let invalid = |span: std::ops::Range<usize>, field: &str, message: String| {
        let (line, column) = line_col(text, span.start);
        RuleError::Invalid {
            source_name: source_name.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message,
        }
    };
    if *raw.schema.get_ref() != SCHEMA {
        return Err(invalid(
            raw.schema.span(),
            "schema",
            format!(
                "this kbscan reads schema {SCHEMA}, the file says {}",
                raw.schema.get_ref()
            ),
        ));
    }
    if raw.id.get_ref().trim().is_empty() {
        return Err(invalid(raw.id.span(), "id", "must not be empty".into()));
    }
    let kb = raw.kb.get_ref();
    let kb_ok = kb.len() > 2
        && kb[..2].eq_ignore_ascii_case("KB")
        && kb[2..].bytes().all(|b| b.is_ascii_digit());
    if !kb_ok {
        return Err(invalid(
            raw.kb.span(),
            "kb",
            format!("{kb:?} is not a knowledge-base id like \"KB832359\""),
        ));
    }
    if raw.files.get_ref().is_empty() {
        return Err(invalid(
            raw.files.span(),
            "files",
            "at least one [[files]] entry is needed".into(),
        ));
    }
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for f in raw.files.into_inner() {
        let name = f.name.get_ref();
        let bad_name = if name.is_empty() {
            Some("must not be empty")
        } else if !name.is_ascii() {
            Some("must be ASCII: Windows file names are matched ASCII-case-insensitively")
        } else if name.contains(['/', '\\', '\0']) {
            Some("must be a bare file name, without folders")
        } else {
            None
        };
        if let Some(why) = bad_name {
            return Err(invalid(
                f.name.span(),
                "files.name",
                format!("{name:?} {why}"),
            ));
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(invalid(
                f.name.span(),
                "files.name",
                format!("{name:?} is listed twice"),
            ));
        }
        let text_v = f.fixed_version.get_ref();
        let strict = text_v.split('.').count() == 4
            && text_v
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let fixed_version = match FileVersion::parse_lenient(text_v) {
            Ok(v) if strict => v,
            Ok(_) => {
                return Err(invalid(
                    f.fixed_version.span(),
                    "files.fixed_version",
                    format!("{text_v:?} must be written as four numbers, e.g. \"4.1.0.3934\""),
                ))
            }
            Err(e) => {
                return Err(invalid(
                    f.fixed_version.span(),
                    "files.fixed_version",
                    e.to_string(),
                ))
            }
        };
        files.push(RuleFile {
            name: f.name.into_inner(),
            description: f.description,
            fixed_version,
            size: f.size,
            date: f.date,
            install_dir: f.install_dir.map(|d| d.replace('\\', "/")),
            service: f.service,
        });
    }
    Ok(Rule {
        id: raw.id.into_inner(),
        kb: raw.kb.into_inner().to_ascii_uppercase(),
        cves: raw.cves,
        title: raw.title,
        published: raw.published,
        severity: raw.severity,
        summary: raw.summary,
        affected: raw.affected,
        not_affected: raw.not_affected,
        uninstall_dir: raw.uninstall_dir,
        applies_to: raw.applies_to,
        files,
        source: source_name.to_owned(),
    })
}

/// The rules a scan uses: the built-in ones plus any given with `--rules`.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in rules and then each user file, in order. Rule ids must be unique.
    pub fn load(user_files: &[impl AsRef<Path>]) -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        for (name, text) in BUILTIN {
            rules.push(parse_rule(text, name)?);
        }
        for path in user_files {
            let path = path.as_ref();
            let shown = path.display().to_string();
            let text = read_rule_file(path)?;
            rules.push(parse_rule(&text, &shown)?);
        }
        for (i, r) in rules.iter().enumerate() {
            if let Some(first) = rules[..i].iter().find(|o| o.id.eq_ignore_ascii_case(&r.id)) {
                return Err(RuleError::Duplicate {
                    id: r.id.clone(),
                    first: first.source.clone(),
                    second: r.source.clone(),
                });
            }
        }
        Ok(Self { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
schema = 1
id = "MS99-001"
kb = "KB123456"
title = "Test"

[[files]]
name = "a.dll"
fixed_version = "5.0.2195.1"
"#;

    #[test]
    fn the_builtin_rule_carries_the_bulletin_facts() {
        let set = RuleSet::load(&[] as &[&Path]).unwrap();
        let r = &set.rules[0];
        assert_eq!(r.id, "MS04-008");
        assert_eq!(r.kb, "KB832359");
        assert_eq!(r.cves, ["CAN-2003-0905"]);
        assert_eq!(r.uninstall_dir.as_deref(), Some("$NTUninstallKB832359$"));
        let names: Vec<_> = r.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Nscm.exe", "Nspmon.exe"]);
        for f in &r.files {
            assert_eq!(f.fixed_version, FileVersion::new(4, 1, 0, 3934));
            assert_eq!(
                f.install_dir.as_deref(),
                Some("system32/Windows Media/Server")
            );
        }
        assert_eq!(r.files[0].size, Some(222_384));
        assert_eq!(r.files[1].size, Some(31_808));
    }

    #[test]
    fn a_good_user_rule_parses() {
        let r = parse_rule(GOOD, "t.toml").unwrap();
        assert_eq!(r.files[0].fixed_version, FileVersion::new(5, 0, 2195, 1));
        assert_eq!(r.source, "t.toml");
    }

    fn err(text: &str) -> String {
        parse_rule(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn mistakes_are_reported_with_line_and_field() {
        let e = err(&GOOD.replace("5.0.2195.1", "5.0.x"));
        assert!(
            e.contains("line 9") && e.contains("files.fixed_version"),
            "{e}"
        );
        let e = err(&GOOD.replace("5.0.2195.1", "5.0"));
        assert!(e.contains("four numbers"), "{e}");
        let e = err(&GOOD.replace("KB123456", "123456"));
        assert!(e.contains("line 4") && e.contains("`kb`"), "{e}");
        let e = err(&GOOD.replace("a.dll", "sys/a.dll"));
        assert!(e.contains("line 8") && e.contains("bare file name"), "{e}");
        let e = err(&GOOD.replace("a.dll", "ä.dll"));
        assert!(e.contains("ASCII"), "{e}");
        let e = err(&GOOD.replace("schema = 1", "schema = 2"));
        assert!(e.contains("line 2") && e.contains("schema"), "{e}");
        let e = err(&format!(
            "{GOOD}\n[[files]]\nname = \"A.DLL\"\nfixed_version = \"1.0.0.0\"\n"
        ));
        assert!(e.contains("listed twice"), "{e}");
        // Syntax and type errors come from the TOML parser with their own line numbers.
        let e = err(&GOOD.replace("title = \"Test\"", "title = 5"));
        assert!(e.contains("line 5"), "{e}");
        let e = err(&GOOD.replace("title", "titel"));
        assert!(e.contains("titel"), "{e}");
        let e = err("id = ");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dup.toml");
        std::fs::write(&p, GOOD.replace("MS99-001", "ms04-008")).unwrap();
        let e = RuleSet::load(&[&p]).unwrap_err().to_string();
        assert!(e.contains("defined twice"), "{e}");
        let missing = dir.path().join("missing.toml");
        let e = RuleSet::load(&[&missing]).unwrap_err().to_string();
        assert!(e.contains("missing.toml"), "{e}");
    }
}
