//! The SIMD CPU kernels (`webslm::simd`) against their references, on random shapes:
//! - every instruction set here (scalar, AVX2 where the CPU has it) against the scalar kernel:
//!   the integer block sums are exact, so only the order of float sums differs;
//! - the scalar kernel against `cpu::matmul` (dequantise to f32, sum in f64) on the activations it
//!   really multiplied (`d * q`), and against the exact f32 product with the bound quantising the
//!   activations allows (each activation moves by at most half its block's step);
//! - llama.cpp's `test-quantize-fns` dot-product check on its own data;
//! - the thread split (rows not a multiple of `ROWS_PER_TASK`, 1 and 2 threads) and bad input.
//!
//! The wasm32 simd128 kernels are not run here (no wasm runtime with SIMD on this machine's test
//! path); `cargo clippy --target wasm32-unknown-unknown` compiles them.

use webslm::cpu::matmul::matmul as reference;
use webslm::formats::quant::{dequantize, random_weights, WeightFormat};
use webslm::rng::Rng;
use webslm::simd::quantize::{dequantize_q8, dequantize_q8k};
use webslm::simd::{matmul, matmul_prepared, Activations, Dot, Isa, SimdError, DOT_FORMATS, ROWS_PER_TASK};

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn dequant(fmt: WeightFormat, w: &[u8], n: usize, k: usize) -> Vec<f32> {
    let mut wf = vec![0.0; n * k];
    dequantize(fmt, w, k, &mut wf).unwrap();
    wf
}

/// `sum_t |x[i][t]| * |W[j][t]|` for every output: the scale a summation error is relative to.
fn abs_product(x: &[f32], m: usize, k: usize, wf: &[f32], n: usize) -> Vec<f32> {
    let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let aw: Vec<f32> = wf.iter().map(|v| v.abs()).collect();
    reference(&ax, m, k, &f32_bytes(&aw), WeightFormat::F32, n)
}

/// What the kernel multiplied the weights with: the quantised activations' values, or x itself.
fn seen_activations(act: &Activations, x: &[f32]) -> Vec<f32> {
    match act {
        Activations::Q8 { blocks, .. } => dequantize_q8(blocks),
        Activations::Q8K { blocks, .. } => dequantize_q8k(blocks),
        Activations::F32 { .. } => x.to_vec(),
    }
}

/// Float sums of `terms` values in any order differ from the exact sum by at most
/// `terms * eps * sum|values|` (to first order); terms = k for float rows, one per block for the
/// quantised ones plus a few for the scale products (Q4_K's d*sc*q - dmin*m is three roundings).
fn summation_terms(fmt: WeightFormat, k: usize) -> f32 {
    if fmt.is_quantized() {
        (k / fmt.block_elems() + 8) as f32
    } else {
        k as f32 + 8.0
    }
}

/// A row length for `fmt`: whole blocks, and for the float formats any length, so the tails the
/// vector loops leave (k % 32, k % 8, k % 4) are covered.
fn random_k(rng: &mut Rng, fmt: WeightFormat) -> usize {
    match fmt.block_elems() {
        1 => rng.usize_range(1, 700),
        b => b * rng.usize_range(1, 2048 / b + 1),
    }
}

