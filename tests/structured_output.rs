//! Structured output (llguidance): schemas, Lark grammars and regexes constrain what a real
//! model generates, every output validated by an independent JSON-schema validator
//! (`jsonschema`); bad specs are typed errors before generation; a grammar that cannot finish in
//! max_tokens ends with MaxTokens. CI runs a slice (6 schemas x SmolLM2, greedy and seed 7 taking turns);
//! `schema_matrix` (--ignored) runs every schema in tests/fixtures/schemas/ over the GGUFs,
//! greedy and 3 seeds, and writes tests/fixtures/schemas/RESULTS.md.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::path::{Path, PathBuf};

use webslm::chat_template::{ChatMessage, RenderOptions};
use webslm::constraint::{ConstraintError, ConstraintSpec, Guide, Vocabulary};
use webslm::engine::{Engine, EngineOptions, StopReason};
use webslm::formats::gguf::GgufFile;
use webslm::generate::{generate_text, Limits, TextGeneration};
use webslm::models::ModelError;
use webslm::sampling::{Sampler, SamplingParams};
use webslm::tokenizer::Tokenizer;

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Schemas the CI slice runs: nested objects, bounded arrays, enums, patterns, anyOf, $ref.
const SLICE: &[&str] = &[
    "02_nested_address",
    "03_array_min_max",
    "04_enum",
    "13_anyof",
    "14_ref_defs",
    "17_email_extraction",
];

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn schema(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(schema_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn gguf_tokenizer(dir: &Path, file: &str) -> (Tokenizer, Vec<u32>, usize) {
    let gguf = GgufFile::open(&dir.join(file)).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let stops = vec![tok.eos_id().unwrap()];
    let vocab = tok.vocab_size();
    (tok, stops, vocab)
}

struct Model {
    engine: Engine,
    tokenizer: Tokenizer,
    stop_ids: Vec<u32>,
    vocab: Vocabulary,
}

fn load(dir: &Path, file: &str) -> Model {
    let engine = Engine::load(
        &dir.join(file),
        &EngineOptions {
            context: 1024,
            ..Default::default()
        },
    )
    .unwrap();
    let tokenizer = engine.tokenizer().unwrap();
    let stop_ids = engine.stop_ids(&tokenizer);
    let vocab = Vocabulary::new(&tokenizer, engine.model.cfg.vocab, &stop_ids).unwrap();
    Model {
        engine,
        tokenizer,
        stop_ids,
        vocab,
    }
}

/// The prompt: the model's chat template (plain text for a base model) asking for JSON.
fn prompt(m: &Model, request: &str) -> Vec<u32> {
    let text = match m.engine.chat_template() {
        Ok(t) => t
            .render(
                &[ChatMessage::new("user", request)],
                &RenderOptions {
                    add_generation_prompt: true,
                    ..Default::default()
                },
            )
            .unwrap(),
        Err(_) => format!("{request}\n"),
    };
    m.tokenizer.encode_with(&text, false).unwrap()
}

fn run(m: &mut Model, spec: &ConstraintSpec, request: &str, max_tokens: usize, seed: Option<u64>) -> TextGeneration {
    let ids = prompt(m, request);
    let mut guide = Guide::new(&m.vocab, spec).unwrap();
    let params = match seed {
        None => SamplingParams::greedy(),
        Some(seed) => SamplingParams {
            seed,
            ..Default::default()
        },
    };
    let mut sampler = Sampler::new(params);
    let limits = Limits {
        max_tokens,
        stop_ids: &m.stop_ids,
        stop_strings: &[],
    };
    generate_text(
        &mut m.engine,
        &m.tokenizer,
        &ids,
        &mut sampler,
        limits,
        Some(&mut guide),
        |_, _| true,
    )
    .unwrap()
}

fn json_request(schema: &serde_json::Value) -> String {
    format!("Reply with one JSON value that follows this JSON schema, with realistic values.\nSchema: {schema}")
}

/// Parses and validates one output; Err says why not.
fn check(schema: &serde_json::Value, g: &TextGeneration) -> Result<(), String> {
    if g.stats.stop != StopReason::EndOfText {
        return Err(format!(
            "stopped by {:?}, not by the grammar's end: {:?}",
            g.stats.stop, g.text
        ));
    }
    let value: serde_json::Value =
        serde_json::from_str(&g.text).map_err(|e| format!("not JSON ({e}): {:?}", g.text))?;
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("validator: {e}"))?;
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(format!("{} does not validate: {}", g.text, errors.join("; "))),
    }
}

