//! The repository's own documentation: `docs/effects.md` is exactly what the parameter tables generate, and
//! nothing a user reads (README, docs/, `--help` text and rustdoc in the sources, the tests) names a file
//! outside the repository.

use corelogic_dsp::listing::{effects_markdown, EFFECTS_MARKDOWN_COMMAND};
use std::path::{Path, PathBuf};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn the_checked_in_effect_reference_is_what_the_parameter_tables_generate() {
    let generated = effects_markdown().expect("the listing builds");
    let path = repo_file("docs/effects.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        // The first differing line, so the failure says where the tables and the file disagree.
        let line = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "its length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "docs/effects.md is out of date with the parameter tables (first difference at {line}); \
             regenerate it with: {EFFECTS_MARKDOWN_COMMAND}"
        );
    }
}

/// Every text file under `dir` (recursively) with one of the extensions.
fn files_under(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files_under(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_source_doc_or_readme_names_the_specification_outside_the_repository() {
    let mut files = vec![repo_file("README.md")];
    for dir in [
        "src",
        "tests",
        "docs",
        "scripts",
        "benches",
        "examples",
        "worklet",
        "pkg-template",
        "www",
    ] {
        files_under(&repo_file(dir), &["rs", "md", "sh", "py", "mjs", "ts"], &mut files);
    }
    // Written in two pieces so that this file does not match itself.
    let forbidden = [concat!("../", "shared"), concat!("shared/", "spec")];
    // Outside docs/, the names the specification's files share with the repo's docs must be the repo's:
    // the one under docs/, never the bare name (inside docs/ a bare name is a link to a sibling).
    let doc_names = [".md", "effects", "engine", "cli"];
    let bare_doc_name = |line: &str| {
        doc_names[1..].iter().any(|name| {
            let needle = format!("{name}{}", doc_names[0]);
            line.match_indices(&needle).any(|(at, _)| {
                let before = &line[..at];
                !(before.ends_with("docs/") || before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-'))
            })
        })
    };
    let docs_dir = repo_file("docs");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f)) || (!file.starts_with(&docs_dir) && bare_doc_name(line)) {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 50, "only {} files scanned", files.len());
    assert!(
        found.is_empty(),
        "references to files outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn help_texts_name_only_the_repository_docs() {
    for args in [
        &["--help"][..],
        &["effects", "--help"],
        &["process", "--help"],
        &["analyze", "--help"],
        &["peaks", "--help"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
            .args(args)
            .output()
            .expect("the CLI runs");
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Usage"), "{args:?}: {help}");
        for word in help.split_whitespace().filter(|w| w.contains(".md")) {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '.');
            assert!(
                word.starts_with("docs/"),
                "{args:?} names '{word}', not a file under docs/"
            );
        }
        assert!(!help.contains("shared"), "{args:?}: {help}");
    }
}
