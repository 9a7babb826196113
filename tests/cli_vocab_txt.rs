//! The CLI's encoder commands on model folders with a BERT `vocab.txt` and no `tokenizer.json`
//! (as distilbert-sst2, dslim/bert-base-NER and mobilebert-squad ship): `classify`, `ner`, `qa`
//! on the tiny fixtures and `embed` on MiniLM print exactly what the same folders print with
//! their `tokenizer.json`. The vocab.txt folders hold the fixture's weights and config, the
//! vocabulary of its tokenizer.json one token per line, and a tokenizer_config.json with the
//! same normaliser settings.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CLI's JSON output (its last stdout line); panics with stderr on failure.
fn cli(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the webslm binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "webslm {args:?} failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("webslm {args:?}: {e}: {last}"))
}

/// A copy of `src` whose tokenizer is vocab.txt + tokenizer_config.json; removed when dropped.
struct VocabFolder(PathBuf);

impl VocabFolder {
    fn new(src: &Path, tag: &str, tokenizer_config: &str) -> VocabFolder {
        let dir = std::env::temp_dir().join(format!("webslm-cli-vocab-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp folder");
        for name in ["config.json", "model.safetensors"] {
            std::fs::copy(src.join(name), dir.join(name)).expect("copy model file");
        }
        let json: Value =
            serde_json::from_slice(&std::fs::read(src.join("tokenizer.json")).expect("tokenizer.json")).expect("json");
        let vocab = json["model"]["vocab"].as_object().expect("a WordPiece vocab");
        let mut tokens: Vec<(u64, &str)> = vocab
            .iter()
            .map(|(t, id)| (id.as_u64().expect("id"), t.as_str()))
            .collect();
        tokens.sort();
        assert!(
            tokens.iter().enumerate().all(|(i, (id, _))| *id == i as u64),
            "ids are 0..n"
        );
        let lines: Vec<&str> = tokens.iter().map(|(_, t)| *t).collect();
        std::fs::write(dir.join("vocab.txt"), lines.join("\n") + "\n").expect("vocab.txt");
        std::fs::write(dir.join("tokenizer_config.json"), tokenizer_config).expect("tokenizer_config.json");
        VocabFolder(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for VocabFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The tiny fixtures' tokenizer.json normaliser: lower case, accents stripped.
const TINY_CONFIG: &str = r#"{"do_lower_case": true, "strip_accents": true}"#;
const TEXT: &str = "Héllo, the WONDERFUL box in Paris was crushed by Émile 🤖 中文";

#[test]
fn classify_ner_qa_from_vocab_txt_equal_tokenizer_json() {
    let fixtures = root().join("tests/fixtures/encoders");
    let cases: [(&str, Vec<&str>); 3] = [
        ("tiny-bert-sst", vec!["classify", "--text", TEXT, "--text", "short"]),
        ("tiny-bert-ner", vec!["ner", "--text", TEXT, "--aggregation", "simple"]),
        (
            "tiny-mobilebert-qa",
            vec![
                "qa",
                "--question",
                "What was crushed?",
                "--context",
                TEXT,
                "--top-k",
                "3",
            ],
        ),
    ];
    for (name, args) in cases {
        let src = fixtures.join(name);
        assert!(
            !src.join("vocab.txt").exists(),
            "{name}: the fixture must keep only tokenizer.json"
        );
        let vocab = VocabFolder::new(&src, name, TINY_CONFIG);
        let run = |model: &str| {
            let mut a = vec![args[0], "--model", model];
            a.extend(&args[1..]);
            cli(&a)
        };
        let want = run(src.to_str().expect("utf-8"));
        let got = run(vocab.path());
        assert_eq!(got, want, "{name}: {} from vocab.txt", args[0]);
    }
}

#[test]
fn embed_minilm_from_vocab_txt_equals_tokenizer_json() {
    let Some(models) = common_formats::models_dir("cli_vocab_txt") else {
        return;
    };
    let src = models.join("all-minilm-l6-v2");
    // MiniLM ships vocab.txt and tokenizer_config.json besides tokenizer.json: use its own.
    let config = std::fs::read_to_string(src.join("tokenizer_config.json")).expect("tokenizer_config.json");
    let vocab = VocabFolder::new(&src, "minilm", &config);
    std::fs::copy(src.join("vocab.txt"), vocab.0.join("vocab.txt")).expect("MiniLM's vocab.txt");
    let args = |m: &str| cli(&["embed", "--model", m, "--text", TEXT, "--text", "Ça va?"]);
    let want = args(src.to_str().expect("utf-8"));
    let got = args(vocab.path());
    assert_eq!(got, want, "MiniLM embeddings from vocab.txt");
}
