//! Norms, RoPE, softmax, attention, elementwise ops and top-k against their CPU twins, on
//! random shapes that are not multiples of any workgroup or vector width.
//! Tolerance for all f32 kernels here: 1e-4 relative (the project's f32 bound), unless a test says otherwise.

mod common;

use common::attention_check::{check_attention, decoder};
use common::{assert_close, both_paths, device, gpu, run_f32, Kernels, Variant};
use webslm::cpu;
use webslm::gpu::{Batch, GpuContext};
use webslm::kernels::attention::attention;
use webslm::kernels::elementwise::{elementwise, Op};
use webslm::kernels::kv_append::kv_append;
use webslm::kernels::norm::norm;
use webslm::kernels::pool::{pool, trigram};
use webslm::kernels::rope::{rope, rope_pair};
use webslm::kernels::softmax::softmax;
use webslm::kernels::topk::top_k;
use webslm::ops::Activation;
use webslm::ops::AttentionParams;
use webslm::ops::Pooling;
use webslm::ops::{NormKind, RopeLayout};
use webslm::rng::Rng;

const F32_TOL: f32 = 1e-4;

fn check_norm(kind: NormKind) {
    let Some(ctx) = gpu() else { return };
    check_norm_on(ctx, kind);
}

fn check_norm_on(ctx: &GpuContext, kind: NormKind) {
    let mut rng = Rng::new(1);
    for (rows, dim) in [(1, 1), (3, 37), (7, 576), (2, 1001)] {
        let x = rng.vec_f32(rows * dim, -3.0, 3.0);
        let w = rng.vec_f32(dim, -1.0, 1.0);
        let b = rng.vec_f32(dim, -1.0, 1.0);
        let eps = 1e-6;
        let want = match kind {
            NormKind::Rms => cpu::norm::rms_norm(&x, dim, &w, eps, false),
            NormKind::RmsPlusOne => cpu::norm::rms_norm(&x, dim, &w, eps, true),
            NormKind::Layer => cpu::norm::layer_norm(&x, dim, &w, &b, eps),
            NormKind::NoNorm => cpu::norm::no_norm(&x, dim, &w, &b),
        };
        let (xt, wt, bt) = (
            ctx.upload_f32(&x, &[rows, dim]).unwrap(),
            ctx.upload_f32(&w, &[dim]).unwrap(),
            ctx.upload_f32(&b, &[dim]).unwrap(),
        );
        let got = run_f32(ctx, |batch| norm(batch, kind, &xt, &wt, Some(&bt), eps));
        assert_close(&got, &want, F32_TOL, &format!("{kind:?} {rows}x{dim}"));
    }
}

#[test]
fn rms_norm() {
    check_norm(NormKind::Rms);
}

#[test]
fn rms_norm_gemma_plus_one() {
    check_norm(NormKind::RmsPlusOne);
}

#[test]
fn layer_norm_with_bias() {
    check_norm(NormKind::Layer);
}

#[test]
fn mobilebert_no_norm() {
    check_norm(NormKind::NoNorm);
}

fn check_rope(layout: RopeLayout, head_dim: usize, rot_dims: usize, pos0: u32) {
    let Some(ctx) = gpu() else { return };
    check_rope_on(ctx, layout, head_dim, rot_dims, pos0);
}

