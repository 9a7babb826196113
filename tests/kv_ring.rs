//! The sliding-window KV ring end to end, on a tiny random-weight Gemma 3 written here: a model
//! whose local layers keep only `window + max_chunk - 1` slots must give the same logits as one
//! that keeps every position, including when a prompt reuses part of a cache that has wrapped.

#[path = "common/mod.rs"]
mod common;
#[path = "common_formats/mod.rs"]
mod common_formats;

use common::assert_close;
use common_formats::{GgufBuilder, GGML_F32};
use webslm::engine::{Engine, EngineOptions};
use webslm::rng::Rng;

const EMBD: u64 = 16;
const HEAD_DIM: u64 = 8;
const FF: u64 = 32;
const VOCAB: u64 = 12;
const WINDOW: u32 = 4;

/// A 2-layer Gemma 3 (both layers local: every 6th is global) with random f32 weights.
fn tiny_gemma3() -> Vec<u8> {
    let mut b = GgufBuilder::default();
    b.kv_str("general.architecture", "gemma3")
        .kv_u32("gemma3.block_count", 2)
        .kv_u32("gemma3.embedding_length", EMBD as u32)
        .kv_u32("gemma3.feed_forward_length", FF as u32)
        .kv_u32("gemma3.attention.head_count", 2)
        .kv_u32("gemma3.attention.head_count_kv", 1)
        .kv_u32("gemma3.attention.key_length", HEAD_DIM as u32)
        .kv_u32("gemma3.attention.sliding_window", WINDOW)
        .kv_u32("gemma3.vocab_size", VOCAB as u32);
    let mut rng = Rng::new(7);
    let mut data = Vec::new();
    let mut add = |b: &mut GgufBuilder, name: &str, dims: &[u64], norm: bool| {
        let n: u64 = dims.iter().product();
        b.tensor(name, dims, GGML_F32, data.len() as u64);
        for _ in 0..n {
            let v = if norm {
                rng.f32_range(0.5, 1.5)
            } else {
                rng.f32_range(-0.5, 0.5)
            };
            data.extend(v.to_le_bytes());
        }
        data.resize(data.len().next_multiple_of(32), 0);
    };
    add(&mut b, "token_embd.weight", &[EMBD, VOCAB], false);
    add(&mut b, "output_norm.weight", &[EMBD], true);
    for l in 0..2 {
        let n = |s: &str| format!("blk.{l}.{s}");
        add(&mut b, &n("attn_norm.weight"), &[EMBD], true);
        add(&mut b, &n("attn_q.weight"), &[EMBD, 2 * HEAD_DIM], false);
        add(&mut b, &n("attn_k.weight"), &[EMBD, HEAD_DIM], false);
        add(&mut b, &n("attn_v.weight"), &[EMBD, HEAD_DIM], false);
        add(&mut b, &n("attn_q_norm.weight"), &[HEAD_DIM], true);
        add(&mut b, &n("attn_k_norm.weight"), &[HEAD_DIM], true);
        add(&mut b, &n("attn_output.weight"), &[2 * HEAD_DIM, EMBD], false);
        add(&mut b, &n("post_attention_norm.weight"), &[EMBD], true);
        add(&mut b, &n("ffn_norm.weight"), &[EMBD], true);
        add(&mut b, &n("ffn_gate.weight"), &[EMBD, FF], false);
        add(&mut b, &n("ffn_up.weight"), &[EMBD, FF], false);
        add(&mut b, &n("ffn_down.weight"), &[FF, EMBD], false);
        add(&mut b, &n("post_ffw_norm.weight"), &[EMBD], true);
    }
    b.data = data;
    b.build()
}

fn last_logits(engine: &mut Engine, tokens: &[u32]) -> Vec<f32> {
    let logits = engine.prefill(tokens).unwrap();
    engine.read_logits(&logits).unwrap()
}

#[test]
fn ring_cache_matches_full_cache() {
    if common::gpu().is_none() {
        return;
    }
    let path = common_formats::write_temp("tiny-gemma3.gguf", &tiny_gemma3());
    // max_chunk 4: local layers keep 4 + 4 - 1 = 7 slots. max_chunk 64: every position.
    let mut ring = Engine::load(
        &path,
        &EngineOptions {
            context: 64,
            max_chunk: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let mut full = Engine::load(
        &path,
        &EngineOptions {
            context: 64,
            max_chunk: 64,
            ..Default::default()
        },
    )
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(ring.cache.layers[0].cap, 7);
    assert_eq!(full.cache.layers[0].cap, 64);

    let mut rng = Rng::new(8);
    let tokens: Vec<u32> = (0..30).map(|_| rng.usize_range(0, VOCAB as usize) as u32).collect();
    // Tolerance: the same f32 kernels, differing only in chunking and slot order: 1e-4.
    // Returns how many tokens the ring engine prefilled.
    let mut check = |prompt: &[u32], what: &str| {
        full.cache.truncate(0);
        let want = last_logits(&mut full, prompt);
        let got = last_logits(&mut ring, prompt);
        assert_close(&got, &want, 1e-4, what);
        ring.last_prefill_tokens
    };
    check(&tokens, "30 tokens prefilled in chunks of 4 through a 7-slot ring");
    // 30 positions cached; the ring holds 23..29. Continuing at 26 needs keys from 23: reusable.
    assert_eq!(check(&tokens[..27], "re-prefill keeping 26 cached positions"), 1);
    // Back to 30 cached, then continuing at 25 needs key 22, which position 29 overwrote.
    check(&tokens, "back to 30");
    let n = check(&tokens[..26], "re-prefill where the ring lost a needed key");
    assert_eq!(n, 26, "the ring cannot serve this prefix: start over");
    // A growing conversation reuses everything.
    assert_eq!(check(&tokens[..29], "extend"), 3);
}
