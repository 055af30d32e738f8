//! Where a copy lives: the live install, or one of the places Windows keeps inactive copies.
//!
//! Windows keeps old or spare copies of system files in well-known folders: the uninstall
//! folder of every hotfix, service pack backups, the hotfix migration store, the file
//! protection cache and installation sources. A copy there is not the running service, so it
//! is reported but never decides whether the system is vulnerable. This module is pure: it
//! looks only at the path, never at the disk.

pub use crate::model::{Location, LocationClass};

/// How a folder name is matched (ASCII case-insensitively, as Windows does).
#[derive(Debug, Clone, Copy)]
enum Pattern {
    Exact(&'static str),
    /// `prefix…suffix`, e.g. `$NTUninstall…$`.
    Around(&'static str, &'static str),
}

/// One backup location rule.
#[derive(Debug, Clone, Copy)]
pub struct BackupRule {
    pub id: &'static str,
    pattern: Pattern,
    pub description: &'static str,
}

/// The inactive-copy folders of Windows 2000 and later, checked in this order.
pub const BACKUP_RULES: &[BackupRule] = &[
    BackupRule {
        id: "ntservicepackuninstall",
        pattern: Pattern::Exact("$ntservicepackuninstall$"),
        description: "service pack uninstall backup ($NTServicePackUninstall$)",
    },
    BackupRule {
        id: "ntuninstall",
        pattern: Pattern::Around("$ntuninstall", "$"),
        description: "hotfix uninstall backup ($NTUninstall…$)",
    },
    BackupRule {
        id: "hf_mig",
        pattern: Pattern::Exact("$hf_mig$"),
        description: "hotfix migration store ($hf_mig$)",
    },
    BackupRule {
        id: "dllcache",
        pattern: Pattern::Exact("dllcache"),
        description: "Windows File Protection cache (dllcache)",
    },
    BackupRule {
        id: "servicepackfiles",
        pattern: Pattern::Exact("servicepackfiles"),
        description: "service pack source files (ServicePackFiles)",
    },
    BackupRule {
        id: "i386",
        pattern: Pattern::Exact("i386"),
        description: "installation source (I386)",
    },
    BackupRule {
        id: "softwaredistribution",
        pattern: Pattern::Exact("softwaredistribution"),
        description: "Windows Update download cache (SoftwareDistribution)",
    },
];

fn matches(pattern: Pattern, name: &[u8]) -> bool {
    match pattern {
        Pattern::Exact(p) => name.eq_ignore_ascii_case(p.as_bytes()),
        Pattern::Around(pre, suf) => {
            name.len() >= pre.len() + suf.len()
                && name[..pre.len()].eq_ignore_ascii_case(pre.as_bytes())
                && name[name.len() - suf.len()..].eq_ignore_ascii_case(suf.as_bytes())
        }
    }
}

/// Classifies a file by the folders on its path relative to the scanned root (the file name
/// itself is not part of `folders`). The first folder, from the root down, that matches a
/// backup rule wins.
pub fn classify<'a, I>(folders: I) -> Location
where
    I: IntoIterator<Item = &'a [u8]>,
{
    for folder in folders {
        if let Some(rule) = BACKUP_RULES.iter().find(|r| matches(r.pattern, folder)) {
            return Location {
                class: LocationClass::Backup,
                rule: Some(rule.id),
                // Escaped losslessly, as every name (a bad byte is `\xff`, not U+FFFD).
                folder: Some(crate::escape::escape_bytes(folder)),
            };
        }
    }
    Location::live()
}

/// The `location_rule` of a live copy a service's `ImagePath` names (issue 10 case 3): the copy
/// a service starts is live whatever folder it is in. Its label is `live:service`.
pub const SERVICE_RULE: &str = "service";

/// The location of a copy a service starts, from the location its folders gave it: `live`,
/// rule `service`, and the inactive-copy folder it is in (when it is in one) kept as
/// `location_folder`. A copy already classed live keeps its plain `live` class.
pub fn started_by_service(by_folders: &Location) -> Location {
    if by_folders.is_live() {
        return by_folders.clone();
    }
    Location {
        class: LocationClass::Live,
        rule: Some(SERVICE_RULE),
        folder: by_folders.folder.clone(),
    }
}

pub use crate::model::rule::on_install_path;

/// The note a copy in a backup or cache folder carries: one constructor, so that the copy a
/// service turns live loses exactly this note and no other.
pub fn inactive_note(loc: &Location) -> Option<String> {
    let rule = loc.rule?;
    let what = describe(rule).unwrap_or(rule);
    Some(super::prose::inactive_copy(what))
}

/// Why a copy in an inactive folder does not count: an uninstall backup (the files an update
/// replaced) or another inactive copy (a cache or an installation source).
pub fn count_why(loc: &Location) -> crate::model::CountWhy {
    match loc.rule {
        Some("ntservicepackuninstall" | "ntuninstall" | "hf_mig") => {
            crate::model::CountWhy::BackupCopy
        }
        _ => crate::model::CountWhy::InactiveCopy,
    }
}

/// The description of a backup rule id, for reports.
pub fn describe(rule: &str) -> Option<&'static str> {
    if rule == SERVICE_RULE {
        return Some("a copy a service starts: live whatever folder it is in");
    }
    BACKUP_RULES
        .iter()
        .find(|r| r.id == rule)
        .map(|r| r.description)
}