#[test]
fn schema_slice_validates_on_smollm2() {
    let Some(dir) = common_formats::models_dir("schema_slice") else {
        return;
    };
    let mut m = load(&dir, SMOLLM2);
    // Each schema once, greedy and sampled taking turns (half the CI time of running both on
    // each); `schema_matrix` runs every schema greedy and with 3 seeds.
    for (i, name) in SLICE.iter().enumerate() {
        let s = schema(name);
        let spec = ConstraintSpec::JsonSchema(s.clone());
        let seed = (i % 2 == 1).then_some(7);
        let g = run(&mut m, &spec, &json_request(&s), 160, seed);
        if let Err(e) = check(&s, &g) {
            panic!("{name} seed {seed:?}: {e}");
        }
    }
}

#[test]
fn regex_and_lark_constrain_the_output() {
    let Some(dir) = common_formats::models_dir("regex_and_lark") else {
        return;
    };
    let mut m = load(&dir, SMOLLM2);
    let rx = ConstraintSpec::Regex(r"[0-9]{3}-[0-9]{4}".into());
    let g = run(&mut m, &rx, "Make up a phone number.", 32, None);
    assert_eq!(g.stats.stop, StopReason::EndOfText, "{:?}", g.text);
    assert!(
        g.text.len() == 8
            && g.text
                .chars()
                .enumerate()
                .all(|(i, c)| if i == 3 { c == '-' } else { c.is_ascii_digit() }),
        "{:?}",
        g.text
    );
    let lark = ConstraintSpec::Lark(
        "start: answer \" because \" reason\nanswer: \"yes\" | \"no\"\nreason: /[a-z ]{1,30}/\n".into(),
    );
    let g = run(
        &mut m,
        &lark,
        "Is the sky blue? Answer yes or no and say why.",
        48,
        Some(3),
    );
    assert_eq!(g.stats.stop, StopReason::EndOfText, "{:?}", g.text);
    let (answer, reason) = g.text.split_once(" because ").unwrap_or_else(|| panic!("{:?}", g.text));
    assert!(matches!(answer, "yes" | "no"), "{:?}", g.text);
    assert!(
        (1..=30).contains(&reason.len()) && reason.chars().all(|c| c.is_ascii_lowercase() || c == ' '),
        "{:?}",
        g.text
    );
}

/// A regex needing 200 characters cannot finish in 5 tokens: generation ends with MaxTokens,
/// and every token produced so far follows the grammar.
#[test]
fn unfinishable_grammar_ends_at_max_tokens() {
    let Some(dir) = common_formats::models_dir("unfinishable_grammar") else {
        return;
    };
    let mut m = load(&dir, SMOLLM2);
    let g = run(
        &mut m,
        &ConstraintSpec::Regex("(ab){100}".into()),
        "Say something.",
        5,
        None,
    );
    assert_eq!(g.stats.stop, StopReason::MaxTokens);
    assert_eq!(g.stats.ids.len(), 5);
    assert!("ab".repeat(100).starts_with(&g.text), "{:?}", g.text);
}

/// Bad specs are typed errors from `Guide::new`, before any token; the tokenizer alone is needed.
#[test]
fn bad_specs_are_typed_errors_before_generation() {
    let Some(dir) = common_formats::models_dir("bad_specs") else {
        return;
    };
    let (tok, stops, vocab) = gguf_tokenizer(&dir, SMOLLM2);
    let v = Vocabulary::new(&tok, vocab, &stops).unwrap();
    let err = |spec: ConstraintSpec| Guide::new(&v, &spec).err().expect("an error");
    assert!(matches!(
        ConstraintSpec::json_schema_text("{not json"),
        Err(ConstraintError::InvalidSchema(_))
    ));
    for bad in [
        serde_json::json!({ "type": "object", "properties": { "a": { "$ref": "#/$defs/missing" } } }),
        serde_json::json!({ "type": 5 }),
        serde_json::json!({ "type": "string", "minLength": 5, "maxLength": 2 }),
        serde_json::json!({ "type": "object", "properties": { "a": { "type": "integer", "minimum": 5, "maximum": 1 } }, "required": ["a"] }),
    ] {
        let e = err(ConstraintSpec::JsonSchema(bad.clone()));
        assert!(matches!(e, ConstraintError::InvalidSchema(_)), "{bad}: {e:?}");
    }
    assert!(matches!(
        err(ConstraintSpec::Lark("start: (".into())),
        ConstraintError::InvalidGrammar(_)
    ));
    assert!(matches!(
        err(ConstraintSpec::Regex("a(b".into())),
        ConstraintError::InvalidRegex(_)
    ));
    // Through the engine error type the CLI and the browser see.
    let e: ModelError = err(ConstraintSpec::Regex("[".into())).into();
    assert!(e.to_string().contains("invalid regex"), "{e}");
}

