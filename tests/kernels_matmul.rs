//! GEMV / GEMM / embedding gather for every weight format, against the CPU twins, on shapes that
//! are not multiples of the 4-row / 4x4 tiles. Also: the no-shader-f16 path and split bindings
//! give the same results as the normal path. The GPU path's GEMV (`MatmulKernel::GemvGpu`) runs
//! the same checks on devices opened with `KernelPath::Gpu`, with subgroups and without.

mod common;

use common::{assert_close, device, device_fresh, gpu, nmse, run_f32, Kernels, Variant, TINY_BINDING};
use webslm::cpu;
use webslm::formats::quant::{dequantize, f16_to_f32, f32_to_f16, random_weights, WeightFormat, ALL_FORMATS};
use webslm::gpu::{Batch, DType, GpuContext, GpuError};
use webslm::kernels::elementwise::{elementwise, Op};
use webslm::kernels::matmul::{matmul, matmul_full, matmul_with, Epilogue, MatmulKernel};
use webslm::kernels::{embedding::embedding, gemm_gpu, gemv_gpu, GpuWeight};
use webslm::ops::Activation;
use webslm::rng::Rng;

/// Matmul tolerances.
/// - ggml's bounds (`test-backend-ops`): NMSE <= 5e-4 against the CPU twin, and quantised dot products within 2e-2
///   relative to dequantise-then-f32.
/// - Stricter, because both sides decode blocks identically and differ only in summation order
///   (f32 on the GPU, f64 on the CPU): each output is within the classic recursive-summation bound
///   (k + 8) * 2^-24 * sum_t |x_t w_t| (the +8 covers the per-block decode rounding and FMA).
const MATMUL_NMSE: f64 = 5e-4;

/// Inner-dimension lengths to test: any length for float formats, whole blocks otherwise.
fn k_values(fmt: WeightFormat) -> Vec<usize> {
    match fmt.block_elems() {
        1 => vec![1, 37, 64, 130],
        32 => vec![32, 96, 160],
        _ => vec![256, 768],
    }
}

fn dequantized(fmt: WeightFormat, bytes: &[u8], n: usize, k: usize) -> Vec<f32> {
    let mut w = vec![0.0; n * k];
    dequantize(fmt, bytes, k, &mut w).expect("valid random weights");
    w
}

/// Runs one matmul on `ctx` and checks it against the CPU twin; returns the GPU result.
fn check_matmul(
    ctx: &GpuContext,
    fmt: WeightFormat,
    kernel: MatmulKernel,
    m: usize,
    n: usize,
    k: usize,
    seed: u64,
) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let w_bytes = random_weights(fmt, n, k, seed);
    let x = rng.vec_f32(m * k, -1.0, 1.0);
    let want = cpu::matmul::matmul(&x, m, k, &w_bytes, fmt, n);
    // The tiled GEMM may hold weights as f16 in workgroup memory: the summation bound below then
    // holds against the twin that rounds the weights the same way (ggml's bounds stay on `want`).
    let rounded = kernel == MatmulKernel::GemmTiled && gemm_gpu::f16_tile(&ctx.caps, fmt);
    let twin = match rounded {
        true => cpu::matmul::matmul_f16_weights(&x, m, k, &w_bytes, fmt, n),
        false => want.clone(),
    };

    let w = GpuWeight::upload(ctx, "w", fmt, n, k, &w_bytes).expect("upload weight");
    let xt = ctx.upload_f32(&x, &[m, k]).expect("upload x");
    let got = run_f32(ctx, |b| {
        let y = b.ctx().tensor(&[m, n], DType::F32)?;
        matmul_with(b, kernel, &xt, &w, &y)?;
        Ok(y)
    });

    let what = format!("{kernel:?} {} m={m} n={n} k={k} f16 tile {rounded}", fmt.name());
    let e = nmse(&got, &want);
    assert!(e <= MATMUL_NMSE, "{what}: NMSE {e:e} > {MATMUL_NMSE:e}");
    let mut wf = dequantized(fmt, &w_bytes, n, k);
    if rounded {
        wf = wf.iter().map(|&v| f16_to_f32(f32_to_f16(v))).collect();
    }
    for i in 0..m {
        for j in 0..n {
            let mag: f64 = (0..k)
                .map(|t| f64::from(x[i * k + t].abs()) * f64::from(wf[j * k + t].abs()))
                .sum();
            let bound = (k as f64 + 8.0) * 2f64.powi(-24) * mag + 1e-30;
            let err = f64::from((got[i * n + j] - twin[i * n + j]).abs());
            assert!(
                err <= bound,
                "{what}: y[{i}][{j}] = {} want {} (|err| {err:e} > {bound:e})",
                got[i * n + j],
                twin[i * n + j]
            );
            let err = f64::from((got[i * n + j] - want[i * n + j]).abs());
            assert!(err <= 2e-2 * mag.max(1e-30), "{what}: relative error above 2e-2");
        }
    }
    got
}

