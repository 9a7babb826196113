//! LoRA adapters on encoders (tests/fixtures/lora/{bert-sst-qv, bert-sst-2way, distilbert-sst,
//! bert-ner, mobilebert-qa}, made with PEFT by scripts/lora/make_encoder_fixtures.py) against
//! transformers' merged model (`merge_and_unload`), with the task head PEFT saved with each
//! adapter (`modules_to_save`) running instead of the base's.
//!
//! Bounds: logits within 1e-3 of the merged model (the issue's; f32 on both sides). Scale 0, the
//! empty active set and an unloaded adapter give exactly (bit for bit) the logits and labels of
//! the model before the adapter was attached, and a rejected adapter leaves the model unchanged.

use std::path::PathBuf;

use webslm::analysis::inputs::Tokenized;
use webslm::analysis::{AnalysisError, TextModel};
use webslm::gpu::GpuOptions;
use webslm::lora::{self, AdapterSpec, LoraAdapter, LoraError, LoraMatrix};
use webslm::models::encoder::HeadKind;
use webslm::models::ModelError;

#[path = "common_lora/mod.rs"]
mod common_lora;
use common_lora::{cli_json, fixtures, in_ci, max_diff, read, LOGIT_TOL};

/// Logits are per input: `[labels]` for sequence classification, the flattened `[tokens,
/// outputs]` for token classification and QA (start and end interleaved).
#[derive(serde::Deserialize)]
struct Golden {
    base: String,
    labels: Vec<String>,
    /// Texts, or QA's {question, context} pairs (tokenized by the fixture as `ids`).
    inputs: Vec<serde_json::Value>,
    ids: Vec<Vec<u32>>,
    type_ids: Vec<Vec<u32>>,
    base_logits: Vec<Vec<f32>>,
    logits: Vec<Vec<f32>>,
}

impl Golden {
    /// The inputs when they are single texts (sequence and token classification).
    fn texts(&self) -> Option<Vec<&str>> {
        self.inputs.iter().map(serde_json::Value::as_str).collect()
    }
}

fn golden(adapter: &str) -> Golden {
    common_lora::golden(adapter)
}

fn peft_dir(adapter: &str) -> PathBuf {
    fixtures().join("lora").join(adapter).join("peft")
}

/// The base model, or `None` (skipped) when no GPU adapter exists outside CI (`CI=true` fails).
fn open(base: &str) -> Option<TextModel> {
    let dir = fixtures().join("encoders").join(base);
    match (TextModel::open(&dir, GpuOptions::default()), in_ci()) {
        (Ok(m), _) => Some(m),
        (Err(AnalysisError::Model(ModelError::Gpu(e))), false) => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            None
        }
        (Err(e), _) => panic!("{base}: {e}"),
    }
}

/// The golden's token ids as inputs (their offsets are unused by logits); for texts, checked
/// against webslm's own tokenization first.
fn inputs(model: &TextModel, g: &Golden) -> Vec<Tokenized> {
    if let Some(texts) = g.texts() {
        let tokenized = model.tokenize(&texts, false).expect("tokenize");
        for (t, want) in tokenized.iter().zip(&g.ids) {
            assert_eq!(&t.ids, want, "the golden's ids");
        }
    }
    g.ids
        .iter()
        .zip(&g.type_ids)
        .map(|(ids, types)| Tokenized {
            ids: ids.clone(),
            type_ids: types.clone(),
            offsets: vec![(0, 0); ids.len()],
            words: vec![None; ids.len()],
            sequence: vec![None; ids.len()],
            special: vec![false; ids.len()],
        })
        .collect()
}

/// Logits one input at a time, then as one padded batch (they must agree within the bound too).
fn logits(model: &TextModel, inputs: &[Tokenized]) -> Vec<Vec<f32>> {
    let alone = model.logits(inputs, 1).expect("logits");
    let batched = model.logits(inputs, inputs.len()).expect("batched logits");
    assert!(
        max_diff(&alone, &batched) <= LOGIT_TOL,
        "padded batch against one at a time"
    );
    alone
}

fn active(id: u32, scale: f32) -> [AdapterSpec; 1] {
    [AdapterSpec { id, scale }]
}

