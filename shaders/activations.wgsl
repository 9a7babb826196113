// Activation functions shared by the elementwise kernel and matmul's gated epilogue.

// Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: WGSL has no erf.
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-x * x));
}

fn gelu_erf(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
}

// tanh's argument is clamped: some drivers compute tanh via exp and return NaN on overflow.
fn gelu_tanh(x: f32) -> f32 {
    let u = 0.79788456080286536 * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + tanh(clamp(u, -15.0, 15.0)));
}

fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}