fn check_embedding(ctx: &GpuContext, fmt: WeightFormat, rows: usize, k: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let table = random_weights(fmt, rows, k, seed);
    // Repeats, first and last rows, in a random order.
    let mut ids: Vec<u32> = (0..9).map(|_| rng.usize_range(0, rows) as u32).collect();
    ids.extend([0, rows as u32 - 1, ids[0]]);
    let want = cpu::embedding::embedding(&table, fmt, k, &ids);
    let w = GpuWeight::upload(ctx, "table", fmt, rows, k, &table).expect("upload table");
    let idt = ctx.upload_u32(&ids, &[ids.len()]).expect("upload ids");
    let got = run_f32(ctx, |b| embedding(b, &w, &idt));
    // Tolerance: both sides decode with the same f32 operations; 1e-6 covers FMA contraction.
    assert_close(
        &got,
        &want,
        1e-6,
        &format!("embedding {} rows={rows} k={k}", fmt.name()),
    );
}

/// The GPU-path GEMV's shapes: every `k_values` length (4-weight lanes, one row per workgroup,
/// ragged x for float formats) with m from 1 to 4, and a row long enough for whole-chunk lanes
/// (at least 64 chunks, with lanes left over) at sizes that give 1, 2 and 4 rows per workgroup.
fn gemv_gpu_shapes(fmt: WeightFormat) -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for k in k_values(fmt) {
        for (m, n) in [(1, 67), (2, 5), (4, 19)] {
            shapes.push((m, n, k));
        }
    }
    let long = match fmt.block_elems() {
        1 => 2051,
        32 => 2080,
        _ => 2304,
    };
    for (m, n) in [(3, 7), (4, 300), (1, 530)] {
        shapes.push((m, n, long));
    }
    shapes
}

/// The GPU-path GEMV on one format, with subgroups (where the adapter has them) and without.
fn check_gemv_gpu(fmt: WeightFormat, seed: u64) {
    let (Some(sg), Some(tree)) = (
        device(Kernels::Gpu, Variant::Plain),
        device(Kernels::Gpu, Variant::NoSubgroups),
    ) else {
        return;
    };
    assert!(!tree.caps.subgroups, "the no-subgroups device must not have subgroups");
    if !sg.caps.subgroups {
        eprintln!("note: adapter has no subgroups; both runs reduce in workgroup memory");
    }
    for (i, (m, n, k)) in gemv_gpu_shapes(fmt).into_iter().enumerate() {
        for ctx in [sg, tree] {
            check_matmul(ctx, fmt, MatmulKernel::GemvGpu, m, n, k, seed + i as u64);
        }
    }
}

