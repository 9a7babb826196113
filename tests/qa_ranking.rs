//! QA span ranking against transformers' own code (issue 15, part 5).
//!
//! `tests/fixtures/encoders/tiny-mobilebert-qa/qa_ranking.json` holds, for every fixture
//! question, the windows webslm cuts and the start/end logits the tiny MobileBERT gives on them
//! (dumped by `dump_logits` below), and what transformers 4's `select_starts_ends` /
//! `decode_spans` and `QuestionAnsweringPipeline.postprocess` make of those same logits
//! (`scripts/fixtures/make_qa_ranking_golden.py`). Feeding the committed logits keeps the
//! ranking test exact and free of GPU noise; `best_answer_does_not_depend_on_top_k` runs the
//! model itself.
//!
//! Tolerances: spans, answer text and offsets exactly; scores within 1e-5 (f32 here, numpy
//! float32 products summed in Python floats there).

use std::path::PathBuf;

use serde_json::{json, Value};
use webslm::analysis::inputs::{tokenize_pair_windows, Tokenized};
use webslm::analysis::qa::{answers, ranked_spans, Answer, QaOptions};
use webslm::analysis::{AnalysisError, TextModel};
use webslm::gpu::GpuOptions;
use webslm::models::ModelError;

const SCORE_TOL: f64 = 1e-5;
/// Through the model the logits are this run's GPU's, so scores to the encoder goldens' 1e-4.
const MODEL_TOL: f64 = 1e-4;
const MODEL: &str = "tiny-mobilebert-qa";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/encoders")
        .join(MODEL)
}

fn read_json(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The model, or `None` (skipped) when no GPU adapter exists outside CI.
fn open() -> Option<TextModel> {
    match TextModel::open(&dir(), GpuOptions::default()) {
        Ok(m) => Some(m),
        Err(AnalysisError::Model(ModelError::Gpu(e))) if std::env::var("CI").map_or(true, |v| v != "true") => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            None
        }
        Err(e) => panic!("{MODEL}: {e}"),
    }
}

/// The (question, context) pairs listed under `key` in `file`: the fixture's inputs in
/// golden.json (where the dump starts), the same pairs in qa_ranking.json.
fn questions(file: &str, key: &str) -> Vec<(String, String)> {
    let s = |c: &Value, k: &str| c[k].as_str().expect("question/context").to_string();
    let all = read_json(file);
    let all = all[key].as_array().expect("question list");
    all.iter().map(|c| (s(c, "question"), s(c, "context"))).collect()
}

fn window_options(model: &TextModel) -> (usize, usize) {
    QaOptions::default().windowing(model.encoder.cfg.max_positions)
}

/// Writes the windows and logits the ranking golden starts from. Run by hand, then
/// `scripts/fixtures/make_qa_ranking_golden.py` (see its header):
/// `WEBSLM_QA_DUMP=/tmp/qa_logits.json cargo test --release --test qa_ranking -- --ignored dump_logits`
#[test]
#[ignore = "writes the input of scripts/fixtures/make_qa_ranking_golden.py"]
fn dump_logits() {
    let Some(model) = open() else { return };
    let (len, stride) = window_options(&model);
    let mut cases = Vec::new();
    for (q, c) in questions("golden.json", "inputs") {
        let windows = tokenize_pair_windows(&model.tokenizer, &q, &c, len, stride).expect("windows");
        let logits = model.logits(&windows, windows.len()).expect("logits");
        let windows: Vec<Value> = windows
            .iter()
            .zip(&logits)
            .map(|(w, l)| {
                json!({
                    "ids": w.ids, "type_ids": w.type_ids, "offsets": w.offsets, "words": w.words,
                    "sequence": w.sequence, "special": w.special,
                    "start_logits": l.iter().step_by(2).collect::<Vec<_>>(),
                    "end_logits": l.iter().skip(1).step_by(2).collect::<Vec<_>>(),
                })
            })
            .collect();
        cases.push(json!({ "question": q, "context": c, "windows": windows }));
    }
    let out = std::env::var("WEBSLM_QA_DUMP").unwrap_or_else(|_| "/tmp/qa_logits.json".into());
    let text =
        serde_json::to_string(&json!({ "max_seq_len": len, "doc_stride": stride, "cases": cases })).expect("json");
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("{out}: {e}"));
    eprintln!("wrote {out}");
}

