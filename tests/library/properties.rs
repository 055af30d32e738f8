//! Property tests: version ordering and text round trips, and the verdict against a simple
//! oracle written from docs/judgement.md.

use std::cmp::Ordering;

use kbscan_core::judge::{self, CandidateFacts};
use kbscan_core::model::version::FileVersion;
use kbscan_core::model::{Status, Verdict};
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
    } else if live().any(|k| matches!(k, Kind::Pe(None) | Kind::Error)) {
        // A live copy that could not be judged keeps the rule from patched (round 3, case 2).
        Verdict::Inconclusive
    } else if live().any(|k| matches!(k, Kind::Pe(Some(v)) if *v >= required)) {
        Verdict::Patched
    } else if unreadable > 0 {
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
                    kept_out: false,
                    version,
                    required,
                    error: None,
                    readings: &[],
                }
            })
            .collect();
        let (verdict, reasons, decisive) = judge::rule_verdict("Nscm.exe", &facts, unreadable);
        prop_assert_eq!(verdict, oracle(required, &cands, unreadable));
        prop_assert!(!reasons.is_empty());
        // The reason that decided is always given, and is one of the reasons.
        prop_assert!(decisive.as_ref().is_some_and(|d| reasons.contains(d)));
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

// ---- Several version resources (issue 10 case 1): what Windows could read decides. ----

use kbscan_core::evidence::inspect::FileEvidence;
use kbscan_core::evidence::pe::{PeFormat, PeHeader, PeVersionData, VersionResource};
use kbscan_core::evidence::versioninfo::{FixedFileInfo, VersionInfo};
use kbscan_core::filter::NameMatcher;
use kbscan_core::judge::findings::{findings_from, CandidateInput, Outcome};
use kbscan_core::judge::system::{judge_root, RootOutcome};
use kbscan_core::model::time::Times;
use kbscan_core::model::SystemEvidence;
use kbscan_core::rules::RuleSet;

/// One generated resource: name (0 = id 1, 1 = id 2, 2 = a string name), language, fixed version.
type Res = (u8, u32, Option<FileVersion>);

fn resource() -> impl Strategy<Value = Res> {
    (
        0u8..3,
        prop_oneof![Just(0u32), Just(0x0407), Just(0x0409)],
        proptest::option::weighted(
            0.85,
            (3900u16..3960).prop_map(|r| FileVersion::new(4, 1, 0, r)),
        ),
    )
}

fn pe_data(res: &[Res]) -> PeVersionData {
    PeVersionData {
        header: PeHeader {
            format: PeFormat::Pe32,
            machine: 0x14c,
            timestamp: 0,
        },
        resources: res
            .iter()
            .enumerate()
            .map(|(i, (name, lang, v))| VersionResource {
                name: match name {
                    0 => "1".to_owned(),
                    1 => "2".to_owned(),
                    _ => "NSCMVERSION".to_owned(),
                },
                id: match name {
                    0 => Some(1),
                    1 => Some(2),
                    _ => None,
                },
                lang: *lang,
                data: (0x1000 + 0x100 * i as u32, 0x100),
                info: Ok(VersionInfo {
                    fixed: v.map(|v| FixedFileInfo {
                        file_version: v,
                        product_version: v,
                        struct_version: 0x10000,
                        flags_mask: 0x3f,
                        flags: 0,
                        os: 0x40004,
                        file_type: 1,
                        file_subtype: 0,
                        file_date: 0,
                    }),
                    ..VersionInfo::default()
                }),
            })
            .collect(),
    }
}

