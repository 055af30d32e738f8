//! Reconciling file evidence with registry evidence, per rule: is the advisory applicable to
//! this Windows, and does what Windows recorded agree with what is on disk? Pure functions,
//! table-tested; the registry is read in `registry.rs`.
//!
//! Over 400 lines with its tests (about 250: the reconcile and OS-identity tables).

use crate::judge::prose;
use crate::model::system::OsFacts;
use crate::model::{Reason, ReasonCode, Rule, Verdict};

/// The registry facts one rule's reconciliation looks at.
#[derive(Debug, Clone, Copy)]
pub struct RuleSystemFacts<'a> {
    /// The SOFTWARE hive was read, so a missing update record is meaningful.
    pub software_read: bool,
    pub os: &'a OsFacts,
    /// Keys recording the update as installed.
    pub update_keys: &'a [String],
    /// `%Windir%\<uninstall_dir>` when it exists.
    pub uninstall_dir: Option<&'a str>,
}

fn reason(code: ReasonCode, message: String) -> Reason {
    Reason::new(code, message)
}

/// The NT version (`CurrentVersion`) a `CurrentBuildNumber` belongs to, for the release builds
/// of each Windows (sources in docs/evidence.md). `None` for a build not in the table (betas,
/// service builds kbscan does not know): no reading, not a contradiction.
pub fn nt_version_of_build(build: &str) -> Option<&'static [&'static str]> {
    let n: u32 = build.trim().parse().ok()?;
    Some(match n {
        528 => &["3.1"],
        807 => &["3.5"],
        1057 => &["3.51"],
        1381 => &["4.0"],
        2195 => &["5.0"],
        2600 => &["5.1"],
        // Server 2003 and XP Professional x64 Edition.
        3790 => &["5.2"],
        6000..=6003 => &["6.0"],
        7600 | 7601 => &["6.1"],
        9200 => &["6.2"],
        9600 => &["6.3"],
        // Windows 10 and later keep CurrentVersion at 6.3.
        10000.. => &["6.3"],
        _ => return None,
    })
}

/// The NT versions a `ProductName` names, `None` when kbscan cannot tell from it.
pub fn nt_version_of_name(name: &str) -> Option<&'static [&'static str]> {
    let n = name.to_ascii_lowercase();
    let has = |s: &str| n.contains(s);
    Some(if has("server 2003") {
        &["5.2"]
    } else if has("windows xp") {
        // XP Professional x64 Edition is NT 5.2.
        &["5.1", "5.2"]
    } else if has("windows 2000") {
        &["5.0"]
    } else if has("server 2008 r2") || has("windows 7") {
        &["6.1"]
    } else if has("server 2008") || has("vista") {
        &["6.0"]
    } else if has("server 2012 r2") || has("windows 8.1") {
        &["6.3"]
    } else if has("server 2012") || has("windows 8") {
        &["6.2"]
    } else if has("windows 10")
        || has("windows 11")
        || has("server 2016")
        || has("server 2019")
        || has("server 2022")
    {
        &["6.3"]
    } else if has("windows nt") {
        &["3.1", "3.5", "3.51", "4.0"]
    } else {
        return None;
    })
}

/// What the OS facts say about which Windows this is, cross-checked (issue 10 case 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsIdentity {
    /// Each fact that names an NT version, with the versions it allows: (`CurrentVersion 4.0`,
    /// `["4.0"]`), (`CurrentBuildNumber 2195`, `["5.0"]`)…
    pub readings: Vec<(String, Vec<&'static str>)>,
    /// Why the facts contradict each other, when they do.
    pub conflict: Option<String>,
}

