//! `webslm inspect` on the four real models (skipped with a reason when models/ is missing,
//! failed under CI) and on files that are not models.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run_inspect(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(["inspect", "--model"])
        .arg(path)
        .output()
        .expect("the webslm binary runs")
}

fn inspect_ok(path: &Path) -> Value {
    let out = run_inspect(path);
    assert!(
        out.status.success(),
        "inspect {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inspect prints one JSON value")
}

/// The checks every report must pass: tensor count and total bytes agree with the list.
fn check_consistent(v: &Value) {
    let tensors = v["tensors"].as_array().expect("a tensor list");
    assert_eq!(v["tensor_count"].as_u64(), Some(tensors.len() as u64));
    let sum: u64 = tensors.iter().map(|t| t["bytes"].as_u64().expect("bytes")).sum();
    assert_eq!(v["total_bytes"].as_u64(), Some(sum));
    for t in tensors {
        assert!(
            t["name"].is_string() && t["type"].is_string() && t["shape"].is_array(),
            "{t}"
        );
    }
}

#[test]
fn inspect_smollm2() {
    let Some(dir) = common_formats::models_dir("cli_inspect") else {
        return;
    };
    let v = inspect_ok(&dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"));
    check_consistent(&v);
    assert_eq!(v["format"], "gguf");
    assert_eq!(v["architecture"], "llama");
    let hp = &v["hyperparameters"];
    assert_eq!(hp["block_count"], 30);
    assert_eq!(hp["embedding_length"], 576);
    assert_eq!(hp["head_count"], 9);
    assert_eq!(hp["head_count_kv"], 3);
    assert_eq!(hp["feed_forward_length"], 1536);
    assert_eq!(hp["context_length"], 8192);
    assert_eq!(hp["vocab_size"], 49152);
    assert_eq!(hp["rope_freq_base"], 100000.0);
    assert_eq!(v["tensor_count"], 272);
    assert_eq!(v["chat_template"], true);
    // Shapes are outermost first: the embedding is [vocab, hidden].
    let embd = v["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "token_embd.weight")
        .unwrap();
    assert_eq!(embd["shape"], serde_json::json!([49152, 576]));
    assert_eq!(embd["type"], "Q8_0");
}

#[test]
fn inspect_gemma3() {
    let Some(dir) = common_formats::models_dir("cli_inspect") else {
        return;
    };
    let v = inspect_ok(&dir.join("gemma-3-270m-q4_k_m.gguf"));
    check_consistent(&v);
    assert_eq!(v["architecture"], "gemma3");
    assert_eq!(v["hyperparameters"]["block_count"], 18);
    assert_eq!(v["hyperparameters"]["embedding_length"], 640);
    assert_eq!(v["hyperparameters"]["vocab_size"], 262144);
    assert_eq!(v["chat_template"], false);
}

#[test]
fn inspect_qwen() {
    let Some(dir) = common_formats::models_dir("cli_inspect") else {
        return;
    };
    let v = inspect_ok(&dir.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"));
    check_consistent(&v);
    assert_eq!(v["architecture"], "qwen2");
    assert_eq!(v["hyperparameters"]["block_count"], 24);
    assert_eq!(v["hyperparameters"]["head_count"], 14);
    assert_eq!(v["hyperparameters"]["head_count_kv"], 2);
    assert_eq!(v["chat_template"], true);
}

#[test]
fn inspect_minilm_folder() {
    let Some(dir) = common_formats::models_dir("cli_inspect") else {
        return;
    };
    let v = inspect_ok(&dir.join("all-minilm-l6-v2"));
    check_consistent(&v);
    assert_eq!(v["format"], "safetensors");
    assert_eq!(v["architecture"], "bert");
    let hp = &v["hyperparameters"];
    assert_eq!(hp["block_count"], 6);
    assert_eq!(hp["embedding_length"], 384);
    assert_eq!(hp["head_count"], 12);
    assert_eq!(hp["vocab_size"], 30522);
    let types: Vec<&str> = v["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["type"].as_str())
        .collect();
    assert!(types.contains(&"F32"), "{types:?}");
}

fn assert_clean_failure(path: &Path, mentions: &str) {
    let out = run_inspect(path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "inspect {} should fail", path.display());
    assert!(out.stdout.is_empty(), "no JSON on failure");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(mentions),
        "stderr should mention {mentions:?}: {stderr}"
    );
}

#[test]
fn inspect_rejects_garbage_cleanly() {
    let dir = std::env::temp_dir().join(format!("webslm-cli-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, b"this is not a model file at all").unwrap();
    assert_clean_failure(&garbage, "not a GGUF file");

    // A valid GGUF header whose tensor data is cut off.
    let mut truncated = common_formats::GgufBuilder::valid().build();
    truncated.truncate(truncated.len() - 10);
    let path = dir.join("truncated.gguf");
    std::fs::write(&path, &truncated).unwrap();
    assert_clean_failure(&path, "truncated");

    let st = dir.join("bad.safetensors");
    std::fs::write(&st, common_formats::safetensors_file("{\"a\": 1", 0)).unwrap();
    assert_clean_failure(&st, "JSON");

    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    assert_clean_failure(&empty_dir, "not a model");

    assert_clean_failure(&dir.join("missing.gguf"), "missing.gguf");
    std::fs::remove_dir_all(&dir).ok();
}
