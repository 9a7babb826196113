// Structured output's token mask on the logits, in place, before top-k: logit i keeps its value
// where bit i % 32 of word i / 32 is set and becomes -inf elsewhere (ids past the mask included,
// such as a model's padding rows beyond the tokenizer's vocabulary). One invocation per logit.

struct Params {
    n: u32,        // logits
    n_words: u32,  // mask words (32 ids each)
    // -inf, from the host: WGSL rejects a constant expression that evaluates to infinity.
    neg_inf: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;

@compute @workgroup_size(WG)
fn mask_logits(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    if (i >= p.n) {
        return;
    }
    let w = i / 32u;
    // The index is clamped so the read stays in bounds; ids past the mask are masked anyway.
    let bits = mask[min(w, p.n_words - 1u)];
    let allowed = w < p.n_words && ((bits >> (i % 32u)) & 1u) != 0u;
    if (!allowed) {
        logits[i] = p.neg_inf;
    }
}
