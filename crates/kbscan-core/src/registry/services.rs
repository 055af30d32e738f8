//! A service's `ImagePath` resolved the way Windows would (issue 10 case 9): the environment
//! variables the service control manager expands (`%SystemRoot%`, `%windir%`,
//! `%SystemDrive%`, `%ProgramFiles%` and `%CommonProgramFiles%` from the SOFTWARE hive's
//! `Microsoft\Windows\CurrentVersion`), the NT prefixes `\SystemRoot\` and `\??\`, quoted
//! paths with arguments, and — on the file system itself — names compared case-insensitively
//! and 8.3 aliases where the volume records them. A path that cannot be placed under the root
//! stays unresolved, with the reason, and never decides.

use nt_hive::{KeyNode, KeyValueDataType, NtHiveError};

use crate::escape::escape_bytes;
use crate::model::rule::RuleFile;
use crate::model::system::{ServiceFacts, ServiceMatch, ServiceStart, StartFacts};
use crate::source::{EntryKind, Source};

/// A string value (`REG_SZ` or `REG_EXPAND_SZ` only: a value of another type is not a path).
fn string_value(node: &KeyNode<'_, &[u8]>, name: &str) -> Result<Option<String>, NtHiveError> {
    let Some(v) = node.value(name).transpose()? else {
        return Ok(None);
    };
    Ok(match v.data_type()? {
        KeyValueDataType::RegSZ | KeyValueDataType::RegExpandSZ => {
            Some(v.string_data()?.trim_end_matches('\0').to_owned())
        }
        _ => None,
    })
}

/// Reads `ProgramFilesDir`, `CommonFilesDir` (`Microsoft\Windows\CurrentVersion`) and
/// `SystemRoot` (`Microsoft\Windows NT\CurrentVersion`) from the SOFTWARE hive into `env`.
pub fn read_env(root: KeyNode<&[u8]>, env: &mut ServiceEnv) -> Result<(), NtHiveError> {
    if let Some(k) = super::facts::key(&root, "Microsoft\\Windows\\CurrentVersion")? {
        env.program_files = string_value(&k, "ProgramFilesDir")?;
        env.common_files = string_value(&k, "CommonFilesDir")?;
    }
    if let Some(k) = super::facts::key(&root, "Microsoft\\Windows NT\\CurrentVersion")? {
        env.system_root = string_value(&k, "SystemRoot")?;
    }
    Ok(())
}

/// What `%…%` variables and bare drive letters mean on this system, from the hives.
#[derive(Debug, Clone, Default)]
pub struct ServiceEnv {
    /// The Windows folder relative to the root (`WINNT`).
    pub windir: Option<String>,
    /// `ProgramFilesDir` as recorded (`C:\Program Files`).
    pub program_files: Option<String>,
    /// `CommonFilesDir` as recorded (`C:\Program Files\Common Files`).
    pub common_files: Option<String>,
    /// `SystemRoot` as recorded in `Microsoft\Windows NT\CurrentVersion` (`C:\WINNT`): gives
    /// the system drive.
    pub system_root: Option<String>,
}

impl ServiceEnv {
    /// The system drive letter, lower-case, when a recorded path gives it.
    fn system_drive(&self) -> Option<u8> {
        [&self.system_root, &self.program_files]
            .into_iter()
            .flatten()
            .find_map(|p| drive_of(p.trim()).map(|(d, _)| d))
    }
}

/// `C:\x` → (`c`, `\x`).
fn drive_of(p: &str) -> Option<(u8, &str)> {
    let b = p.as_bytes();
    (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
        .then(|| (b[0].to_ascii_lowercase(), &p[2..]))
}

/// The program part of a command line: a quoted path, or everything up to the first `.exe`
/// that ends a word (an unquoted path may hold spaces; `nscm.exe.bak` is not `nscm.exe`), or
/// the first word.
fn program(image_path: &str) -> &str {
    let s = image_path.trim();
    if let Some(rest) = s.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest);
    }
    let lower = s.to_ascii_lowercase();
    let ends_word = |i: usize| {
        lower[i + 4..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
    };
    match lower
        .match_indices(".exe")
        .map(|(i, _)| i)
        .find(|&i| ends_word(i))
    {
        Some(i) => &s[..i + 4],
        None => s.split(' ').next().unwrap_or(s),
    }
}

