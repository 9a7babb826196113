//! Structured output's token mask on the GPU (`kernels::mask`) against its CPU twin, on logit
//! counts that are not multiples of 32 or of a workgroup, with masks shorter than the logits
//! (ids past the mask are masked); and top-k after the mask returns only allowed ids.

mod common;

use common::gpu;
use webslm::cpu;
use webslm::gpu::Batch;
use webslm::kernels::mask::mask_logits;
use webslm::kernels::topk::top_k;
use webslm::rng::Rng;

fn random_mask(rng: &mut Rng, words: usize, density: f32) -> Vec<u32> {
    (0..words)
        .map(|_| (0..32).fold(0u32, |w, b| w | (u32::from(rng.f32_range(0.0, 1.0) < density) << b)))
        .collect()
}

#[test]
fn mask_matches_cpu_twin() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(31);
    // (logits, mask words): exact fit, ragged tail, a mask shorter than the logits, one id.
    for (n, words, density) in [
        (64, 2, 0.5),
        (1001, 32, 0.3),
        (49_152 + 17, 1000, 0.01),
        (1, 1, 1.0),
        (70, 3, 0.0),
    ] {
        let mut logits = rng.vec_f32(n, -8.0, 8.0);
        let mask = random_mask(&mut rng, words, density);
        let t = ctx.upload_f32(&logits, &[n]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        mask_logits(&mut batch, &t, &mask).unwrap();
        batch.submit().unwrap();
        let got = ctx.read_f32_blocking(&t).unwrap();
        cpu::mask::mask_logits(&mut logits, &mask);
        // Exact: the kernel copies or replaces each value, no arithmetic.
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{n} logits, {words} mask words"
        );
    }
    let mut batch = Batch::new(ctx).unwrap();
    let t = ctx.upload_f32(&[1.0], &[1]).unwrap();
    assert!(mask_logits(&mut batch, &t, &[]).is_err(), "an empty mask");
}

/// The candidates top-k returns after the mask are the best allowed ids, and masked ids come
/// back only as -inf (which the engine drops).
#[test]
fn top_k_after_mask_sees_only_allowed_ids() {
    let Some(ctx) = gpu() else { return };
    let mut rng = Rng::new(32);
    let n = 10_007;
    let logits = rng.vec_f32(n, -5.0, 5.0);
    let allowed = [3u32, 4000, 10_006, 9];
    let mut mask = vec![0u32; n.div_ceil(32)];
    for id in allowed {
        mask[id as usize / 32] |= 1 << (id % 32);
    }
    let t = ctx.upload_f32(&logits, &[n]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    mask_logits(&mut batch, &t, &mask).unwrap();
    let r = top_k(&mut batch, &t, 8).unwrap();
    batch.submit().unwrap();
    let ids = ctx.read_u32_blocking(&r.ids).unwrap();
    let vals = ctx.read_f32_blocking(&r.values).unwrap();
    let mut want: Vec<u32> = allowed.to_vec();
    want.sort_by(|a, b| logits[*b as usize].total_cmp(&logits[*a as usize]));
    assert_eq!(&ids[..4], &want[..]);
    assert!(vals[4..].iter().all(|v| *v == f32::NEG_INFINITY), "{vals:?}");
}