macro_rules! per_format {
    ($($fmt:ident => $gemv:ident, $gemm:ident, $embed:ident, $gemv_gpu:ident;)*) => {$(
        #[test]
        fn $gemv_gpu() {
            check_gemv_gpu(WeightFormat::$fmt, 400);
        }

        #[test]
        fn $gemv() {
            let Some(ctx) = gpu() else { return };
            for (i, k) in k_values(WeightFormat::$fmt).into_iter().enumerate() {
                for (m, n) in [(1, 1), (1, 67), (2, 5), (3, 33)] {
                    check_matmul(ctx, WeightFormat::$fmt, MatmulKernel::Gemv, m, n, k, 100 + i as u64);
                    if k % 4 == 0 {
                        check_matmul(ctx, WeightFormat::$fmt, MatmulKernel::GemvUniformX, m, n, k, 100 + i as u64);
                    }
                }
            }
        }

        #[test]
        fn $gemm() {
            let Some(ctx) = gpu() else { return };
            for (i, k) in k_values(WeightFormat::$fmt).into_iter().enumerate() {
                for (m, n) in [(1, 3), (4, 4), (5, 17), (13, 33), (9, 70)] {
                    check_matmul(ctx, WeightFormat::$fmt, MatmulKernel::Gemm, m, n, k, 200 + i as u64);
                }
            }
        }

        #[test]
        fn $embed() {
            let Some(ctx) = gpu() else { return };
            for (i, k) in k_values(WeightFormat::$fmt).into_iter().enumerate() {
                check_embedding(ctx, WeightFormat::$fmt, 23, k, 300 + i as u64);
            }
        }
    )*};
}

per_format! {
    F32 => gemv_f32, gemm_f32, embedding_f32, gemv_gpu_f32;
    F16 => gemv_f16, gemm_f16, embedding_f16, gemv_gpu_f16;
    BF16 => gemv_bf16, gemm_bf16, embedding_bf16, gemv_gpu_bf16;
    Q8_0 => gemv_q8_0, gemm_q8_0, embedding_q8_0, gemv_gpu_q8_0;
    Q4_0 => gemv_q4_0, gemm_q4_0, embedding_q4_0, gemv_gpu_q4_0;
    Q4_1 => gemv_q4_1, gemm_q4_1, embedding_q4_1, gemv_gpu_q4_1;
    Q5_0 => gemv_q5_0, gemm_q5_0, embedding_q5_0, gemv_gpu_q5_0;
    Q5_1 => gemv_q5_1, gemm_q5_1, embedding_q5_1, gemv_gpu_q5_1;
    Q2_K => gemv_q2_k, gemm_q2_k, embedding_q2_k, gemv_gpu_q2_k;
    Q3_K => gemv_q3_k, gemm_q3_k, embedding_q3_k, gemv_gpu_q3_k;
    Q4_K => gemv_q4_k, gemm_q4_k, embedding_q4_k, gemv_gpu_q4_k;
    Q5_K => gemv_q5_k, gemm_q5_k, embedding_q5_k, gemv_gpu_q5_k;
    Q6_K => gemv_q6_k, gemm_q6_k, embedding_q6_k, gemv_gpu_q6_k;
    IQ4_NL => gemv_iq4_nl, gemm_iq4_nl, embedding_iq4_nl, gemv_gpu_iq4_nl;
    IQ4_XS => gemv_iq4_xs, gemm_iq4_xs, embedding_iq4_xs, gemv_gpu_iq4_xs;
}

/// F16 weights: the device's native `array<f16>` path and the packed-u32 fallback (forced by
/// opening the device without shader-f16) agree with each other and with the CPU twin.
#[test]
fn f16_native_and_fallback_agree() {
    let (Some(native), Some(fallback)) = (gpu(), device(Kernels::Auto, Variant::NoF16)) else {
        return;
    };
    assert!(!fallback.caps.shader_f16, "fallback device must not have shader-f16");
    if !native.caps.shader_f16 {
        eprintln!("note: adapter has no shader-f16; both runs use the fallback path");
    }
    for kernel in [MatmulKernel::Gemv, MatmulKernel::Gemm] {
        for (m, n, k) in [(1, 19, 37), (6, 21, 130)] {
            let a = check_matmul(native, WeightFormat::F16, kernel, m, n, k, 7);
            let b = check_matmul(fallback, WeightFormat::F16, kernel, m, n, k, 7);
            // Same kernel, same values once decoded: only FMA contraction may differ.
            assert_close(&a, &b, 1e-6, &format!("{kernel:?} f16 native vs fallback"));
        }
    }
    check_embedding(fallback, WeightFormat::F16, 17, 130, 9);
}