/// Expands `%VAR%` as the service control manager would, from `env`.
fn expand(p: &str, env: &ServiceEnv) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = p;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find('%') else {
            return Err(format!("unterminated variable in {p}"));
        };
        let name = &after[..j];
        let value = match name.to_ascii_lowercase().as_str() {
            // The Windows folder found under the root (by its hives) is where the files are;
            // the recorded SystemRoot only gives the drive.
            "systemroot" | "windir" => Some(format!(
                "\\{}",
                env.windir.as_deref().unwrap_or("WINNT").replace('/', "\\")
            )),
            "systemdrive" => Some(String::new()),
            "programfiles" => env.program_files.clone(),
            "commonprogramfiles" => env.common_files.clone(),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "%{name}% is not known from the hives (ProgramFilesDir/CommonFilesDir in SOFTWARE Microsoft\\Windows\\CurrentVersion, or a variable the service manager does not set)"
                ))
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves an `ImagePath` to a path relative to the root, lower-cased and `/`-separated, or
/// says why it cannot be.
pub fn resolve(image_path: &str, env: &ServiceEnv) -> Result<String, String> {
    let prog = program(image_path);
    if prog.trim().is_empty() {
        return Err("the ImagePath is empty".to_owned());
    }
    resolve_path(prog, env)
}

/// Resolves a path as Windows names it (no command line around it: spaces are part of it) to
/// a path relative to the root, lower-cased and `/`-separated, or says why it cannot be: the
/// resolution [`resolve`] applies to a service's program, shared by the update audit.
pub fn resolve_path(prog: &str, env: &ServiceEnv) -> Result<String, String> {
    if prog.trim().is_empty() {
        return Err("the path is empty".to_owned());
    }
    let windir = env.windir.as_deref().unwrap_or("WINNT");
    // The NT prefixes first (they come before any variable): \??\C:\…, \\?\C:\…, \SystemRoot\….
    let mut p = prog.replace('/', "\\");
    for pre in ["\\??\\", "\\\\?\\"] {
        if p.starts_with(pre) {
            p = p[pre.len()..].to_owned();
        }
    }
    let lower = p.to_ascii_lowercase();
    for pre in ["\\systemroot\\", "systemroot\\"] {
        if lower.starts_with(pre) {
            p = format!("%SystemRoot%\\{}", &p[pre.len()..]);
            break;
        }
    }
    let p = expand(&p, env)?;
    let rel = if let Some((d, rest)) = drive_of(&p) {
        if let Some(sys) = env.system_drive() {
            if sys != d {
                return Err(format!(
                    "{}: is not the system drive {}: (another volume)",
                    d.to_ascii_uppercase() as char,
                    sys.to_ascii_uppercase() as char
                ));
            }
        }
        rest.to_owned()
    } else if p.starts_with('\\') {
        if p.starts_with("\\\\") {
            return Err(format!("{p} is a network path"));
        }
        p.clone()
    } else if p.to_ascii_lowercase().starts_with("system32\\") {
        format!("{windir}\\{p}")
    } else {
        return Err(format!(
            "{p} is a relative path: the program would be searched for, not placed"
        ));
    };
    let parts: Vec<&str> = rel.split(['\\', '/']).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(format!("{rel} does not name a file"));
    }
    let parts: Vec<&str> = parts.into_iter().filter(|c| *c != ".").collect();
    Ok(parts.join("/").to_ascii_lowercase())
}

/// The last component of the program an `ImagePath` starts (`nscm.exe` from
/// `"C:\…\Server\nscm.exe" -service`).
pub fn image_file_name(image_path: &str) -> &str {
    let prog = program(image_path).trim();
    prog.rsplit(['\\', '/']).next().unwrap_or(prog)
}

