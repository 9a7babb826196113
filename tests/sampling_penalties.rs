//! logit_bias and the repetition, frequency and presence penalties, as llama.cpp's samplers
//! apply them to SmolLM2's real logits (tests/fixtures/sampling/penalties.json, made by
//! scripts/fixtures/make_penalty_fixtures.py with llama-cpp-python's sampler objects): webslm's
//! GPU penalty kernel, fed by `SamplingParams::penalty_entries` (the 64-token window over the
//! generated tokens), then the GPU top-k, give llama.cpp's top 40 ids and their logits.

mod common;

use common::{assert_close, gpu};
use webslm::gpu::Batch;
use webslm::kernels::{penalty::penalize, topk::top_k};
use webslm::sampling::SamplingParams;

/// f32 elementwise: both sides add, divide and multiply the same f32 values.
const TOL: f32 = 1e-4;

#[test]
fn penalties_and_logit_bias_match_llama_cpp() {
    let Some(ctx) = gpu() else { return };
    let text = std::fs::read_to_string("tests/fixtures/sampling/penalties.json").expect("fixture");
    let f: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    let n_vocab = f["n_vocab"].as_u64().unwrap() as usize;
    let k = f["top_k"].as_u64().unwrap() as usize;
    // Ids the fixture leaves out are below every case's top k (the script asserts it).
    let mut raw = vec![-1e9f32; n_vocab];
    for e in f["raw_logits"].as_array().unwrap() {
        raw[e[0].as_u64().unwrap() as usize] = e[1].as_f64().unwrap() as f32;
    }
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let num = |key: &str| c[key].as_f64().unwrap() as f32;
        let p = SamplingParams {
            repeat_penalty: num("repeat_penalty"),
            frequency_penalty: num("frequency_penalty"),
            presence_penalty: num("presence_penalty"),
            penalty_last_n: f["penalty_last_n"].as_u64().unwrap() as usize,
            logit_bias: c["logit_bias"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b[0].as_u64().unwrap() as u32, b[1].as_f64().unwrap() as f32))
                .collect(),
            ..SamplingParams::default()
        };
        p.validate().expect("fixture options are valid");
        let history: Vec<u32> = c["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        let logits = ctx.upload_f32(&raw, &[n_vocab]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        let entries = p.penalty_entries(&history);
        penalize(
            &mut batch,
            &logits,
            &entries,
            p.repeat_penalty,
            p.presence_penalty,
            p.frequency_penalty,
        )
        .unwrap();
        let top = top_k(&mut batch, &logits, k).unwrap();
        let words = batch.submit_and_read_blocking(&[&top.ids, &top.values]).unwrap();
        let want: Vec<(u32, f32)> = c["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e[0].as_u64().unwrap() as u32, e[1].as_f64().unwrap() as f32))
            .collect();
        let got_ids = &words[0];
        let got_vals: Vec<f32> = words[1].iter().map(|&w| f32::from_bits(w)).collect();
        let want_ids: Vec<u32> = want.iter().map(|w| w.0).collect();
        let want_vals: Vec<f32> = want.iter().map(|w| w.1).collect();
        assert_eq!(got_ids, &want_ids, "{name}: top {k} ids");
        assert_close(&got_vals, &want_vals, TOL, name);
    }
}