/// The same on the GPU path: native f16 and the packed fallback agree (whole-chunk lanes at
/// k = 2080, 4-weight lanes with ragged x at k = 37).
#[test]
fn gemv_gpu_f16_native_and_fallback_agree() {
    let (Some(native), Some(fallback)) = (
        device(Kernels::Gpu, Variant::Plain),
        device(Kernels::Gpu, Variant::NoF16),
    ) else {
        return;
    };
    assert!(!fallback.caps.shader_f16, "fallback device must not have shader-f16");
    for (m, n, k) in [(1, 19, 37), (3, 21, 130), (2, 300, 2080)] {
        let a = check_matmul(native, WeightFormat::F16, MatmulKernel::GemvGpu, m, n, k, 7);
        let b = check_matmul(fallback, WeightFormat::F16, MatmulKernel::GemvGpu, m, n, k, 7);
        assert_close(&a, &b, 1e-6, "GemvGpu f16 native vs fallback");
    }
}

/// Split weights on the GPU path: one dispatch per part, each writing its rows at its offset,
/// checked against the CPU twin at the same bounds as the whole. (Not compared with the unsplit
/// run bit for bit: a part with fewer rows may get a wider workgroup, which sums in another order.)
#[test]
fn gemv_gpu_split_bindings_match_the_twin() {
    let Some(tiny) = device(Kernels::Gpu, Variant::TinyBinding) else {
        return;
    };
    for (fmt, n, k) in split_shapes(tiny) {
        for m in [1, 4] {
            check_matmul(tiny, fmt, MatmulKernel::GemvGpu, m, n, k, 11);
        }
    }
}

/// On a device running the GPU path, `matmul` picks the cooperative GEMV for up to 4 activation
/// rows, and its counters are the plan's: enough lanes, a short chain of loads per lane.
#[test]
fn gpu_path_selects_the_cooperative_gemv() {
    let Ok(ctx) = GpuContext::new_blocking(webslm::gpu::GpuOptions {
        kernels: Some(webslm::gpu::KernelPath::Gpu),
        ..Default::default()
    }) else {
        eprintln!("SKIPPED: no GPU adapter");
        return;
    };
    let (n, k) = (530, 2304);
    let fmt = WeightFormat::Q4_K;
    let w = GpuWeight::upload(&ctx, "w", fmt, n, k, &random_weights(fmt, n, k, 3)).unwrap();
    let plan = gemv_gpu::plan(n, k, &ctx.caps).unwrap();
    for m in 1..=4 {
        let xt = ctx
            .upload_f32(&Rng::new(m as u64).vec_f32(m * k, -1.0, 1.0), &[m, k])
            .unwrap();
        ctx.stats.reset_shape();
        let before = ctx.stats.snapshot();
        run_f32(&ctx, |b| webslm::kernels::matmul::matmul_new(b, &xt, &w));
        let s = ctx.stats.snapshot().since(&before);
        assert_eq!(s.min_weight_invocations, Some(plan.invocations()), "m={m}");
        assert_eq!(s.max_serial_weight_loads, plan.serial_loads, "m={m}");
        assert_eq!(s.small_dispatch_weight_bytes, 0, "m={m}");
        assert_eq!(
            s.weight_bytes_read,
            w.parts.iter().map(|p| p.buffer.size()).sum::<u64>()
        );
    }
    // Five rows are a prefill: not this kernel.
    let xt = ctx.upload_f32(&vec![0.5; 5 * k], &[5, k]).unwrap();
    ctx.stats.reset_shape();
    run_f32(&ctx, |b| webslm::kernels::matmul::matmul_new(b, &xt, &w));
    assert_ne!(ctx.stats.snapshot().min_weight_invocations, Some(plan.invocations()));
}

/// A weight per format that `tiny` splits into several parts.
fn split_shapes(tiny: &GpuContext) -> Vec<(WeightFormat, usize, usize)> {
    let mut shapes = Vec::new();
    for fmt in webslm::formats::quant::ALL_FORMATS {
        let k = match fmt.block_elems() {
            1 => 96,
            32 => 320,
            _ => 512,
        };
        let n = 151;
        let parts = GpuWeight::upload(tiny, "w", fmt, n, k, &random_weights(fmt, n, k, 1))
            .expect("upload")
            .parts
            .len();
        assert!(
            parts >= 3,
            "{}: {n} rows x {k} should need several {TINY_BINDING}-byte parts, got {parts}",
            fmt.name()
        );
        shapes.push((fmt, n, k));
    }
    shapes
}

