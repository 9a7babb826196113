// What every matmul kernel (matmul.wgsl, gemv_gpu.wgsl) shares, appended to each: the uniform,
// the bindings, reading rows of x and landing results in y.

struct Params {
    m: u32,      // activation rows (tokens)
    n: u32,      // weight rows in this part
    k: u32,      // shared dimension
    row0: u32,   // first output column this part writes
    n_out: u32,  // row stride of y (all parts together)
    scale: f32,  // epilogue 6's factor
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: WEIGHTS_TYPE;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// The epilogue's gate (see `store`); binding 4 is matmul.wgsl's uniform copy of x.
@group(0) @binding(5) var<storage, read> gate: array<f32>;
// x as vec4s (see `load_x4`).
@group(0) @binding(6) var<storage, read> xv: array<vec4<f32>>;

// What happens to each result v before it lands in y (fusing the op after a projection saves a
// dispatch, which costs more than the op itself on small layers):
//   0 y = v                 1 y = y + v (a residual add)
//   2 y = gelu_erf(gate) * v    3 y = gelu_tanh(gate) * v    4 y = silu(gate) * v    5 y = gate * v
//   6 y = y + scale * v (a LoRA term at its adapter's scale, which changes per request)
// `gate` has y's shape; when unused another read-only buffer (x) is bound in its place.
override EPILOGUE: u32 = 0u;

fn store(o: u32, v: f32) {
    switch EPILOGUE {
        case 1u: { y[o] = y[o] + v; }
        case 2u: { y[o] = gelu_erf(gate[o]) * v; }
        case 3u: { y[o] = gelu_tanh(gate[o]) * v; }
        case 4u: { y[o] = silu(gate[o]) * v; }
        case 5u: { y[o] = gate[o] * v; }
        case 6u: { y[o] = y[o] + p.scale * v; }
        default: { y[o] = v; }
    }
}

// x again, as vec4s (`xv`), read when X_VEC4 (k % 4 == 0, so every row starts on a vec4): one load
// instead of four. Software adapters turn every storage load into a per-lane loop, so this cuts
// a GEMM 4x4 step from about 24 loads to 12 (SmolLM2's 128-token prefill ran about 25% faster on
// lavapipe); real GPUs prefer wide loads too. Otherwise a 16-byte stand-in is bound.
override X_VEC4: bool = false;

// x[m][k..k+4], zeros past the row's end.
fn load_x4(m: u32, k: u32) -> vec4<f32> {
    let b = m * p.k + k;
    if (X_VEC4) {
        return xv[b / 4u];
    }
    if (k + 4u <= p.k) {
        return vec4<f32>(x[b], x[b + 1u], x[b + 2u], x[b + 3u]);
    }
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < p.k) {
            v[i] = x[b + i];
        }
    }
    return v;
}

// The dot product of a 32-weight chunk (LOAD_W32) with 32 values of x.
fn dot32(w: array<vec4<f32>, 8>, x: array<vec4<f32>, 8>) -> f32 {
    return dot(w[0], x[0]) + dot(w[1], x[1]) + dot(w[2], x[2]) + dot(w[3], x[3])
         + dot(w[4], x[4]) + dot(w[5], x[5]) + dot(w[6], x[6]) + dot(w[7], x[7]);
}
