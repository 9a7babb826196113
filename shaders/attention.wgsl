// Scaled dot-product attention in two passes (flash-decoding), for software adapters
// (attention_gpu.wgsl is the real-GPU kernel):
//   attention_partial: one invocation per (batch, query, group of query heads sharing a kv
//                      head, key chunk) runs an online softmax per head over its chunk and
//                      writes each head's unnormalised sum with its (max, sum of exp);
//   attention_combine: one invocation per (batch, query, head, 4 output dims) rescales and adds
//                      the chunks.
// Splitting keys spreads a single decoded token over many invocations, and keeps each
// invocation's loop count within budget (lavapipe stops any invocation after 65535 loop
// iterations in all): `partial_cost` in kernels/attention.rs counts these loops one by one, so
// a loop added or moved here must be added or moved there.
//
//   q   [batch, q_len, n_head, head_dim]
//   k,v [batch, kv_cap, n_kv_head, head_dim]; position t lives in slot t % kv_cap, so a
//       sliding-window layer can keep a ring buffer of just its window. f32 or packed f16:
//       the host puts kv_f32.wgsl or kv_f16.wgsl (bindings 2 and 3, load_k / load_v) first.
//   out [batch, q_len, n_head, head_dim]
// Query s is at position pos0 + s. Key t is visible when t < kv_len and, if causal, t <= qpos
// and (window == 0 or t > qpos - window); with use_mask, also mask[b * kv_len + t] != 0 (BERT
// padding). GQA/MQA: head h reads kv head h / (n_head / n_kv_head). Optional Gemma 2 soft-cap:
// score = cap * tanh(score / cap). head_dim is a multiple of 4, at most 256.

// Params and bindings 0, 1, 4, 5, 6: attention_io.wgsl.
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;

const MAX_D4: u32 = 64u;
const MAX_HEADS: u32 = 16u;
const NO_SCORE: f32 = -3.0e38;

@compute @workgroup_size(WG)
fn attention_partial(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    // One invocation per (b, s, kv head, head group, chunk): the head group is up to
    // heads_per_inv query heads sharing the kv head, so each key and value row is fetched once
    // for all of them (GQA) instead of once per query head.
    if (id >= chunk_count()) {
        return;
    }
    let ch = chunk_of(id);
    let d4 = p.head_dim / 4u;

    // acc[j * d4 + i]: head j's output, dims 4i..4i+3 (nh * d4 <= MAX_D4, see heads_per_inv).
    var acc: array<vec4<f32>, MAX_D4>;
    for (var i = 0u; i < ch.nh * d4; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    var m: array<f32, MAX_HEADS>;
    var l: array<f32, MAX_HEADS>;
    var sc: array<f32, MAX_HEADS>;
    for (var j = 0u; j < ch.nh; j++) {
        m[j] = NO_SCORE;
        l[j] = 0.0;
    }
    for (var t = ch.lo; t < ch.hi; t++) {
        if (p.use_mask != 0u && mask[ch.b * p.kv_len + t] == 0u) {
            continue;
        }
        let kb = ((ch.b * p.kv_cap + t % p.kv_cap) * p.n_kv_head + ch.kvh) * d4;
        for (var j = 0u; j < ch.nh; j++) {
            sc[j] = 0.0;
        }
        for (var i = 0u; i < d4; i++) {
            let kv = load_k(kb + i);
            for (var j = 0u; j < ch.nh; j++) {
                sc[j] += dot(q[(ch.row0 + j) * d4 + i], kv);
            }
        }
        // Online softmax per head; sc[j] becomes the key's weight and l[j] the rescale factor
        // for what head j has accumulated so far.
        for (var j = 0u; j < ch.nh; j++) {
            var x = sc[j] * p.scale;
            if (p.softcap > 0.0) {
                x = p.softcap * tanh(clamp(x / p.softcap, -15.0, 15.0));
            }
            let m_new = max(m[j], x);
            let corr = exp(m[j] - m_new);
            let w = exp(x - m_new);
            l[j] = l[j] * corr + w;
            m[j] = m_new;
            sc[j] = w;
            // Rescaling acc here rather than in the value loop keeps that loop to one multiply-add.
            for (var i = 0u; i < d4; i++) {
                acc[j * d4 + i] *= corr;
            }
        }
        for (var i = 0u; i < d4; i++) {
            let vv = load_v(kb + i);
            for (var j = 0u; j < ch.nh; j++) {
                acc[j * d4 + i] += sc[j] * vv;
            }
        }
    }
    for (var j = 0u; j < ch.nh; j++) {
        let part = (ch.row0 + j) * p.n_chunks + ch.c;
        part_ml[part] = vec2<f32>(m[j], l[j]);
        for (var i = 0u; i < d4; i++) {
            part_acc[part * d4 + i] = acc[j * d4 + i];
        }
    }
}

@compute @workgroup_size(WG)
fn attention_combine(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    let d4 = p.head_dim / 4u;
    let row = id / d4;
    if (row >= p.batch * p.q_len * p.n_head) {
        return;
    }
    let i = id % d4;
    let first = row * p.n_chunks;
    var m = NO_SCORE;
    for (var c = 0u; c < p.n_chunks; c++) {
        m = max(m, part_ml[first + c].x);
    }
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    for (var c = 0u; c < p.n_chunks; c++) {
        let ml = part_ml[first + c];
        let w = exp(ml.x - m);  // 0 for empty chunks, whose max stayed NO_SCORE
        l += ml.y * w;
        acc += part_acc[(first + c) * d4 + i] * w;
    }
    // A query that sees no key at all gets zeros.
    out[id] = acc * select(0.0, 1.0 / l, l > 0.0);
}
