//! The logprobs kernel (log-softmax of a whole logits row at a few ids, plus its log-sum-exp)
//! against its CPU twin, on ragged row lengths up to Gemma 3's 262144-entry vocabulary and at
//! lavapipe's exact loop limit (an undercounted loop would return garbage there).

mod common;

use common::{device, gpu, Kernels, Variant};
use webslm::cpu;
use webslm::gpu::{Batch, GpuContext};
use webslm::kernels::logprobs::logprobs;
use webslm::rng::Rng;

/// Absolute: a log-probability is reported as is, so its error is what a user sees. f32 sums of
/// 262144 exponentials stay well inside it.
const TOL: f32 = 1e-4;

fn check(ctx: &GpuContext, n: usize, ids: &[u32], seed: u64) {
    let mut rng = Rng::new(seed);
    let mut x = rng.vec_f32(n, -12.0, 12.0);
    // A peaked row, as real logits are: one large value far above the rest.
    if let Some(v) = x.get_mut(n / 3) {
        *v = 30.0;
    }
    let xt = ctx.upload_f32(&x, &[n]).unwrap();
    let it = ctx.upload_u32(ids, &[ids.len()]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    let out = logprobs(&mut batch, &xt, &it).unwrap();
    batch.submit().unwrap();
    let got = ctx.read_f32_blocking(&out).unwrap();
    let (want, lse) = cpu::logprobs::logprobs(&x, ids);
    assert_eq!(got.len(), ids.len() + 1);
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        if w == f32::NEG_INFINITY {
            assert_eq!(g, w, "n {n}: id {} past the row gives -inf", ids[i]);
        } else {
            assert!((g - w).abs() <= TOL, "n {n}: id {}: got {g}, want {w}", ids[i]);
        }
    }
    let g = got[ids.len()];
    assert!((g - lse).abs() <= TOL, "n {n}: log-sum-exp got {g}, want {lse}");
}

#[test]
fn logprobs_match_the_twin() {
    let Some(ctx) = gpu() else { return };
    for (i, &n) in [1usize, 63, 1000, 49_152 + 17].iter().enumerate() {
        let mut ids: Vec<u32> = (0..40).map(|k| ((k * 7919) % n) as u32).collect();
        ids.extend([u32::MAX, n as u32, (n / 3) as u32]);
        check(ctx, n, &ids, 30 + i as u64);
    }
}

#[test]
fn logprobs_at_the_exact_loop_limit() {
    let Some(ctx) = device(Kernels::Auto, Variant::ExactLoopBudget) else {
        return;
    };
    check(ctx, 262_144, &[0, 1, 87_381, 262_143, u32::MAX], 40);
}
