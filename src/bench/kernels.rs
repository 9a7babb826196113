//! `webslm bench-kernels`: each kernel on the current adapter next to its CPU twin, measured in
//! the same run, so the ratio means something on a shared, noisy machine.
//!
//! GPU timings batch `reps` dispatches into one submit and wait once, so they measure kernel
//! throughput rather than per-submit latency (that is what decoding a token looks like too).

use std::time::Instant;

use crate::cpu;
use crate::formats::quant::{random_weights, WeightFormat, ALL_FORMATS};
use crate::gpu::{Batch, DType, GpuContext, GpuError};
use crate::kernels::matmul::{matmul_with, MatmulKernel};
use crate::kernels::GpuWeight;
use crate::rng::Rng;

/// One line of the report.
#[derive(Clone, Debug)]
pub struct BenchRow {
    pub kernel: String,
    pub format: String,
    pub shape: String,
    /// Throughput on the GPU and on the CPU twin, in `unit`.
    pub gpu: f64,
    pub cpu: f64,
    pub unit: &'static str,
}

impl BenchRow {
    pub fn ratio(&self) -> f64 {
        self.gpu / self.cpu.max(1e-12)
    }
}

/// Shapes: decode GEMV of a 2048 x 2048 layer; prefill GEMM of 64 tokens through 1024 x 1024.
pub struct BenchConfig {
    pub gemv_n: usize,
    pub gemv_k: usize,
    pub gemm_m: usize,
    pub gemm_n: usize,
    pub gemm_k: usize,
    pub reps: usize,
}

impl BenchConfig {
    pub fn full() -> Self {
        BenchConfig {
            gemv_n: 2048,
            gemv_k: 2048,
            gemm_m: 64,
            gemm_n: 1024,
            gemm_k: 1024,
            reps: 10,
        }
    }

    /// Small shapes for a smoke run (CI, slow adapters).
    pub fn quick() -> Self {
        BenchConfig {
            gemv_n: 512,
            gemv_k: 512,
            gemm_m: 16,
            gemm_n: 256,
            gemm_k: 256,
            reps: 3,
        }
    }
}

/// Seconds per call of `f`, the best of a few runs after one warm-up (which also compiles).
fn time_best(runs: usize, mut f: impl FnMut() -> Result<(), GpuError>) -> Result<f64, GpuError> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Seconds for one matmul on the GPU (`reps` of them in one submit, divided by reps).
fn gpu_matmul_secs(
    ctx: &GpuContext,
    kernel: MatmulKernel,
    fmt: WeightFormat,
    m: usize,
    n: usize,
    k: usize,
    reps: usize,
) -> Result<f64, GpuError> {
    let w = GpuWeight::upload(ctx, "bench", fmt, n, k, &random_weights(fmt, n, k, 1))?;
    let x = ctx.upload_f32(&Rng::new(2).vec_f32(m * k, -1.0, 1.0), &[m, k])?;
    let y = ctx.tensor(&[m, n], DType::F32)?;
    gpu_secs(ctx, reps, |batch| matmul_with(batch, kernel, &x, &w, &y))
}

fn cpu_matmul_secs(fmt: WeightFormat, m: usize, n: usize, k: usize) -> Result<f64, GpuError> {
    let w = random_weights(fmt, n, k, 1);
    let x = Rng::new(2).vec_f32(m * k, -1.0, 1.0);
    time_best(1, || {
        std::hint::black_box(cpu::matmul::matmul(&x, m, k, &w, fmt, n));
        Ok(())
    })
}

