//! The GPU path's tiled flash-attention prefill (`shaders/attention_prefill_gpu.wgsl`, picked for
//! q_len > 1 on `KernelPath::Gpu`) against the CPU twin, on shapes that fill no tile evenly: row
//! tiles cut through a query's heads, the last key tile is short, chunks split the keys, and the
//! causal diagonal, sliding window and ring buffer fall inside tiles. Every case runs with K and V
//! in f32 and in f16 (`check_attention`), at the f32 tolerance of 1e-4 relative.
//! Shapes: head_dim 64 (d4 16: 16 rows x 16 keys per tile), 80 (12 x 12), 128 (8 x 8) and 256
//! (4 x 4); GQA groups 1, 3 and 4.

mod common;

use common::attention_check::{check_attention, decoder};
use common::{device, device_fresh, run_f32, Kernels, Variant};
use webslm::gpu::GpuContext;
use webslm::kernels::attention::attention;
use webslm::kernels::attention_prefill_gpu::{kv_bytes_fetched, plan, tile_shape};
use webslm::ops::AttentionParams;

/// Checks `p` against the CPU twin, and that the prefill kernel ran: the KV bytes it records
/// (which differ from the decode kernel's for these shapes) on a device of its own, since the
/// tests run in parallel and share the counters of `device(Kernels::Gpu, Variant::Plain)`.
fn check(ctx: &GpuContext, p: &AttentionParams, with_mask: bool, seed: u64) {
    check_attention(ctx, p, with_mask, seed);
    let Some(own) = device_fresh(Kernels::Gpu, Variant::Plain) else {
        return;
    };
    let (kv, nq) = (
        p.batch * p.kv_cap * p.n_kv_head * p.head_dim,
        p.batch * p.q_len * p.n_head * p.head_dim,
    );
    let q = own.upload_f32(&vec![0.0; nq], &[nq]).unwrap();
    let k = own.upload_f32(&vec![0.0; kv], &[kv]).unwrap();
    let before = own.stats.snapshot();
    run_f32(&own, |b| attention(b, &q, &k, &k, None, p));
    let read = own.stats.snapshot().since(&before).kv_bytes_read;
    assert_eq!(read, kv_bytes_fetched(p, 4), "the prefill kernel ran for {p:?}");
}

/// The causal cases, each with what it exercises (tiles: rows x keys per tile for its head_dim).
fn causal_cases() -> Vec<(&'static str, AttentionParams)> {
    let with = |mut p: AttentionParams, f: &dyn Fn(&mut AttentionParams)| {
        f(&mut p);
        p
    };
    vec![
        // SmolLM2's heads (9 over 3, head_dim 64, 16 x 16): 37 queries are 111 rows, 6 full
        // tiles and one of 15, cutting queries' heads apart; the queries start at position 16 (a
        // prompt after a cached prefix), so the diagonal crosses tiles; 53 keys end in a short tile.
        ("gqa 3, head_dim 64", decoder(37, 53, 9, 3, 64)),
        // Two sequences, more keys than one chunk of 64: the chunks' parts are merged.
        (
            "two sequences, chunks",
            with(decoder(20, 150, 9, 3, 64), &|p| p.batch = 2),
        ),
        // No GQA, head_dim 128 (8 x 8).
        ("mha, head_dim 128", decoder(13, 29, 4, 4, 128)),
        // Phi-2's head_dim 80: 20 vec4s leave 4 of the 64 lanes without a column (12 x 12); a
        // cache with free slots.
        ("mha, head_dim 80", with(decoder(7, 31, 3, 3, 80), &|p| p.kv_cap = 40)),
        // Gemma 3's head_dim 256 with 4 query heads per kv head (4 x 4: one query per tile).
        ("gqa 4, head_dim 256", decoder(6, 11, 8, 2, 256)),
        // A Gemma 3 sliding-window layer in a ring buffer that has wrapped (window 8: 9 queries
        // need 16 slots; 17 are kept).
        (
            "window in a ring",
            with(decoder(9, 30, 4, 1, 256), &|p| {
                p.window = 8;
                p.kv_cap = 17;
            }),
        ),
        // Gemma 2's soft-cap (small, so it bends the scores) with a window starting inside a row
        // tile, head_dim 32 (32 x 16).
        (
            "softcap and window",
            with(decoder(23, 40, 6, 2, 32), &|p| {
                p.window = 5;
                p.softcap = 0.5;
                p.scale = 1.0;
            }),
        ),
    ]
}

