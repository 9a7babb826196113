//! `webslm bench-cpu`: the SIMD CPU matrix-vector products (`simd::matmul`) on the projection
//! shapes of the shipped GGUFs, in their formats: scalar against the best instruction set here, one
//! thread against two, as ratios measured in the same run (the machine is shared and noisy, so
//! only same-run ratios mean something). Each time is the median of repeated calls and includes
//! quantising the activations, as a decode step would.

use std::time::Instant;

use crate::formats::quant::{random_weights, WeightFormat};
use crate::rng::Rng;
use crate::simd::{matmul, Dot, Isa, SimdError};

/// One projection to time: `m` activation rows against `n` weight rows of `k`.
#[derive(Clone, Debug)]
pub struct CpuCase {
    pub name: &'static str,
    pub fmt: WeightFormat,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// SmolLM2-135M's FFN (Q4_1, hidden 576, FFN 1536) and Gemma 3 270M's (hidden 640, FFN 2048:
/// ffn_down is the K-quant one, as 640 is not a multiple of 256; ffn_up is Q5_0), each at decode
/// (m = 1) and `prefill_m` rows.
pub fn cases(prefill_m: usize) -> Vec<CpuCase> {
    let base = [
        ("smollm2 ffn_up", WeightFormat::Q4_1, 1536, 576),
        ("smollm2 ffn_down", WeightFormat::Q4_1, 576, 1536),
        ("gemma3 ffn_up", WeightFormat::Q5_0, 2048, 640),
        ("gemma3 ffn_down", WeightFormat::Q4_K, 640, 2048),
        ("gemma3 ffn_down", WeightFormat::Q6_K, 640, 2048),
    ];
    let mut out = Vec::new();
    for m in [1, prefill_m] {
        out.extend(base.iter().map(|&(name, fmt, n, k)| CpuCase { name, fmt, m, n, k }));
    }
    out
}

/// One timed variant of a case.
#[derive(Clone, Debug)]
pub struct CpuRow {
    pub case: CpuCase,
    pub isa: Isa,
    pub threads: usize,
    pub seconds: f64,
    pub weight_bytes: usize,
}

impl CpuRow {
    /// Weight bytes read per second (each call reads the matrix once).
    pub fn gb_s(&self) -> f64 {
        self.weight_bytes as f64 / self.seconds / 1e9
    }

    pub fn gflop_s(&self) -> f64 {
        2.0 * (self.case.m * self.case.n * self.case.k) as f64 / self.seconds / 1e9
    }
}

/// Times every case: scalar on 1 thread, then the best instruction set here on 1 and 2 threads.
/// `min_seconds` is how long each variant runs at least (more calls, steadier median).
pub fn bench_cpu(cases: &[CpuCase], min_seconds: f64, mut report: impl FnMut(&CpuRow)) -> Result<Vec<CpuRow>, String> {
    let best = Isa::best();
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (ci, case) in cases.iter().enumerate() {
        let w = random_weights(case.fmt, case.n, case.k, 1 + ci as u64);
        let x = Rng::new(2 + ci as u64).vec_f32(case.m * case.k, -1.0, 1.0);
        let mut variants = vec![(Isa::Scalar, 1usize)];
        if best != Isa::Scalar {
            variants.push((best, 1));
        }
        variants.push((best, 2));
        for (isa, threads) in variants {
            let dot = Dot::new(isa, case.fmt).map_err(|e| e.to_string())?;
            let pool = &pools[threads - 1];
            let seconds = pool
                .install(|| median_seconds(min_seconds, || matmul(&dot, &x, case.m, case.k, &w, case.n).map(|_| ())))
                .map_err(|e| e.to_string())?;
            let row = CpuRow {
                case: case.clone(),
                isa,
                threads,
                seconds,
                weight_bytes: w.len(),
            };
            report(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Median seconds per call over at least 5 calls and `min_seconds` (after one warm-up call).
fn median_seconds(min_seconds: f64, mut f: impl FnMut() -> Result<(), SimdError>) -> Result<f64, SimdError> {
    f()?;
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < 5 || start.elapsed().as_secs_f64() < min_seconds {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
