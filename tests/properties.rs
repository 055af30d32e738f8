//! Property tests: version ordering and text round trips, and the verdict against a simple
//! oracle written from docs/judgement.md.

use std::cmp::Ordering;

use kbscan::judge::{self, CandidateFacts};
use kbscan::model::version::FileVersion;
use kbscan::model::{Status, Verdict};
use proptest::prelude::*;

fn any_version() -> impl Strategy<Value = FileVersion> {
    prop_oneof![
        // Anywhere in the 64-bit space.
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>())
            .prop_map(|(a, b, c, d)| FileVersion::new(a, b, c, d)),
        // Close to each other, so that equal prefixes and ties are common.
        (0u16..3, 0u16..3, 0u16..3, 0u16..3).prop_map(|(a, b, c, d)| FileVersion::new(a, b, c, d)),
        // Around the MS04-008 fixed version.
        (3900u16..3960).prop_map(|r| FileVersion::new(4, 1, 0, r)),
    ]
}

fn key(v: FileVersion) -> (u16, u16, u16, u16) {
    (v.major, v.minor, v.build, v.revision)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ordering_is_the_four_number_lexicographic_order(a in any_version(), b in any_version()) {
        prop_assert_eq!(a.cmp(&b), key(a).cmp(&key(b)));
        prop_assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)));
        prop_assert_eq!(b.cmp(&a), a.cmp(&b).reverse());
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
    }

    #[test]
    fn ordering_is_transitive(a in any_version(), b in any_version(), c in any_version()) {
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
        if a < b && b < c {
            prop_assert!(a < c);
        }
    }

    #[test]
    fn display_parses_back(v in any_version()) {
        prop_assert_eq!(FileVersion::parse_lenient(&v.to_string()), Ok(v));
        // The other spellings Microsoft's tools wrote read back the same.
        let commas = format!("{}, {}, {}, {}", v.major, v.minor, v.build, v.revision);
        prop_assert_eq!(FileVersion::parse_lenient(&commas), Ok(v));
        let suffixed = format!("{v} (srv_wms.040115-1200)");
        prop_assert_eq!(FileVersion::parse_lenient(&suffixed), Ok(v));
        let padded = format!("{}.{}.{:05}.{}", v.major, v.minor, v.build, v.revision);
        prop_assert_eq!(FileVersion::parse_lenient(&padded), Ok(v));
    }

    #[test]
    fn from_ms_ls_splits_the_dwords(ms in any::<u32>(), ls in any::<u32>()) {
        let v = FileVersion::from_ms_ls(ms, ls);
        prop_assert_eq!(key(v), ((ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16));
    }
}

/// One generated candidate: what the file is, before any judgement.
#[derive(Debug, Clone)]
enum Kind {
    /// A PE with this version (or with no readable version).
    Pe(Option<FileVersion>),
    /// Could not be read as a PE.
    Error,
    /// Not a regular file.
    Skipped,
}

fn candidate() -> impl Strategy<Value = (Kind, bool)> {
    let kind = prop_oneof![
        6 => proptest::option::weighted(0.85, any_version()).prop_map(Kind::Pe),
        1 => Just(Kind::Error),
        1 => Just(Kind::Skipped),
    ];
    (kind, any::<bool>())
}

