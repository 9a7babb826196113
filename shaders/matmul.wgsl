// y[m][row0 + r] = sum_k x[m][k] * W[r][k] for the rows r of one bound weight part.
// W is a Linear weight [n, k] in any format of weights.wgsl (LOAD_W4 names the decoder).
//
// Neither entry point uses workgroup memory or barriers: register blocking alone gave the best
// speed on the software adapters we test on (ARCHITECTURE.md, "No shared memory in matmul"), and stays reasonable on real GPUs.

struct Params {
    m: u32,      // activation rows (tokens)
    n: u32,      // weight rows in this part
    k: u32,      // shared dimension
    row0: u32,   // first output column this part writes
    n_out: u32,  // row stride of y (all parts together)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: WEIGHTS_TYPE;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// What happens to each result v before it lands in y (fusing the op after a projection saves a
// dispatch, which costs more than the op itself on small layers):
//   0 y = v                 1 y = y + v (a residual add)
//   2 y = gelu_erf(gate) * v    3 y = gelu_tanh(gate) * v    4 y = silu(gate) * v    5 y = gate * v
// `gate` has y's shape; when unused another read-only buffer (x) is bound in its place.
override EPILOGUE: u32 = 0u;
@group(0) @binding(5) var<storage, read> gate: array<f32>;

fn store(o: u32, v: f32) {
    switch EPILOGUE {
        case 1u: { y[o] = y[o] + v; }
        case 2u: { y[o] = gelu_erf(gate[o]) * v; }
        case 3u: { y[o] = gelu_tanh(gate[o]) * v; }
        case 4u: { y[o] = silu(gate[o]) * v; }
        case 5u: { y[o] = gate[o] * v; }
        default: { y[o] = v; }
    }
}

// x again, as a uniform, read by gemv when UNIFORM_X (needs k % 4 == 0, m * k <= 16384).
// All invocations read the same x element at the same time: uniform (constant) memory
// broadcasts it, and software adapters vectorise uniform loads but not storage loads.
// gemm does not use it, so it is not in gemm's bind group.
@group(0) @binding(4) var<uniform> xu: array<vec4<f32>, 4096>;
override UNIFORM_X: bool = false;
// gemv walks whole 32-weight chunks with LOAD_W32 (needs k % 32 == 0): block formats then decode
// their scales once per chunk instead of once per 4 weights.
override CHUNKS: bool = false;

// x again, as vec4s, read when X_VEC4 (k % 4 == 0, so every row starts on a vec4): one load
// instead of four. Software adapters turn every storage load into a per-lane loop, so this cuts
// a GEMM 4x4 step from about 24 loads to 12 (SmolLM2's 128-token prefill ran about 25% faster on
// lavapipe); real GPUs prefer wide loads too. Otherwise a 16-byte stand-in is bound.
override X_VEC4: bool = false;
@group(0) @binding(6) var<storage, read> xv: array<vec4<f32>>;

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

fn gemv_x4(m: u32, k: u32) -> vec4<f32> {
    if (UNIFORM_X) {
        return xu[(m * p.k + k) / 4u];
    }
    return load_x4(m, k);
}

fn dot32(w: array<vec4<f32>, 8>, x: array<vec4<f32>, 8>) -> f32 {
    return dot(w[0], x[0]) + dot(w[1], x[1]) + dot(w[2], x[2]) + dot(w[3], x[3])
         + dot(w[4], x[4]) + dot(w[5], x[5]) + dot(w[6], x[6]) + dot(w[7], x[7]);
}

// Decode (m small): each invocation produces 4 adjacent outputs of one activation row, so each x
// load is reused 4 times. Rows past the end are clamped (computed twice, written once).
@compute @workgroup_size(WG)
fn gemv(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    let groups = (p.n + 3u) / 4u;
    let m = id / groups;
    if (m >= p.m) {
        return;
    }
    let r0 = (id % groups) * 4u;
    let last = p.n - 1u;
    let r1 = min(r0 + 1u, last);
    let r2 = min(r0 + 2u, last);
    let r3 = min(r0 + 3u, last);
    var acc = vec4<f32>(0.0);
    if (CHUNKS) {
        for (var c = 0u; c < p.k / 32u; c++) {
            var xs: array<vec4<f32>, 8>;
            for (var j = 0u; j < 8u; j++) {
                xs[j] = gemv_x4(m, c * 32u + 4u * j);
            }
            acc += vec4<f32>(dot32(LOAD_W32(r0, c, p.k), xs), dot32(LOAD_W32(r1, c, p.k), xs),
                             dot32(LOAD_W32(r2, c, p.k), xs), dot32(LOAD_W32(r3, c, p.k), xs));
        }
    } else {
        for (var k = 0u; k < p.k; k += 4u) {
            let x4 = gemv_x4(m, k);
            acc += vec4<f32>(dot(LOAD_W4(r0, k, p.k), x4), dot(LOAD_W4(r1, k, p.k), x4),
                             dot(LOAD_W4(r2, k, p.k), x4), dot(LOAD_W4(r3, k, p.k), x4));
        }
    }
    let out = m * p.n_out + p.row0 + r0;
    for (var i = 0u; i < 4u; i++) {
        if (r0 + i < p.n) {
            store(out + i, acc[i]);
        }
    }
}

// Prefill: each invocation produces a 4x4 tile (4 activation rows x 4 weight rows), reusing
// every decoded weight vec4 for 4 tokens. acc[i][j] = dot(x_i, w_j) = (transpose(W) * X)[i][j].
@compute @workgroup_size(WG)
fn gemm(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    let n_tiles = (p.n + 3u) / 4u;
    let m0 = (id / n_tiles) * 4u;
    if (m0 >= p.m) {
        return;
    }
    let r0 = (id % n_tiles) * 4u;
    let last_r = p.n - 1u;
    let last_m = p.m - 1u;
    let m1 = min(m0 + 1u, last_m);
    let m2 = min(m0 + 2u, last_m);
    let m3 = min(m0 + 3u, last_m);
    let r1 = min(r0 + 1u, last_r);
    let r2 = min(r0 + 2u, last_r);
    let r3 = min(r0 + 3u, last_r);
    var acc = mat4x4<f32>();
    for (var k = 0u; k < p.k; k += 4u) {
        let xm = mat4x4<f32>(load_x4(m0, k), load_x4(m1, k), load_x4(m2, k), load_x4(m3, k));
        let wm = mat4x4<f32>(LOAD_W4(r0, k, p.k), LOAD_W4(r1, k, p.k), LOAD_W4(r2, k, p.k), LOAD_W4(r3, k, p.k));
        acc += transpose(wm) * xm;
    }
    for (var i = 0u; i < 4u; i++) {
        if (m0 + i < p.m) {
            let out = (m0 + i) * p.n_out + p.row0 + r0;
            for (var j = 0u; j < 4u; j++) {
                if (r0 + j < p.n) {
                    store(out + j, acc[i][j]);
                }
            }
        }
    }
}
