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
