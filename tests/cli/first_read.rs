//! The examiner's first read: the summary is a system × bulletin matrix (table and HTML), every
//! reason names the rule that gave it (table, JSON, CSV, HTML), and with `--as-of` the date's
//! answer leads the summary in every format.

use crate::common;

use common::*;
use serde_json::Value;

const HEADS: [&str; 5] = [
    "MS03-019 (KB817772)",
    "MS03-022 (KB822343)",
    "MS04-008 (KB832359)",
    "MS08-076 (KB952068)",
    "MS10-025 (KB980858)",
];

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The cells of a summary line (the grid pads with two spaces or more; a cell holds at most
/// one space in a row).
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The summary's lines: from `Summary` to the `Summary:` counts.
fn summary_lines(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| *l != "Summary")
        .skip(1)
        .take_while(|l| !l.starts_with("Summary:"))
        .collect()
}

/// `w2k-sp4-patched` is VULNERABLE because of MS08-076, while KB832359 is installed and right:
/// the summary row says both, each under its bulletin's column, against the JSON's verdicts.
#[test]
fn the_summary_is_a_system_by_bulletin_matrix() {
    let roots = ["w2k-sp4-patched", "w2k-ms10-025-withdrawn", "w2k3-server"];
    let paths: Vec<String> = roots
        .iter()
        .map(|r| system(r).to_string_lossy().into_owned())
        .collect();
    // `--width 0`: the matrix one line per root (fitted to a width, it folds or stacks).
    let mut args = vec!["scan", "-q", "--width", "0"];
    args.extend(paths.iter().map(String::as_str));
    let out = text(&run(&args));
    let lines = summary_lines(&out);
    let head = cells(lines[0]);
    let mut want = vec!["root", "verdict"];
    want.extend(HEADS);
    want.push("decisive reason");
    assert_eq!(head, want, "{out}");
    let mut jargs = args.clone();
    jargs.extend(["-f", "json"]);
    let report = json(&run(&jargs));
    for (root, line) in report["roots"].as_array().unwrap().iter().zip(&lines[1..]) {
        let row = cells(line);
        assert!(row[0].ends_with(root["root"].as_str().unwrap()), "{line}");
        assert_eq!(
            row[1],
            root["verdict"].as_str().unwrap().to_uppercase(),
            "{line}"
        );
        for (i, rv) in root["rule_verdicts"].as_array().unwrap().iter().enumerate() {
            let v = rv["verdict"].as_str().unwrap();
            assert!(row[2 + i].starts_with(v), "{} {}: {line}", rv["rule"], v);
        }
    }
    let sp4 = lines
        .iter()
        .find(|l| l.contains("w2k-sp4-patched"))
        .unwrap();
    let row = cells(sp4);
    assert_eq!(row[1], "VULNERABLE");
    assert_eq!(row[4], "patched", "MS04-008's column: {sp4}");
    assert_eq!(row[5], "vulnerable", "MS08-076's column: {sp4}");
    let withdrawn = lines
        .iter()
        .find(|l| l.contains("w2k-ms10-025-withdrawn"))
        .unwrap();
    assert_eq!(
        cells(withdrawn)[6],
        "vulnerable (withdrawn release suspected)"
    );
}

/// The HTML report's summary is the same matrix: a column per rule, headed `ID (KB)`, and the
/// root's verdict for it in each row.
#[test]
fn the_html_summary_is_the_same_matrix() {
    let o = run(&[
        "scan",
        "-q",
        "-f",
        "html",
        system("w2k-sp4-patched").to_str().unwrap(),
    ]);
    let page = text(&o);
    let summary = &page[page.find("<section id=\"summary\">").unwrap()..];
    let summary = &summary[..summary.find("</section>").unwrap()];
    let mut heads = String::from("<th>root</th><th>verdict</th>");
    for h in HEADS {
        heads.push_str(&format!("<th>{h}</th>"));
    }
    heads.push_str("<th>decisive reason</th>");
    assert!(summary.contains(&heads), "{summary}");
    let row = summary
        .lines()
        .find(|l| l.contains("w2k-sp4-patched"))
        .unwrap();
    let cells: Vec<&str> = row.split("<td>").skip(1).collect();
    assert!(cells[1].contains(">VULNERABLE<"), "{row}");
    assert!(cells[4].contains(">patched<"), "MS04-008: {row}");
    assert!(cells[5].contains(">vulnerable<"), "MS08-076: {row}");
}

