// Sequence pooling for encoders: one invocation per (sequence, feature).
//   mode 0: mean over the positions whose mask is nonzero (sentence-transformers' mean pooling;
//           an all-padding sequence gives zeros)
//   mode 1: the first position ([CLS] pooling, and the input of BERT's pooler)
// A loop of `seq` iterations per invocation: the host checks it against the loop budget
// (kernels/loop_budget.rs; lavapipe stops an invocation after 65535 iterations in all).

struct Params {
    batch: u32,
    seq: u32,
    dim: u32,
    mode: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;     // [batch, seq, dim]
@group(0) @binding(2) var<storage, read> mask: array<u32>;  // [batch, seq]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [batch, dim]

@compute @workgroup_size(WG)
fn pool(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    if (i >= p.batch * p.dim) {
        return;
    }
    let b = i / p.dim;
    let d = i % p.dim;
    let base = b * p.seq * p.dim + d;
    if (p.mode == 1u) {
        y[i] = x[base];
        return;
    }
    var sum = 0.0;
    var count = 0u;
    for (var t = 0u; t < p.seq; t++) {
        if (mask[b * p.seq + t] != 0u) {
            sum += x[base + t * p.dim];
            count += 1u;
        }
    }
    y[i] = select(0.0, sum / f32(count), count > 0u);
}
