//! The work counters `webslm bench` reports: dispatches and submits as recorded, weight bytes as
//! the GEMV streams them, KV bytes as attention reads them, and live/peak buffer memory.

mod common;

use common::gpu_fresh;
use webslm::formats::quant::{random_weights, WeightFormat};
use webslm::gpu::{Batch, DType};
use webslm::kernels::attention::attention;
use webslm::kernels::matmul::matmul_new;
use webslm::kernels::GpuWeight;
use webslm::ops::AttentionParams;
use webslm::rng::Rng;

#[test]
fn a_gemv_counts_one_dispatch_one_submit_and_its_weight_once() {
    let Some(ctx) = &gpu_fresh() else { return };
    let (n, k) = (37, 96);
    let bytes = random_weights(WeightFormat::Q4_1, n, k, 1);
    let w = GpuWeight::upload(ctx, "w", WeightFormat::Q4_1, n, k, &bytes).unwrap();
    let x = ctx.upload_f32(&Rng::new(2).vec_f32(k, -1.0, 1.0), &[1, k]).unwrap();
    let before = ctx.stats.snapshot();
    let mut batch = Batch::new(ctx).unwrap();
    let _y = matmul_new(&mut batch, &x, &w).unwrap();
    batch.submit().unwrap();
    let d = ctx.stats.snapshot().since(&before);
    assert_eq!((d.dispatches, d.submits), (1, 1));
    // The stored bytes (Q4_1: 20 per 32 weights), padded to whole words.
    assert_eq!(d.weight_bytes_read, (bytes.len() as u64).div_ceil(4) * 4);
    assert_eq!(d.kv_bytes_read, 0);
}

/// One query of a GQA model at position 99 with a window of 40: each of the 2 KV heads'
/// 40 visible keys and values is read once, by the one invocation serving its 3 query heads.
#[test]
fn decode_attention_reads_each_visible_key_once() {
    let Some(ctx) = &gpu_fresh() else { return };
    let p = AttentionParams {
        batch: 1,
        q_len: 1,
        kv_len: 100,
        kv_cap: 100,
        n_head: 6,
        n_kv_head: 2,
        head_dim: 32,
        pos0: 99,
        causal: true,
        window: 40,
        softcap: 0.0,
        scale: 0.2,
    };
    let mut rng = Rng::new(3);
    let kv = p.kv_cap * p.n_kv_head * p.head_dim;
    let q = ctx.upload_f32(&rng.vec_f32(6 * 32, -1.0, 1.0), &[6 * 32]).unwrap();
    let k = ctx.upload_f32(&rng.vec_f32(kv, -1.0, 1.0), &[kv]).unwrap();
    let v = ctx.upload_f32(&rng.vec_f32(kv, -1.0, 1.0), &[kv]).unwrap();
    let before = ctx.stats.snapshot();
    let mut batch = Batch::new(ctx).unwrap();
    let _out = attention(&mut batch, &q, &k, &v, None, &p).unwrap();
    batch.submit().unwrap();
    let d = ctx.stats.snapshot().since(&before);
    assert_eq!(d.kv_bytes_read, 40 * 2 * 32 * 4 * 2);
    assert_eq!(d.dispatches, 2, "partial and combine");
}

/// The same decode step on the real-GPU path with an f16 cache: the same keys read once per KV
/// head, at half the bytes, by a kernel with no private array.
#[test]
fn gpu_path_decode_attention_reads_f16_keys_once() {
    let Ok(ctx) = webslm::gpu::GpuContext::new_blocking(webslm::gpu::GpuOptions {
        kernels: Some(webslm::gpu::KernelPath::Gpu),
        ..Default::default()
    }) else {
        return;
    };
    let p = AttentionParams {
        batch: 1,
        q_len: 1,
        kv_len: 100,
        kv_cap: 100,
        n_head: 6,
        n_kv_head: 2,
        head_dim: 32,
        pos0: 99,
        causal: true,
        window: 40,
        softcap: 0.0,
        scale: 0.2,
    };
    let kv = p.kv_cap * p.n_kv_head * p.head_dim;
    let q = ctx.upload_f32(&[0.5; 6 * 32], &[6 * 32]).unwrap();
    let k = ctx.upload_f16(&vec![0; kv / 2], &[kv]).unwrap();
    let v = ctx.upload_f16(&vec![0; kv / 2], &[kv]).unwrap();
    let before = ctx.stats.snapshot();
    let mut batch = Batch::new(&ctx).unwrap();
    let _out = attention(&mut batch, &q, &k, &v, None, &p).unwrap();
    batch.submit().unwrap();
    let d = ctx.stats.snapshot().since(&before);
    assert_eq!(d.kv_bytes_read, 40 * 2 * 32 * 2 * 2);
    assert_eq!(d.dispatches, 2, "flash decoding and combine");
    assert_eq!(ctx.stats.snapshot().private_array_bytes, 0);
}

/// Peak memory counts buffers alive together: uploads freed before the next do not add up.
#[test]
fn peak_memory_counts_live_buffers() {
    let Some(ctx) = &gpu_fresh() else { return };
    let start = ctx.stats.snapshot().peak_bytes;
    for _ in 0..5 {
        let t = ctx.upload_f32(&[0.0; 1024], &[1024]).unwrap();
        drop(t);
    }
    let one = ctx.stats.snapshot().peak_bytes - start;
    assert_eq!(one, 4096, "one 4 KiB upload alive at a time");
    let a = ctx.upload_f32(&[0.0; 1024], &[1024]).unwrap();
    let b = ctx.tensor(&[2048], DType::F32).unwrap();
    assert_eq!(ctx.stats.snapshot().peak_bytes - start, 4096 + 8192);
    drop((a, b));
}