/// A JSON array of numbers, each read by `read`.
fn list<T>(v: &Value, read: impl Fn(&Value) -> Option<T>) -> Vec<T> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| read(x).expect("number"))
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    list(v, |x| x.as_u64().map(|n| n as usize))
}

fn f32s(v: &Value) -> Vec<f32> {
    list(v, |x| x.as_f64().map(|n| n as f32))
}

/// A window's tokens with its start and end logits.
type Window = (Tokenized, Vec<f32>, Vec<f32>);

/// A committed window back into the tokenizer's shape, with its start and end logits.
fn window(w: &Value) -> Window {
    let pairs = |k: &str| -> Vec<(usize, usize)> {
        w[k].as_array()
            .expect(k)
            .iter()
            .map(|p| {
                let p = usizes(p);
                (p[0], p[1])
            })
            .collect()
    };
    let opt = |k: &str| -> Vec<Option<u64>> { w[k].as_array().expect(k).iter().map(Value::as_u64).collect() };
    let t = Tokenized {
        ids: usizes(&w["ids"]).iter().map(|&i| i as u32).collect(),
        type_ids: usizes(&w["type_ids"]).iter().map(|&i| i as u32).collect(),
        offsets: pairs("offsets"),
        words: opt("words").iter().map(|x| x.map(|x| x as u32)).collect(),
        sequence: opt("sequence").iter().map(|x| x.map(|x| x as usize)).collect(),
        special: w["special"]
            .as_array()
            .expect("special")
            .iter()
            .map(|b| b.as_bool() == Some(true))
            .collect(),
    };
    (t, f32s(&w["start_logits"]), f32s(&w["end_logits"]))
}

fn cases() -> Vec<(Value, Vec<Window>)> {
    let g = read_json("qa_ranking.json");
    g["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c.clone(),
                c["windows"].as_array().expect("windows").iter().map(window).collect(),
            )
        })
        .collect()
}

/// The slices `answers` and `ranked_spans` take.
fn borrowed(windows: &[Window]) -> Vec<(&Tokenized, &[f32], &[f32])> {
    windows
        .iter()
        .map(|(t, s, e)| (t, s.as_slice(), e.as_slice()))
        .collect()
}

fn options(kwargs: &Value) -> QaOptions {
    QaOptions {
        max_answer_len: kwargs["max_answer_len"].as_u64().map_or(15, |n| n as usize),
        top_k: kwargs["top_k"].as_u64().map_or(1, |n| n as usize),
        handle_impossible_answer: kwargs["handle_impossible_answer"].as_bool() == Some(true),
        ..QaOptions::default()
    }
}

/// `tol`: SCORE_TOL on the committed logits, MODEL_TOL on logits this run computed.
#[track_caller]
fn assert_score(got: f32, want: &Value, tol: f64, what: &str) {
    let diff = (f64::from(got) - want.as_f64().expect("score")).abs();
    assert!(
        diff <= tol,
        "{what}: score {got}, transformers {want} (tolerance {tol})"
    );
}

