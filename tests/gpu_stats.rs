//! The work counters `webslm bench` reports: dispatches and submits as recorded, weight bytes as
//! the GEMV streams them, KV bytes as attention reads them, and live/peak buffer memory.

mod common;

use common::gpu_fresh;
use webslm::formats::quant::{random_weights, WeightFormat};
use webslm::gpu::{Batch, DType, KernelPath};
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

/// A decoded token of a tiny Llama (2 layers): the host-side costs `Batch` promises, counted
/// exactly on the kernel path `WEBSLM_KERNELS` picks (CI runs this file on both).
/// - queue writes: the token id's upload and the uniform arena, nothing else;
/// - compute passes: one, plus one more after each copy the step must encode (copies cannot sit
///   in a pass): on a path whose GEMV reads x from a uniform copy, that copy before each GEMV
///   (the default f16 KV cache is written by a kernel, `kv_append`, not a copy);
/// - bind groups: the second token reuses every one of the first's, except those binding the
///   freshly uploaded token id (the embedding gather, one per part of the table).
#[test]
fn a_decode_step_writes_twice_and_reuses_its_bind_groups() {
    use webslm::engine::{Engine, EngineOptions};
    use webslm::kernels::topk::top_k;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decoders/tiny-llama3/model-f32.gguf");
    let options = EngineOptions {
        context: 64,
        ..Default::default()
    };
    // The engine opens its own device; this only skips (or fails in CI) without an adapter.
    let Some(ctx) = gpu_fresh() else { return };
    drop(ctx);
    let mut engine = Engine::load(&path, &options).expect("tiny-llama3");
    engine.prefill(&[1, 2, 3]).expect("prefill");
    let step = |engine: &mut Engine, token: u32| {
        let before = engine.ctx.stats.snapshot();
        let ids = engine.ctx.upload_u32(&[token], &[1]).unwrap();
        let mut batch = Batch::new(&engine.ctx).unwrap();
        let logits = engine
            .model
            .forward(&mut batch, &mut engine.cache, &ids, &[token], false)
            .unwrap();
        let best = top_k(&mut batch, &logits, 1).unwrap();
        let dispatches = batch.dispatch_count() as u64;
        batch.submit_and_read_blocking(&[&best.ids]).unwrap();
        let d = engine.ctx.stats.snapshot().since(&before);
        assert_eq!(d.dispatches, dispatches);
        d
    };
    let first = step(&mut engine, 4);
    let second = step(&mut engine, 5);
    let layers = engine.model.cfg.n_layer as u64;
    for d in [&first, &second] {
        assert_eq!(d.queue_writes, 2, "the token id and the uniform arena");
        assert_eq!(d.submits, 1);
    }
    // The software path's GEMV reads x from a uniform copy: one copy per projection (q, k, v,
    // o, gate, up, down per layer, and the output head). The GPU path's cooperative GEMV reads
    // x from storage: no copies.
    let x_copies = match engine.ctx.caps.kernels.path {
        KernelPath::Software => 7 * layers + 1,
        KernelPath::Gpu => 0,
    };
    assert_eq!(second.compute_passes, 1 + x_copies, "{second:?}");
    // The gather dispatches once per part of the embedding table, each binding the fresh id: one
    // part, unless the weights are split (WEBSLM_DEVICE_VARIANT=split=BYTES).
    let gathers = engine.model.tok_embd.parts.len() as u64;
    assert_eq!(
        second.bind_groups, gathers,
        "only the embedding gather binds a new buffer"
    );
    assert!(
        first.bind_groups >= first.dispatches - 1,
        "the prefill's bind groups do not fit a decode step"
    );
}

/// A batch dropped with its compute pass open (an error while recording) leaves no error for
/// the next batch to report, and the dispatches of a batch each read their own params from the
/// arena (the second reads the first's output, the third the input again).
#[test]
fn a_dropped_batch_leaves_no_error_and_each_dispatch_keeps_its_params() {
    use webslm::kernels::elementwise::{elementwise, Op};
    let Some(ctx) = &gpu_fresh() else { return };
    let x = ctx.upload_f32(&[1.0, 2.0, 3.0], &[3]).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    let _y = elementwise(&mut batch, Op::Scale(2.0), &x, None).unwrap();
    drop(batch);
    let mut batch = Batch::new(ctx).unwrap();
    let a = elementwise(&mut batch, Op::Scale(2.0), &x, None).unwrap();
    let b = elementwise(&mut batch, Op::Scale(-3.0), &a, None).unwrap();
    let c = elementwise(&mut batch, Op::Scale(0.5), &x, None).unwrap();
    let out = batch.submit_and_read_blocking(&[&a, &b, &c]).unwrap();
    let f = |w: &Vec<u32>| w.iter().map(|&v| f32::from_bits(v)).collect::<Vec<_>>();
    assert_eq!(f(&out[0]), [2.0, 4.0, 6.0]);
    assert_eq!(f(&out[1]), [-6.0, -12.0, -18.0]);
    assert_eq!(f(&out[2]), [0.5, 1.0, 1.5]);
}

/// The serial weight-load chains add up over dispatches (the reference-GPU model's latency term),
/// while the maximum keeps the longest: two GEMVs of different K, alone and together.
#[test]
fn serial_weight_loads_sum_over_dispatches_and_the_max_keeps_the_longest() {
    let Some(ctx) = &gpu_fresh() else { return };
    let weight = |n: usize, k: usize, seed: u64| {
        let bytes = random_weights(WeightFormat::Q8_0, n, k, seed);
        GpuWeight::upload(ctx, "w", WeightFormat::Q8_0, n, k, &bytes).unwrap()
    };
    let (wa, wb) = (weight(40, 64, 1), weight(40, 640, 2));
    let xa = ctx.upload_f32(&Rng::new(3).vec_f32(64, -1.0, 1.0), &[1, 64]).unwrap();
    let xb = ctx.upload_f32(&Rng::new(4).vec_f32(640, -1.0, 1.0), &[1, 640]).unwrap();
    let run = |pairs: &[(&webslm::gpu::GpuTensor, &GpuWeight)]| {
        ctx.stats.reset_shape();
        let before = ctx.stats.snapshot();
        let mut batch = Batch::new(ctx).unwrap();
        for (x, w) in pairs {
            let _y = matmul_new(&mut batch, x, w).unwrap();
        }
        batch.submit().unwrap();
        ctx.stats.snapshot().since(&before)
    };
    let a = run(&[(&xa, &wa)]);
    let b = run(&[(&xb, &wb)]);
    assert!(
        a.serial_weight_loads >= 1 && b.serial_weight_loads > a.serial_weight_loads,
        "{a:?} {b:?}"
    );
    assert_eq!(
        a.serial_weight_loads, a.max_serial_weight_loads,
        "one dispatch: the sum is its chain"
    );
    let both = run(&[(&xa, &wa), (&xb, &wb)]);
    assert_eq!(both.serial_weight_loads, a.serial_weight_loads + b.serial_weight_loads);
    assert_eq!(both.max_serial_weight_loads, b.max_serial_weight_loads);
}