/// Cross-checks `CurrentVersion`, `CurrentBuildNumber`, `ProductName` and `ProductType`.
pub fn os_identity(os: &OsFacts) -> OsIdentity {
    let mut readings: Vec<(String, Vec<&'static str>)> = Vec::new();
    // CurrentVersion is compared as given; the others map through the tables above.
    let cv = os.current_version.as_deref().map(str::trim);
    if let Some(b) = &os.build {
        if let Some(v) = nt_version_of_build(b) {
            readings.push((prose::os_reading_build(b.trim()), v.to_vec()));
        }
    }
    if let Some(n) = &os.product_name {
        if let Some(v) = nt_version_of_name(n) {
            readings.push((prose::os_reading_name(n), v.to_vec()));
        }
    }
    let mut conflicts = Vec::new();
    if let Some(cv) = cv {
        for (what, vs) in &readings {
            if !vs.contains(&cv) {
                conflicts.push(prose::os_version_conflict(cv, what, vs));
            }
        }
    }
    // Build and product name against each other (also when CurrentVersion is unusable).
    if let [(a, va), (b, vb)] = &readings[..] {
        if !va.iter().any(|v| vb.contains(v)) {
            conflicts.push(prose::os_readings_conflict(a, va, b, vb));
        }
    }
    // ProductType (SYSTEM hive) against a ProductName that says server or workstation.
    if let (Some(pt), Some(name)) = (&os.product_type, &os.product_name) {
        let pt_l = pt.trim().to_ascii_lowercase();
        let name_l = name.to_ascii_lowercase();
        let server_name = name_l.contains("server");
        let workstation_name = name_l.contains("windows xp")
            || name_l.contains("professional")
            || name_l.contains("workstation");
        let contradicts = match pt_l.as_str() {
            "winnt" => server_name,
            "servernt" | "lanmannt" => workstation_name && !server_name,
            _ => false,
        };
        if contradicts {
            conflicts.push(prose::os_product_type_conflict(pt, name));
        }
    }
    if let Some(cv) = cv {
        readings.insert(0, (prose::os_reading_version(cv), Vec::new()));
    }
    OsIdentity {
        readings,
        conflict: (!conflicts.is_empty()).then(|| prose::os_conflicts(&conflicts)),
    }
}

/// The rule's verdict for the system, from the file verdict and the registry facts, with the
/// reasons that explain the reconciliation.
pub fn reconcile(
    rule: &Rule,
    file_verdict: Verdict,
    f: &RuleSystemFacts<'_>,
) -> (Verdict, Vec<Reason>) {
    let mut reasons = Vec::new();
    let kb = &rule.kb;
    let recorded = !f.update_keys.is_empty();

    // Values of the wrong type were not used (issue 10 case 5): say which.
    if !f.os.wrong_type.is_empty() {
        // CurrentVersion itself unusable: applicability is unknown.
        let version_unknown = f.os.current_version.is_none()
            && f.os
                .wrong_type
                .iter()
                .any(|w| w.value.ends_with("\\CurrentVersion"));
        reasons.push(reason(
            ReasonCode::RegistryValueWrongType,
            prose::registry_wrong_type(&f.os.wrong_type, version_unknown),
        ));
    }
    // The OS facts cross-checked: a contradiction makes applicability unknown, never
    // `not_applicable`: the file evidence decides.
    let identity = os_identity(f.os);
    if let Some(why) = &identity.conflict {
        reasons.push(reason(
            ReasonCode::OsIdentityConflict,
            prose::os_identity_conflict(why, &rule.id),
        ));
    }

    // Applicability first: on a Windows the advisory does not cover, the files do not matter.
    if let Some(applies) = &rule.applies_to {
        // An empty CurrentVersion names no Windows: applicability unknown, the files decide.
        let cv =
            f.os.current_version
                .as_ref()
                .filter(|v| !v.trim().is_empty());
        if let (Some(v), None) = (cv, &identity.conflict) {
            if !applies.os_versions.is_empty() && !applies.os_versions.iter().any(|a| a == v.trim())
            {
                reasons.push(reason(
                    ReasonCode::OsNotAffected,
                    prose::os_not_affected(
                        &f.os.label(),
                        &rule.id,
                        &rule.affected,
                        &applies.os_versions,
                    ),
                ));
                return (Verdict::NotApplicable, reasons);
            }
        }
        if let Some(pt) = &f.os.product_type {
            if !applies.product_types.is_empty()
                && !applies
                    .product_types
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(pt))
            {
                reasons.push(reason(
                    ReasonCode::ProductTypeNotListed,
                    prose::product_type_not_listed(pt, &applies.product_types),
                ));
            }
        }
        if let Some(sp) = &f.os.csd_version {
            if !applies.service_packs.is_empty()
                && !applies
                    .service_packs
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(sp.trim()))
            {
                reasons.push(reason(
                    ReasonCode::ServicePackNotListed,
                    prose::service_pack_not_listed(sp, &applies.service_packs),
                ));
            }
        }
    }

    let keys = prose::registry_keys(f.update_keys);
    if f.software_read {
        match (file_verdict, recorded) {
            (Verdict::Patched, true) => reasons.push(reason(
                ReasonCode::RegistryCorroborates,
                prose::registry_corroborates(kb, &keys, rule.registry_same_as_withdrawn),
            )),
            (Verdict::Vulnerable, true) => {
                reasons.push(reason(
                    ReasonCode::RegistryClaimsUpdate,
                    prose::registry_claims_update(kb, &keys),
                ));
                if rule.registry_same_as_withdrawn {
                    reasons.push(reason(
                        ReasonCode::WithdrawnReleaseSuspected,
                        prose::withdrawn_release_suspected(&rule.id, &rule.file_names()),
                    ));
                }
            }
            (Verdict::Patched, false) => reasons.push(reason(
                ReasonCode::NoRegistryRecord,
                prose::no_record_but_patched(kb),
            )),
            (Verdict::Inconclusive, true) => reasons.push(reason(
                ReasonCode::RegistryClaimsUpdateUnverified,
                prose::registry_claims_unverified(kb, &keys),
            )),
            (Verdict::NotInstalled, true) => reasons.push(reason(
                ReasonCode::RegistryRecordWithoutFiles,
                prose::registry_record_without_files(kb, &keys, &rule.file_names()),
            )),
            (Verdict::Vulnerable, false) => reasons.push(reason(
                ReasonCode::NoRegistryRecord,
                prose::no_record_old_file(kb),
            )),
            _ => {}
        }
    } else {
        reasons.push(reason(
            ReasonCode::RegistryUnavailable,
            prose::registry_unavailable(),
        ));
    }
    if let Some(dir) = f.uninstall_dir {
        reasons.push(reason(
            ReasonCode::UninstallFolderPresent,
            prose::uninstall_folder_present(dir, kb),
        ));
    }
    (file_verdict, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::system::WrongTypeValue;

    fn rule() -> Rule {
        crate::rules::load_selected(&[] as &[&std::path::Path], &["MS04-008"])
            .unwrap()
            .rules
            .remove(0)
    }

    fn os(v: &str, sp: &str, pt: &str) -> OsFacts {
        OsFacts {
            product_name: Some("Microsoft Windows 2000".into()),
            current_version: Some(v.into()),
            build: Some("2195".into()),
            csd_version: Some(sp.into()),
            product_type: Some(pt.into()),
            control_set: Some("ControlSet001".into()),
            wrong_type: Vec::new(),
        }
    }

    const KEY: &str = "Microsoft\\Updates\\Windows Media Services\\KB832359";

    fn run(
        file: Verdict,
        os: &OsFacts,
        recorded: bool,
        read: bool,
    ) -> (Verdict, Vec<&'static str>) {
        let keys = if recorded {
            vec![KEY.to_owned()]
        } else {
            vec![]
        };
        let f = RuleSystemFacts {
            software_read: read,
            os,
            update_keys: &keys,
            uninstall_dir: None,
        };
        let (v, r) = reconcile(&rule(), file, &f);
        (v, r.iter().map(|r| r.code.as_str()).collect())
    }

    #[test]
    fn reconcile_table() {
        use Verdict::*;
        let w2k = os("5.0", "Service Pack 4", "ServerNT");
        let cases = [
            (Patched, &w2k, true, true, Patched, "registry_corroborates"),
            (
                Vulnerable,
                &w2k,
                true,
                true,
                Vulnerable,
                "registry_claims_update",
            ),
            (Patched, &w2k, false, true, Patched, "no_registry_record"),
            (
                Vulnerable,
                &w2k,
                false,
                true,
                Vulnerable,
                "no_registry_record",
            ),
            (
                Inconclusive,
                &w2k,
                true,
                true,
                Inconclusive,
                "registry_claims_update_unverified",
            ),
            (
                NotInstalled,
                &w2k,
                true,
                true,
                NotInstalled,
                "registry_record_without_files",
            ),
            (
                Vulnerable,
                &w2k,
                false,
                false,
                Vulnerable,
                "registry_unavailable",
            ),
            (Patched, &w2k, true, false, Patched, "registry_unavailable"),
        ];
        for (file, o, rec, read, want, code) in cases {
            let (v, codes) = run(file, o, rec, read);
            assert_eq!(v, want, "{file:?} rec={rec} read={read}");
            assert!(codes.contains(&code), "{file:?}: {codes:?}");
        }
    }

    #[test]
    fn nt4_and_server_2003_are_not_applicable_whatever_the_file() {
        for (v, build, name) in [
            ("4.0", "1381", "Microsoft Windows NT"),
            ("5.2", "3790", "Microsoft Windows Server 2003"),
            ("6.0", "6002", "Windows Server (R) 2008 Standard"),
        ] {
            for file in [Verdict::Vulnerable, Verdict::Patched, Verdict::NotInstalled] {
                let mut o = os(v, "Service Pack 6a", "ServerNT");
                o.build = Some(build.into());
                o.product_name = Some(name.into());
                let (got, codes) = run(file, &o, false, true);
                assert_eq!(got, Verdict::NotApplicable, "{v} {file:?}");
                assert_eq!(codes, ["os_not_affected"]);
            }
        }
    }

    #[test]
    fn workstation_and_old_service_packs_are_notes() {
        let o = os("5.0", "Service Pack 4", "WinNT");
        let (v, codes) = run(Verdict::Vulnerable, &o, false, true);
        assert_eq!(v, Verdict::Vulnerable);
        assert!(codes.contains(&"product_type_not_listed"));
        let o = os("5.0", "Service Pack 1", "LanmanNT");
        let (v, codes) = run(Verdict::Patched, &o, true, true);
        assert_eq!(v, Verdict::Patched);
        assert!(codes.contains(&"service_pack_not_listed"));
        assert!(!codes.contains(&"product_type_not_listed"));
    }

    #[test]
    fn unknown_os_changes_nothing() {
        let o = OsFacts::default();
        let (v, codes) = run(Verdict::Vulnerable, &o, false, true);
        assert_eq!(v, Verdict::Vulnerable);
        assert_eq!(codes, ["no_registry_record"]);
    }

    #[test]
    fn a_record_of_a_release_that_was_withdrawn_is_suspected() {
        let set = crate::rules::load(&[] as &[&std::path::Path]).unwrap();
        let ms10 = set.get("MS10-025").unwrap();
        let w2k = os("5.0", "Service Pack 4", "ServerNT");
        let keys = vec!["Microsoft\\Windows NT\\CurrentVersion\\HotFix\\KB980858_WM41".to_owned()];
        let f = RuleSystemFacts {
            software_read: true,
            os: &w2k,
            update_keys: &keys,
            uninstall_dir: None,
        };
        let (v, r) = reconcile(ms10, Verdict::Vulnerable, &f);
        let codes: Vec<_> = r.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(v, Verdict::Vulnerable);
        assert_eq!(
            codes,
            ["registry_claims_update", "withdrawn_release_suspected"]
        );
        // Patched: corroborated, not suspected.
        let (_, r) = reconcile(ms10, Verdict::Patched, &f);
        assert!(r
            .iter()
            .all(|r| r.code != ReasonCode::WithdrawnReleaseSuspected));
        // A rule without the flag never says it.
        let (_, r) = reconcile(set.get("MS04-008").unwrap(), Verdict::Vulnerable, &f);
        assert!(r
            .iter()
            .all(|r| r.code != ReasonCode::WithdrawnReleaseSuspected));
    }

    fn wrong(value: &str, expected: &'static str, found: &str, data: &str) -> WrongTypeValue {
        WrongTypeValue {
            value: value.into(),
            expected,
            found: found.into(),
            data: data.into(),
        }
    }

    /// Issue 10 case 5: a CurrentVersion of the wrong type is not used: applicability is
    /// unknown and the files decide, never `not_applicable`.
    #[test]
    fn a_current_version_of_the_wrong_type_is_not_used() {
        let cv = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\CurrentVersion";
        for (found, data) in [("REG_BINARY", "<RegBinary, 8 bytes>"), ("REG_DWORD", "5")] {
            for (build, name) in [
                ("2195", "Microsoft Windows 2000"),
                ("3790", "Microsoft Windows Server 2003"),
            ] {
                let mut o = os("5.0", "Service Pack 4", "ServerNT");
                o.current_version = None;
                o.build = Some(build.into());
                o.product_name = Some(name.into());
                o.wrong_type = vec![wrong(cv, "REG_SZ", found, data)];
                for file in [Verdict::Vulnerable, Verdict::Patched, Verdict::NotInstalled] {
                    let (v, codes) = run(file, &o, false, true);
                    assert_eq!(v, file, "{found} {build}");
                    assert!(codes.contains(&"registry_value_wrong_type"), "{codes:?}");
                    assert!(!codes.contains(&"os_not_affected"), "{codes:?}");
                }
            }
        }
    }

    /// Issue 10 case 5: a forged CurrentVersion "4.0" on a Windows 2000 (build 2195, name
    /// Windows 2000) is a contradiction, not an NT 4.0.
    #[test]
    fn a_contradictory_identity_is_a_conflict_not_a_different_windows() {
        let forged = [
            ("4.0", "2195", "Microsoft Windows 2000", "ServerNT"),
            ("5.2", "2195", "Microsoft Windows 2000", "ServerNT"),
            ("4.0", "1381", "Microsoft Windows 2000", "ServerNT"),
            ("5.2", "3790", "Microsoft Windows 2000", "ServerNT"),
            ("5.0", "3790", "Microsoft Windows Server 2003", "ServerNT"),
            ("5.2", "3790", "Microsoft Windows Server 2003", "WinNT"),
        ];
        for (cv, build, name, pt) in forged {
            let mut o = os(cv, "Service Pack 4", pt);
            o.build = Some(build.into());
            o.product_name = Some(name.into());
            assert!(
                os_identity(&o).conflict.is_some(),
                "{cv} {build} {name} {pt}"
            );
            let (v, codes) = run(Verdict::Vulnerable, &o, false, true);
            assert_eq!(v, Verdict::Vulnerable, "{cv} {build} {name}");
            assert!(codes.contains(&"os_identity_conflict"), "{codes:?}");
            assert!(!codes.contains(&"os_not_affected"), "{codes:?}");
        }
        // Consistent identities are no conflict.
        for (cv, build, name) in [
            ("5.0", "2195", "Microsoft Windows 2000"),
            ("4.0", "1381", "Microsoft Windows NT"),
            ("5.2", "3790", "Microsoft Windows Server 2003"),
            ("5.2", "3790", "Microsoft Windows XP"),
            ("5.1", "2600", "Microsoft Windows XP"),
            ("5.0", "2128", "Microsoft Windows 2000"), // a beta build: not in the table
        ] {
            let mut o = os(cv, "", "ServerNT");
            o.build = Some(build.into());
            o.product_name = Some(name.into());
            o.product_type = None;
            assert_eq!(os_identity(&o).conflict, None, "{cv} {build} {name}");
        }
    }
}
