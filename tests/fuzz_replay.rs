//! Replays the fuzz corpus on stable, in the ordinary test run: every seed in
//! `fuzz/seeds/<target>/` and every crash input ever found in `fuzz/regressions/<target>/` goes
//! through the same handler the cargo-fuzz binary uses (`fuzz/harness.rs`). A panic on any of
//! them fails the test and names the file, so a fixed crash stays fixed without nightly.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/harness.rs"]
mod harness;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly inside `dir` (none when it does not exist), sorted for a stable report.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_input_runs_without_a_panic() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, run) in harness::TARGETS {
        let seeds = inputs(&fuzz_dir().join("seeds").join(name));
        assert!(
            !seeds.is_empty(),
            "fuzz/seeds/{name}/ is empty: each target starts from at least one seed"
        );
        let regressions = inputs(&fuzz_dir().join("regressions").join(name));
        for path in seeds.iter().chain(&regressions) {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            total += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    println!("replayed {total} inputs over {} targets", harness::TARGETS.len());
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
}

/// A folder under seeds/ or regressions/ that names no target would be silently skipped.
#[test]
fn every_corpus_folder_belongs_to_a_target() {
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                harness::TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/{kind}/{name} matches no target in fuzz/harness.rs"
            );
        }
    }
}

/// Every target has its cargo-fuzz binary, so scripts/fuzz.sh fuzzes what this test replays.
#[test]
fn every_target_has_a_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in harness::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(
            fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")).is_file(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
    }
}