/// docs/judgement.md §5, from the versions themselves rather than from statuses.
fn oracle(required: FileVersion, cands: &[(Kind, bool)], unreadable: usize) -> Verdict {
    let live = || cands.iter().filter(|(_, live)| *live).map(|(k, _)| k);
    if live().any(|k| matches!(k, Kind::Pe(Some(v)) if *v < required)) {
        Verdict::Vulnerable
    } else if live().any(|k| matches!(k, Kind::Pe(Some(v)) if *v >= required)) {
        Verdict::Patched
    } else if live().any(|k| matches!(k, Kind::Pe(None) | Kind::Error)) || unreadable > 0 {
        Verdict::Inconclusive
    } else {
        Verdict::NotInstalled
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn verdict_matches_the_oracle(
        required in any_version(),
        cands in proptest::collection::vec(candidate(), 0..8),
        unreadable in prop_oneof![3 => Just(0usize), 1 => 1usize..4],
    ) {
        let facts: Vec<CandidateFacts<'_>> = cands
            .iter()
            .map(|(k, live)| {
                let (status, version) = match k {
                    Kind::Pe(v) => (judge::status_for(*v, required), *v),
                    Kind::Error => (Status::Error, None),
                    Kind::Skipped => (Status::Skipped, None),
                };
                CandidateFacts {
                    path: "WINNT/system32/Windows Media/Server/Nscm.exe",
                    status,
                    live: *live,
                    superseded: false,
                    version,
                    required,
                    error: None,
                }
            })
            .collect();
        let (verdict, reasons) = judge::rule_verdict("Nscm.exe", &facts, unreadable);
        prop_assert_eq!(verdict, oracle(required, &cands, unreadable));
        prop_assert!(!reasons.is_empty());
        // Never `patched` while a live copy is vulnerable, whatever else is there.
        if facts.iter().any(|c| c.live && c.status == Status::Vulnerable) {
            prop_assert_eq!(verdict, Verdict::Vulnerable);
        }
        // Backup copies and skipped entries never change the verdict.
        let live_only: Vec<CandidateFacts<'_>> = facts
            .iter()
            .copied()
            .filter(|c| c.live && c.status != Status::Skipped)
            .collect();
        prop_assert_eq!(judge::rule_verdict("Nscm.exe", &live_only, unreadable).0, verdict);
    }

    #[test]
    fn status_is_the_comparison_with_the_fixed_version(v in any_version(), fixed in any_version()) {
        let s = judge::status_for(Some(v), fixed);
        prop_assert_eq!(s == Status::Vulnerable, v < fixed);
        prop_assert_eq!(s == Status::Patched, v >= fixed);
        prop_assert_eq!(judge::status_for(None, fixed), Status::UnknownVersion);
    }

    #[test]
    fn combining_rules_keeps_the_most_urgent(vs in proptest::collection::vec(
        prop_oneof![Just(Verdict::Vulnerable), Just(Verdict::Inconclusive), Just(Verdict::Patched), Just(Verdict::NotInstalled)], 0..5)) {
        let want = if vs.contains(&Verdict::Vulnerable) {
            Verdict::Vulnerable
        } else if vs.contains(&Verdict::Inconclusive) {
            Verdict::Inconclusive
        } else if vs.contains(&Verdict::Patched) {
            Verdict::Patched
        } else {
            Verdict::NotInstalled
        };
        prop_assert_eq!(judge::combine(vs.iter().copied()), want);
    }
}

// Issue 10 case 5: registry OS facts. The oracle: `not_applicable` only when CurrentVersion
// is a REG_SZ naming a Windows the advisory does not cover and no other fact (build number,
// product name, product type, a value of the wrong type) gives a reading under which it
// applies or contradicts it. Otherwise the file verdict stands.

use kbscan::judge::reconcile::{reconcile, RuleSystemFacts};
use kbscan::model::system::{OsFacts, WrongTypeValue};

/// One value as the hive could hold it: absent, of its documented type, or of another.
#[derive(Debug, Clone)]
enum Val {
    Absent,
    Sz(&'static str),
    Wrong(&'static str, &'static str),
}

fn val(good: &'static [&'static str]) -> impl Strategy<Value = Val> {
    prop_oneof![
        1 => Just(Val::Absent),
        5 => proptest::sample::select(good).prop_map(Val::Sz),
        2 => proptest::sample::select(&[("REG_BINARY", "<RegBinary, 8 bytes>"), ("REG_DWORD", "5"), ("REG_MULTI_SZ", "5.0"), ("REG_EXPAND_SZ", "4.0")][..])
            .prop_map(|(t, d)| Val::Wrong(t, d)),
    ]
}

const VERSIONS: &[&str] = &[
    "4.0", "5.0", "5.1", "5.2", "6.0", "3.51", " 5.0", "5.00", "",
];
const BUILDS: &[&str] = &["1381", "2195", "2600", "3790", "6002", "2128", "x", "10240"];
const NAMES: &[&str] = &[
    "Microsoft Windows 2000",
    "Microsoft Windows NT",
    "Microsoft Windows Server 2003",
    "Microsoft Windows XP",
    "Windows Server (R) 2008 Standard",
    "Something else",
];
const TYPES: &[&str] = &["ServerNT", "LanmanNT", "WinNT", "Other"];

fn os_facts() -> impl Strategy<Value = OsFacts> {
    (val(VERSIONS), val(BUILDS), val(NAMES), val(TYPES)).prop_map(|(cv, b, n, t)| {
        let mut os = OsFacts::default();
        for (field, v, name) in [
            (&mut os.current_version, cv, "CurrentVersion"),
            (&mut os.build, b, "CurrentBuildNumber"),
            (&mut os.product_name, n, "ProductName"),
            (&mut os.product_type, t, "ProductType"),
        ] {
            match v {
                Val::Absent => {}
                Val::Sz(s) => *field = Some(s.to_owned()),
                Val::Wrong(found, data) => os.wrong_type.push(WrongTypeValue {
                    value: format!("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\{name}"),
                    expected: "REG_SZ",
                    found: found.to_owned(),
                    data: data.to_owned(),
                }),
            }
        }
        os
    })
}

/// True when a fact read any way would say Windows 2000 (NT 5.0), the one MS04-008 covers,
/// or when the facts disagree: then `not_applicable` is not allowed.
fn could_apply(os: &OsFacts) -> bool {
    let Some(cv) = os
        .current_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return true; // no usable CurrentVersion: applicability unknown
    };
    let text = |o: &Option<String>| o.as_deref().unwrap_or_default().to_owned();
    let build_says_2000 = text(&os.build).trim() == "2195";
    let name_says_2000 = text(&os.product_name).contains("Windows 2000");
    let cv_wrong = os
        .wrong_type
        .iter()
        .any(|w| w.value.ends_with("\\CurrentVersion"));
    cv == "5.0" || build_says_2000 || name_says_2000 || cv_wrong
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_os_facts_make_a_possibly_affected_system_not_applicable(
        os in os_facts(),
        file in prop_oneof![Just(Verdict::Vulnerable), Just(Verdict::Patched), Just(Verdict::Inconclusive), Just(Verdict::NotInstalled)],
        recorded in any::<bool>(),
    ) {
        let set = kbscan::rules::RuleSet::load_selected(&[] as &[&std::path::Path], &["MS04-008"]).unwrap();
        let keys = if recorded { vec!["Microsoft\\Updates\\Windows Media Services\\KB832359".to_owned()] } else { vec![] };
        let f = RuleSystemFacts { software_read: true, os: &os, update_keys: &keys, uninstall_dir: None };
        let (v, reasons) = reconcile(&set.rules[0], file, &f);
        if could_apply(&os) {
            prop_assert_ne!(v, Verdict::NotApplicable, "{:?}", reasons);
            prop_assert_eq!(v, file);
        } else {
            prop_assert!(v == Verdict::NotApplicable || v == file);
        }
        if v == Verdict::NotApplicable {
            prop_assert!(reasons.iter().all(|r| r.code.as_str() != "os_identity_conflict"));
        }
        if !os.wrong_type.is_empty() {
            prop_assert!(reasons.iter().any(|r| r.code.as_str() == "registry_value_wrong_type"));
        }
    }
}