/// Most programs named by an 8.3 alias that are looked up on the volume per system: a hive
/// may list thousands of services, and each lookup lists folders.
pub const MAX_ALIAS_LOOKUPS: usize = 256;

/// The names of the entries a program named by an 8.3 alias (`…\\WINDOW~1\\SERVER\\NSCM~1.EXE`)
/// names on this volume; none when the program is not an alias or cannot be placed.
pub fn alias_targets<S: Source>(src: &S, env: &ServiceEnv, image_path: &str) -> Vec<String> {
    if !image_file_name(image_path).contains('~') {
        return Vec::new();
    }
    let Ok(rel) = resolve(image_path, env) else {
        return Vec::new();
    };
    on_source(src, &rel)
        .into_iter()
        .filter_map(|p| p.rsplit('/').next().map(str::to_owned))
        .collect()
}

/// Whether service `name`, configured to start `image_path`, runs the rule file `file`: its
/// key name is the file's sourced `service`, or its program is a file of the rule file's name
/// (compared as Windows compares names; for a program named by an 8.3 alias, the names it has
/// on the volume, `alias_names`, from [`alias_targets`]).
pub fn runs_file(
    name: &str,
    image_path: Option<&str>,
    alias_names: &[String],
    file: &RuleFile,
) -> Option<ServiceMatch> {
    if file
        .service
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(name))
    {
        return Some(ServiceMatch::ServiceName);
    }
    let program = image_path.map(image_file_name);
    program
        .into_iter()
        .chain(alias_names.iter().map(String::as_str))
        .any(|n| n.eq_ignore_ascii_case(&file.name))
        .then_some(ServiceMatch::ImageName)
}

/// A service that runs a rule file, as the SYSTEM hive configures it, its `ImagePath`
/// resolved and looked up under the root; an `ImagePath` that stays unresolved is a note in
/// `notes` (and, in the judgement, a reason).
#[allow(clippy::too_many_arguments)] // the service's facts, each from its own value
pub fn service_facts<S: Source>(
    src: &S,
    env: &ServiceEnv,
    name: &str,
    file: &str,
    matched_by: ServiceMatch,
    image_path: Option<String>,
    start: Option<u32>,
    notes: &mut Vec<String>,
) -> ServiceFacts {
    let mut svc = ServiceFacts {
        name: name.to_owned(),
        file: file.to_owned(),
        matched_by,
        resolved_path: None,
        unresolved: None,
        on_disk: Vec::new(),
        image_path,
        start: StartFacts(start.map(ServiceStart::from_value)),
    };
    let Some(p) = svc.image_path.as_deref() else {
        return svc;
    };
    match resolve(p, env) {
        Ok(rel) => {
            svc.on_disk = on_source(src, &rel);
            // An 8.3 alias the volume does not record cannot be placed: say so rather than
            // call the file missing.
            if svc.on_disk.is_empty() && rel.split('/').any(|c| c.contains('~')) {
                svc.unresolved = Some(format!(
                    "{rel} uses 8.3 short names this volume does not record"
                ));
            }
            svc.resolved_path = Some(rel);
        }
        Err(why) => svc.unresolved = Some(why),
    }
    if let Some(why) = &svc.unresolved {
        notes.push(format!(
            "service {name}: ImagePath {p} not resolved to a file under the root: {why}"
        ));
    }
    svc
}

/// Most entries one `ImagePath` is matched to (twins differing in case, at every level).
const MAX_MATCHES: usize = 16;

/// Every entry under the root that `rel` (as [`resolve`] gives it) names, compared as Windows
/// compares names: ASCII-case-insensitively, and by 8.3 alias where the volume records one.
/// Each as its `/`-separated, escaped path as the file system spells it. Folders are entered
/// only when they are directories; the last component may be any kind (a link is a match too).
pub fn on_source<S: Source>(src: &S, rel: &str) -> Vec<String> {
    nodes_on_source(src, rel)
        .into_iter()
        .map(|(_, _, shown)| shown)
        .collect()
}