/// The root verdict for generated files (resources, live or backup), through the real
/// judgement: findings from the evidence, then the root's verdict.
fn verdict_of(files: &[(Vec<Res>, bool)]) -> Verdict {
    static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        kbscan_core::rules::load_selected(&[] as &[&std::path::Path], &["MS04-008"]).unwrap()
    });
    let matcher = NameMatcher::new(rules);
    let mut findings = Vec::new();
    let mut parts_store = Vec::new();
    for (i, (_, live)) in files.iter().enumerate() {
        let mut parts: Vec<Vec<u8>> = if *live {
            vec![
                b"WINNT".to_vec(),
                b"system32".to_vec(),
                b"Windows Media".to_vec(),
                format!("Server{i}").into_bytes(),
            ]
        } else {
            vec![
                b"WINNT".to_vec(),
                format!("$NTUninstallKB83235{i}$").into_bytes(),
            ]
        };
        parts.push(b"Nscm.exe".to_vec());
        parts_store.push(parts);
    }
    for ((res, _), parts) in files.iter().zip(&parts_store) {
        let input = CandidateInput {
            parts,
            abs_path: "x".to_owned(),
            targets: matcher.matches_bytes(b"Nscm.exe").unwrap(),
            link_target: None,
            outcome: Outcome::Inspected {
                times: Times::default(),
                size: Some(1000),
                evidence: FileEvidence {
                    size: Some(1000),
                    sha256: None,
                    md5: None,
                    times: Times::default(),
                    pe: Ok(pe_data(res)),
                },
            },
            time_basis: Default::default(),
        };
        findings.extend(findings_from(rules, &input));
    }
    judge_root(
        rules,
        &mut findings,
        &RootOutcome::Scanned {
            unreadable: 0,
            unfollowed: Vec::new(),
        },
        &SystemEvidence::default(),
    )
    .verdict
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    /// No combination of version resources (ids, languages, fixed versions) over live and
    /// backup copies yields `patched` where a reading Windows could use (id 1, any language)
    /// of a live copy is vulnerable; and every live reading vulnerable gives `vulnerable`.
    #[test]
    fn no_resource_combination_hides_a_vulnerable_reading(
        files in proptest::collection::vec(
            (proptest::collection::vec(resource(), 0..5), any::<bool>()), 1..4),
    ) {
        let verdict = verdict_of(&files);
        let required = FileVersion::new(4, 1, 0, 3934);
        // The readings Windows could use of each live copy: id 1, any language.
        let live_reads: Vec<Vec<Option<FileVersion>>> = files
            .iter()
            .filter(|(_, live)| *live)
            .map(|(res, _)| res.iter().filter(|r| r.0 == 0).map(|r| r.2).collect())
            .collect();
        let some_vulnerable = live_reads
            .iter()
            .any(|reads| reads.iter().any(|v| v.is_some_and(|v| v < required)));
        if some_vulnerable {
            prop_assert!(matches!(verdict, Verdict::Vulnerable | Verdict::Inconclusive), "{:?}: {:?}", files, verdict);
        }
        if live_reads.iter().any(|reads| !reads.is_empty() && reads.iter().all(|v| v.is_some_and(|v| v < required))) {
            prop_assert_eq!(verdict, Verdict::Vulnerable, "{:?}", files);
        }
        if verdict == Verdict::Patched {
            // Some live copy has id 1 readings that are all patched, and no live reading is vulnerable.
            prop_assert!(live_reads.iter().any(|reads| !reads.is_empty() && reads.iter().all(|v| v.is_some_and(|v| v >= required))));
        }
        // The versions of id 2 and of named resources never change the verdict.
        let forged: Vec<(Vec<Res>, bool)> = files
            .iter()
            .map(|(res, live)| {
                let res = res
                    .iter()
                    .map(|r| if r.0 == 0 { *r } else { (r.0, r.1, Some(FileVersion::new(4, 1, 0, 9999))) })
                    .collect();
                (res, *live)
            })
            .collect();
        prop_assert_eq!(verdict_of(&forged), verdict);
    }
}

// Issue 10 cases 2, 3 and 6: twins that differ only in case, links not read, services naming
// any copy (live or in a backup folder), links hiding the install folder. Whatever the
// combination, the root is never `patched` while a reading Windows could use is vulnerable
// (or unknown), nor `not_installed` while a live reading was not read.
mod readings {
    use kbscan_core::judge::location;
    use kbscan_core::judge::system::{judge_root, RootOutcome};
    use kbscan_core::model::system::{RuleRegistry, ServiceFacts};
    use kbscan_core::model::{FileFacts, FileVersion, Finding, Status, SystemEvidence, Verdict};
    use proptest::prelude::*;

    /// Where a copy can be: three spellings of the install path, another live folder and the
    /// uninstall folder.
    const PATHS: &[&str] = &[
        "WINNT/system32/Windows Media/Server/Nscm.exe",
        "WINNT/system32/Windows Media/Server/nscm.exe",
        "WINNT/system32/windows media/SERVER/NSCM.EXE",
        "Program Files/WMS/Nscm.exe",
        "WINNT/$NTUninstallKB832359$/Nscm.exe",
    ];

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Reading {
        Vulnerable,
        Patched,
        Unknown,
        /// A link that was not read.
        Link,
    }

    fn finding(path: &str, r: Reading) -> Finding {
        let parts: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
        let (status, version) = match r {
            Reading::Vulnerable => (Status::Vulnerable, Some(FileVersion::new(4, 1, 0, 3917))),
            Reading::Patched => (Status::Patched, Some(FileVersion::new(4, 1, 0, 3934))),
            Reading::Unknown => (Status::UnknownVersion, None),
            Reading::Link => (Status::Skipped, None),
        };
        Finding {
            path: path.to_owned(),
            abs_path: path.to_owned(),
            name: "Nscm.exe".to_owned(),
            rule: "MS04-008".to_owned(),
            kb: "KB832359".to_owned(),
            target: "Nscm.exe".to_owned(),
            status,
            comparison: kbscan_core::model::Comparison::Unjudged,
            counting: kbscan_core::model::Counting::COUNTED,
            location: location::classify(parts[..parts.len() - 1].iter().copied()),
            version,
            version_source: None,
            file_version: version,
            file_version_string: None,
            product_version: None,
            product_version_string: None,
            string_tables: Vec::new(),
            required_version: FileVersion::new(4, 1, 0, 3934),
            published_size: None,
            file: FileFacts::default(),
            version_resources: Vec::new(),
            link_target: (r == Reading::Link).then(|| "../elsewhere/Nscm.exe".to_owned()),
            time_basis: Default::default(),
            si_backdated: None,
            service_image: None,
            lineage: None,
            notes: Vec::new(),
            error: None,
            error_kind: None,
        }
    }

