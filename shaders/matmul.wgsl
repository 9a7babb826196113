// y[m][row0 + r] = sum_k x[m][k] * W[r][k] for the rows r of one bound weight part.
// W is a Linear weight [n, k] in any format of weights.wgsl (LOAD_W4 names the decoder).
//
// Neither entry point uses workgroup memory or barriers: register blocking alone gave the best
// speed on the software adapters we test on (ARCHITECTURE.md, "No shared memory in matmul"), and stays reasonable on real GPUs.

// Params and the bindings other than xu are declared in matmul_io.wgsl, appended to this file.

// x again, as a uniform, read by gemv when UNIFORM_X (needs k % 4 == 0, m * k <= 16384).
// All invocations read the same x element at the same time: uniform (constant) memory
// broadcasts it, and software adapters vectorise uniform loads but not storage loads.
// gemm does not use it, so it is not in gemm's bind group.
@group(0) @binding(4) var<uniform> xu: array<vec4<f32>, 4096>;
override UNIFORM_X: bool = false;
// gemv walks whole 32-weight chunks with LOAD_W32 (needs k % 32 == 0): block formats then decode
// their scales once per chunk instead of once per 4 weights.
override CHUNKS: bool = false;

fn gemv_x4(m: u32, k: u32) -> vec4<f32> {
    if (UNIFORM_X) {
        return xu[(m * p.k + k) / 4u];
    }
    return load_x4(m, k);
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
