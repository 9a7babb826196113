//! What the LoRA tests share: the fixture paths, golden and adapter readers, and the logit bound.
#![allow(dead_code)] // each test binary uses part of this

use std::path::{Path, PathBuf};

use webslm::lora::{self, LoraAdapter};

/// The bound on logits against transformers' merged model (f32 on both sides).
pub const LOGIT_TOL: f32 = 1e-3;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `tests/fixtures/lora/<adapter>/golden.json`.
pub fn golden<T: serde::de::DeserializeOwned>(adapter: &str) -> T {
    let path = fixtures().join("lora").join(adapter).join("golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read(path: &Path) -> LoraAdapter {
    lora::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The largest |difference| of two `[rows][cols]` tables of the same shape.
pub fn max_diff(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len(), "rows");
    let mut worst = 0.0f32;
    for (row, w) in got.iter().zip(want) {
        assert_eq!(row.len(), w.len(), "columns");
        worst = row.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
    }
    worst
}

/// Whether a test without a GPU adapter must fail (`CI=true`) rather than skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The JSON a `webslm` run printed, or `None` (skipped, message printed) when it failed for want
/// of a GPU outside CI. Any other failure panics with its stderr.
pub fn cli_json(out: &std::process::Output) -> Option<serde_json::Value> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !in_ci() && stderr.contains("GPU") {
        eprintln!("SKIPPED: {stderr}");
        return None;
    }
    assert!(out.status.success(), "{stderr}");
    Some(serde_json::from_slice(&out.stdout).expect("JSON"))
}
