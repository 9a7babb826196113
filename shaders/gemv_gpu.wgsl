// The decode GEMV for real GPUs: y[m][row0 + r] = sum_k x[m][k] * W[r][k] for M <= 4 activation
// rows, W a Linear weight [n, k] in any format of weights.wgsl.
//
// A real GPU reaches its bandwidth only with many lanes in flight and adjacent lanes reading
// adjacent bytes (the software path's gemv in matmul.wgsl is the opposite: one invocation walks
// whole rows). So a workgroup of WG lanes (64-256) owns ROWS weight rows, and its lanes split K:
// lane l takes units l, l + WG, l + 2 WG, ... of every one of those rows, where a unit is a
// 32-weight chunk (CHUNKS, decoded by LOAD_W32: its scales once, its quants as whole words) or 4
// weights (LOAD_W4, for rows too short to give every lane a chunk, and rows whose length is not
// a multiple of 32). Each lane keeps one partial sum per (row, activation row), reusing each x
// load for all ROWS rows; the workgroup then adds up the lanes' partial sums (`row_totals`, in
// gemv_gpu_subgroups.wgsl or gemv_gpu_tree.wgsl) and lanes 0..ROWS write the results.
// Rows past the part's end are clamped (read twice, written once).

// Params and the bindings are declared in matmul_io.wgsl, appended to this file.

// Activation rows (p.m), fixed per pipeline so that a single-token GEMV does no work for the
// others: a partial sum is a vec4 whose component i belongs to activation row i.
override M: u32 = 1u;
// Weight rows per workgroup: 1, 2 or 4.
override ROWS: u32 = 1u;
// A lane's unit is a 32-weight chunk (needs k % 32 == 0) rather than 4 weights.
override CHUNKS: bool = false;

// x[i][k..k+4] for activation row i, zeros for rows past M.
fn x4(i: u32, k: u32) -> vec4<f32> {
    if (i >= M) {
        return vec4<f32>(0.0);
    }
    return load_x4(i, k);
}

// x[i][32c .. 32c + 32].
fn x32(i: u32, c: u32) -> array<vec4<f32>, 8> {
    let k = 32u * c;
    return array<vec4<f32>, 8>(x4(i, k), x4(i, k + 4u), x4(i, k + 8u), x4(i, k + 12u), x4(i, k + 16u),
        x4(i, k + 20u), x4(i, k + 24u), x4(i, k + 28u));
}

// 4 weights against the same 4 columns of every activation row (xm's column i is row i).
fn dots4(w: vec4<f32>, xm: mat4x4<f32>) -> vec4<f32> {
    if (M == 1u) {
        return vec4<f32>(dot(w, xm[0]), 0.0, 0.0, 0.0);
    }
    return w * xm;
}

// A 32-weight chunk against the same chunk of every activation row.
fn dots32(w: array<vec4<f32>, 8>, x0: array<vec4<f32>, 8>, x1: array<vec4<f32>, 8>, x2: array<vec4<f32>, 8>,
          x3: array<vec4<f32>, 8>) -> vec4<f32> {
    var v = vec4<f32>(dot32(w, x0), 0.0, 0.0, 0.0);
    if (M > 1u) {
        v.y = dot32(w, x1);
    }
    if (M > 2u) {
        v.z = dot32(w, x2);
    }
    if (M > 3u) {
        v.w = dot32(w, x3);
    }
    return v;
}

fn write_row(r: u32, t: vec4<f32>) {
    let o = p.row0 + r;
    store(o, t.x);
    if (M > 1u) {
        store(p.n_out + o, t.y);
    }
    if (M > 2u) {
        store(2u * p.n_out + o, t.z);
    }
    if (M > 3u) {
        store(3u * p.n_out + o, t.w);
    }
}

@compute @workgroup_size(WG)
fn gemv_gpu(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    lane: Lane,
) {
    // Workgroups past the end exist only when the dispatch was folded into 2D; the test is
    // uniform across the workgroup, so the barriers below stay in uniform control flow. The
    // workgroup id is a parameter of its own, not a member of `Lane`: Tint's uniformity analysis
    // (Chrome) counts a struct with any per-lane member as non-uniform as a whole.
    let base = (wg.x + wg.y * nwg.x) * ROWS;
    if (base >= p.n) {
        return;
    }
    let last = p.n - 1u;
    let r1 = min(base + 1u, last);
    let r2 = min(base + 2u, last);
    let r3 = min(base + 3u, last);
    // Written out per row rather than as an array indexed in a loop: a dynamically indexed
    // private array may live in slow memory on real GPUs.
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    if (CHUNKS) {
        for (var c = lane.lid; c < p.k / 32u; c += WG) {
            let x0 = x32(0u, c);
            let x1 = x32(1u, c);
            let x2 = x32(2u, c);
            let x3 = x32(3u, c);
            a0 += dots32(LOAD_W32(base, c, p.k), x0, x1, x2, x3);
            if (ROWS > 1u) {
                a1 += dots32(LOAD_W32(r1, c, p.k), x0, x1, x2, x3);
            }
            if (ROWS > 2u) {
                a2 += dots32(LOAD_W32(r2, c, p.k), x0, x1, x2, x3);
                a3 += dots32(LOAD_W32(r3, c, p.k), x0, x1, x2, x3);
            }
        }
    } else {
        for (var k = 4u * lane.lid; k < p.k; k += 4u * WG) {
            let xm = mat4x4<f32>(x4(0u, k), x4(1u, k), x4(2u, k), x4(3u, k));
            a0 += dots4(LOAD_W4(base, k, p.k), xm);
            if (ROWS > 1u) {
                a1 += dots4(LOAD_W4(r1, k, p.k), xm);
            }
            if (ROWS > 2u) {
                a2 += dots4(LOAD_W4(r2, k, p.k), xm);
                a3 += dots4(LOAD_W4(r3, k, p.k), xm);
            }
        }
    }
    let t = row_totals(lane, a0, a1, a2, a3);
    if (lane.lid < ROWS && base + lane.lid < p.n) {
        write_row(base + lane.lid, t);
    }
}