fn check_rope_on(ctx: &GpuContext, layout: RopeLayout, head_dim: usize, rot_dims: usize, pos0: u32) {
    let mut rng = Rng::new(2);
    for (seq, heads) in [(1, 1), (5, 3), (13, 9)] {
        let mut x = rng.vec_f32(seq * heads * head_dim, -1.0, 1.0);
        let inv_freq = webslm::ops::rope_inv_freq(rot_dims, 10000.0);
        let xt = ctx.upload_f32(&x, &[seq, heads, head_dim]).unwrap();
        let ft = ctx.upload_f32(&inv_freq, &[rot_dims / 2]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        rope(&mut batch, &xt, heads, head_dim, &ft, pos0, layout).unwrap();
        batch.submit().unwrap();
        let got = ctx.read_f32_blocking(&xt).unwrap();
        cpu::rope::rope(
            &mut x,
            seq,
            heads,
            head_dim,
            rot_dims,
            pos0,
            &inv_freq,
            layout == RopeLayout::Neox,
        );
        assert_close(
            &got,
            &x,
            F32_TOL,
            &format!("rope {layout:?} seq={seq} heads={heads} pos0={pos0}"),
        );
    }
}

#[test]
fn rope_normal_layout() {
    check_rope(RopeLayout::Normal, 64, 64, 0);
}

#[test]
fn rope_neox_layout() {
    check_rope(RopeLayout::Neox, 128, 128, 17);
}

/// Phi-2 rotates 32 of 80 dims; the rest must pass through untouched.
#[test]
fn rope_partial_rotary_dims() {
    check_rope(RopeLayout::Neox, 80, 32, 3);
    check_rope(RopeLayout::Normal, 20, 12, 5);
}

/// Queries and keys rotated in one dispatch equal each rotated alone by the CPU twin, with
/// head counts that differ (GQA) and are not multiples of the workgroup.
#[test]
fn rope_queries_and_keys_together() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(9);
    for (layout, seq, heads, kv_heads, head_dim, rot_dims, pos0) in [
        (RopeLayout::Neox, 1, 9, 3, 64, 64, 41),
        (RopeLayout::Normal, 7, 5, 1, 20, 12, 3),
        (RopeLayout::Neox, 13, 14, 2, 80, 32, 250),
    ] {
        let mut q = rng.vec_f32(seq * heads * head_dim, -1.0, 1.0);
        let mut k = rng.vec_f32(seq * kv_heads * head_dim, -1.0, 1.0);
        let inv_freq = webslm::ops::rope_inv_freq(rot_dims, 10000.0);
        let qt = ctx.upload_f32(&q, &[seq, heads, head_dim]).unwrap();
        let kt = ctx.upload_f32(&k, &[seq, kv_heads, head_dim]).unwrap();
        let ft = ctx.upload_f32(&inv_freq, &[rot_dims / 2]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        rope_pair(
            &mut batch,
            (&qt, heads),
            Some((&kt, kv_heads)),
            head_dim,
            &ft,
            pos0,
            layout,
        )
        .unwrap();
        assert_eq!(batch.dispatch_count(), 1, "one dispatch for both");
        batch.submit().unwrap();
        let neox = layout == RopeLayout::Neox;
        cpu::rope::rope(&mut q, seq, heads, head_dim, rot_dims, pos0, &inv_freq, neox);
        cpu::rope::rope(&mut k, seq, kv_heads, head_dim, rot_dims, pos0, &inv_freq, neox);
        let what = format!("rope pair {layout:?} seq={seq} heads={heads}/{kv_heads}");
        assert_close(&ctx.read_f32_blocking(&qt).unwrap(), &q, F32_TOL, &format!("{what} q"));
        assert_close(&ctx.read_f32_blocking(&kt).unwrap(), &k, F32_TOL, &format!("{what} k"));
    }
}

/// Angles of a few hundred radians: the GPU's sin/cos must range-reduce like the CPU's.
#[test]
fn rope_far_positions() {
    check_rope(RopeLayout::Neox, 64, 64, 700);
}

#[test]
fn softmax_rows() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(3);
    for (rows, dim) in [(1, 1), (4, 7), (3, 1000), (1, 49152)] {
        let x = rng.vec_f32(rows * dim, -20.0, 20.0);
        let want = cpu::softmax::softmax(&x, dim);
        let xt = ctx.upload_f32(&x, &[rows, dim]).unwrap();
        let got = run_f32(ctx, |b| softmax(b, &xt, dim));
        assert_close(&got, &want, F32_TOL, &format!("softmax {rows}x{dim}"));
    }
}

/// Prefill with GQA (SmolLM2: 9 heads over 3 kv heads) and decode-style single queries.
#[test]
fn attention_causal_gqa() {
    for ctx in both_paths() {
        check_attention(ctx, &decoder(7, 7, 9, 3, 64), false, 4);
        check_attention(ctx, &decoder(1, 29, 9, 3, 64), false, 5);
        check_attention(ctx, &decoder(5, 12, 14, 2, 64), false, 6);
    }
}