#[test]
fn spans_equal_transformers_select_starts_ends() {
    for (i, (case, windows)) in cases().iter().enumerate() {
        let refs = borrowed(windows);
        for check in case["spans"].as_array().expect("spans") {
            let mal = check["max_answer_len"].as_u64().expect("max_answer_len") as usize;
            let (got, null) = ranked_spans(&refs, mal);
            let want = check["top"].as_array().expect("top");
            let what = format!("question {i}, max_answer_len {mal}");
            assert!(got.len() >= want.len(), "{what}: {} spans", got.len());
            for (k, (g, w)) in got.iter().zip(want).enumerate() {
                let w_span = usizes(&w["span"]);
                assert_eq!(
                    [g.window, g.start, g.end],
                    [w_span[0], w_span[1], w_span[2]],
                    "{what}: span {k}"
                );
                assert_score(g.score, &w["score"], SCORE_TOL, &format!("{what}: span {k}"));
            }
            assert_score(
                null,
                &check["min_null_score"],
                SCORE_TOL,
                &format!("{what}: no-answer score"),
            );
        }
    }
}

#[track_caller]
fn assert_answers(got: &[Answer], want: &Value, what: &str) {
    let want = want.as_array().expect("answers");
    assert_eq!(got.len(), want.len(), "{what}: {got:?}");
    for (k, (a, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(a.answer, w["answer"].as_str().expect("answer"), "{what}: answer {k}");
        assert_eq!(
            (a.start as u64, a.end as u64),
            (w["start"].as_u64().expect("start"), w["end"].as_u64().expect("end")),
            "{what}: answer {k} offsets"
        );
        assert_score(a.score, &w["score"], SCORE_TOL, &format!("{what}: answer {k}"));
    }
}

#[test]
fn answers_equal_transformers_postprocess_over_every_span() {
    for (i, (case, windows)) in cases().iter().enumerate() {
        let refs = borrowed(windows);
        let context = case["context"].as_str().expect("context");
        for check in case["answers"].as_array().expect("answers") {
            let opts = options(&check["kwargs"]);
            let got = answers(context, &refs, &opts);
            assert_answers(&got, &check["output"], &format!("question {i}, {}", check["kwargs"]));
        }
    }
}

#[test]
fn best_answer_does_not_depend_on_top_k() {
    // On the committed logits, for several answer lengths...
    for (i, (case, windows)) in cases().iter().enumerate() {
        let refs = borrowed(windows);
        let context = case["context"].as_str().expect("context");
        for max_answer_len in [1, 5, 15, 30] {
            let at = |top_k| {
                let opts = QaOptions {
                    top_k,
                    max_answer_len,
                    ..QaOptions::default()
                };
                answers(context, &refs, &opts)
            };
            let (one, five, many) = (at(1), at(5), at(40));
            assert_eq!(one.len(), 1, "question {i}");
            assert_eq!(one[0], five[0], "question {i}, max_answer_len {max_answer_len}");
            assert_eq!(
                five[..],
                many[..five.len()],
                "question {i}, max_answer_len {max_answer_len}"
            );
        }
    }
    // ...and through the model, as the CLI and the browser call it; its answers are the golden's.
    let Some(model) = open() else { return };
    let golden = cases();
    for (i, (q, c)) in questions("qa_ranking.json", "cases").iter().enumerate() {
        let five = QaOptions {
            top_k: 5,
            ..QaOptions::default()
        };
        let got = model.answer(q, c, &five).expect("answer");
        let want = golden[i].0["answers"]
            .as_array()
            .expect("answers")
            .iter()
            .find(|a| a["kwargs"] == json!({ "top_k": 5 }))
            .expect("a top_k 5 golden");
        let want = want["output"].as_array().expect("output");
        assert_eq!(got.len(), want.len(), "question {i}");
        for (a, w) in got.iter().zip(want) {
            assert_eq!(a.answer, w["answer"].as_str().expect("answer"), "question {i}");
            assert_score(a.score, &w["score"], MODEL_TOL, &format!("question {i}"));
        }
        let at = |top_k| {
            let opts = QaOptions {
                top_k,
                ..QaOptions::default()
            };
            model.answer(q, c, &opts).expect("answer")
        };
        let (one, five) = (at(1), at(5));
        assert_eq!(one[0], five[0], "question {i}: {q}");
        eprintln!("question {i}: {:?} ({:.5})", one[0].answer, one[0].score);
    }
}
