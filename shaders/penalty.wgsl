// logit_bias and repetition penalties on the logits, in place, before top-k, in llama.cpp's
// order (its `logit_bias` sampler, then `penalties`): for each distinct id with its bias and
// its count among recent tokens,
//   logit += bias
//   if count > 0:
//     logit = logit > 0 ? logit / repeat : logit * repeat
//     logit -= presence + count * frequency
// One invocation per distinct id, so no two invocations touch the same logit.

struct Params {
    n_ids: u32,
    repeat: f32,
    presence: f32,
    frequency: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG)
fn penalty(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    if (i >= p.n_ids) {
        return;
    }
    let id = ids[i];
    var l = logits[id] + bias[i];
    if (counts[i] > 0u) {
        l = select(l * p.repeat, l / p.repeat, l > 0.0);
        l -= p.presence + f32(counts[i]) * p.frequency;
    }
    logits[id] = l;
}