/// True when the folders end with `expected` (compared case-insensitively, `/`-separated),
/// e.g. `WINNT/system32/Windows Media/Server` ends with `system32/Windows Media/Server`.
pub fn ends_with_dir<'a, I>(folders: I, expected: &str) -> bool
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: DoubleEndedIterator,
{
    let mut have = folders.into_iter().rev();
    for want in expected.rsplit('/').filter(|s| !s.is_empty()) {
        match have.next() {
            Some(f) if f.eq_ignore_ascii_case(want.as_bytes()) => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(path: &str) -> Location {
        let parts: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
        classify(parts[..parts.len() - 1].iter().copied())
    }

    #[test]
    fn live_install_folders_are_live() {
        for p in [
            "WINNT/system32/Windows Media/Server/Nscm.exe",
            "Windows/System32/windows media/server/nspmon.exe",
            "nscm.exe",
            "Program Files/Windows Media/nscm.exe",
            "WINNT/$NTUninstall/nscm.exe", // no closing $: not the uninstall pattern
            "WINNT/dllcache2/nscm.exe",
        ] {
            assert_eq!(class_of(p), Location::live(), "{p}");
        }
    }

    #[test]
    fn every_backup_rule_is_recognised_case_insensitively() {
        let cases = [
            (
                "WINNT/$NTUninstallKB832359$/nscm.exe",
                "ntuninstall",
                "$NTUninstallKB832359$",
            ),
            (
                "winnt/$ntuninstallq123456$/x/nscm.exe",
                "ntuninstall",
                "$ntuninstallq123456$",
            ),
            (
                "WINNT/$NtServicePackUninstall$/nscm.exe",
                "ntservicepackuninstall",
                "$NtServicePackUninstall$",
            ),
            (
                "WINNT/$hf_mig$/KB832359/SP4QFE/Nscm.exe",
                "hf_mig",
                "$hf_mig$",
            ),
            ("WINNT/system32/DLLCACHE/nscm.exe", "dllcache", "DLLCACHE"),
            (
                "WINNT/ServicePackFiles/i386/nspmon.exe",
                "servicepackfiles",
                "ServicePackFiles",
            ),
            ("I386/nscm.exe", "i386", "I386"),
            (
                "WINDOWS/SoftwareDistribution/Download/x/nscm.exe",
                "softwaredistribution",
                "SoftwareDistribution",
            ),
        ];
        for (p, rule, folder) in cases {
            let loc = class_of(p);
            assert_eq!(loc.class, LocationClass::Backup, "{p}");
            assert_eq!(loc.rule, Some(rule), "{p}");
            assert_eq!(loc.folder.as_deref(), Some(folder), "{p}");
            assert!(describe(rule).is_some());
            assert_eq!(loc.label(), format!("backup:{rule}"));
        }
    }

    #[test]
    fn a_copy_a_service_starts_is_live_wherever_it_is() {
        let loc = started_by_service(&class_of("WINNT/$NTUninstallKB832359$/nscm.exe"));
        assert!(loc.is_live());
        assert_eq!(loc.label(), "live:service");
        assert_eq!(loc.folder.as_deref(), Some("$NTUninstallKB832359$"));
        let live = class_of("WINNT/system32/Windows Media/Server/nscm.exe");
        assert_eq!(started_by_service(&live), Location::live());
    }

    #[test]
    fn folders_on_an_install_path() {
        let f = |p: &'static str| p.split('/').map(str::as_bytes).collect::<Vec<_>>();
        let dir = "system32/Windows Media/Server";
        for p in [
            "WINNT/system32",
            "WINNT/SYSTEM32/windows media",
            "WINNT/system32/Windows Media/Server",
        ] {
            assert!(on_install_path(f(p), dir), "{p}");
        }
        for p in [
            "WINNT/Server",
            "Windows Media",
            "WINNT/system32/Server",
            "x",
        ] {
            assert!(!on_install_path(f(p), dir), "{p}");
        }
    }

    #[test]
    fn the_file_name_itself_never_makes_a_backup() {
        // A file *named* like a backup folder is still classified by its folders only.
        assert!(class_of("WINNT/system32/dllcache").is_live());
    }

    #[test]
    fn expected_folder_suffix() {
        let f = |p: &'static str| p.split('/').map(str::as_bytes).collect::<Vec<_>>();
        let want = "system32/Windows Media/Server";
        assert!(ends_with_dir(
            f("WINNT/system32/Windows Media/Server"),
            want
        ));
        assert!(ends_with_dir(
            f("WINDOWS/SYSTEM32/WINDOWS MEDIA/SERVER"),
            want
        ));
        assert!(!ends_with_dir(f("WINNT/system32/Windows Media"), want));
        assert!(!ends_with_dir(f("Server"), want));
        assert!(!ends_with_dir(f("temp/Server"), want));
        assert!(ends_with_dir(f("anything"), ""));
    }
}
