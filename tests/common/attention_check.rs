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

/// Random q, k, v (and a random padding prefix per sequence when `with_mask`), GPU against CPU.
pub fn check_attention(ctx: &GpuContext, p: &AttentionParams, with_mask: bool, seed: u64) {
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
    let want = cpu::attention::attention(&q, &k, &v, with_mask.then_some(&mask[..]), p);
    let qt = ctx.upload_f32(&q, &[q.len()]).unwrap();
    let kt = ctx.upload_f32(&k, &[kv]).unwrap();
    let vt = ctx.upload_f32(&v, &[kv]).unwrap();
    let mt = ctx.upload_u32(&mask, &[mask.len()]).unwrap();
    let got = run_f32(ctx, |b| attention(b, &qt, &kt, &vt, with_mask.then_some(&mt), p));
    assert_close(&got, &want, F32_TOL, &format!("attention {p:?}"));
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
