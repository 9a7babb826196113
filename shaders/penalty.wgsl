// Repetition penalties on the logits, in place, before top-k (llama.cpp's `penalties` sampler):
// for each distinct recent token id with its count,
//   logit = logit > 0 ? logit / repeat : logit * repeat
//   logit -= presence + count * frequency
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

@compute @workgroup_size(WG)
fn penalty(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    if (i >= p.n_ids) {
        return;
    }
    let id = ids[i];
    var l = logits[id];
    l = select(l * p.repeat, l / p.repeat, l > 0.0);
    logits[id] = l - p.presence - f32(counts[i]) * p.frequency;
}
