//! `selftest()`: every simd128 dot product against the scalar one, through `simd::matmul`, on
//! seeded random shapes (K with ragged tails for the float formats, rows not a multiple of
//! `ROWS_PER_TASK`). Returns 0 when all agree, else `1000 * (format index + 1) + case` of the first
//! disagreement (`9999`: this build has no simd128). Tolerance as in tests/cpu_simd.rs: integer
//! block sums are exact, so only float summation order differs, bounded by
//! `2 * terms * eps * sum|w * x|`.

// Only the kernels and what they use are called here.
#![allow(unused)]

#[path = "../../src/rng.rs"]
mod rng;
mod formats;
#[path = "../../src/simd/mod.rs"]
mod simd;

use formats::quant::{dequantize, random_weights};
use simd::{matmul, Dot, Isa, DOT_FORMATS, ROWS_PER_TASK};

#[no_mangle]
pub extern "C" fn selftest() -> u32 {
    if !Isa::Simd128.available() {
        return 9999;
    }
    let mut rng = rng::Rng::new(128);
    for (fi, fmt) in DOT_FORMATS.into_iter().enumerate() {
        for case in 0..6u32 {
            let k = match fmt.block_elems() {
                1 => rng.usize_range(1, 700),
                b => b * rng.usize_range(1, 2048 / b + 1),
            };
            let (m, n) = (1 + case as usize % 2, ROWS_PER_TASK + 3 + case as usize);
            let w = random_weights(fmt, n, k, case as u64);
            let x = rng.vec_f32(m * k, -2.0, 2.0);
            let mut wf = vec![0.0f32; n * k];
            let (Ok(()), Ok(s), Ok(v)) = (
                dequantize(fmt, &w, k, &mut wf),
                Dot::new(Isa::Scalar, fmt).and_then(|d| matmul(&d, &x, m, k, &w, n)),
                Dot::new(Isa::Simd128, fmt).and_then(|d| matmul(&d, &x, m, k, &w, n)),
            ) else {
                return 1000 * (fi as u32 + 1) + case;
            };
            let terms = if fmt.is_quantized() { k / fmt.block_elems() + 8 } else { k + 8 };
            for i in 0..m {
                for j in 0..n {
                    // |x| bounds the quantised activations' |d * q| to within half a step (1%).
                    let abs: f32 = (0..k).map(|t| (x[i * k + t] * wf[j * k + t]).abs()).sum();
                    let tol = 2.0 * terms as f32 * f32::EPSILON * abs * 1.01 + 1e-30;
                    if (s[i * n + j] - v[i * n + j]).abs() > tol {
                        return 1000 * (fi as u32 + 1) + case;
                    }
                }
            }
        }
    }
    0
}
