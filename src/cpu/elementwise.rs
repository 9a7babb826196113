//! Reference activations and elementwise/broadcast ops.
//!
//! Activations are evaluated in f64 and rounded once to f32, so they are
//! (nearly) correctly rounded; GPU versions computed in f32 should match to
//! a few ulp / ~1e-6 absolute.

use crate::ops::Activation;

/// Error function in f64, accurate to ~1e-15 (far tighter than the 1e-7 the
/// f32 kernels need). Implemented here because `std` has no `erf`.
///
/// |x| < 3: Maclaurin series (terms peak around 2e2, so f64 cancellation
/// costs < 1e-13). |x| >= 3: continued fraction for erfc, which converges
/// fast for large x; erf = 1 - erfc.
pub fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 3.0 {
        // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = ax * ax;
        let mut term = ax; // (-1)^n x^(2n+1) / n!
        let mut sum = ax;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x2 / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
        let mut f = ax;
        for n in (1..=60).rev() {
            f = ax + (n as f64 * 0.5) / f;
        }
        let erfc = (-ax * ax).exp() * (0.5 * std::f64::consts::FRAC_2_SQRT_PI) / f;
        1.0 - erfc
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// Exact GELU: `0.5 x (1 + erf(x / sqrt 2))` (BERT, `gelu` in HF).
pub fn gelu_erf(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// Tanh-approximated GELU (`gelu_pytorch_tanh`, GPT-2, Gemma):
/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    let c = (2.0 / std::f64::consts::PI).sqrt();
    (0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())) as f32
}

/// SiLU / swish: `x * sigmoid(x) = x / (1 + exp(-x))`.
pub fn silu(x: f32) -> f32 {
    let x = x as f64;
    (x / (1.0 + (-x).exp())) as f32
}

/// `act(x)` for one value.
pub fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::GeluErf => gelu_erf(x),
        Activation::GeluTanh => gelu_tanh(x),
        Activation::Silu => silu(x),
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
    }
}

/// `act(x)` elementwise.
pub fn unary(x: &[f32], act: Activation) -> Vec<f32> {
    x.iter().map(|&v| activate(act, v)).collect()
}

/// Gated linear unit: `act(gate) * up` (SwiGLU with `Silu`, GeGLU with the
/// GELUs). Panics (test reference) if lengths differ.
pub fn glu(gate: &[f32], up: &[f32], act: Activation) -> Vec<f32> {
    assert_eq!(gate.len(), up.len(), "glu: length mismatch");
    gate.iter().zip(up).map(|(&g, &u)| activate(act, g) * u).collect()
}

/// `a + b` elementwise. Panics (test reference) if lengths differ.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "add: length mismatch");
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// `a * b` elementwise. Panics (test reference) if lengths differ.
pub fn mul(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "mul: length mismatch");
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

/// `a * s`.
pub fn scale(a: &[f32], s: f32) -> Vec<f32> {
    a.iter().map(|x| x * s).collect()
}

/// Gemma 2's soft-cap: `cap * tanh(x / cap)`, in f64.
pub fn softcap(a: &[f32], cap: f32) -> Vec<f32> {
    a.iter()
        .map(|&x| (cap as f64 * (x as f64 / cap as f64).tanh()) as f32)
        .collect()
}

/// Adds `bias` (length `dim`) to every row of `x` (`[rows, dim]`).
/// Panics (test reference) if `bias.len() != dim` or `x` is ragged.
pub fn add_row_bias(x: &[f32], dim: usize, bias: &[f32]) -> Vec<f32> {
    assert_eq!(bias.len(), dim, "add_row_bias: bias must have dim elements");
    assert!(
        dim > 0 && x.len().is_multiple_of(dim),
        "add_row_bias: x not [rows, dim]"
    );
    x.chunks_exact(dim)
        .flat_map(|row| row.iter().zip(bias).map(|(a, b)| a + b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_known_values() {
        let cases = [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (2.999, 0.999_977_769_831_400_2),
            (3.0, 0.999_977_909_503_001_4),
            (3.5, 0.999_999_256_901_627_7),
            (5.0, 0.999_999_999_998_462_5),
            (-1.0, -0.842_700_792_949_714_9),
        ];
        for (x, want) in cases {
            let got = erf(x);
            assert!((got - want).abs() < 1e-12, "erf({x}) = {got}, want {want}");
        }
        assert_eq!(erf(30.0), 1.0);
    }

    #[test]
    fn gelu_and_silu_known_values() {
        assert!((gelu_erf(1.0) - 0.841_344_7).abs() < 1e-7);
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-7);
        assert!((gelu_erf(-1.0) - -0.158_655_25).abs() < 1e-7);
        assert_eq!(gelu_erf(0.0), 0.0);
        assert!((silu(1.0) - 0.731_058_6).abs() < 1e-7);
        assert!((silu(-20.0) - -4.122_307e-8).abs() < 1e-12);
        assert_eq!(gelu_tanh(-100.0), 0.0);
        assert_eq!(gelu_erf(100.0), 100.0);
    }

    #[test]
    fn vector_ops() {
        assert_eq!(
            glu(&[1.0, 0.0], &[2.0, 5.0], Activation::Silu),
            vec![2.0 * silu(1.0), 0.0]
        );
        assert_eq!(unary(&[-2.0, 3.0], Activation::Identity), vec![-2.0, 3.0]);
        assert_eq!(unary(&[-2.0, 3.0], Activation::Relu), vec![0.0, 3.0]);
        assert_eq!(unary(&[0.0, 100.0], Activation::Tanh), vec![0.0, 1.0]);
        assert_eq!(add(&[1.0, 2.0], &[3.0, 4.0]), vec![4.0, 6.0]);
        assert_eq!(mul(&[1.0, 2.0], &[3.0, 4.0]), vec![3.0, 8.0]);
        assert_eq!(scale(&[1.0, -2.0], 0.5), vec![0.5, -1.0]);
        assert_eq!(
            add_row_bias(&[1.0, 2.0, 3.0, 4.0], 2, &[10.0, 20.0]),
            vec![11.0, 22.0, 13.0, 24.0]
        );
    }
}