/// Tensors bigger than one binding are split by rows into parts; results match the unsplit run.
#[test]
fn split_bindings_match_unsplit() {
    let (Some(normal), Some(tiny)) = (gpu(), device(Kernels::Auto, Variant::TinyBinding)) else {
        return;
    };
    for (fmt, n, k) in split_shapes(tiny) {
        for kernel in [MatmulKernel::Gemv, MatmulKernel::GemvUniformX, MatmulKernel::Gemm] {
            let m = if kernel == MatmulKernel::Gemm { 7 } else { 2 };
            let a = check_matmul(normal, fmt, kernel, m, n, k, 11);
            let b = check_matmul(tiny, fmt, kernel, m, n, k, 11);
            assert_close(&a, &b, 1e-6, &format!("{kernel:?} {} split vs whole", fmt.name()));
        }
        check_embedding(tiny, fmt, n, k, 12);
    }
}

/// The fused epilogues equal the plain matmul followed by the CPU twin of the op they replace:
/// `y + v` for a residual add, `y + s * v` for a LoRA term, `act(gate) * v` for a gated FFN. Same f32 operations as the
/// separate elementwise kernel, so the results must match the unfused GPU path exactly.
#[test]
fn epilogues_match_separate_ops() {
    let Some(ctx) = gpu() else { return };
    check_epilogues(
        ctx,
        &[
            (MatmulKernel::GemvUniformX, WeightFormat::Q4_1, 1, 37, 96),
            (MatmulKernel::Gemv, WeightFormat::Q8_0, 2, 13, 64),
            (MatmulKernel::Gemm, WeightFormat::Q6_K, 7, 21, 256),
            (MatmulKernel::Gemm, WeightFormat::F32, 5, 9, 37),
            (MatmulKernel::GemmTiled, WeightFormat::Q4_K, 35, 40, 256),
            (MatmulKernel::GemmTiled, WeightFormat::F32, 9, 33, 37),
        ],
    );
}

/// The same on the GPU path's GEMV, with and without subgroups: 4-weight lanes with ragged x,
/// and whole-chunk lanes with 4 activation rows over 2 rows per workgroup.
#[test]
fn gemv_gpu_epilogues_match_separate_ops() {
    let cases = [
        (MatmulKernel::GemvGpu, WeightFormat::Q4_1, 1, 37, 96),
        (MatmulKernel::GemvGpu, WeightFormat::F32, 3, 9, 37),
        (MatmulKernel::GemvGpu, WeightFormat::Q6_K, 4, 300, 2304),
    ];
    for ctx in [
        device(Kernels::Gpu, Variant::Plain),
        device(Kernels::Gpu, Variant::NoSubgroups),
    ]
    .into_iter()
    .flatten()
    {
        check_epilogues(ctx, &cases);
    }
}