/// Query heads of a KV group share one invocation (up to what fits its registers): groups that
/// fill it exactly, that need two invocations with a smaller last one, and the 16-head cap.
#[test]
fn attention_grouped_heads() {
    for ctx in both_paths() {
        check_attention(ctx, &decoder(1, 300, 20, 4, 64), false, 12); // 5 heads: groups of 4 and 1
        check_attention(ctx, &decoder(2, 45, 16, 1, 16), false, 13); // 16 heads of 16 dims: one group
        check_attention(ctx, &decoder(1, 70, 32, 1, 16), false, 14); // 32 heads: two groups of 16
        check_attention(ctx, &decoder(4, 33, 8, 2, 128), false, 15); // 4 heads of 128: groups of 2
    }
}

/// MQA with Gemma 3's head_dim 256 (the register limit).
#[test]
fn attention_mqa_head_dim_256() {
    for ctx in both_paths() {
        check_attention(ctx, &decoder(3, 10, 4, 1, 256), false, 7);
    }
}

/// Sliding window (Gemma local layers) and Gemma 2 logit soft-capping.
#[test]
fn attention_sliding_window_and_softcap() {
    for ctx in both_paths() {
        let mut p = decoder(9, 21, 4, 2, 32);
        p.window = 5;
        check_attention(ctx, &p, false, 8);
        p.softcap = 0.5; // small, so it really bends the scores
        p.scale = 1.0;
        check_attention(ctx, &p, false, 9);
    }
}