/// One adapter on its base: the merged model's logits and the adapter's labels at scale 1; the
/// untouched model's, bit for bit, at scale 0, with no adapter active, and once unloaded.
fn check(adapter: &str) {
    let g = golden(adapter);
    let Some(mut model) = open(&g.base) else { return };
    let inputs = inputs(&model, &g);
    let before = logits(&model, &inputs);
    let base_labels = model.encoder.head.labels().to_vec();
    assert!(max_diff(&before, &g.base_logits) <= LOGIT_TOL, "{adapter}: base model");
    let (id, bytes) = model.load_adapter(&read(&peft_dir(adapter))).expect("attach");
    assert!(bytes > 0);
    model.set_adapters(&active(id, 1.0)).expect("activate");
    let worst = max_diff(&logits(&model, &inputs), &g.logits);
    eprintln!("{adapter}: max |logit - merged transformers| {worst:.2e}");
    assert!(worst <= LOGIT_TOL, "{adapter}: {worst} > {LOGIT_TOL}");
    assert_eq!(
        model.encoder.head.labels(),
        &g.labels[..],
        "{adapter}: the adapter's labels"
    );
    if let (Some(texts), HeadKind::SequenceClassification) = (g.texts(), model.encoder.head.kind) {
        let scores = model.classify(&texts, false).expect("classify");
        assert!(scores.iter().flatten().all(|s| g.labels.contains(&s.label)));
    }
    let (zero, none): ([AdapterSpec; 1], [AdapterSpec; 0]) = (active(id, 0.0), []);
    for specs in [&zero[..], &none[..]] {
        model.set_adapters(specs).expect("switch");
        assert_eq!(
            logits(&model, &inputs),
            before,
            "{adapter}: {specs:?} is the base model"
        );
        assert_eq!(model.encoder.head.labels(), &base_labels[..]);
    }
    model.set_adapters(&active(id, 1.0)).expect("activate");
    model.unload_adapter(id).expect("unload");
    assert_eq!(logits(&model, &inputs), before, "{adapter}: unloaded");
    assert!(matches!(
        model.set_adapters(&active(id, 1.0)),
        Err(LoraError::UnknownId(_))
    ));
}

#[test]
fn bert_query_value_adapter_with_its_classifier() {
    check("bert-sst-qv");
}

#[test]
fn bert_adapter_with_a_head_for_other_labels() {
    check("bert-sst-2way");
}

#[test]
fn distilbert_rslora_adapter_with_pre_classifier_and_classifier() {
    check("distilbert-sst");
}

#[test]
fn bert_token_classification_adapter() {
    check("bert-ner");
}

/// MobileBERT's bottleneck and FFN `dense` layers, and its own `qa_outputs`.
#[test]
fn mobilebert_question_answering_adapter() {
    check("mobilebert-qa");
}

/// Two adapters on one model, switched per call: each gives its own logits and labels; both at
/// once is an error (one head can run), and leaves the last good set active.
#[test]
fn two_adapters_switched_per_request() {
    let (ga, gb): (Golden, Golden) = (golden("bert-sst-qv"), golden("bert-sst-2way"));
    let Some(mut model) = open(&ga.base) else { return };
    let inputs = inputs(&model, &ga);
    let (a, _) = model.load_adapter(&read(&peft_dir("bert-sst-qv"))).expect("a");
    let (b, _) = model.load_adapter(&read(&peft_dir("bert-sst-2way"))).expect("b");
    for _ in 0..2 {
        for (id, g) in [(a, &ga), (b, &gb)] {
            model.set_adapters(&active(id, 1.0)).expect("switch");
            assert!(
                max_diff(&logits(&model, &inputs), &g.logits) <= LOGIT_TOL,
                "adapter {id}"
            );
            assert_eq!(model.encoder.head.labels(), &g.labels[..]);
        }
    }
    let both = [AdapterSpec { id: a, scale: 1.0 }, AdapterSpec { id: b, scale: 1.0 }];
    assert!(matches!(model.set_adapters(&both), Err(LoraError::TwoHeads(..))));
    assert!(
        max_diff(&logits(&model, &inputs), &gb.logits) <= LOGIT_TOL,
        "b still active"
    );
}

/// `a` with its first matrix replaced by one of `rows x cols` zeros (f32).
fn zeros(rows: usize, cols: usize) -> LoraMatrix {
    LoraMatrix {
        format: webslm::formats::quant::WeightFormat::F32,
        rows,
        cols,
        bytes: vec![0; rows * cols * 4],
    }
}

