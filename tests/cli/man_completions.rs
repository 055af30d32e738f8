//! Issue 15: the man pages in `man/` and the completion scripts in `man/completions/` are
//! generated from the command-line definitions (`kbscan man DIR`, `kbscan completions SHELL`)
//! and must be current: regenerate them and compare. To refresh after changing a flag:
//! `cargo run -- man man && for s in bash zsh fish powershell; do cargo run -- completions $s > man/completions/kbscan.$s; done`.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;

#[test]
fn man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(cargo_bin("kbscan"))
        .arg("man")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "kbscan-case.1",
            "kbscan-completions.1",
            "kbscan-rules.1",
            "kbscan-scan.1",
            "kbscan-updates.1",
            "kbscan-version.1",
            "kbscan.1"
        ]
    );
    for n in &names {
        let fresh = std::fs::read_to_string(dir.path().join(n)).unwrap();
        let committed = std::fs::read_to_string(format!("man/{n}"))
            .unwrap_or_else(|_| panic!("man/{n} is not committed"));
        assert_eq!(
            fresh, committed,
            "man/{n} is out of date: run `kbscan man man`"
        );
    }
    let scan = std::fs::read_to_string(dir.path().join("kbscan-scan.1")).unwrap();
    assert!(scan.contains("\\-\\-examiner"), "{scan}");
}

#[test]
fn completions_are_current() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = Command::new(cargo_bin("kbscan"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let committed = std::fs::read(format!("man/completions/kbscan.{shell}")).unwrap();
        assert!(
            out.stdout == committed,
            "man/completions/kbscan.{shell} is out of date"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("verify-image") && text.contains("brief"),
            "{shell}"
        );
    }
}

#[test]
fn bash_completion_loads_in_bash() {
    let out = Command::new("bash")
        .args([
            "-c",
            "source man/completions/kbscan.bash && complete -p kbscan",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("kbscan"));
}

fn help(args: &[&str]) -> String {
    let out = Command::new(cargo_bin("kbscan"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The help names every built-in rule (read from rules/*.toml), never one as if it were all.
#[test]
fn help_and_man_page_name_every_built_in_rule() {
    let text = help(&["--help"]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let man = std::fs::read_to_string("man/kbscan.1").unwrap();
    for id in crate::common::builtin_rules() {
        assert!(flat.contains(&id), "--help does not name {id}: {text}");
        assert!(
            man.contains(&id.replace('-', "\\-")),
            "kbscan.1 does not name {id}"
        );
    }
    assert!(!flat.contains("Built in: MS04-008 / KB832359"), "{text}");
}

/// `version` and `rules` list only the formats they accept; `scan` lists them all.
#[test]
fn each_command_lists_the_formats_it_accepts() {
    for cmd in ["version", "rules"] {
        let text = help(&[cmd, "--help"]);
        assert!(text.contains("- json:"), "{text}");
        assert!(!text.contains("- html:"), "{cmd} --help lists html: {text}");
        let out = Command::new(cargo_bin("kbscan"))
            .args([cmd, "-f", "html", "Cargo.toml"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
    }
    assert!(help(&["scan", "--help"]).contains("- html:"));
}

/// `completions --help` names exactly the shells it accepts: each named one works, and the
/// one-line description and the possible values agree.
#[test]
fn completions_help_names_the_shells_it_accepts() {
    let text = help(&["completions", "--help"]);
    let values = text
        .split("[possible values: ")
        .nth(1)
        .and_then(|t| t.split(']').next())
        .unwrap_or_else(|| panic!("{text}"));
    let shells: Vec<&str> = values.split(", ").collect();
    assert_eq!(shells.len(), 5, "{values}");
    let first = text.lines().next().unwrap();
    let listed = first
        .split('(')
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap();
    assert_eq!(listed.split(", ").collect::<Vec<_>>(), shells, "{first}");
    for s in &shells {
        let out = Command::new(cargo_bin("kbscan"))
            .args(["completions", s])
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{s}");
    }
}

#[test]
fn sizes_and_dates_read_as_people_write_them() {
    let text = help(&["scan", "--help"]);
    assert!(text.contains("[default: 64MiB]"), "{text}");
    assert!(!text.contains("67108864"));
    let as_of = text.split("--as-of <DATE>").nth(1).unwrap();
    let first = as_of.split_whitespace().next().unwrap();
    assert_eq!(first, "Also", "{as_of}");
    assert!(!text.to_lowercase().contains("issue "), "{text}");
}

/// The man pages carry the sections ripgrep's and fd's do, and name no page that does not
/// exist.
#[test]
fn man_pages_have_examples_exit_status_environment_and_files() {
    for page in ["kbscan.1", "kbscan-scan.1"] {
        let man = std::fs::read_to_string(format!("man/{page}")).unwrap();
        for section in [
            ".SH \"EXAMPLES\"",
            ".SH \"EXIT STATUS\"",
            ".SH \"ENVIRONMENT\"",
            ".SH \"FILES\"",
        ] {
            assert!(man.contains(section), "{page} lacks {section}");
        }
        assert!(man.contains("NO_COLOR"), "{page}");
    }
    for e in std::fs::read_dir("man").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "1") {
            continue;
        }
        let man = std::fs::read_to_string(&p).unwrap();
        assert!(man.contains(".SH \"EXAMPLES\""), "{}", p.display());
        assert!(!man.contains("kbscan\\-help"), "{}", p.display());
        // No empty section (a page without subcommands has no SUBCOMMANDS heading).
        let heads: Vec<usize> = man.match_indices(".SH").map(|(i, _)| i).collect();
        for w in heads.windows(2) {
            let body = &man[w[0]..w[1]];
            assert!(body.lines().count() > 1, "{}: empty {body:?}", p.display());
        }
    }
}
