//! Reconciling file evidence with registry evidence, per rule: is the advisory applicable to
//! this Windows, and does what Windows recorded agree with what is on disk? Pure functions,
//! table-tested; the registry is read in `registry.rs`.

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

    // Applicability first: on a Windows the advisory does not cover, the files do not matter.
    if let Some(applies) = &rule.applies_to {
        if let Some(v) = &f.os.current_version {
            if !applies.os_versions.is_empty() && !applies.os_versions.iter().any(|a| a == v.trim())
            {
                reasons.push(reason(
                    ReasonCode::OsNotAffected,
                    format!(
                        "{} is not affected by {}: it covers {}; file evidence is kept for reference",
                        f.os.label(),
                        rule.id,
                        if rule.affected.is_empty() {
                            format!("NT {}", applies.os_versions.join(", "))
                        } else {
                            rule.affected.join("; ")
                        }
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
                let kind = match pt.to_ascii_lowercase().as_str() {
                    "winnt" => " (workstation)",
                    _ => "",
                };
                reasons.push(reason(
                    ReasonCode::ProductTypeNotListed,
                    format!(
                        "product type {pt}{kind} is not one the advisory covers ({}); the verdict stays with the files",
                        applies.product_types.join(", ")
                    ),
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
                    format!(
                        "{sp} is not among the service packs the advisory lists ({}); the verdict stays with the files",
                        applies.service_packs.join(", ")
                    ),
                ));
            }
        }
    }

    let keys = f.update_keys.join(", ");
    if f.software_read {
        match (file_verdict, recorded) {
            (Verdict::Patched, true) => reasons.push(reason(
                    ReasonCode::RegistryCorroborates,
                format!(
                    "the registry records {kb} as installed ({keys}), and the live file agrees{}",
                    if rule.registry_same_as_withdrawn {
                        " (the keys alone cannot tell the re-release from the withdrawn release; the file version does)"
                    } else {
                        ""
                    }
                ),
            )),
            (Verdict::Vulnerable, true) => {
                reasons.push(reason(
                    ReasonCode::RegistryClaimsUpdate,
                    format!("the registry claims {kb} is installed ({keys}), but the live file is older"),
                ));
                if rule.registry_same_as_withdrawn {
                    reasons.push(reason(
                        ReasonCode::WithdrawnReleaseSuspected,
                        format!(
                            "{}'s bulletin says the re-released update writes the same registry keys as the withdrawn original release, which did not fix the flaw; with the live {} below the fixed version, the withdrawn release is the likely explanation",
                            rule.id,
                            rule.file_names()
                        ),
                    ));
                }
            }
            (Verdict::Patched, false) => reasons.push(reason(
                    ReasonCode::NoRegistryRecord,
                format!("no registry record of {kb}: the file was updated by a later update or by hand"),
            )),
            (Verdict::Inconclusive, true) => reasons.push(reason(
                    ReasonCode::RegistryClaimsUpdateUnverified,
                format!("the registry records {kb} as installed ({keys}), but the live file could not be judged"),
            )),
            (Verdict::NotInstalled, true) => reasons.push(reason(
                    ReasonCode::RegistryRecordWithoutFiles,
                format!("the registry records {kb} ({keys}), but no live copy of {} was found", rule.file_names()),
            )),
            (Verdict::Vulnerable, false) => reasons.push(reason(
                    ReasonCode::NoRegistryRecord,
                format!("no registry record of {kb}, consistent with the old file"),
            )),
            _ => {}
        }
    } else {
        reasons.push(reason(
            ReasonCode::RegistryUnavailable,
            "no readable SOFTWARE hive: the verdict rests on file evidence alone".to_owned(),
        ));
    }
    if let Some(dir) = f.uninstall_dir {
        reasons.push(reason(
            ReasonCode::UninstallFolderPresent,
            format!("the update's uninstall folder {dir} exists: {kb} was installed at some time"),
        ));
    }
    (file_verdict, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn rule() -> Rule {
        RuleSet::load_selected(&[] as &[&std::path::Path], &["MS04-008"])
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
        for v in ["4.0", "5.2", "6.0"] {
            for file in [Verdict::Vulnerable, Verdict::Patched, Verdict::NotInstalled] {
                let o = os(v, "Service Pack 6a", "ServerNT");
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
        let set = RuleSet::load(&[] as &[&std::path::Path]).unwrap();
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
}
