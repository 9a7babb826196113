//! Attention on the GPU against its CPU twin, on random inputs: shared by the kernel tests and
//! the loop-budget tests.

use webslm::cpu;
use webslm::gpu::GpuContext;
use webslm::kernels::attention::attention;
use webslm::ops::AttentionParams;
use webslm::rng::Rng;

use super::{assert_close, run_f32};

/// f32 kernels: 1e-4 relative (STYLE.md).
const F32_TOL: f32 = 1e-4;

/// Random q, k, v (and a random padding prefix per sequence when `with_mask`), GPU against CPU,
/// with K and V held in f32 and in f16 (the twin then reads the f16-rounded values, as the
/// kernel does, so the f32 tolerance holds for both).
pub fn check_attention(ctx: &GpuContext, p: &AttentionParams, with_mask: bool, seed: u64) {
    check_attention_kv(ctx, p, with_mask, seed, false);
    check_attention_kv(ctx, p, with_mask, seed, true);
}

pub fn check_attention_kv(ctx: &GpuContext, p: &AttentionParams, with_mask: bool, seed: u64, f16: bool) {
    let mut rng = Rng::new(seed);
    let q = rng.vec_f32(p.batch * p.q_len * p.n_head * p.head_dim, -1.0, 1.0);
    let kv = p.batch * p.kv_cap * p.n_kv_head * p.head_dim;
    let (k, v) = (rng.vec_f32(kv, -1.0, 1.0), rng.vec_f32(kv, -1.0, 1.0));
    // Padding mask: each sequence keeps a random prefix (at least one key).
    let mask: Vec<u32> = (0..p.batch)
        .flat_map(|_| {
            let valid = rng.usize_range(1, p.kv_len + 1);
            (0..p.kv_len).map(move |t| u32::from(t < valid))
        })
        .collect();
    let (kt, vt) = match f16 {
        true => (
            ctx.upload_f16(&cpu::kv::pack_f16(&k), &[kv]).unwrap(),
            ctx.upload_f16(&cpu::kv::pack_f16(&v), &[kv]).unwrap(),
        ),
        false => (ctx.upload_f32(&k, &[kv]).unwrap(), ctx.upload_f32(&v, &[kv]).unwrap()),
    };
    let (k, v) = match f16 {
        true => (cpu::kv::round_f16(&k), cpu::kv::round_f16(&v)),
        false => (k, v),
    };
    let want = cpu::attention::attention(&q, &k, &v, with_mask.then_some(&mask[..]), p);
    let qt = ctx.upload_f32(&q, &[q.len()]).unwrap();
    let mt = ctx.upload_u32(&mask, &[mask.len()]).unwrap();
    let got = run_f32(ctx, |b| attention(b, &qt, &kt, &vt, with_mask.then_some(&mt), p));
    let kv_format = if f16 { "f16" } else { "f32" };
    assert_close(&got, &want, F32_TOL, &format!("attention, {kv_format} KV, {p:?}"));
}

/// A causal decoder call: `q_len` queries ending at position `kv_len - 1`, full cache.
pub fn decoder(q_len: usize, kv_len: usize, n_head: usize, n_kv_head: usize, head_dim: usize) -> AttentionParams {
    AttentionParams {
        batch: 1,
        q_len,
        kv_len,
        kv_cap: kv_len,
        n_head,
        n_kv_head,
        head_dim,
        pos0: (kv_len - q_len) as u32,
        causal: true,
        window: 0,
        softcap: 0.0,
        scale: 1.0 / (head_dim as f32).sqrt(),
    }
}