/// GEMV GB/s (weight bytes streamed per second) and GEMM GFLOP/s for every weight format and
/// matmul kernel variant.
pub fn bench_matmul(
    ctx: &GpuContext,
    cfg: &BenchConfig,
    mut report: impl FnMut(&BenchRow),
) -> Result<Vec<BenchRow>, GpuError> {
    use MatmulKernel::*;
    let mut rows = Vec::new();
    for fmt in ALL_FORMATS {
        let (n, k) = (cfg.gemv_n, cfg.gemv_k);
        let bytes = (fmt.row_bytes(k).map_err(|e| GpuError::InvalidArgument(e.to_string()))? * n) as f64;
        let (m, gn, gk) = (cfg.gemm_m, cfg.gemm_n, cfg.gemm_k);
        let flops = 2.0 * (m * gn * gk) as f64;
        // (kernel, m, n, k, work per call, unit): GEMV counts weight bytes, GEMM flops.
        let cases = [
            (Gemv, 1, n, k, bytes, "GB/s"),
            (GemvUniformX, 1, n, k, bytes, "GB/s"),
            (Gemm, m, gn, gk, flops, "GFLOP/s"),
        ];
        let mut cpu_secs = None;
        for (kernel, m, n, k, work, unit) in cases {
            let gpu = gpu_matmul_secs(ctx, kernel, fmt, m, n, k, cfg.reps)?;
            // The twin is the same for both GEMV variants: time it once per shape.
            let cpu = match cpu_secs {
                Some((shape, secs)) if shape == (m, n, k) => secs,
                _ => cpu_matmul_secs(fmt, m, n, k)?,
            };
            cpu_secs = Some(((m, n, k), cpu));
            let row = BenchRow {
                kernel: kernel.name().into(),
                format: fmt.name().into(),
                shape: format!("{m}x{n}x{k}"),
                gpu: work / gpu / 1e9,
                cpu: work / cpu / 1e9,
                unit,
            };
            report(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Seconds per call on the GPU: `reps` calls recorded into one submit.
fn gpu_secs(
    ctx: &GpuContext,
    reps: usize,
    mut record: impl FnMut(&mut Batch<'_>) -> Result<(), GpuError>,
) -> Result<f64, GpuError> {
    let secs = time_best(3, || {
        let mut batch = Batch::new(ctx)?;
        for _ in 0..reps {
            record(&mut batch)?;
        }
        batch.submit()?;
        ctx.wait_idle()
    })?;
    Ok(secs / reps as f64)
}

fn cpu_secs(mut f: impl FnMut()) -> Result<f64, GpuError> {
    time_best(2, || {
        f();
        Ok(())
    })
}

/// The other kernel families at model-like shapes, as GB/s of data read and written.
pub fn bench_ops(
    ctx: &GpuContext,
    cfg: &BenchConfig,
    mut report: impl FnMut(&BenchRow),
) -> Result<Vec<BenchRow>, GpuError> {
    use crate::kernels::{attention, elementwise, embedding, norm, rope, softmax, topk};
    use crate::ops::Activation;
    use crate::ops::AttentionParams;

    // Scaled down with the matmul shapes for --quick.
    let scale = cfg.gemv_n.max(1) as f64 / 2048.0;
    let sized = |n: usize| ((n as f64 * scale) as usize).max(16);
    let mut rng = Rng::new(3);
    let mut rows = Vec::new();
    let mut push = |kernel: &str, format: &str, shape: String, bytes: f64, gpu: f64, cpu: f64| {
        let row = BenchRow {
            kernel: kernel.into(),
            format: format.into(),
            shape,
            gpu: bytes / gpu / 1e9,
            cpu: bytes / cpu / 1e9,
            unit: "GB/s",
        };
        report(&row);
        rows.push(row);
    };

    // RMSNorm over a prefill chunk.
    let (r, d) = (64, sized(2048));
    let (x, w) = (rng.vec_f32(r * d, -1.0, 1.0), rng.vec_f32(d, -1.0, 1.0));
    let (xt, wt) = (ctx.upload_f32(&x, &[r, d])?, ctx.upload_f32(&w, &[d])?);
    let g = gpu_secs(ctx, cfg.reps, |b| {
        norm::norm(b, crate::ops::NormKind::Rms, &xt, &wt, None, 1e-6).map(drop)
    })?;
    let c = cpu_secs(|| drop(std::hint::black_box(cpu::norm::rms_norm(&x, d, &w, 1e-6, false))))?;
    push("rms_norm", "f32", format!("{r}x{d}"), (2 * r * d * 4) as f64, g, c);

    // SwiGLU over a prefill chunk's FFN activations.
    let n = sized(1 << 20);
    let (a, bv) = (rng.vec_f32(n, -3.0, 3.0), rng.vec_f32(n, -3.0, 3.0));
    let (at, bt) = (ctx.upload_f32(&a, &[n])?, ctx.upload_f32(&bv, &[n])?);
    let op = elementwise::Op::Glu(Activation::Silu);
    let g = gpu_secs(ctx, cfg.reps, |b| {
        elementwise::elementwise(b, op, &at, Some(&bt)).map(drop)
    })?;
    let c = cpu_secs(|| drop(std::hint::black_box(cpu::elementwise::glu(&a, &bv, Activation::Silu))))?;
    push("swiglu", "f32", format!("{n}"), (3 * n * 4) as f64, g, c);

    // RoPE on a prefill chunk's queries.
    let (seq, heads, hd) = (64, 32, 64);
    let mut q = rng.vec_f32(seq * heads * hd, -1.0, 1.0);
    let freq = crate::ops::rope_inv_freq(hd, 10000.0);
    let (qt, ft) = (
        ctx.upload_f32(&q, &[seq, heads, hd])?,
        ctx.upload_f32(&freq, &[hd / 2])?,
    );
    let g = gpu_secs(ctx, cfg.reps, |b| {
        rope::rope(b, &qt, heads, hd, &ft, 5, crate::ops::RopeLayout::Neox)
    })?;
    let c = cpu_secs(|| cpu::rope::rope(&mut q, seq, heads, hd, hd, 5, &freq, true))?;
    push(
        "rope",
        "f32",
        format!("{seq}x{heads}x{hd}"),
        (2 * q.len() * 4) as f64,
        g,
        c,
    );

    // Attention for one decoded token at a long position (SmolLM2's heads).
    let kv_len = sized(2048);
    let p = AttentionParams {
        batch: 1,
        q_len: 1,
        kv_len,
        kv_cap: kv_len,
        n_head: 9,
        n_kv_head: 3,
        head_dim: 64,
        pos0: kv_len as u32 - 1,
        causal: true,
        window: 0,
        softcap: 0.0,
        scale: 0.125,
    };
    let q = rng.vec_f32(9 * 64, -1.0, 1.0);
    let (k, v) = (
        rng.vec_f32(kv_len * 3 * 64, -1.0, 1.0),
        rng.vec_f32(kv_len * 3 * 64, -1.0, 1.0),
    );
    let (qt, kt, vt) = (
        ctx.upload_f32(&q, &[q.len()])?,
        ctx.upload_f32(&k, &[k.len()])?,
        ctx.upload_f32(&v, &[v.len()])?,
    );
    let g = gpu_secs(ctx, cfg.reps, |b| {
        attention::attention(b, &qt, &kt, &vt, None, &p).map(drop)
    })?;
    let c = cpu_secs(|| drop(std::hint::black_box(cpu::attention::attention(&q, &k, &v, None, &p))))?;
    push(
        "attn_decode",
        "f32",
        format!("kv{kv_len}x3x64"),
        (2 * k.len() * 4) as f64,
        g,
        c,
    );

    // Softmax and top-40 over Gemma 3's vocabulary.
    let vocab = sized(262_144);
    let logits = rng.vec_f32(vocab, -10.0, 10.0);
    let lt = ctx.upload_f32(&logits, &[1, vocab])?;
    let g = gpu_secs(ctx, cfg.reps, |b| softmax::softmax(b, &lt, vocab).map(drop))?;
    let c = cpu_secs(|| drop(std::hint::black_box(cpu::softmax::softmax(&logits, vocab))))?;
    push("softmax", "f32", format!("{vocab}"), (2 * vocab * 4) as f64, g, c);
    let g = gpu_secs(ctx, cfg.reps, |b| topk::top_k(b, &lt, 40).map(drop))?;
    let c = cpu_secs(|| drop(std::hint::black_box(cpu::topk::top_k(&logits, 40))))?;
    push("top_k40", "f32", format!("{vocab}"), (vocab * 4) as f64, g, c);

    // Embedding gather of a prefill chunk from SmolLM2's Q8_0 table.
    let (rows_n, dim, ids_n) = (sized(49_152), 576, 64);
    let table = random_weights(WeightFormat::Q8_0, rows_n, dim, 4);
    let w = GpuWeight::upload(ctx, "table", WeightFormat::Q8_0, rows_n, dim, &table)?;
    let ids: Vec<u32> = (0..ids_n).map(|_| rng.usize_range(0, rows_n) as u32).collect();
    let it = ctx.upload_u32(&ids, &[ids_n])?;
    let g = gpu_secs(ctx, cfg.reps, |b| embedding::embedding(b, &w, &it).map(drop))?;
    let c = cpu_secs(|| {
        drop(std::hint::black_box(cpu::embedding::embedding(
            &table,
            WeightFormat::Q8_0,
            dim,
            &ids,
        )))
    })?;
    let row_bytes = WeightFormat::Q8_0
        .row_bytes(dim)
        .map_err(|e| GpuError::InvalidArgument(e.to_string()))?;
    push(
        "embedding",
        "q8_0",
        format!("{ids_n}of{rows_n}x{dim}"),
        (ids_n * (row_bytes + dim * 4)) as f64,
        g,
        c,
    );
    Ok(rows)
}