fn check_epilogues(ctx: &GpuContext, cases: &[(MatmulKernel, WeightFormat, usize, usize, usize)]) {
    let mut rng = Rng::new(77);
    for &(kernel, fmt, m, n, k) in cases {
        let w_bytes = random_weights(fmt, n, k, 5);
        let w = GpuWeight::upload(ctx, "w", fmt, n, k, &w_bytes).unwrap();
        let xt = ctx.upload_f32(&rng.vec_f32(m * k, -1.0, 1.0), &[m, k]).unwrap();
        let plain = run_f32(ctx, |b| {
            let y = b.ctx().tensor(&[m, n], DType::F32)?;
            matmul_with(b, kernel, &xt, &w, &y)?;
            Ok(y)
        });
        let what = format!("{kernel:?} {} m={m} n={n} k={k}", fmt.name());

        let residual = rng.vec_f32(m * n, -2.0, 2.0);
        let rt = ctx.upload_f32(&residual, &[m, n]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        matmul_full(&mut batch, kernel, &xt, &w, &rt, Epilogue::Accumulate).unwrap();
        batch.submit().unwrap();
        let added = ctx.read_f32_blocking(&rt).unwrap();
        let want: Vec<f32> = residual.iter().zip(&plain).map(|(r, v)| r + v).collect();
        assert_eq!(added, want, "{what}: accumulate");

        // A LoRA term's add at its adapter's scale: y + s * v (1e-6: the compiler may fuse the
        // multiply-add, which the CPU's separate f32 operations do not).
        let scale = -0.37;
        let rt = ctx.upload_f32(&residual, &[m, n]).unwrap();
        let mut batch = Batch::new(ctx).unwrap();
        matmul_full(&mut batch, kernel, &xt, &w, &rt, Epilogue::AccumulateScaled(scale)).unwrap();
        batch.submit().unwrap();
        let scaled = ctx.read_f32_blocking(&rt).unwrap();
        let want: Vec<f32> = residual.iter().zip(&plain).map(|(r, v)| r + scale * v).collect();
        assert_close(&scaled, &want, 1e-6, &format!("{what}: accumulate scaled"));

        let gate = rng.vec_f32(m * n, -3.0, 3.0);
        let gt = ctx.upload_f32(&gate, &[m, n]).unwrap();
        for act in [
            Activation::Silu,
            Activation::GeluTanh,
            Activation::GeluErf,
            Activation::Identity,
        ] {
            let got = run_f32(ctx, |b| {
                let y = b.ctx().tensor(&[m, n], DType::F32)?;
                matmul_full(b, kernel, &xt, &w, &y, Epilogue::Gate(act, &gt))?;
                Ok(y)
            });
            // Against the CPU twin (activations in f64) at the elementwise kernel's tolerance...
            let want = cpu::elementwise::glu(&gate, &plain, act);
            assert_close(&got, &want, 1e-4, &format!("{what}: gate {act:?}"));
            // ...and against the unfused GPU path, which runs the same f32 operations (1e-6
            // leaves room for the compiler contracting them differently in the two kernels).
            let pt = ctx.upload_f32(&plain, &[m, n]).unwrap();
            let unfused = run_f32(ctx, |b| elementwise(b, Op::Glu(act), &gt, Some(&pt)));
            assert_close(&got, &unfused, 1e-6, &format!("{what}: gate {act:?} vs unfused"));
        }
    }
}

// ---- The real-GPU path's tiled GEMM (kernels::gemm_gpu) ----

/// Every format on the GPU path, at shapes ragged against the 32 x 32 tile in m and n (and in k
/// for the float formats), with the weight tile in f16 (`f16`) or f32 (no shader-f16).
fn tiled_every_format(ctx: &GpuContext) {
    for fmt in ALL_FORMATS {
        for (i, k) in k_values(fmt).into_iter().enumerate() {
            for (m, n) in [(1, 5), (8, 33), (33, 70), (70, 31)] {
                check_matmul(ctx, fmt, MatmulKernel::GemmTiled, m, n, k, 400 + i as u64);
            }
        }
    }
}

#[test]
fn gemm_tiled_every_format() {
    let Some(ctx) = device(Kernels::Gpu, Variant::Plain) else {
        return;
    };
    if !ctx.caps.shader_f16 {
        eprintln!("note: adapter has no shader-f16; the f16 weight tile is not exercised");
    }
    tiled_every_format(ctx);
}

#[test]
fn gemm_tiled_every_format_without_shader_f16() {
    let Some(ctx) = device(Kernels::Gpu, Variant::NoF16) else {
        return;
    };
    assert!(!ctx.caps.shader_f16);
    tiled_every_format(ctx);
}

/// Weights split into parts: each part's tiles write their own columns, as the unsplit run.
#[test]
fn gemm_tiled_split_bindings_match_unsplit() {
    let (Some(normal), Some(tiny)) = (
        device(Kernels::Gpu, Variant::Plain),
        device(Kernels::Gpu, Variant::TinyBinding),
    ) else {
        return;
    };
    for (fmt, k) in [
        (WeightFormat::F32, 96),
        (WeightFormat::Q8_0, 320),
        (WeightFormat::Q6_K, 512),
    ] {
        let n = 151;
        let a = check_matmul(normal, fmt, MatmulKernel::GemmTiled, 37, n, k, 13);
        let b = check_matmul(tiny, fmt, MatmulKernel::GemmTiled, 37, n, k, 13);
        assert_close(&a, &b, 1e-6, &format!("tiled {} split vs whole", fmt.name()));
    }
}

/// On the GPU path `matmul` picks the tile for a prefill (64-lane workgroups, one per 32 x 32
/// tile, which the stats report) and keeps the other kernels for a decode row.
#[test]
fn gpu_path_selects_the_tile_for_prefill() {
    let Some(ctx) = device_fresh(Kernels::Gpu, Variant::Plain) else {
        return;
    };
    let (n, k) = (40, 96);
    let w_bytes = random_weights(WeightFormat::Q8_0, n, k, 3);
    let w = GpuWeight::upload(&ctx, "w", WeightFormat::Q8_0, n, k, &w_bytes).expect("upload");
    for (m, tiled) in [
        (1, false),
        (gemm_gpu::MIN_ROWS - 1, false),
        (gemm_gpu::MIN_ROWS, true),
        (45, true),
    ] {
        let x = Rng::new(m as u64).vec_f32(m * k, -1.0, 1.0);
        let xt = ctx.upload_f32(&x, &[m, k]).expect("x");
        ctx.stats.reset_shape();
        let got = run_f32(&ctx, |b| {
            let y = b.ctx().tensor(&[m, n], DType::F32)?;
            matmul(b, &xt, &w, &y)?;
            Ok(y)
        });
        let lanes = ctx.stats.snapshot().min_weight_invocations.expect("a weight dispatch");
        let tile_lanes =
            (m.div_ceil(gemm_gpu::TILE) * n.div_ceil(gemm_gpu::TILE)) as u64 * u64::from(gemm_gpu::THREADS);
        assert_eq!(lanes == tile_lanes, tiled, "m={m}: {lanes} invocations");
        let want = cpu::matmul::matmul(&x, m, k, &w_bytes, WeightFormat::Q8_0, n);
        assert!(nmse(&got, &want) <= MATMUL_NMSE, "m={m}");
    }
}

/// The K loop's count (`gemm_gpu::loops`) at lavapipe's exact limit: the longest row it allows
/// computes every step, and one step more is a typed error, not garbage.
#[test]
fn gemm_tiled_at_the_loop_limit() {
    let Some(ctx) = device(Kernels::Auto, Variant::ExactLoopBudget) else {
        return;
    };
    let budget = ctx.caps.loop_budget;
    let steps =
        webslm::kernels::loop_budget::largest(1 << 20, |s| gemm_gpu::loops(s as usize * gemm_gpu::TILE).run <= budget)
            .expect("one step fits");
    let k = steps as usize * gemm_gpu::TILE;
    // Small integers keep every partial sum exact, so any step skipped shows.
    let (m, n) = (33, 3);
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..m * k).map(|_| rng.usize_range(0, 5) as f32 - 2.0).collect();
    let wv: Vec<f32> = (0..n * k).map(|_| rng.usize_range(0, 5) as f32 - 2.0).collect();
    let w_bytes: Vec<u8> = wv.iter().flat_map(|v| v.to_le_bytes()).collect();
    let w = GpuWeight::upload(ctx, "w", WeightFormat::F32, n, k, &w_bytes).expect("upload");
    let xt = ctx.upload_f32(&x, &[m, k]).expect("x");
    let got = run_f32(ctx, |b| {
        let y = b.ctx().tensor(&[m, n], DType::F32)?;
        matmul_with(b, MatmulKernel::GemmTiled, &xt, &w, &y)?;
        Ok(y)
    });
    assert_eq!(
        got,
        cpu::matmul::matmul(&x, m, k, &w_bytes, WeightFormat::F32, n),
        "k={k}"
    );

    let k = k + gemm_gpu::TILE;
    let w = GpuWeight::upload(ctx, "w", WeightFormat::F32, 1, k, &vec![0u8; 4 * k]).expect("upload");
    let xt = ctx.upload_f32(&vec![0.0; k], &[1, k]).expect("x");
    let y = ctx.tensor(&[1, 1], DType::F32).expect("y");
    let mut batch = Batch::new(ctx).expect("batch");
    let err = matmul_with(&mut batch, MatmulKernel::GemmTiled, &xt, &w, &y).expect_err("past the budget");
    assert!(matches!(err, GpuError::LoopBudget { .. }), "{err}");
}
