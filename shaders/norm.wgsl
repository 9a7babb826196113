// Row normalisation, one workgroup per row: WG threads stride over the row and combine their
// partial sums in workgroup memory. (One thread per row would be simpler, but lavapipe caps a
// single invocation at 65535 loop iterations in total, and real GPUs want the parallelism.)
// The host counts these loops (`RowLoops` in kernels/mod.rs): keep them in step.
//   mode 0: RMSNorm            y = x / sqrt(mean(x^2) + eps) * w
//   mode 1: Gemma RMSNorm      y = x / sqrt(mean(x^2) + eps) * (1 + w)
//   mode 2: LayerNorm          y = (x - mean) / sqrt(var + eps) * w + b   (biased variance)
//   mode 3: NoNorm (MobileBERT) y = x * w + b

struct Params {
    rows: u32,
    dim: u32,
    eps: f32,
    mode: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let b = row * p.dim;
    if (p.mode == 3u) {
        for (var i = lid; i < p.dim; i += WG) {
            y[b + i] = x[b + i] * w[i] + bias[i];
        }
        return;
    }
    let n = f32(p.dim);
    var mean = 0.0;
    if (p.mode == 2u) {
        var s = 0.0;
        for (var i = lid; i < p.dim; i += WG) {
            s += x[b + i];
        }
        mean = workgroup_sum(s, lid) / n;
    }
    var ss = 0.0;
    for (var i = lid; i < p.dim; i += WG) {
        let d = x[b + i] - mean;
        ss += d * d;
    }
    let inv = inverseSqrt(workgroup_sum(ss, lid) / n + p.eps);
    for (var i = lid; i < p.dim; i += WG) {
        let v = (x[b + i] - mean) * inv;
        switch p.mode {
            case 0u: { y[b + i] = v * w[i]; }
            case 1u: { y[b + i] = v * (1.0 + w[i]); }
            default: { y[b + i] = v * w[i] + bias[i]; }
        }
    }
}