/// A sliding-window layer keeping only its window in a ring buffer: 30 positions in 8 slots for
/// decode; prefilling 3 queries needs window + 2 slots.
#[test]
fn attention_ring_buffer_cache() {
    for ctx in both_paths() {
        let mut p = decoder(1, 30, 4, 2, 16);
        p.kv_cap = 8;
        p.window = 8;
        check_attention(ctx, &p, false, 10);
        p.q_len = 3;
        p.pos0 = 27;
        p.kv_cap = 10;
        check_attention(ctx, &p, false, 11);
        // With only 9 slots, position 20 (seen by the query at 27) was overwritten by position 29.
        p.kv_cap = 9;
        assert!(!p.cache_holds_visible_keys());
        let t = ctx.upload_f32(&vec![0.0; 3 * 4 * 16], &[3 * 4 * 16]).unwrap();
        let kv = ctx.upload_f32(&vec![0.0; 9 * 2 * 16], &[9 * 2 * 16]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        assert!(
            attention(&mut batch, &t, &kv, &kv, None, &p).is_err(),
            "a cache missing visible keys is an error"
        );
    }
}

/// Appending to an f16 cache: the packed words are exactly the twin's (round to nearest even),
/// through a ring that wraps in the middle of a chunk, with rows that fill no vector width.
#[test]
fn kv_append_f16_ring() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(21);
    // (row, cap, pos0, n): a wrap inside the chunk, a ring lapped many times, one token.
    for (row, cap, pos0, n) in [(6, 7, 5, 4), (2 * 64, 9, 1000, 9), (3 * 256, 11, 3, 1)] {
        let start = rng.vec_f32(cap * row, -4.0, 4.0);
        // Large values and an exact f16 tie exercise the rounding, not just the copy (WGSL leaves
        // values beyond f16's range undefined, so none is given).
        let mut k = rng.vec_f32(n * row, -60_000.0, 60_000.0);
        k[0] = 1.0 + 2f32.powi(-11);
        let v = rng.vec_f32(n * row, -1.0, 1.0);
        let (mut want_k, mut want_v) = (cpu::kv::pack_f16(&start), cpu::kv::pack_f16(&start));
        cpu::kv::append(&mut want_k, &k, row, cap, pos0);
        cpu::kv::append(&mut want_v, &v, row, cap, pos0);
        let kc = ctx.upload_f16(&cpu::kv::pack_f16(&start), &[cap, row]).unwrap();
        let vc = ctx.upload_f16(&cpu::kv::pack_f16(&start), &[cap, row]).unwrap();
        let (kt, vt) = (
            ctx.upload_f32(&k, &[n, row]).unwrap(),
            ctx.upload_f32(&v, &[n, row]).unwrap(),
        );
        let mut batch = Batch::new(ctx).unwrap();
        kv_append(&mut batch, &kt, &vt, &kc, &vc, row, cap, pos0).unwrap();
        batch.submit().unwrap();
        assert_eq!(
            ctx.read_u32_blocking(&kc).unwrap(),
            want_k,
            "keys {row}x{cap} at {pos0}"
        );
        assert_eq!(
            ctx.read_u32_blocking(&vc).unwrap(),
            want_v,
            "values {row}x{cap} at {pos0}"
        );
    }
    // Keys in f32 beside values in f16 is a typed error, not a wrong read.
    let p = decoder(1, 4, 2, 1, 8);
    let q = ctx.upload_f32(&[0.0; 16], &[16]).unwrap();
    let k32 = ctx.upload_f32(&[0.0; 32], &[32]).unwrap();
    let v16 = ctx.upload_f16(&[0; 16], &[32]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    assert!(attention(&mut batch, &q, &k32, &v16, None, &p).is_err());
}

/// BERT: bidirectional, a batch of padded sequences.
#[test]
fn attention_bidirectional_padding_mask() {
    for ctx in both_paths() {
        let p = AttentionParams {
            batch: 3,
            q_len: 11,
            kv_len: 11,
            kv_cap: 11,
            n_head: 12,
            n_kv_head: 12,
            head_dim: 32,
            pos0: 0,
            causal: false,
            window: 0,
            softcap: 0.0,
            scale: 1.0 / 32f32.sqrt(),
        };
        check_attention(ctx, &p, true, 12);
    }
}

fn check_elementwise(op: Op, want: impl Fn(&[f32], &[f32]) -> Vec<f32>, b_len: impl Fn(usize) -> usize) {
    let Some(ctx) = gpu() else { return };
    check_elementwise_on(ctx, op, want, b_len);
}

fn check_elementwise_on(
    ctx: &GpuContext,
    op: Op,
    want: impl Fn(&[f32], &[f32]) -> Vec<f32>,
    b_len: impl Fn(usize) -> usize,
) {
    let mut rng = Rng::new(13);
    for n in [1, 37, 4107] {
        let a = rng.vec_f32(n, -6.0, 6.0);
        let b = rng.vec_f32(b_len(n), -2.0, 2.0);
        let (at, bt) = (
            ctx.upload_f32(&a, &[n]).unwrap(),
            ctx.upload_f32(&b, &[b.len()]).unwrap(),
        );
        let got = run_f32(ctx, |batch| elementwise(batch, op, &at, Some(&bt)));
        assert_close(&got, &want(&a, &b), F32_TOL, &format!("{op:?} n={n}"));
    }
}

/// A 37-wide bias row: 4107 values are 111 rows of it.
fn row_bias_len(n: usize) -> usize {
    if n.is_multiple_of(37) {
        37
    } else {
        n
    }
}

macro_rules! elementwise_tests {
    ($($name:ident: $op:expr, $want:expr, $blen:expr;)*) => {$(
        #[test]
        fn $name() {
            check_elementwise($op, $want, $blen);
        }
    )*};
}

elementwise_tests! {
    gelu_erf: Op::Unary(Activation::GeluErf), |a, _| cpu::elementwise::unary(a, Activation::GeluErf), |n| n;
    gelu_tanh: Op::Unary(Activation::GeluTanh), |a, _| cpu::elementwise::unary(a, Activation::GeluTanh), |n| n;
    silu: Op::Unary(Activation::Silu), |a, _| cpu::elementwise::unary(a, Activation::Silu), |n| n;
    relu: Op::Unary(Activation::Relu), |a, _| cpu::elementwise::unary(a, Activation::Relu), |n| n;
    tanh: Op::Unary(Activation::Tanh), |a, _| cpu::elementwise::unary(a, Activation::Tanh), |n| n;
    swiglu: Op::Glu(Activation::Silu), |a, b| cpu::elementwise::glu(a, b, Activation::Silu), |n| n;
    geglu_erf: Op::Glu(Activation::GeluErf), |a, b| cpu::elementwise::glu(a, b, Activation::GeluErf), |n| n;
    geglu_tanh: Op::Glu(Activation::GeluTanh), |a, b| cpu::elementwise::glu(a, b, Activation::GeluTanh), |n| n;
    add: Op::Add, cpu::elementwise::add, |n| n;
    mul: Op::Mul, cpu::elementwise::mul, |n| n;
    scale: Op::Scale(-0.37), |a, _| cpu::elementwise::scale(a, -0.37), |n| n;
    softcap: Op::Softcap(1.7), |a, _| cpu::elementwise::softcap(a, 1.7), |n| n;
    add_row_bias: Op::AddRowBias, |a, b| cpu::elementwise::add_row_bias(a, b.len(), b), row_bias_len;
}

fn check_top_k(x: &[f32], k: usize) {
    let Some(ctx) = gpu() else { return };
    check_top_k_on(ctx, x, k);
}

fn check_top_k_on(ctx: &GpuContext, x: &[f32], k: usize) {
    let xt = ctx.upload_f32(x, &[x.len()]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    let r = top_k(&mut batch, &xt, k).unwrap();
    batch.submit().unwrap();
    let ids = ctx.read_u32_blocking(&r.ids).unwrap();
    let vals = ctx.read_f32_blocking(&r.values).unwrap();
    let want = cpu::topk::top_k(x, k);
    let got: Vec<(u32, f32)> = ids.into_iter().zip(vals).take(want.len()).collect();
    assert_eq!(got, want, "top-{k} of {} values", x.len());
}

/// Greedy decoding over Gemma 3's 262144-entry vocabulary, with ties broken to the smaller id.
#[test]
fn argmax_large_vocab_with_ties() {
    let mut rng = Rng::new(14);
    let mut x = rng.vec_f32(262_144, -10.0, 10.0);
    x[200_001] = 11.0;
    x[70_000] = 11.0; // tie: the smaller id wins
    check_top_k(&x, 1);
    let y = rng.vec_f32(1001, -1.0, 1.0);
    check_top_k(&y, 1);
}

#[test]
fn top_k_orders_and_breaks_ties() {
    let mut rng = Rng::new(15);
    // Values on a coarse grid so that ties are common, across many 256-value chunks and passes.
    let x: Vec<f32> = (0..5000).map(|_| (rng.f32_range(0.0, 40.0)).floor()).collect();
    for k in [1, 5, 40, 64] {
        check_top_k(&x, k);
    }
    // Fewer values than k; -inf (masked logits) still ranks, NaN never does.
    check_top_k(&[f32::NEG_INFINITY, 2.0, f32::NAN, -1.0], 8);
}

/// Shapes at real model scale, where a kernel that loops too long in one invocation breaks:
/// lavapipe silently stops an invocation after 65535 loop iterations.
#[test]
fn long_rows_and_contexts() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(16);
    // Softmax over Gemma 3's whole vocabulary.
    let dim = 262_144;
    let x = rng.vec_f32(dim, -20.0, 20.0);
    let xt = ctx.upload_f32(&x, &[1, dim]).unwrap();
    let got = run_f32(ctx, |b| softmax(b, &xt, dim));
    assert_close(&got, &cpu::softmax::softmax(&x, dim), F32_TOL, "softmax over 262144");
    // A norm wider than any model's hidden size.
    let dim = 30_000;
    let (x, w) = (rng.vec_f32(2 * dim, -2.0, 2.0), rng.vec_f32(dim, -1.0, 1.0));
    let (xt, wt) = (
        ctx.upload_f32(&x, &[2, dim]).unwrap(),
        ctx.upload_f32(&w, &[dim]).unwrap(),
    );
    let got = run_f32(ctx, |b| norm(b, NormKind::Rms, &xt, &wt, None, 1e-6));
    assert_close(
        &got,
        &cpu::norm::rms_norm(&x, dim, &w, 1e-6, false),
        F32_TOL,
        "rms norm over 30000",
    );
    // Decoding at position 4095 of SmolLM2 (head_dim 64) and Gemma 3 (head_dim 256).
    for ctx in both_paths() {
        check_attention(ctx, &decoder(1, 4096, 9, 3, 64), false, 17);
        check_attention(ctx, &decoder(1, 2048, 4, 1, 256), false, 18);
    }
    // Top-k's worst case: ascending logits make every value enter the list.
    let asc: Vec<f32> = (0..70_000).map(|i| i as f32 * 1e-3).collect();
    check_top_k(&asc, 64);
}

/// Every kernel family with dispatches folded into 2D (more workgroups than the per-dimension
/// limit, forced down to 7): the linear index must be recovered exactly.
#[test]
fn dispatches_folded_into_2d() {
    let Some(ctx) = device(Kernels::Auto, Variant::Folded) else {
        return;
    };
    assert_eq!(ctx.caps.max_workgroups_per_dim, 7);
    check_norm_on(ctx, NormKind::Layer);
    check_rope_on(ctx, RopeLayout::Neox, 64, 64, 9);
    check_elementwise_on(
        ctx,
        Op::Glu(Activation::Silu),
        |a, b| cpu::elementwise::glu(a, b, Activation::Silu),
        |n| n,
    );
    check_attention(ctx, &decoder(9, 40, 9, 3, 64), false, 19);
    let mut rng = Rng::new(20);
    check_top_k_on(ctx, &rng.vec_f32(100_000, -5.0, 5.0), 40);
    let x = rng.vec_f32(40 * 100, -3.0, 3.0);
    let xt = ctx.upload_f32(&x, &[40, 100]).unwrap();
    let got = run_f32(ctx, |b| softmax(b, &xt, 100));
    assert_close(&got, &cpu::softmax::softmax(&x, 100), F32_TOL, "folded softmax");
}

/// logit_bias, then repetition, presence and frequency penalties on the logits, in place.
#[test]
fn repetition_penalties() {
    use cpu::penalty::PenaltyEntry;
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(21);
    let mut logits = rng.vec_f32(5003, -8.0, 8.0);
    let e = |id, count, bias| PenaltyEntry { id, count, bias };
    let entries = [
        e(0, 1, 0.0),
        e(17, 3, 2.5),
        e(4999, 2, 0.0),
        e(5002, 1, -1.0),
        e(250, 5, 0.0),
        e(9, 0, 7.0),
    ];
    let t = ctx.upload_f32(&logits, &[logits.len()]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    webslm::kernels::penalty::penalize(&mut batch, &t, &entries, 1.3, 0.2, 0.05).unwrap();
    batch.submit().unwrap();
    let got = ctx.read_f32_blocking(&t).unwrap();
    cpu::penalty::penalize(&mut logits, &entries, 1.3, 0.2, 0.05);
    assert_close(&got, &logits, F32_TOL, "penalties");
    let mut batch = Batch::new(ctx).unwrap();
    assert!(
        webslm::kernels::penalty::penalize(&mut batch, &t, &[e(5003, 1, 0.0)], 1.1, 0.0, 0.0).is_err(),
        "id past the vocabulary"
    );
}

/// A `[batch, seq]` mask of random lengths (1..=seq, one sequence fully padded when batch > 2).
fn random_mask(rng: &mut Rng, batch: usize, seq: usize) -> Vec<u32> {
    let mut mask = Vec::with_capacity(batch * seq);
    for b in 0..batch {
        let len = if b == 2 { 0 } else { rng.usize_range(1, seq + 1) };
        mask.extend((0..seq).map(|t| u32::from(t < len)));
    }
    mask
}

#[test]
fn encoder_pooling_mean_and_cls() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(11);
    for (batch, seq, dim) in [(1, 1, 1), (3, 7, 37), (5, 129, 384), (2, 300, 5)] {
        let x = rng.vec_f32(batch * seq * dim, -2.0, 2.0);
        let mask = random_mask(&mut rng, batch, seq);
        let xt = ctx.upload_f32(&x, &[batch, seq, dim]).unwrap();
        let mt = ctx.upload_u32(&mask, &[batch, seq]).unwrap();
        for mode in [Pooling::Mean, Pooling::First] {
            let want = cpu::pool::pool(&x, &mask, batch, seq, dim, mode);
            let got = run_f32(ctx, |b| pool(b, &xt, &mt, (batch, seq, dim), mode));
            assert_close(&got, &want, F32_TOL, &format!("{mode:?} {batch}x{seq}x{dim}"));
        }
    }
}

#[test]
fn mobilebert_trigram_input() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(12);
    for (batch, seq, dim) in [(1, 1, 3), (3, 9, 17), (4, 65, 128)] {
        let e = rng.vec_f32(batch * seq * dim, -2.0, 2.0);
        let mask = random_mask(&mut rng, batch, seq);
        let want = cpu::pool::trigram(&e, &mask, batch, seq, dim);
        let et = ctx.upload_f32(&e, &[batch, seq, dim]).unwrap();
        let mt = ctx.upload_u32(&mask, &[batch, seq]).unwrap();
        let got = run_f32(ctx, |b| trigram(b, &et, &mt, (batch, seq, dim)));
        assert_close(&got, &want, 0.0, &format!("trigram {batch}x{seq}x{dim}"));
    }
}