/// Every reason of a root names the rule whose judgement gave it: JSON `rule` equals the rule
/// whose own reasons hold the same reason; a root-level reason (several Windows folders) has
/// none; CSV `root_reasons` is `RULE:code`; the table's reason lines begin with the rule.
#[test]
fn every_reason_names_its_rule() {
    let (_, report) = scan_json(&[&system("w2k-sp4-patched"), &system("two-windows")], &[]);
    let mut named = 0;
    let mut bare = 0;
    for root in report["roots"].as_array().unwrap() {
        let rvs = root["rule_verdicts"].as_array().unwrap();
        for r in root["reasons"].as_array().unwrap() {
            let same = |x: &Value| x["code"] == r["code"] && x["message"] == r["message"];
            let owners: Vec<&str> = rvs
                .iter()
                .filter(|rv| rv["reasons"].as_array().unwrap().iter().any(same))
                .map(|rv| rv["rule"].as_str().unwrap())
                .collect();
            match r.get("rule").and_then(Value::as_str) {
                Some(rule) => {
                    named += 1;
                    assert!(owners.contains(&rule), "{r} is not {rule}'s: {owners:?}");
                }
                None => {
                    bare += 1;
                    assert!(owners.is_empty(), "{r} belongs to {owners:?}");
                }
            }
        }
    }
    assert!(named > 10, "{named}");
    assert!(bare > 0, "the root-level reasons of two-windows");
    // The same reason text of two rules is told apart by its rule.
    let sp4 = &report["roots"][0];
    let not_found: Vec<&str> = sp4["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "not_found")
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(not_found, ["MS03-019", "MS03-022", "MS10-025"]);

    let o = run(&[
        "scan",
        "-q",
        "-f",
        "csv",
        system("w2k-sp4-patched").to_str().unwrap(),
    ]);
    let mut rdr = csv::Reader::from_reader(o.stdout.as_slice());
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "root_reasons")
        .unwrap();
    let rec = rdr.records().next().unwrap().unwrap();
    let codes: Vec<&str> = rec[col].split(' ').collect();
    let want: Vec<String> = sp4["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["rule"].as_str().unwrap(),
                r["code"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(codes, want);
    assert!(codes.contains(&"MS08-076:live_vulnerable"), "{codes:?}");

    let out = text(&run(&[
        "scan",
        "-q",
        system("w2k-sp4-patched").to_str().unwrap(),
    ]));
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("   - ")).collect();
    assert_eq!(lines.len(), want.len(), "{out}");
    for (l, r) in lines.iter().zip(sp4["reasons"].as_array().unwrap()) {
        let prefix = format!(
            "   - {}: {}",
            r["rule"].as_str().unwrap(),
            r["message"].as_str().unwrap()
        );
        assert!(
            prefix.starts_with(l.trim_end()) || l.starts_with(&prefix),
            "{l}"
        );
    }
}

/// With `--as-of`, the date's answer leads: the summary table has the as-of state beside the
/// verdict (headed with the date, the verdict headed `verdict today`), the `Summary:` line
/// counts the states at the date first, JSON `summary.as_of` counts them, and CSV ends with
/// `as_of_state`. Without `--as-of` none of these appear.
#[test]
fn the_as_of_answer_leads_every_format() {
    let roots = [system("w2k-sp4-patched"), system("w2k-sp4-vulnerable")];
    let (code, report) = scan_json(&[&roots[0], &roots[1]], &["--as-of", "2009-01-01"]);
    let states: Vec<&str> = report["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["as_of"]["state"].as_str().unwrap())
        .collect();
    let a = &report["summary"]["as_of"];
    assert_eq!(a["date"], "2009-01-01T00:00:00Z");
    let mut total = 0;
    for key in [
        "vulnerable_at_date",
        "unknown_at_date",
        "patched_at_date",
        "not_affected_at_date",
        "not_yet_published",
    ] {
        let n = a[key].as_u64().unwrap() as usize;
        assert_eq!(n, states.iter().filter(|s| **s == key).count(), "{key}");
        total += n;
    }
    assert_eq!(total, 2);
    assert!(states.contains(&"vulnerable_at_date"), "{states:?}");
    assert_eq!(code, 1);

    let (_, plain) = scan_json(&[&roots[0]], &[]);
    assert!(
        plain["summary"].get("as_of").is_none(),
        "{}",
        plain["summary"]
    );

    let args = |extra: &[&'static str]| {
        let mut v: Vec<String> = vec!["scan".into(), "-q".into(), "--width".into(), "0".into()];
        v.extend(roots.iter().map(|r| r.to_string_lossy().into_owned()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let go = |v: Vec<String>| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        run(&refs)
    };
    let out = text(&go(args(&["--as-of", "2009-01-01"])));
    let lines = summary_lines(&out);
    let head = cells(lines[0]);
    assert_eq!(
        &head[..3],
        ["root", "as of 2009-01-01T00:00:00Z", "verdict today"]
    );
    for (line, state) in lines[1..].iter().zip(&states) {
        assert_eq!(cells(line)[1], state.to_uppercase(), "{line}");
    }
    let counts = out.lines().find(|l| l.starts_with("Summary: ")).unwrap();
    let want = format!(
        "Summary: as of 2009-01-01T00:00:00Z: 2 root(s): {} vulnerable at the date, {} unknown at the date, {} patched at the date, {} not affected at the date, {} not yet published; today: 2 root(s): ",
        a["vulnerable_at_date"], a["unknown_at_date"], a["patched_at_date"], a["not_affected_at_date"], a["not_yet_published"]
    );
    assert!(counts.starts_with(&want), "{counts}");
    let today = text(&go(args(&[])));
    let counts = today.lines().find(|l| l.starts_with("Summary: ")).unwrap();
    assert!(counts.starts_with("Summary: 2 root(s): "), "{counts}");
    assert!(!today.contains("as of"), "{today}");

    let page = text(&go(args(&["--as-of", "2009-01-01", "-f", "html"])));
    assert!(
        page.contains("<th>root</th><th>as of 2009-01-01T00:00:00Z</th><th>verdict today</th>"),
        "{page}"
    );
    assert!(
        page.contains("<p>as of 2009-01-01T00:00:00Z: 2 root(s): "),
        "{page}"
    );

    for (extra, want) in [
        (vec!["--as-of", "2009-01-01"], Some(&states)),
        (vec![], None),
    ] {
        let mut e = vec!["-f", "csv"];
        e.extend(extra);
        let o = go(args(&e));
        let mut rdr = csv::Reader::from_reader(o.stdout.as_slice());
        let headers = rdr.headers().unwrap().clone();
        // Found by name: columns are added at the end (the finding's comparison and counts
        // came after it).
        let col = headers.iter().position(|h| h == "as_of_state").unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            let i = roots
                .iter()
                .position(|r| r.to_string_lossy() == rec[0])
                .unwrap();
            match want {
                Some(s) => assert_eq!(&rec[col], s[i], "{rec:?}"),
                None => assert_eq!(&rec[col], "", "{rec:?}"),
            }
        }
    }
}

/// On a terminal (a pseudo-terminal from util-linux `script`) too narrow for one-line heads,
/// each rule's head takes two lines, `MS04-008` over `(KB832359)`, in the same column; on a
/// wide one, one line.
#[test]
fn the_matrix_heads_fold_on_a_narrow_terminal() {
    if !have("script") {
        return;
    }
    let run_at = |cols: u32| {
        let cmd = format!(
            "stty cols {cols} rows 50; {} scan -q --color never {}",
            env!("CARGO_BIN_EXE_kbscan"),
            system("w2k-sp4-patched").display()
        );
        let o = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).replace('\r', "")
    };
    // The root's length and 110 columns: the rule heads fold (two lines; one-line heads need
    // about 140 besides the root); 120: too narrow even so, each root is stacked (its name,
    // then its verdicts under the folded heads, then its reason).
    let root_len = system("w2k-sp4-patched")
        .display()
        .to_string()
        .chars()
        .count() as u32;
    let folded = run_at(root_len + 110);
    let lines = summary_lines(&folded);
    assert!(lines[0].starts_with("  root "), "{folded}");
    assert!(
        lines[0].contains("MS03-019") && !lines[0].contains("(KB"),
        "{folded}"
    );
    let narrow = run_at(120);
    let lines = summary_lines(&narrow);
    assert_eq!(lines[0], "  root", "{narrow}");
    let at = lines.iter().position(|l| l.contains("MS03-019")).unwrap();
    let (ids, kbs) = (lines[at], lines[at + 1]);
    assert!(narrow.lines().all(|l| l.chars().count() <= 120), "{narrow}");
    for (id, kb) in [
        ("MS03-019", "(KB817772)"),
        ("MS04-008", "(KB832359)"),
        ("MS10-025", "(KB980858)"),
    ] {
        let at = ids.find(id).unwrap_or_else(|| panic!("{narrow}"));
        assert!(kbs[at..].starts_with(kb), "{ids}\n{kbs}");
    }
    assert!(!ids.contains("(KB"), "{ids}");
    let wide = run_at(400);
    let head = summary_lines(&wide)[0];
    assert!(head.contains("MS04-008 (KB832359)"), "{wide}");
}

/// The reason codes that can set each verdict (docs/judgement.md): a decisive reason of any
/// other code did not produce the verdict it is shown beside.
fn decides(verdict: &str, code: &str) -> bool {
    match verdict {
        "vulnerable" => code == "live_vulnerable",
        "patched" => code == "live_patched",
        "not_installed" => code == "not_found",
        "not_applicable" => code == "os_not_affected",
        "inconclusive" => [
            "live_unjudged",
            "version_resources_disagree",
            "case_twins",
            "live_copy_not_read",
            "service_image_not_judged",
            "service_image_unresolved",
            "tree_incomplete",
            "reparse_point_not_walked",
            "backup_set_incomplete",
            "image_hash_mismatch",
            "root_unreadable",
        ]
        .contains(&code),
        _ => false,
    }
}

/// `--rule MS04-008` on `w2k-case-twins` is inconclusive because the case twins disagree; a
/// patched copy beside them does not decide it, so the summary shows `case_twins`, and the
/// JSON's `decisive_reason` is that same reason.
#[test]
fn the_decisive_reason_is_the_one_that_produced_the_verdict() {
    let root = system("w2k-case-twins");
    let r = root.to_string_lossy();
    // One line per root (`--width 0`), so the summary's cells can be read.
    let out = text(&run(&[
        "scan", "-q", "--width", "0", "--rule", "MS04-008", &r,
    ]));
    let lines = summary_lines(&out);
    let row = cells(lines[1]);
    assert_eq!(row[1], "INCONCLUSIVE", "{out}");
    assert!(row[3].starts_with("MS04-008 case_twins: "), "{out}");
    let (_, doc) = scan_json(&[&root], &["--rule", "MS04-008"]);
    let rv = &doc["roots"][0]["rule_verdicts"][0];
    assert_eq!(rv["verdict"], "inconclusive");
    assert_eq!(rv["decisive_reason"]["code"], "case_twins", "{rv:#}");
    assert!(rv["reasons"]
        .as_array()
        .unwrap()
        .contains(&rv["decisive_reason"]));
}

/// Over every bundled system: each rule's `decisive_reason` is one of its reasons and one that
/// gives its verdict; the table's decisive cell is the first rule with the root's verdict and
/// names every other rule with that verdict (a NOT_INSTALLED root is not read as "only
/// MS03-019 is missing").
#[test]
fn every_rule_verdict_has_the_reason_that_set_it() {
    let dir = repo().join("sample_binaries/systems");
    let mut roots: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    roots.sort();
    let refs: Vec<&std::path::Path> = roots.iter().map(|p| p.as_path()).collect();
    let (_, doc) = scan_json(&refs, &[]);
    let paths: Vec<String> = roots
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["scan", "-q", "--width", "0"];
    args.extend(paths.iter().map(String::as_str));
    let out = text(&run(&args));
    let rows: Vec<Vec<String>> = summary_lines(&out)[1..].iter().map(|l| cells(l)).collect();
    let mut not_installed_roots = 0;
    for root in doc["roots"].as_array().unwrap() {
        let verdict = root["verdict"].as_str().unwrap();
        let mut same = Vec::new();
        for rv in root["rule_verdicts"].as_array().unwrap() {
            let v = rv["verdict"].as_str().unwrap();
            let d = &rv["decisive_reason"];
            let code = d["code"].as_str().unwrap_or_else(|| panic!("{rv:#}"));
            assert!(
                decides(v, code),
                "{} {}: {v} by {code}",
                root["root"],
                rv["rule"]
            );
            assert!(rv["reasons"].as_array().unwrap().contains(d), "{rv:#}");
            if v == verdict {
                same.push((rv["rule"].as_str().unwrap(), code));
            }
        }
        let name = root["root"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} not in\n{out}"));
        let cell = row.last().unwrap();
        let (rule, code) = same[0];
        assert!(
            cell.starts_with(&format!("{rule} {code}: ")),
            "{name}: {cell}"
        );
        for (other, _) in &same[1..] {
            assert!(cell.contains(other), "{name}: {cell} does not name {other}");
        }
        if verdict == "not_installed" && same.len() > 1 {
            not_installed_roots += 1;
            assert!(cell.contains(&format!("{} more rules not_installed", same.len() - 1)));
        }
    }
    assert!(
        not_installed_roots > 0,
        "no sample root is not_installed by several rules"
    );
}

/// Inactive copies on a patched system and an advisory's files on a Windows it does not cover
/// do not alarm: each finding gives its own comparison (`below_fixed`) apart from whether it
/// counts (`not_counted: backup_copy`, `not_applicable: os_not_affected`), in JSON, CSV and the
/// table, and the summary's "vulnerable" findings are only the ones that decide.
#[test]
fn a_copy_that_does_not_count_does_not_alarm() {
    let names = ["w2k-wms-fully-patched", "nt4-wms41", "w2k3-server"];
    let roots: Vec<std::path::PathBuf> = names.iter().map(|n| system(n)).collect();
    let refs: Vec<&std::path::Path> = roots.iter().map(|p| p.as_path()).collect();
    let (_, doc) = scan_json(&refs, &[]);
    let mut below_not_counted = 0;
    for root in doc["roots"].as_array().unwrap() {
        let name = root["root"].as_str().unwrap();
        for f in findings(root) {
            let want_cmp = match f["status"].as_str().unwrap() {
                "vulnerable" => "below_fixed",
                "patched" => "at_or_above",
                _ => "unjudged",
            };
            assert_eq!(f["comparison"], want_cmp, "{f:#}");
            let live = f["location"] == "live";
            let (counts, why) = (f["counts"].as_str().unwrap(), &f["counts_why"]);
            if name.ends_with("w2k-wms-fully-patched") {
                // PATCHED: every live copy counts; the $NTUninstall…$ copies are backups.
                assert_eq!(root["verdict"], "patched");
                if live {
                    assert_eq!((counts, why), ("counted", &Value::Null), "{f:#}");
                } else {
                    assert_eq!(counts, "not_counted", "{f:#}");
                    assert_eq!(why, "backup_copy", "{f:#}");
                }
            } else {
                // NT 4.0 and Server 2003: the WMS 4.1 rules do not apply there.
                let rv = root["rule_verdicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|rv| rv["rule"] == f["rule"])
                    .unwrap();
                if rv["verdict"] == "not_applicable" {
                    assert_eq!(
                        (counts, why.as_str()),
                        ("not_applicable", Some("os_not_affected"))
                    );
                } else {
                    assert_eq!(counts, "counted", "{f:#}");
                }
            }
            if counts != "counted" && f["comparison"] == "below_fixed" {
                below_not_counted += 1;
            }
        }
    }
    assert!(below_not_counted >= 5 + 3, "{below_not_counted}");
    let s = &doc["summary"]["findings"];
    assert_eq!(s["vulnerable"], 0, "{s}");
    assert_eq!(s["below_fixed_not_counted"], below_not_counted, "{s}");

    // The table: no row of these roots reads "vulnerable", the old copies say what they are.
    let paths: Vec<String> = roots
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // Whole rows (`--width 0`): the status cells read as they are.
    let mut args = vec!["scan", "-q", "--width", "0"];
    args.extend(paths.iter().map(String::as_str));
    let out = text(&run(&args));
    assert!(!out.contains("| vulnerable "), "{out}");
    // The row says the copy does not count; its evidence block says the comparison and why.
    assert!(out.contains("| not counted "), "{out}");
    assert!(out.contains("| not applicable "), "{out}");
    assert!(
        out.contains("judged      below fixed, not counted: backup copy"),
        "{out}"
    );
    assert!(
        out.contains("judged      below fixed, not applicable: os not affected"),
        "{out}"
    );
    assert!(out.contains("findings: 0 vulnerable, "), "{out}");
    assert!(
        out.contains(&format!("({below_not_counted} of these below fixed)")),
        "{out}"
    );

    // CSV: the same three fields per finding row.
    let mut csv_args = args.clone();
    csv_args.extend(["-f", "csv"]);
    let o = run(&csv_args);
    let mut rdr = csv::Reader::from_reader(o.stdout.as_slice());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cmp, counts, why) = (col("comparison"), col("counts"), col("counts_why"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert!(rows.iter().any(|r| &r[cmp] == "below_fixed"
        && &r[counts] == "not_counted"
        && &r[why] == "backup_copy"));
    assert!(rows.iter().any(|r| &r[counts] == "not_applicable"));
}

/// Over every bundled system, the summary's `vulnerable` findings are exactly the counted ones
/// below the fixed version (before, every old backup copy was added: 69).
#[test]
fn the_summary_counts_only_the_findings_that_decide() {
    let dir = repo().join("sample_binaries/systems");
    let roots: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let refs: Vec<&std::path::Path> = roots.iter().map(|p| p.as_path()).collect();
    let (_, doc) = scan_json(&refs, &[]);
    let mut deciding = 0;
    let mut total = 0;
    for root in doc["roots"].as_array().unwrap() {
        for f in findings(root) {
            total += 1;
            if f["counts"] == "counted" && f["comparison"] == "below_fixed" {
                deciding += 1;
                assert_eq!(f["status"], "vulnerable");
            }
        }
    }
    let s = &doc["summary"]["findings"];
    assert_eq!(s["vulnerable"], deciding, "{s}");
    let sum: u64 = [
        "vulnerable",
        "patched",
        "unknown_version",
        "error",
        "skipped",
        "not_counted",
        "not_applicable",
    ]
    .iter()
    .map(|k| s[k].as_u64().unwrap())
    .sum();
    assert_eq!(sum, total, "{s}");
    assert!(deciding < 69, "{deciding}");
}

/// `--excel`: a UTF-8 byte order mark first, every time cell `YYYY-MM-DD hh:mm:ss` (which
/// Excel parses as a date), the same rows as the plain CSV; the plain CSV keeps no mark and
/// RFC 3339 times. Refused with another format.
#[test]
fn csv_for_excel_has_a_bom_and_times_excel_parses() {
    let root = system("w2k-sp4-vulnerable");
    let plain = run(&["scan", "-q", "-f", "csv", root.to_str().unwrap()]);
    let excel = run(&["scan", "-q", "-f", "csv", "--excel", root.to_str().unwrap()]);
    assert_eq!(code(&plain), 1);
    assert_eq!(code(&excel), 1);
    assert!(excel.stdout.starts_with(b"\xEF\xBB\xBF"));
    assert!(!plain.stdout.starts_with(b"\xEF\xBB\xBF"));
    let read = |bytes: &[u8]| {
        let text = std::str::from_utf8(bytes)
            .unwrap()
            .trim_start_matches('\u{feff}');
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let heads: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (heads, rows)
    };
    let (heads, plain_rows) = read(&plain.stdout);
    let (excel_heads, excel_rows) = read(&excel.stdout);
    assert_eq!(heads, excel_heads);
    assert_eq!(plain_rows.len(), excel_rows.len());
    let is_excel_time = |c: &str| {
        let b = c.as_bytes();
        b.len() == 19
            && b.iter().enumerate().all(|(i, ch)| match i {
                4 | 7 => *ch == b'-',
                10 => *ch == b' ',
                13 | 16 => *ch == b':',
                _ => ch.is_ascii_digit(),
            })
    };
    let mut times = 0;
    for col in ["modified", "accessed", "changed", "link_time"] {
        let i = heads.iter().position(|h| h == col).unwrap();
        for (p, e) in plain_rows.iter().zip(&excel_rows) {
            if p[i].is_empty() {
                assert!(e[i].is_empty());
                continue;
            }
            times += 1;
            assert!(is_excel_time(&e[i]), "{col}: {}", e[i]);
            // The same second as the RFC 3339 time of the plain CSV.
            assert!(p[i].ends_with('Z') && p[i].contains('T'), "{col}: {}", p[i]);
            assert_eq!(p[i][..19].replace('T', " "), e[i], "{col}");
        }
    }
    assert!(times > 4, "no time cells compared");
    // Everything but the time cells is the same.
    let time_cols: Vec<usize> = ["modified", "accessed", "created", "changed", "link_time"]
        .iter()
        .map(|c| heads.iter().position(|h| h == c).unwrap())
        .collect();
    for (p, e) in plain_rows.iter().zip(&excel_rows) {
        for i in (0..p.len()).filter(|i| !time_cols.contains(i)) {
            assert_eq!(p[i], e[i], "{}", heads[i]);
        }
    }
    let refused = run(&[
        "scan",
        "-q",
        "-f",
        "json",
        "--excel",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code(&refused), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--excel"));
}

/// The display columns of a line: a CJK character takes two.
fn columns(line: &str) -> usize {
    line.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// Into a file or a pipe every table keeps to 100 columns (the sample systems' whole report,
/// `--brief`, `--as-of`, the rules and the lineage table), each file's name stays whole, and a
/// rules table cell never breaks inside a word.
#[test]
fn no_line_of_the_sample_report_exceeds_100_columns() {
    let mut systems: Vec<String> = std::fs::read_dir(samples().join("systems"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    systems.sort();
    assert!(systems.len() >= 22, "{systems:?}");
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "-q"];
        args.extend(extra);
        args.extend(systems.iter().map(String::as_str));
        text(&run(&args))
    };
    let outputs = [
        ("scan", scan(&[])),
        ("scan --brief", scan(&["--brief"])),
        ("scan --as-of", scan(&["--as-of", "2004-06-01"])),
        ("rules", text(&run(&["rules"]))),
        ("rules --lineage", text(&run(&["rules", "--lineage"]))),
    ];
    for (what, out) in &outputs {
        assert!(out.lines().count() > 20, "{what}: {out}");
        let wide: Vec<&str> = out.lines().filter(|l| columns(l) > 100).collect();
        assert!(
            wide.is_empty(),
            "{what}: {} lines over 100: {wide:#?}",
            wide.len()
        );
    }
    // Every file's name whole in the full report.
    let mut jargs = vec!["scan", "-q", "-f", "json"];
    jargs.extend(systems.iter().map(String::as_str));
    let doc = json(&run(&jargs));
    for root in doc["roots"].as_array().unwrap() {
        for f in root["findings"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            assert!(outputs[0].1.contains(name), "{name} broken");
        }
    }
    // The rules table: `fixed version`, `built-in:ms04-008.toml` whole.
    let rules = &outputs[3].1;
    for word in ["built-in:ms04-008.toml", "4.1.0.3934", "nsiislog.dll"] {
        assert!(rules.contains(word), "{word} broken: {rules}");
    }
}
