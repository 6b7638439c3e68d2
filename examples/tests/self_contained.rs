//! A clone of this repository alone runs its tests, benches and examples: nothing in it reads a path
//! outside the repository (such as a `../shared` folder that exists only beside our own checkout).
//! What they need (the HL7 corpus with its licence, the seed's configs) is under `testdata/`.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ sits in the repository root")
        .to_path_buf()
}

/// Source and script files the project ships, skipping build output.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if name == "target" || name == ".git" || name == "testdata" || name.starts_with('.') {
                continue;
            }
            files(&p, out);
        } else if ["rs", "sh", "toml"]
            .iter()
            .any(|ext| p.extension().is_some_and(|x| x == *ext))
            || name == "run"
        {
            out.push(p);
        }
    }
}

/// How far up a relative path literal climbs from the directory it is resolved against.
fn escapes(literal: &str, base_depth: usize) -> bool {
    let mut depth = base_depth as isize;
    for part in literal.split('/') {
        match part {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[test]
fn nothing_reads_a_path_outside_the_repository() {
    let root = repo_root();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.len() > 20,
        "found only {} files under {root:?}",
        all.len()
    );
    let mut offenders = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let rel = path.strip_prefix(&root).unwrap_or(path);
        // Depth of the crate directory a `CARGO_MANIFEST_DIR`-relative literal is resolved against.
        let crate_depth = rel.components().count().saturating_sub(1).min(1);
        for (n, line) in text.lines().enumerate() {
            if line.contains("../shared")
                || line.contains("shared/hl7")
                || line.contains("shared/seed")
            {
                if !path.ends_with("self_contained.rs") {
                    offenders.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
                continue;
            }
            if line.contains("CARGO_MANIFEST_DIR")
                || line.contains("\"/..")
                || line.contains("\"{}/..")
            {
                for lit in line.split('"').skip(1).step_by(2) {
                    let lit = lit.trim_start_matches("{}");
                    if lit.starts_with("/..") && escapes(lit, crate_depth) {
                        offenders.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these lines read outside the repository (copy what they need into testdata/):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_check_itself_catches_an_escaping_path() {
    assert!(escapes("/../../shared/hl7/corpus", 1));
    assert!(!escapes("/../testdata/hl7/corpus", 1));
}

#[test]
fn corpus_and_seed_are_in_the_repository() {
    let root = repo_root();
    let corpus = root.join("testdata/hl7/corpus");
    let n = std::fs::read_dir(&corpus)
        .expect("testdata/hl7/corpus")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "hl7"))
        .count();
    assert_eq!(n, 64, "the 64 corpus messages");
    let licence = std::fs::read_to_string(corpus.join("LICENSE")).expect("corpus licence");
    assert!(licence.contains("MIT License"));
    assert!(root.join("testdata/seed/connectors.md").is_file());
}
