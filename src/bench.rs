//! `webslm bench-kernels`: each kernel on the current adapter next to its CPU twin, measured in
//! the same run, so the ratio means something on a shared, noisy machine.
//!
//! GPU timings batch `reps` dispatches into one submit and wait once, so they measure kernel
//! throughput rather than per-submit latency (that is what decoding a token looks like too).

use std::time::Instant;

use crate::cpu::{self, Rng};
use crate::formats::quant::{random_weights, WeightFormat, ALL_FORMATS};
use crate::gpu::{Batch, DType, GpuContext, GpuError};
use crate::kernels::matmul::{matmul_with, MatmulKernel};
use crate::kernels::GpuWeight;

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
    let secs = time_best(3, || {
        let mut batch = Batch::new(ctx)?;
        for _ in 0..reps {
            matmul_with(&mut batch, kernel, &x, &w, &y)?;
        }
        batch.submit()?;
        ctx.wait_idle()
    })?;
    Ok(secs / reps as f64)
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
