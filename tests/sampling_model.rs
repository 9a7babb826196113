//! The OpenAI request options on a real model (SmolLM2): `logprobs` are the log-softmax of the
//! logits `webslm logits` reports (the raw logits, before temperature, penalties and
//! logit_bias), within 1e-4, and `top_logprobs` are their top entries; `webslm generate --n 2
//! --seed S` gives choices that an in-process run with seeds S and S + 1 reproduces token for
//! token, with usage counting the prompt once and every choice's tokens; bad values are errors
//! before the model loads.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::process::Command;

use webslm::engine::{Engine, EngineOptions};
use webslm::sampling::{choice_seed, Sampler, SamplingParams, TokenLogprobs};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Absolute, on log-probabilities: both sides log-softmax the same f32 logits.
const TOL: f32 = 1e-4;
const PROMPT: &str = "The capital of France is";

/// log_softmax(row) in f64, as the reference.
fn log_softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max + row.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    row.iter().map(|&l| (l as f64 - lse) as f32).collect()
}

/// Checks one generated token's entry against the full logits row before it.
fn check_entry(what: &str, lp: &TokenLogprobs, row: &[f32], top_n: usize) {
    let want = log_softmax(row);
    let got = lp.logprob;
    let w = want[lp.id as usize];
    assert!(
        (got - w).abs() <= TOL,
        "{what}: token {}: logprob {got}, want {w}",
        lp.id
    );
    let mut order: Vec<u32> = (0..row.len() as u32).collect();
    order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
    let ids: Vec<u32> = lp.top.iter().map(|t| t.0).collect();
    assert_eq!(
        ids,
        order[..top_n],
        "{what}: top_logprobs ids are the logits' top {top_n}"
    );
    for &(id, v) in &lp.top {
        let w = want[id as usize];
        assert!((v - w).abs() <= TOL, "{what}: top id {id}: {v}, want {w}");
    }
}

fn run(engine: &mut Engine, prompt: &[u32], params: SamplingParams, n: usize) -> (Vec<u32>, Vec<TokenLogprobs>) {
    let stats = engine
        .generate(prompt, n, &mut Sampler::new(params), &[], |_| true)
        .unwrap();
    (stats.ids, stats.logprobs)
}

#[test]
fn logprobs_n_seed_and_usage_on_smollm2() {
    let Some(dir) = common_formats::models_dir("sampling_model") else {
        return;
    };
    let path = dir.join(SMOLLM2);
    let mut engine = Engine::load(&path, &EngineOptions::default()).unwrap();
    let tokenizer = engine.tokenizer().unwrap();
    let prompt = tokenizer.encode(PROMPT).unwrap();

    // Greedy, 2 tokens, top 5: every step against the logits of the prefix before it, computed
    // as generation computed them (the prompt in one prefill, then one token at a time: the
    // prompt's last position through GEMV instead of GEMM would move the logits by ~1e-4).
    let greedy = SamplingParams {
        logprobs: true,
        top_logprobs: 5,
        ..SamplingParams::greedy()
    };
    let (ids, lps) = run(&mut engine, &prompt, greedy, 2);
    assert_eq!(lps.len(), ids.len());
    engine.cache.truncate(0);
    for (i, lp) in lps.iter().enumerate() {
        assert_eq!(lp.id, ids[i]);
        assert_eq!(lp.top[0].0, ids[i], "greedy picks the top logprob");
        let mut prefix = prompt.clone();
        prefix.extend(&ids[..i]);
        let logits = engine.prefill(&prefix).unwrap();
        let row = engine.read_logits(&logits).unwrap();
        check_entry(&format!("greedy step {i}"), lp, &row, 5);
    }

    // Sampled with a bias and penalties: the reported logprobs stay those of the raw logits.
    let row = {
        engine.cache.truncate(0);
        let logits = engine.prefill(&prompt).unwrap();
        engine.read_logits(&logits).unwrap()
    };
    let biased = SamplingParams {
        temperature: 1.0,
        logit_bias: vec![(ids[0], -100.0), (260, 5.0)],
        frequency_penalty: 1.0,
        presence_penalty: 0.5,
        logprobs: true,
        top_logprobs: 2,
        seed: 3,
        ..SamplingParams::default()
    };
    engine.cache.truncate(0);
    let (b_ids, b_lps) = run(&mut engine, &prompt, biased, 1);
    assert_ne!(b_ids[0], ids[0], "a -100 bias bans the greedy token");
    check_entry("biased step 0", &b_lps[0], &row, 2);

    // n = 2 through the CLI, against in-process runs with the same seeds.
    let sampled = SamplingParams {
        temperature: 1.0,
        seed: 11,
        ..SamplingParams::default()
    };
    // As the CLI runs them: choice 0 prefills the whole prompt, choice 1 reuses its cache.
    engine.cache.truncate(0);
    let expected: Vec<Vec<u32>> = (0..2)
        .map(|i| {
            let p = SamplingParams {
                seed: choice_seed(11, i),
                ..sampled.clone()
            };
            run(&mut engine, &prompt, p, 3).0
        })
        .collect();
    drop(engine);
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(["generate", "--model", path.to_str().unwrap(), "--prompt", PROMPT])
        .args([
            "--max-tokens",
            "3",
            "--temperature",
            "1.0",
            "--seed",
            "11",
            "--n",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    for (i, c) in choices.iter().enumerate() {
        let got: Vec<u32> = serde_json::from_value(c["ids"].clone()).unwrap();
        assert_eq!(
            got, expected[i],
            "choice {i} is reproduced by seed choice_seed(11, {i})"
        );
        assert_eq!(c["index"], i);
    }
    let completion = expected.iter().map(Vec::len).sum::<usize>();
    assert_eq!(
        v["usage"],
        serde_json::json!({"prompt_tokens": prompt.len(), "completion_tokens": completion,
            "total_tokens": prompt.len() + completion})
    );
}

/// Out-of-range values are errors that name the option, before any model is opened.
#[test]
fn bad_request_values_are_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--frequency-penalty", "2.5"], "frequency_penalty"),
        (&["--presence-penalty", "-3"], "presence_penalty"),
        (&["--logit-bias", "5=101"], "logit_bias"),
        (&["--logit-bias", "five=1"], "--logit-bias"),
        (&["--logprobs", "--top-logprobs", "21"], "top_logprobs"),
        (&["--top-logprobs", "2"], "top_logprobs needs logprobs"),
        (&["--n", "0"], "--n"),
    ];
    for (args, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
            .args(["generate", "--model", "/nonexistent.gguf", "--prompt", "x"])
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