#[test]
fn every_isa_matches_scalar_and_scalar_matches_the_f32_reference() {
    let isas = Isa::all_available();
    println!("instruction sets here: {:?}", isas);
    let mut rng = Rng::new(17);
    for fmt in DOT_FORMATS {
        for case in 0..6 {
            let k = random_k(&mut rng, fmt);
            // Rows not a multiple of ROWS_PER_TASK, and one short of / one past it.
            let n = [1, ROWS_PER_TASK - 1, ROWS_PER_TASK + 1, 37, 50, 3][case];
            let m = 1 + case % 3;
            let w = random_weights(fmt, n, k, 100 + case as u64);
            let wf = dequant(fmt, &w, n, k);
            let x = rng.vec_f32(m * k, -2.0, 2.0);
            let abs = abs_product(&x, m, k, &wf, n);
            let eps_terms = summation_terms(fmt, k) * f32::EPSILON;

            let scalar = Dot::new(Isa::Scalar, fmt).unwrap();
            let act = scalar.prepare(&x, m, k).unwrap();
            let ys = matmul_prepared(&scalar, &act, m, k, &w, n).unwrap();

            // The scalar kernel is the f32 product of the weights with the activations it saw.
            let xq = seen_activations(&act, &x);
            let exact_q = reference(&xq, m, k, &w, fmt, n);
            let abs_q = abs_product(&xq, m, k, &wf, n);
            for (idx, (a, b)) in ys.iter().zip(&exact_q).enumerate() {
                let tol = eps_terms * abs_q[idx] + 1e-30;
                assert!(
                    (a - b).abs() <= tol,
                    "{fmt:?} k={k} n={n} m={m} [{idx}]: scalar {a} vs f32 twin {b} (tol {tol})"
                );
            }

            // Quantising the activations moves each by at most half its block's step, so the
            // product moves by at most sum_t |W[j][t]| * |x - xq|[t] (plus the sums' rounding).
            let exact = reference(&x, m, k, &w, fmt, n);
            let dx: Vec<f32> = x.iter().zip(&xq).map(|(a, b)| (a - b).abs()).collect();
            let act_bound = abs_product(&dx, m, k, &wf, n);
            for idx in 0..m * n {
                let tol = act_bound[idx] * 1.0001 + eps_terms * abs[idx] + 1e-30;
                let err = (ys[idx] - exact[idx]).abs();
                assert!(err <= tol, "{fmt:?} k={k} [{idx}]: Q8 error {err} over its bound {tol}");
            }

            for &isa in &isas[1..] {
                let dot = Dot::new(isa, fmt).unwrap();
                let y = matmul(&dot, &x, m, k, &w, n).unwrap();
                for (idx, (a, b)) in y.iter().zip(&ys).enumerate() {
                    let tol = 2.0 * eps_terms * abs_q[idx] + 1e-30;
                    assert!(
                        (a - b).abs() <= tol,
                        "{} {fmt:?} k={k} n={n} m={m} [{idx}]: {a} vs scalar {b} (tol {tol})",
                        isa.name()
                    );
                }
            }
        }
    }
}

/// llama.cpp's `test-quantize-fns`: x = 0.1 + 2 cos(i + offset) over 32 * 128 elements, and
/// |dot(quantised) - dot(f32)| / n <= MAX_DOT_PRODUCT_ERROR = 0.02. Its f32 reference uses the
/// unquantised weights as well; ours are already quantised, so this measures the activations'
/// quantisation alone, which is part of what llama.cpp's bound covers.
#[test]
fn llama_cpp_dot_product_error_bound() {
    const N: usize = 32 * 128;
    const MAX_DOT_PRODUCT_ERROR: f32 = 0.02;
    let x: Vec<f32> = (0..N).map(|i| 0.1 + 2.0 * (i as f32 + 1.0).cos()).collect();
    for fmt in DOT_FORMATS {
        let w = random_weights(fmt, 1, N, 7);
        let exact = reference(&x, 1, N, &w, fmt, 1)[0];
        for isa in Isa::all_available() {
            let y = matmul(&Dot::new(isa, fmt).unwrap(), &x, 1, N, &w, 1).unwrap()[0];
            let err = (y - exact).abs() / N as f32;
            println!("{:<8} {:<5} dot error per element {err:.2e}", isa.name(), fmt.name());
            assert!(err <= MAX_DOT_PRODUCT_ERROR, "{} {fmt:?}: {err}", isa.name());
        }
    }
}

