// Row-wise softmax, max-subtracted; one workgroup per row (see norm.wgsl for why). The host
// counts the three passes and two reductions (`RowLoops` in kernels/softmax.rs): keep them in step.

struct Params {
    rows: u32,
    dim: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let b = row * p.dim;
    var mx = -3.4e38;
    for (var i = lid; i < p.dim; i += WG) {
        mx = max(mx, x[b + i]);
    }
    mx = workgroup_max(mx, lid);
    var sum = 0.0;
    for (var i = lid; i < p.dim; i += WG) {
        let e = exp(x[b + i] - mx);
        y[b + i] = e;
        sum += e;
    }
    let total = workgroup_sum(sum, lid);
    // A row of only -inf (fully masked) gives zeros, not NaN.
    let inv = select(0.0, 1.0 / total, total > 0.0);
    for (var i = lid; i < p.dim; i += WG) {
        y[b + i] *= inv;
    }
}
