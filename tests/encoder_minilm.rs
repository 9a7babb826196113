//! all-MiniLM-L6-v2 (real weights from scripts/fetch-models.sh) against sentence-transformers
//! (tests/fixtures/models/minilm.st.json, made by scripts/fixtures/make_encoder_fixtures.py):
//! token ids equal to HF tokenizers', and cosine >= 0.9999 for every sentence of mixed-length
//! batches (several languages, emoji, 256 tokens, and one longer input that both truncate).

#[path = "common_formats/mod.rs"]
mod common_formats;

use webslm::analysis::AnalysisError;
use webslm::analysis::{cosine, EmbedOptions, TextModel};
use webslm::gpu::GpuOptions;

#[derive(serde::Deserialize)]
struct Golden {
    sentences: Vec<String>,
    ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
    max_seq_length: usize,
}

const MIN_COSINE: f64 = 0.9999;

fn golden() -> Golden {
    let path = format!("{}/tests/fixtures/models/minilm.st.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(models) = common_formats::models_dir("encoder_minilm") else {
        return;
    };
    let g = golden();
    let model = TextModel::open(&models.join("all-minilm-l6-v2"), GpuOptions::default()).expect("open MiniLM");
    assert_eq!(
        model.max_len, g.max_seq_length,
        "max_seq_length from sentence_bert_config.json"
    );
    let refs: Vec<&str> = g.sentences.iter().map(String::as_str).collect();

    // Token ids, untruncated, as HF tokenizers gives them.
    for (i, text) in refs.iter().enumerate() {
        let ids = model.tokenizer.encode(text).expect("encode");
        assert_eq!(ids, g.ids[i], "sentence {i}: ids");
    }
    let too_long = g.ids.iter().position(|ids| ids.len() > g.max_seq_length);
    assert!(
        too_long.is_some(),
        "the fixture must hold an input longer than max_seq_length"
    );

    // Without truncation the long input is a typed error naming it.
    match model.embed(&refs, &EmbedOptions::default()) {
        Err(AnalysisError::InputTooLong { index, tokens, max }) => {
            assert_eq!((Some(index), max), (too_long, g.max_seq_length));
            assert!(tokens > max);
        }
        other => panic!("expected InputTooLong, got {:?}", other.map(|v| v.len())),
    }

    // Every sentence, truncated like sentence-transformers, in length-sorted batches of 4: the
    // first pads two short sentences to the two 256-token ones, the rest pad a few tokens. (One
    // batch of all 26 padded everything to 256 tokens: 4x the work, 42 s of CI, nothing more
    // tested.)
    let opts = EmbedOptions {
        truncate: true,
        batch_size: 4,
        ..EmbedOptions::default()
    };
    let got = model.embed(&refs, &opts).expect("embed");
    let mut worst = 1.0f64;
    for (i, (e, want)) in got.iter().zip(&g.embeddings).enumerate() {
        let norm: f64 = e.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "sentence {i}: norm {norm}");
        let c = cosine(e, want);
        assert!(c >= MIN_COSINE, "sentence {i} ({:?}): cosine {c}", g.sentences[i]);
        worst = worst.min(c);
    }
    eprintln!(
        "MiniLM: worst 1 - cosine against sentence-transformers {:.2e}",
        1.0 - worst
    );

    // The same sentences alone give the same vectors as in the padded batch.
    let alone = EmbedOptions { batch_size: 1, ..opts };
    for i in [0, 9, 23] {
        let one = model.embed(&refs[i..=i], &alone).expect("embed one");
        let c = cosine(&one[0], &got[i]);
        assert!(c >= 0.99999, "sentence {i}: alone vs batched cosine {c}");
    }
}
