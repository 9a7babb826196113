// Log-probabilities of chosen ids under the full softmax of a logits row, without reading the
// row back: one workgroup computes log-sum-exp over the whole vocabulary (a max pass and a
// sum-of-exp pass, each reduced across the workgroup), then writes
//   out[i] = x[ids[i]] - lse   for i < n_ids  (-inf for an id past the row: top-k's padding)
//   out[n_ids] = lse
// The host counts the three strided passes and two reductions (`RowLoops` in
// kernels/logprobs.rs): keep them in step.

struct Params {
    n: u32,       // logits in the row
    n_ids: u32,   // ids to look up
    // -inf, from the host: WGSL rejects a constant expression that evaluates to infinity.
    neg_inf: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn logprobs(@builtin(local_invocation_index) lid: u32) {
    var mx = -3.4e38;
    for (var i = lid; i < p.n; i += WG) {
        mx = max(mx, x[i]);
    }
    mx = workgroup_max(mx, lid);
    var sum = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        sum += exp(x[i] - mx);
    }
    let lse = mx + log(workgroup_sum(sum, lid));
    for (var i = lid; i < p.n_ids; i += WG) {
        let id = ids[i];
        out[i] = select(p.neg_inf, x[min(id, p.n - 1u)] - lse, id < p.n);
    }
    if (lid == 0u) {
        out[p.n_ids] = lse;
    }
}
