//! Bad models and bad prompts give typed errors: an unknown architecture, a tensor of the wrong
//! shape, a missing tensor, a prompt longer than the context, token ids past the vocabulary.

#[path = "common/mod.rs"]
mod common;
#[path = "common_formats/mod.rs"]
mod common_formats;

use common_formats::{write_temp, GgufBuilder, GGML_F32};
use webslm::engine::{Engine, EngineOptions};
use webslm::models::source::GgufSource;
use webslm::models::{Decoder, ModelError};

/// A one-layer llama header with tiny dimensions; `tensors` decides what the file holds.
fn tiny_llama(arch: &str, q_rows: u64) -> Vec<u8> {
    let mut b = GgufBuilder::default();
    b.kv_str("general.architecture", arch)
        .kv_u32(&format!("{arch}.block_count"), 1)
        .kv_u32(&format!("{arch}.embedding_length"), 8)
        .kv_u32(&format!("{arch}.feed_forward_length"), 16)
        .kv_u32(&format!("{arch}.attention.head_count"), 2)
        .kv_u32(&format!("{arch}.vocab_size"), 10);
    let mut off = 0;
    let mut t = |b: &mut GgufBuilder, name: &str, dims: &[u64]| {
        b.tensor(name, dims, GGML_F32, off);
        off += (dims.iter().product::<u64>() * 4).next_multiple_of(32);
    };
    t(&mut b, "token_embd.weight", &[8, 10]);
    t(&mut b, "output_norm.weight", &[8]);
    t(&mut b, "blk.0.attn_norm.weight", &[8]);
    t(&mut b, "blk.0.attn_q.weight", &[8, q_rows]);
    t(&mut b, "blk.0.attn_k.weight", &[8, 8]);
    t(&mut b, "blk.0.attn_v.weight", &[8, 8]);
    t(&mut b, "blk.0.attn_output.weight", &[8, 8]);
    t(&mut b, "blk.0.ffn_norm.weight", &[8]);
    t(&mut b, "blk.0.ffn_gate.weight", &[8, 16]);
    t(&mut b, "blk.0.ffn_up.weight", &[8, 16]);
    t(&mut b, "blk.0.ffn_down.weight", &[16, 8]);
    b.data = vec![0u8; off as usize];
    b.build()
}

fn load(name: &str, bytes: &[u8]) -> Result<Decoder, ModelError> {
    let ctx = common::gpu().expect("GPU checked by the caller");
    let path = write_temp(name, bytes);
    let result = GgufSource::open(&path).and_then(|mut src| Decoder::load(ctx, &mut src));
    let _ = std::fs::remove_file(&path);
    result
}

#[test]
fn tiny_llama_loads_and_bad_variants_are_typed_errors() {
    if common::gpu().is_none() {
        return;
    }
    assert!(
        load("ok.gguf", &tiny_llama("llama", 8)).is_ok(),
        "the well-formed tiny model loads"
    );
    match load("mamba.gguf", &tiny_llama("mamba", 8)) {
        Err(ModelError::UnknownArchitecture(a)) => assert_eq!(a, "mamba"),
        other => panic!("expected UnknownArchitecture, got {:?}", other.err()),
    }
    match load("shape.gguf", &tiny_llama("llama", 12)) {
        Err(ModelError::BadShape { name, .. }) => assert_eq!(name, "blk.0.attn_q.weight"),
        other => panic!("expected BadShape, got {:?}", other.err()),
    }
    let mut missing = GgufBuilder::default();
    missing
        .kv_str("general.architecture", "llama")
        .kv_u32("llama.block_count", 1);
    assert!(
        matches!(load("missing.gguf", &missing.build()), Err(ModelError::Gguf(_))),
        "missing hyper-parameters"
    );
}

#[test]
fn prompts_past_the_context_or_vocabulary_are_typed_errors() {
    if common::gpu().is_none() {
        return;
    }
    let path = write_temp("ctx.gguf", &tiny_llama("llama", 8));
    let mut engine = Engine::load(
        &path,
        &EngineOptions {
            context: 16,
            max_chunk: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(matches!(
        engine.prefill(&[1; 17]),
        Err(ModelError::ContextOverflow {
            needed: 17,
            context: 16
        })
    ));
    assert!(
        engine.prefill(&[1, 2, 10]).is_err(),
        "token 10 is past a vocabulary of 10"
    );
    assert!(engine.prefill(&[]).is_err(), "empty prompt");
    // A prompt longer than one chunk is prefilled in chunks and fits.
    assert!(engine.prefill(&[1; 16]).is_ok());
}
