//! Bad encoder inputs give typed errors, never panics: truncated or edited safetensors, tensors
//! of the wrong shape or missing, ids outside the vocabulary, inputs longer than the model, a
//! task the checkpoint has no head for; and the CLI turns each into a message and exit code 1.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

use webslm::analysis::ner::Aggregation;
use webslm::analysis::{AnalysisError, TextModel};
use webslm::formats::safetensors::SafetensorsError;
use webslm::gpu::GpuOptions;
use webslm::models::encoder::{Encoder, EncoderConfig};
use webslm::models::safetensors_source::SafetensorsSource;
use webslm::models::ModelError;

fn fixture(model: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/encoders")
        .join(model)
        .join(file)
}

fn read(model: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture(model, file)).expect("fixture")
}

fn config(model: &str) -> EncoderConfig {
    EncoderConfig::parse(&read(model, "config.json")).expect("fixture config")
}

fn load(cfg: EncoderConfig, weights: Vec<u8>) -> Result<Encoder, ModelError> {
    let ctx = common::gpu().expect("GPU checked by the caller");
    let mut src = SafetensorsSource::from_bytes(weights)?;
    Encoder::load(ctx, cfg, &mut src)
}

/// The safetensors file with its JSON header rewritten by `edit` (the data is left as is).
fn edited_weights(model: &str, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let bytes = read(model, "model.safetensors");
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).expect("header");
    edit(header.as_object_mut().expect("object"));
    let json = serde_json::to_vec(&header).expect("json");
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

#[test]
fn broken_weight_files() {
    if common::gpu().is_none() {
        return;
    }
    let model = "tiny-bert-sst";
    let whole = read(model, "model.safetensors");
    let truncated = load(config(model), whole[..whole.len() / 2].to_vec());
    assert!(
        matches!(&truncated, Err(ModelError::Safetensors(e)) if matches!(**e, SafetensorsError::OutOfRange { .. })),
        "{:?}",
        truncated.err()
    );

    let missing = edited_weights(model, |h| {
        h.remove("bert.encoder.layer.1.output.dense.weight");
    });
    let err = load(config(model), missing).err().expect("a missing tensor fails");
    assert!(
        err.to_string().contains("bert.encoder.layer.1.output.dense.weight"),
        "{err}"
    );

    // A config that disagrees with the tensors: the embedding table has the wrong shape.
    let mut cfg = config(model);
    cfg.vocab += 1;
    assert!(
        matches!(load(cfg, whole.clone()), Err(ModelError::BadShape { ref name, .. }) if name.contains("word_embeddings")),
    );

    // A DistilBERT config over BERT weights names what it looked for.
    let err = load(config("tiny-distilbert-sst"), whole)
        .err()
        .expect("wrong family fails");
    assert!(err.to_string().contains("embeddings.word_embeddings.weight"), "{err}");
}

#[test]
fn ids_and_lengths_outside_the_model() {
    if common::gpu().is_none() {
        return;
    }
    let ctx = common::gpu().expect("gpu");
    let cfg = config("tiny-bert-sst");
    let (vocab, max) = (cfg.vocab as u32, cfg.max_positions);
    let enc = load(cfg, read("tiny-bert-sst", "model.safetensors")).expect("loads");
    let ok = enc.upload_batch(ctx, (1, 2), &[2, 3], &[0, 0], &[1, 1]);
    assert!(ok.is_ok());
    assert!(matches!(
        enc.upload_batch(ctx, (1, 2), &[2, vocab], &[0, 0], &[1, 1]),
        Err(ModelError::TokenOutOfVocab { id, .. }) if id == vocab
    ));
    assert!(matches!(
        enc.upload_batch(ctx, (1, 2), &[2, 3], &[0, 7], &[1, 1]),
        Err(ModelError::TokenTypeOutOfRange { id: 7, .. })
    ));
    let long = vec![2; max + 1];
    assert!(matches!(
        enc.upload_batch(ctx, (1, max + 1), &long, &vec![0; max + 1], &vec![1; max + 1]),
        Err(ModelError::SequenceTooLong { .. })
    ));
    assert!(matches!(
        enc.upload_batch(ctx, (2, 2), &[2, 3], &[0, 0], &[1, 1]),
        Err(ModelError::BatchShape { batch: 2, seq: 2 })
    ));
}

#[test]
fn tasks_need_their_head_and_inputs_their_length() {
    if common::gpu().is_none() {
        return;
    }
    let dir = fixture("tiny-bert-ner", "");
    let model = TextModel::open(&dir, GpuOptions::default()).expect("opens");
    let err = model.classify(&["hi"], false).expect_err("no classifier head");
    assert!(matches!(err, AnalysisError::NoHead { .. }), "{err}");
    let long = "word ".repeat(model.max_len + 10);
    let err = model
        .entities(&["ok", &long], Aggregation::First, false)
        .expect_err("too long");
    assert!(matches!(err, AnalysisError::InputTooLong { index: 1, .. }), "{err}");
    let entities = model.entities(&[&long], Aggregation::First, true).expect("truncated");
    assert!(entities[0].iter().all(|e| e.end <= long.len()));
}

/// Runs the CLI; returns (exit success, stderr).
fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the webslm binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn cli_reports_errors_without_panicking() {
    let sst = fixture("tiny-bert-sst", "");
    let sst = sst.to_str().expect("utf-8 path");
    let not_a_model = fixture("tiny-bert-sst", "config.json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["embed", "--model", sst], "--text"),
        (vec!["qa", "--model", sst, "--question", "q"], "--context"),
        (
            vec!["ner", "--model", sst, "--text", "x", "--aggregation", "best"],
            "aggregation",
        ),
        (
            vec!["embed", "--model", sst, "--text", "x", "--pooling", "max"],
            "pooling",
        ),
        (
            vec![
                "classify",
                "--model",
                not_a_model.to_str().expect("utf-8"),
                "--text",
                "x",
            ],
            "config.json",
        ),
        (
            vec!["classify", "--model", "/nonexistent", "--text", "x"],
            "/nonexistent",
        ),
    ];
    for (args, expect) in cases {
        let (ok, stderr) = cli(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            stderr.contains(expect),
            "{args:?}: stderr {stderr:?} should mention {expect:?}"
        );
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}

#[test]
fn question_answering_inputs() {
    if common::gpu().is_none() {
        return;
    }
    let model = TextModel::open(&fixture("tiny-mobilebert-qa", ""), GpuOptions::default()).expect("opens");
    let opts = webslm::analysis::qa::QaOptions::default();
    let err = model
        .answer(" ", "Paris is in France.", &opts)
        .expect_err("empty question");
    assert!(matches!(err, AnalysisError::EmptyInput(_)), "{err}");
    // A question that fills the window leaves no room for the context.
    let huge = "where ".repeat(400);
    let err = model
        .answer(&huge, "Paris is in France.", &opts)
        .expect_err("question too long");
    assert!(matches!(err, AnalysisError::QuestionTooLong { .. }), "{err}");
    // A long question with a short context still fits one window (as in transformers).
    let long = "where ".repeat(300);
    let answers = model.answer(&long, "Paris is in France.", &opts).expect("fits");
    assert_eq!(answers.len(), 1);
}
