// Elementwise ops over n values; `op` is a uniform, so one pipeline serves them all.
//   unary (b unused):  0 GELU (erf)   1 GELU (tanh)   2 SiLU   3 scale: a * s
//   gated (GLU):       4 GeGLU erf    5 GeGLU tanh    6 SwiGLU:  act(a) * b
//   binary:            7 a + b        8 a * b         9 a + b[i % dim] (row bias)
//   unary:            10 ReLU        11 tanh         12 soft-cap: s * tanh(a / s)

struct Params {
    n: u32,
    op: u32,
    dim: u32,
    s: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// erf, gelu_erf, gelu_tanh and silu come from activations.wgsl.

@compute @workgroup_size(WG)
fn elementwise(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    if (i >= p.n) {
        return;
    }
    let x = a[i];
    var r = 0.0;
    switch p.op {
        case 0u: { r = gelu_erf(x); }
        case 1u: { r = gelu_tanh(x); }
        case 2u: { r = silu(x); }
        case 3u: { r = x * p.s; }
        case 4u: { r = gelu_erf(x) * b[i]; }
        case 5u: { r = gelu_tanh(x) * b[i]; }
        case 6u: { r = silu(x) * b[i]; }
        case 7u: { r = x + b[i]; }
        case 8u: { r = x * b[i]; }
        case 10u: { r = max(x, 0.0); }
        case 11u: { r = tanh(clamp(x, -15.0, 15.0)); }
        case 12u: { r = p.s * tanh(clamp(x / p.s, -15.0, 15.0)); }
        default: { r = x + b[i % p.dim]; }
    }
    y[i] = r;
}