#[test]
fn one_and_two_threads_agree_bit_for_bit() {
    let (m, k, n) = (2, 512, 3 * ROWS_PER_TASK + 5);
    let x = Rng::new(3).vec_f32(m * k, -1.0, 1.0);
    for fmt in [WeightFormat::Q4_K, WeightFormat::Q8_0, WeightFormat::F16] {
        let w = random_weights(fmt, n, k, 9);
        let dot = Dot::best(fmt).unwrap();
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
            pool.install(|| matmul(&dot, &x, m, k, &w, n).unwrap())
        };
        assert_eq!(run(1), run(2), "{fmt:?}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let dot = Dot::new(Isa::Scalar, WeightFormat::Q4_0).unwrap();
    let x = vec![0.5f32; 64];
    let w = random_weights(WeightFormat::Q4_0, 2, 64, 1);
    // One byte short of two rows.
    assert!(matches!(
        matmul(&dot, &x, 1, 64, &w[1..], 2),
        Err(SimdError::Shape { what: "weights", .. })
    ));
    // k not a whole number of blocks.
    assert!(matches!(matmul(&dot, &x[..40], 1, 40, &w, 2), Err(SimdError::Quant(_))));
    // x not m * k.
    assert!(matches!(matmul(&dot, &x, 2, 64, &w, 2), Err(SimdError::Shape { .. })));
    // Activations prepared for a Q8_K kernel given to a Q8 one.
    let k_dot = Dot::new(Isa::Scalar, WeightFormat::Q4_K).unwrap();
    let xk = vec![0.5f32; 256];
    let act = k_dot.prepare(&xk, 1, 256).unwrap();
    let w0 = random_weights(WeightFormat::Q4_0, 1, 256, 1);
    assert!(matches!(
        matmul_prepared(&dot, &act, 1, 256, &w0, 1),
        Err(SimdError::Shape { .. }) | Err(SimdError::ActivationKind { .. })
    ));
    assert!(matches!(
        Dot::new(Isa::Scalar, WeightFormat::Q5_1),
        Err(SimdError::UnsupportedFormat { .. })
    ));
    assert!(matches!(
        Dot::new(Isa::Simd128, WeightFormat::Q4_0),
        Err(SimdError::IsaUnavailable { .. })
    ));
    // Empty products are empty, not a panic.
    assert_eq!(matmul(&dot, &[], 0, 64, &w, 2).unwrap(), Vec::<f32>::new());
    assert_eq!(matmul(&dot, &x[..64], 1, 64, &[], 0).unwrap(), Vec::<f32>::new());
}

#[test]
fn f16_specials_decode_like_the_reference() {
    // Subnormals, -0 and the largest f16 through the vector conversion, in the vector body and in
    // the scalar tail (k = 37): values equal to the reference's.
    let finite = [0x7BFFu16, 0x0001, 0x8000, 0x3C00, 0x8001, 0x03FF, 0x0400];
    let k = 37;
    let row = |f: &dyn Fn(usize) -> u16| -> Vec<u8> { (0..k).flat_map(|i| f(i).to_le_bytes()).collect() };
    let x: Vec<f32> = (0..k).map(|i| 1.0 + (i % 3) as f32).collect();
    let w = row(&|i| finite[i % finite.len()]);
    let want = reference(&x, 1, k, &w, WeightFormat::F16, 1)[0];
    for isa in Isa::all_available() {
        let dot = Dot::new(isa, WeightFormat::F16).unwrap();
        let got = matmul(&dot, &x, 1, k, &w, 1).unwrap()[0];
        assert!(
            (got - want).abs() <= want.abs() * 1e-6,
            "{}: {got} vs {want}",
            isa.name()
        );
        // One infinity or NaN, early (vector body) or late (tail), gives inf / NaN.
        for at in [3, 35] {
            for (h, inf) in [(0x7C00u16, true), (0x7E00, false)] {
                let w = row(&|i| if i == at { h } else { 0x3C00 });
                let got = matmul(&dot, &x, 1, k, &w, 1).unwrap()[0];
                assert!(
                    if inf { got == f32::INFINITY } else { got.is_nan() },
                    "{} at {at}: {got}",
                    isa.name()
                );
            }
        }
    }
}