/// What [`on_source`] finds, with each entry's node and kind (so it can be read), sorted by
/// the path shown.
pub fn nodes_on_source<S: Source>(src: &S, rel: &str) -> Vec<(S::Node, EntryKind, String)> {
    let Ok((root, _)) = src.root() else {
        return Vec::new();
    };
    let want: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    let mut level: Vec<(S::Node, EntryKind, Vec<String>)> =
        vec![(root, EntryKind::Dir, Vec::new())];
    for (i, name) in want.iter().enumerate() {
        let last = i + 1 == want.len();
        let mut next = Vec::new();
        for (dir, _, shown) in &level {
            let Ok(entries) = src.list(dir) else { continue };
            for e in entries {
                if !e.is_named(name) || (!last && e.kind != EntryKind::Dir) {
                    continue;
                }
                if next.len() >= MAX_MATCHES {
                    break;
                }
                let mut s = shown.clone();
                s.push(escape_bytes(&e.name));
                next.push((e.node, e.kind, s));
            }
        }
        level = next;
        if level.is_empty() {
            break;
        }
    }
    if want.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<(S::Node, EntryKind, String)> = level
        .into_iter()
        .map(|(n, k, s)| (n, k, s.join("/")))
        .collect();
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

/// Resolves a service `ImagePath` to a path relative to the root, lower-cased, `/`-separated
/// (`C:\WINNT\System32\x.exe`, `%SystemRoot%\System32\x.exe`, `\SystemRoot\System32\x.exe`,
/// `System32\x.exe`, quoted paths with arguments), knowing only the Windows folder. `None`
/// when it cannot be placed. The full resolution, with the hive's `ProgramFilesDir` and the
/// reason when it fails, is [`resolve`].
pub fn resolve_image_path(image_path: &str, windir: Option<&str>) -> Option<String> {
    let env = ServiceEnv {
        windir: windir.map(str::to_owned),
        ..Default::default()
    };
    resolve(image_path, &env).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_resolve_to_root_relative_paths() {
        let w = Some("WINNT");
        let want = "winnt/system32/windows media/server/nscm.exe";
        for p in [
            r"C:\WINNT\System32\Windows Media\Server\nscm.exe",
            r#""C:\WINNT\System32\Windows Media\Server\nscm.exe" -service"#,
            r"%SystemRoot%\System32\Windows Media\Server\nscm.exe",
            r"%windir%\system32\windows media\server\NSCM.EXE",
            r"\SystemRoot\System32\Windows Media\Server\nscm.exe",
            r"System32\Windows Media\Server\nscm.exe",
            r"\??\C:\WINNT\System32\Windows Media\Server\nscm.exe",
            r"C:\WINNT\System32\Windows Media\Server\nscm.exe /run",
        ] {
            assert_eq!(resolve_image_path(p, w).as_deref(), Some(want), "{p}");
        }
        assert_eq!(resolve_image_path("", w), None);
        assert_eq!(resolve_image_path("nscm.exe", w), None);
        assert_eq!(
            resolve_image_path(r"%SystemRoot%\x.exe", Some("Windows")).as_deref(),
            Some("windows/x.exe")
        );
    }

    /// Issue 13: which services run a rule file. By the program's name for every built-in
    /// file; by the key name only where the rule has a sourced `service` (MS10-025's
    /// `nsunicast`; MS04-008 has none, its bulletins never name the keys).
    #[test]
    fn services_run_a_file_by_image_name_or_sourced_service_name() {
        let set = crate::rules::load(&[] as &[&std::path::Path]).unwrap();
        let file = |rule: &str, name: &str| {
            set.get(rule)
                .unwrap()
                .files
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
                .unwrap()
                .clone()
        };
        let nscm = file("MS04-008", "Nscm.exe");
        let nsum = file("MS10-025", "nsum.exe");
        assert_eq!(nscm.service, None);
        for p in [
            r"C:\WINNT\System32\Windows Media\Server\nscm.exe",
            r#""C:\Program Files\x\NSCM.EXE" -service"#,
            r"%SystemRoot%/x/Nscm.exe /run",
            "nscm.exe",
        ] {
            assert_eq!(
                runs_file("anything", Some(p), &[], &nscm),
                Some(ServiceMatch::ImageName),
                "{p}"
            );
        }
        for p in [
            r"C:\x\nscm.exe.bak",
            r"C:\x\xnscm.exe",
            r"C:\nscm.exe\svchost.exe",
            "",
        ] {
            assert_eq!(runs_file("nsstation", Some(p), &[], &nscm), None, "{p}");
        }
        assert_eq!(runs_file("nsstation", None, &[], &nscm), None);
        assert_eq!(
            runs_file("NSUNICAST", Some(r"C:\x\renamed.exe"), &[], &nsum),
            Some(ServiceMatch::ServiceName)
        );
        assert_eq!(
            runs_file("other", Some(r"C:\x\NSUM.exe"), &[], &nsum),
            Some(ServiceMatch::ImageName)
        );
        // An 8.3 alias is the file only when the volume says so.
        let alias = Some(r"C:\WINNT\SYSTEM32\WINDOW~1\SERVER\NSCM~1.EXE");
        assert_eq!(
            runs_file("s", alias, &["Nscm.exe".to_owned()], &nscm),
            Some(ServiceMatch::ImageName)
        );
        assert_eq!(
            runs_file("s", alias, &["other.exe".to_owned()], &nscm),
            None
        );
        assert_eq!(runs_file("s", alias, &[], &nscm), None);
    }

    fn env() -> ServiceEnv {
        ServiceEnv {
            windir: Some("WINNT".into()),
            program_files: Some("C:\\Program Files".into()),
            common_files: Some("C:\\Program Files\\Common Files".into()),
            system_root: Some("C:\\WINNT".into()),
        }
    }

    #[test]
    fn windows_expansions() {
        let e = env();
        let s = "winnt/system32/windows media/server/nscm.exe";
        let pf = "program files/windows media/server/nscm.exe";
        for (p, want) in [
            (r"%SystemRoot%\System32\Windows Media\Server\nscm.exe", s),
            (r"%WINDIR%\system32\windows media\server\NSCM.EXE", s),
            (
                r"%SystemDrive%\WINNT\system32\windows media\server\nscm.exe",
                s,
            ),
            (r"\SystemRoot\System32\Windows Media\Server\nscm.exe", s),
            (r"\??\C:\WINNT\System32\Windows Media\Server\nscm.exe", s),
            (r"\\?\C:\WINNT\System32\Windows Media\Server\nscm.exe", s),
            (r"System32\Windows Media\Server\nscm.exe", s),
            (
                r#""%ProgramFiles%\Windows Media\Server\nscm.exe" -service"#,
                pf,
            ),
            (r"%ProgramFiles%\Windows Media\Server\nscm.exe /run", pf),
            (
                r"C:\PROGRA~1\WINDOW~1\Server\nscm.exe",
                "progra~1/window~1/server/nscm.exe",
            ),
            (r"C:\WINNT\.\System32\Windows Media\Server\nscm.exe", s),
        ] {
            assert_eq!(resolve(p, &e).as_deref(), Ok(want), "{p}");
        }
    }

    #[test]
    fn what_cannot_be_placed_stays_unresolved() {
        let e = env();
        for p in [
            "",
            "nscm.exe",
            r"%ProgramW6432%\x\nscm.exe",
            r"%SystemRoot",
            r"D:\WINNT\system32\nscm.exe",
            r"\\server\share\nscm.exe",
            r"C:\WINNT\..\nscm.exe",
        ] {
            assert!(resolve(p, &e).is_err(), "{p}");
        }
        // Without ProgramFilesDir in the hive, %ProgramFiles% is not guessed.
        let bare = ServiceEnv {
            windir: Some("WINNT".into()),
            ..Default::default()
        };
        let err = resolve(r"%ProgramFiles%\WMS\nscm.exe", &bare).unwrap_err();
        assert!(err.contains("ProgramFilesDir"), "{err}");
        // Without a known system drive, any drive letter is taken as this volume.
        assert_eq!(
            resolve(r"D:\WINNT\nscm.exe", &bare).as_deref(),
            Ok("winnt/nscm.exe")
        );
    }
}
