//! Builds in every advisory under the repository's `rules/` folder: a new `rules/<id>.toml` is
//! compiled in without a code change (`rules/lineage.toml` is the lineage table, not a rule).

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../../rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the rules/ folder")
        .map(|e| {
            e.expect("a rules/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".toml") && n != "lineage.toml")
        .collect();
    names.sort();
    let mut out = String::from(
        "/// The rule files under `rules/`, compiled in by build.rs, sorted by name.\n",
    );
    out.push_str("const BUILTIN: &[(&str, &str)] = &[\n");
    for n in &names {
        let path = dir.join(n).canonicalize().expect("a rule file");
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    (\"built-in:{n}\", include_str!({:?})),",
            path.display().to_string()
        )
        .expect("a String takes writes");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("builtin_rules.rs");
    std::fs::write(dest, out).expect("write builtin_rules.rs");
}