    fn system(service: Option<usize>) -> SystemEvidence {
        SystemEvidence {
            rules: vec![RuleRegistry {
                rule: "MS04-008".to_owned(),
                kb: "KB832359".to_owned(),
                update_records: Vec::new(),
                services: service
                    .map(|i| ServiceFacts {
                        name: "nsstation".to_owned(),
                        file: "Nscm.exe".to_owned(),
                        matched_by: kbscan_core::model::system::ServiceMatch::ImageName,
                        image_path: Some(PATHS[i].to_owned()),
                        start: kbscan_core::model::system::StartFacts(Some(
                            kbscan_core::model::system::ServiceStart::Automatic,
                        )),
                        resolved_path: Some(PATHS[i].to_ascii_lowercase()),
                        unresolved: None,
                        on_disk: Vec::new(),
                    })
                    .into_iter()
                    .collect(),
                uninstall_dir: None,
                installed: None, // issue 14
            }],
            ..Default::default()
        }
    }

    fn reading() -> impl Strategy<Value = Reading> {
        prop_oneof![
            Just(Reading::Vulnerable),
            Just(Reading::Patched),
            Just(Reading::Unknown),
            Just(Reading::Link),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn no_combination_is_patched_while_a_windows_reading_is_not(
            copies in proptest::collection::btree_map(0..PATHS.len(), reading(), 0..5),
            service in proptest::option::of(0..PATHS.len()),
            folder_link in any::<bool>(),
        ) {
            let rules = kbscan_core::rules::load_selected(&[] as &[&std::path::Path], &["MS04-008"]).unwrap();
            let mut findings: Vec<Finding> =
                copies.iter().map(|(&i, &r)| finding(PATHS[i], r)).collect();
            let unfollowed = if folder_link {
                vec!["WINNT/system32/Windows Media".to_owned()]
            } else {
                Vec::new()
            };
            let outcome = RootOutcome::Scanned { unreadable: 0, unfollowed };
            let j = judge_root(&rules, &mut findings, &outcome, &system(service));

            // The oracle: the groups of paths Windows could open (equal ignoring case). A
            // service naming an existing path runs one of that group; otherwise every live
            // group counts (a backup copy only when a service names it).
            let key = |i: usize| PATHS[i].to_ascii_lowercase();
            let live = |i: usize| !PATHS[i].contains("$NTUninstall");
            let named: Vec<usize> = match service {
                Some(s) => copies.keys().copied().filter(|&i| key(i) == key(s)).collect(),
                None => Vec::new(),
            };
            let counted: Vec<usize> = if named.is_empty() {
                copies.keys().copied().filter(|&i| live(i)).collect()
            } else {
                named.clone()
            };
            let readings: Vec<Reading> = counted.iter().map(|i| copies[i]).collect();
            let hidden = folder_link && named.is_empty();
            // Never patched while one reading could be vulnerable or was not read. (An unknown
            // version at a path of its own follows docs/judgement.md §5: a patched live copy
            // elsewhere still makes the rule patched; at a twin's path it is a reading of the
            // same file, so it blocks.)
            let twin_disagrees = counted.iter().any(|&i| {
                counted.iter().any(|&o| o != i && key(o) == key(i) && copies[&o] != copies[&i])
            });
            if readings.iter().any(|r| matches!(r, Reading::Vulnerable | Reading::Link))
                || twin_disagrees
                || hidden
            {
                prop_assert_ne!(j.verdict, Verdict::Patched, "{:?} {:?}", copies, service);
            }
            // Never not_installed while a live reading (or the install folder) was not read.
            if readings.contains(&Reading::Link) || hidden {
                prop_assert_ne!(j.verdict, Verdict::NotInstalled);
            }
            // Every reading vulnerable: vulnerable.
            if !readings.is_empty() && readings.iter().all(|r| *r == Reading::Vulnerable) {
                prop_assert_eq!(j.verdict, Verdict::Vulnerable);
            }
            // A vulnerable reading that is certain (its path has no twin that disagrees) wins.
            let certain_vulnerable = counted.iter().any(|&i| {
                copies[&i] == Reading::Vulnerable
                    && counted.iter().all(|&o| key(o) != key(i) || copies[&o] == Reading::Vulnerable)
            });
            if certain_vulnerable {
                prop_assert_eq!(j.verdict, Verdict::Vulnerable);
            }
        }
    }
}

// Issue 10 case 5: registry OS facts. The oracle: `not_applicable` only when CurrentVersion
// is a REG_SZ naming a Windows the advisory does not cover and no other fact (build number,
// product name, product type, a value of the wrong type) gives a reading under which it
// applies or contradicts it. Otherwise the file verdict stands.

use kbscan_core::judge::reconcile::{reconcile, RuleSystemFacts};
use kbscan_core::model::system::{OsFacts, WrongTypeValue};

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
        let set = kbscan_core::rules::load_selected(&[] as &[&std::path::Path], &["MS04-008"]).unwrap();
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