/// JSON output may put one space, or a newline and up to 20 spaces or tabs, between two tokens
/// (llama.cpp's bound, `constraint::JSON_WHITESPACE`), never a run of blank lines: after `{` and
/// a newline, another newline is masked out, and so is a 21st space of indent.
#[test]
fn json_whitespace_is_bounded() {
    let Some(dir) = common_formats::models_dir("json_whitespace_is_bounded") else {
        return;
    };
    let (tok, stops, vocab) = gguf_tokenizer(&dir, SMOLLM2);
    let v = Vocabulary::new(&tok, vocab, &stops).unwrap();
    let id = |text: &str| {
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids.len(), 1, "{text:?} is one SmolLM2 token: {ids:?}");
        ids[0]
    };
    let (open, newline, space, quote) = (id("{"), id("\n"), id(" "), id("\""));
    for spec in [
        ConstraintSpec::JsonObject,
        ConstraintSpec::JsonSchema(schema("01_person")),
    ] {
        let mut g = Guide::new(&v, &spec).unwrap();
        assert!(g.mask().unwrap().allows(open), "{spec:?}");
        g.commit(open).unwrap();
        assert!(g.mask().unwrap().allows(newline), "{spec:?}: a newline after {{");
        g.commit(newline).unwrap();
        let mask = g.mask().unwrap();
        assert!(!mask.allows(newline), "{spec:?}: a second newline");
        assert!(mask.allows(quote), "{spec:?}: the first key");
        for i in 0..20 {
            assert!(g.mask().unwrap().allows(space), "{spec:?}: indent space {}", i + 1);
            g.commit(space).unwrap();
        }
        assert!(!g.mask().unwrap().allows(space), "{spec:?}: a 21st indent space");
    }
    // A schema's own x-guidance options win: here llguidance's unbounded default again.
    let mut own = schema("01_person");
    own["x-guidance"] = serde_json::json!({ "whitespace_flexible": true });
    let mut g = Guide::new(&v, &ConstraintSpec::JsonSchema(own)).unwrap();
    g.commit(open).unwrap();
    for i in 0..3 {
        assert!(g.mask().unwrap().allows(newline), "x-guidance: newline {}", i + 1);
        g.commit(newline).unwrap();
    }
}

/// Every schema x each GGUF x greedy and 3 seeds; writes RESULTS.md. Slow on lavapipe:
/// `cargo test --release --test structured_output schema_matrix -- --ignored --nocapture`
/// (WEBSLM_MATRIX_MODELS=smollm2 limits it to SmolLM2).
#[test]
#[ignore]
fn schema_matrix() {
    let Some(dir) = common_formats::models_dir("schema_matrix") else {
        return;
    };
    let only = std::env::var("WEBSLM_MATRIX_MODELS").unwrap_or_default();
    let models = [
        SMOLLM2,
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "gemma-3-270m-q4_k_m.gguf",
    ];
    let mut names: Vec<String> = std::fs::read_dir(schema_dir())
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".json")
                .map(String::from)
        })
        .collect();
    names.sort();
    let mut report = String::from("# Structured output: every schema x model x (greedy, seeds 1-3)\n\n");
    report.push_str(
        "Generated by `cargo test --release --test structured_output schema_matrix -- --ignored` on lavapipe.\n\n",
    );
    report.push_str("| model | schema | run | result | tokens | output |\n|---|---|---|---|---|---|\n");
    let (mut ok, mut total) = (0, 0);
    for file in models {
        if !only.is_empty() && !file.to_lowercase().contains(&only.to_lowercase()) {
            continue;
        }
        let mut m = load(&dir, file);
        for name in &names {
            let s = schema(name);
            let spec = ConstraintSpec::JsonSchema(s.clone());
            for seed in [None, Some(1), Some(2), Some(3)] {
                let g = run(&mut m, &spec, &json_request(&s), 256, seed);
                let verdict = check(&s, &g);
                total += 1;
                ok += usize::from(verdict.is_ok());
                let run = seed.map_or("greedy".to_string(), |s| format!("seed {s}"));
                let result = verdict.err().unwrap_or_else(|| "valid".into());
                let line = format!(
                    "| {file} | {name} | {run} | {} | {} | `{}` |\n",
                    result.replace('|', "\\|").chars().take(120).collect::<String>(),
                    g.stats.ids.len(),
                    g.text.replace('|', "\\|").replace('\n', " ")
                );
                eprint!("{line}");
                report.push_str(&line);
            }
        }
    }
    report.push_str(&format!("\n{ok} of {total} outputs parse and validate.\n"));
    std::fs::write(schema_dir().join("RESULTS.md"), report).unwrap();
    assert_eq!(ok, total, "see tests/fixtures/schemas/RESULTS.md");
}