#[test]
fn mismatched_encoder_adapters_are_typed_errors() {
    let g = golden("bert-sst-qv");
    let Some(mut model) = open(&g.base) else { return };
    let inputs = inputs(&model, &g);
    let before = logits(&model, &inputs);
    let qv = read(&peft_dir("bert-sst-qv"));
    let err = |model: &mut TextModel, adapter: &LoraAdapter| model.load_adapter(adapter).expect_err("must not fit");

    // A DistilBERT adapter: its saved pre_classifier is no layer of BERT's head.
    let e = err(&mut model, &read(&peft_dir("distilbert-sst")));
    assert!(
        matches!(&e, LoraError::Unsupported(m) if m.contains("pre_classifier")),
        "{e}"
    );
    // Its LoRA pairs alone: targets BERT does not have.
    let mut pairs_only = read(&peft_dir("distilbert-sst"));
    pairs_only.saved.clear();
    let e = err(&mut model, &pairs_only);
    assert!(
        matches!(&e, LoraError::MissingTarget { target, .. } if target.starts_with("distilbert.transformer.layer.")),
        "{e}"
    );
    // A layer past the base's two.
    let mut missing = qv.clone();
    missing.pairs[0].target = "bert.encoder.layer.5.attention.self.query".into();
    assert!(matches!(err(&mut model, &missing), LoraError::MissingTarget { .. }));
    // A pair of the wrong width ([r, 16] against a 32-wide projection).
    let mut narrow = qv.clone();
    let r = narrow.pairs[0].a.rows;
    narrow.pairs[0].a = zeros(r, 16);
    assert!(matches!(
        err(&mut model, &narrow),
        LoraError::ShapeMismatch { k: 16, base_k: 32, .. }
    ));
    // A classifier for another hidden size.
    let mut wide = qv.clone();
    let w = wide
        .saved
        .iter_mut()
        .find(|s| s.name == "classifier.weight")
        .expect("classifier");
    w.shape = vec![3, 16];
    w.bytes.truncate(3 * 16 * 4);
    let e = err(&mut model, &wide);
    assert!(
        matches!(&e, LoraError::SavedShape { tensor, .. } if tensor == "classifier.weight"),
        "{e}"
    );
    // A head without its bias.
    let mut no_bias = qv.clone();
    no_bias.saved.retain(|s| s.name != "classifier.bias");
    assert!(matches!(err(&mut model, &no_bias), LoraError::BadTensor { .. }));
    // A 2-label head without its labels (the base has 3), and with 3 labels for its 2 outputs.
    let mut unnamed = read(&peft_dir("bert-sst-2way"));
    unnamed.labels = None;
    let e = err(&mut model, &unnamed);
    assert!(matches!(&e, LoraError::HeadLabels { outputs: 2, .. }), "{e}");
    assert!(e.to_string().contains("config.json"), "{e}");
    unnamed.labels = Some(vec!["a".into(), "b".into(), "c".into()]);
    assert!(matches!(err(&mut model, &unnamed), LoraError::HeadLabels { .. }));
    // A llama.cpp GGUF adapter (decoder names; encoders take PEFT folders).
    let gguf = read(&fixtures().join("lora/llama3-b/adapter-f32.gguf"));
    assert!(matches!(err(&mut model, &gguf), LoraError::Unsupported(_)));
    // A config.json without labels next to the adapter is an error, not "no labels".
    assert!(matches!(
        lora::peft::labels(b"{\"hidden_size\": 32}"),
        Err(LoraError::Config(_))
    ));

    // Nothing above attached anything.
    let terms: usize = model.encoder.linears_mut().iter().map(|(_, l)| l.lora.len()).sum();
    assert_eq!(terms, 0);
    assert!(model.encoder.head.adapters.is_empty());
    assert_eq!(logits(&model, &inputs), before);
}

/// `webslm classify --lora DIR[:SCALE]`: the adapter's labels and scores; `:0` the base's.
#[test]
fn cli_classify_with_lora() {
    let g = golden("bert-sst-2way");
    let run = |lora: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_webslm"))
            .args(["classify", "--text", g.texts().expect("texts")[0]])
            .arg("--model")
            .arg(fixtures().join("encoders").join(&g.base))
            .args(["--lora", lora])
            .output()
            .expect("webslm runs")
    };
    let dir = peft_dir("bert-sst-2way").display().to_string();
    for (spec, n_labels) in [(dir.clone(), 2), (format!("{dir}:0"), 3)] {
        let Some(json) = cli_json(&run(&spec)) else { return };
        let labels = json["labels"].as_array().expect("labels");
        assert_eq!(labels.len(), n_labels, "{spec}: {json}");
        if n_labels == 2 {
            // softmax of the merged model's logits: the top label and its score.
            let l = &g.logits[0];
            let (best, z) = if l[0] > l[1] {
                (0, l[1] - l[0])
            } else {
                (1, l[0] - l[1])
            };
            assert_eq!(labels[0]["label"].as_str(), Some(g.labels[best].as_str()));
            let score = labels[0]["score"].as_f64().expect("score") as f32;
            assert!((score - 1.0 / (1.0 + z.exp())).abs() <= 1e-4, "{score}");
        }
    }
    let out = run(&fixtures().join("lora/llama3-b/peft").display().to_string());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.layers.0"));
}