#[test]
fn prefill_causal_cases() {
    let Some(ctx) = device(Kernels::Gpu, Variant::Plain) else {
        return;
    };
    for (i, (name, p)) in causal_cases().into_iter().enumerate() {
        assert!(p.cache_holds_visible_keys(), "{name}");
        eprintln!("{name}");
        check(ctx, &p, false, i as u64 + 1);
    }
}

/// An encoder: bidirectional over padded sequences (each keeps a random prefix of its keys).
#[test]
fn prefill_bidirectional_mask() {
    let Some(ctx) = device(Kernels::Gpu, Variant::Plain) else {
        return;
    };
    let p = AttentionParams {
        batch: 3,
        q_len: 19,
        kv_len: 19,
        kv_cap: 19,
        n_head: 6,
        n_kv_head: 6,
        head_dim: 64,
        pos0: 0,
        causal: false,
        window: 0,
        softcap: 0.0,
        scale: 0.125,
    };
    check_attention(ctx, &p, true, 8);
}

/// The plan: tiles as the shader computes them, whole tiles per chunk, the keys covered.
#[test]
fn prefill_plan_shapes() {
    assert_eq!(tile_shape(16), (16, 16));
    assert_eq!(tile_shape(20), (12, 12));
    assert_eq!(tile_shape(32), (8, 8));
    assert_eq!(tile_shape(64), (4, 4));
    assert_eq!(tile_shape(1), (32, 16));
    let p = decoder(128, 128, 9, 3, 64);
    let plan = plan(&p, webslm::kernels::loop_budget::LOOP_BUDGET).expect("plan");
    // 128 queries x 3 heads = 384 rows: 24 tiles per kv head.
    assert_eq!(plan.rows, 3 * 24);
    assert_eq!(plan.chunk % 16, 0);
    assert!(plan.chunk * plan.n_chunks >= p.kv_len);
}

/// What the tiled prefill changes for a 128-token prompt of the shipped models' attention (per
/// layer), against running the decode kernel once per query as the GPU path did before:
/// workgroups, the longest loop one lane runs, and KV bytes fetched (f16 cache). Printed for the
/// notes (`--nocapture`); the assertion is the point of the kernel: each key is fetched once per
/// row tile, not once per query.
#[test]
fn prefill_counters_against_decode_kernel() {
    use webslm::kernels::attention_gpu;
    use webslm::kernels::attention_prefill_gpu::prefill_cost;
    use webslm::kernels::loop_budget::LOOP_BUDGET;
    let mut gemma3_local = decoder(128, 128, 4, 1, 256);
    gemma3_local.window = 512;
    for (name, p) in [
        ("smollm2-135m", decoder(128, 128, 9, 3, 64)),
        ("qwen2.5-0.5b", decoder(128, 128, 14, 2, 64)),
        ("gemma3-1b", decoder(128, 128, 4, 1, 256)),
        ("gemma3-1b local", gemma3_local),
    ] {
        let d4 = (p.head_dim / 4) as u64;
        let old = attention_gpu::plan(&p, LOOP_BUDGET).expect("decode plan");
        let old_loops = attention_gpu::gpu_cost(old.heads_per_invocation as u64, d4, old.chunk as u64);
        let old_kv = p.kv_bytes_fetched(p.n_kv_head * old.head_groups, 2);
        let new = plan(&p, LOOP_BUDGET).expect("prefill plan");
        let new_loops = prefill_cost(d4, new.chunk as u64);
        let new_kv = kv_bytes_fetched(&p, 2);
        eprintln!(
            "{name}: workgroups {} -> {}, longest lane loop {old_loops} -> {new_loops}, KV bytes {old_kv} -> {new_kv}",
            old.rows * old.n_chunks,
            new.rows * new.n_chunks
        );
        // head_dim 64 tiles hold 16 rows (5 SmolLM2 queries, 2.3 Qwen2.5 ones); head_dim 256
        // tiles hold 4 rows, one Gemma 3 query, so there is no saving there (yet).
        match p.head_dim {
            64 => assert!(new_kv * 2 < old_kv, "{name}: {new_kv} vs {old_kv}"),
            _ => assert!(new_kv <= old_kv, "{name}: {new_kv} vs {old_kv}"),
        }
        assert!(new_loops <= old_loops, "{name}: {new_loops} vs {old_loops} loops");
    }
}
