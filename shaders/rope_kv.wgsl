// The GPU path's step between the QKV projections and attention, in one dispatch per layer
// (instead of Gemma 3's q norm, k norm, rope and kv_append, or Llama's rope and kv_append):
//   q heads:  [per-head RMSNorm], RoPE, in place
//   k heads:  [per-head RMSNorm], RoPE, stored into the cache at slot (pos0 + s) % cap
//   v heads:  stored into the cache beside them (by the k head's workgroup)
// One workgroup (WG lanes) per (token, head), heads 0..n_head the queries and n_head.. the keys.
// The per-head norm needs the head's sum of squares, hence a workgroup and a reduction; the
// reduction's barriers also separate every lane's reads of q from the in-place writes.
// The math is the composition of norm.wgsl (mode 0/1), rope.wgsl and kv_append.wgsl, in their
// order of operations, so the CPU twin (`cpu::rope_kv`) is those twins composed.
//   q        [seq, n_head, head_dim] f32, read and written
//   k, v     [seq, n_kv_head, head_dim] f32
//   kc, vc   [cap, n_kv_head * head_dim]: f16 pairs packed in u32 (f16 = 1) or f32 bits
// The host counts this kernel's loops (`rope_kv::LOOPS`): keep them in step.

struct Params {
    seq: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    rot_dims: u32,
    pos0: u32,
    neox: u32,
    norm: u32,   // 0: none, 1: RMSNorm (x * inv * w), 2: Gemma's (x * inv * (1 + w))
    eps: f32,
    cap: u32,
    slot0: u32,  // pos0 % cap, so slot arithmetic never overflows
    f16: u32,    // cache format: 1 packed f16 pairs, 0 f32
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(5) var<storage, read> q_norm: array<f32>;
@group(0) @binding(6) var<storage, read> k_norm: array<f32>;
@group(0) @binding(7) var<storage, read_write> kc: array<u32>;
@group(0) @binding(8) var<storage, read_write> vc: array<u32>;

// x normalised by the head's inverse RMS `inv` with weight `w`, as norm.wgsl rounds it.
fn normed(x: f32, inv: f32, w: f32) -> f32 {
    switch p.norm {
        case 1u: { return x * inv * w; }
        case 2u: { return x * inv * (1.0 + w); }
        default: { return x; }
    }
}

// Element e of key head `base` after norm and RoPE at angle index i (cos c, sin sn). Each lane
// computes its own elements from the unrotated input (k is read-only), so no lane waits on another.
fn key_at(base: u32, e: u32, inv: f32, c: f32, sn: f32) -> f32 {
    let x = normed(k[base + e], inv, k_norm[e]);
    if (e >= p.rot_dims) {
        return x;
    }
    let half = p.rot_dims / 2u;
    if (p.neox != 0u) {
        if (e < half) {
            return x * c - normed(k[base + e + half], inv, k_norm[e + half]) * sn;
        }
        return normed(k[base + e - half], inv, k_norm[e - half]) * sn + x * c;
    }
    if (e % 2u == 0u) {
        return x * c - normed(k[base + e + 1u], inv, k_norm[e + 1u]) * sn;
    }
    return normed(k[base + e - 1u], inv, k_norm[e - 1u]) * sn + x * c;
}

// The angle index of element e (< rot_dims) of a head.
fn angle_index(e: u32) -> u32 {
    if (p.neox != 0u) {
        return e % (p.rot_dims / 2u);
    }
    return e / 2u;
}

@compute @workgroup_size(WG)
fn rope_kv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // Everything up to the reduction derives from the workgroup id and uniforms only, so the
    // barriers inside workgroup_sum sit in uniform control flow (Tint checks this).
    let row = wid.x + wid.y * nwg.x;
    let per_token = p.n_head + p.n_kv_head;
    let live = row < p.seq * per_token;
    let s = row / per_token;
    let h = row % per_token;
    let is_q = h < p.n_head;
    let hd = p.head_dim;
    var base = (s * p.n_head + h) * hd;
    if (!is_q) {
        base = (s * p.n_kv_head + h - p.n_head) * hd;
    }
    var ss = 0.0;
    if (live && p.norm != 0u) {
        for (var e = lid; e < hd; e += WG) {
            var x: f32;
            if (is_q) {
                x = q[base + e];
            } else {
                x = k[base + e];
            }
            ss += x * x;
        }
    }
    let inv = inverseSqrt(workgroup_sum(ss, lid) / f32(hd) + p.eps);
    if (!live) {
        return;
    }
    let pos = f32(p.pos0 + s);
    let half = p.rot_dims / 2u;
    if (is_q) {
        // Unit u < half is a rotating pair, as rope.wgsl pairs them; the rest are the unrotated
        // tail's element pairs (rot_dims + 2w, +1), which only the norm touches.
        for (var u = lid; u < hd / 2u; u += WG) {
            if (u < half) {
                var a = 2u * u;
                var b = a + 1u;
                if (p.neox != 0u) {
                    a = u;
                    b = u + half;
                }
                let theta = pos * inv_freq[u];
                let c = cos(theta);
                let sn = sin(theta);
                let x0 = normed(q[base + a], inv, q_norm[a]);
                let x1 = normed(q[base + b], inv, q_norm[b]);
                q[base + a] = x0 * c - x1 * sn;
                q[base + b] = x0 * sn + x1 * c;
            } else {
                let e = p.rot_dims + 2u * (u - half);
                q[base + e] = normed(q[base + e], inv, q_norm[e]);
                q[base + e + 1u] = normed(q[base + e + 1u], inv, q_norm[e + 1u]);
            }
        }
        return;
    }
    let kh = h - p.n_head;
    let slot = (p.slot0 + s) % p.cap;
    let row_len = p.n_kv_head * hd;
    for (var j = lid; j < hd / 2u; j += WG) {
        let e = 2u * j;
        // Angles for both elements (the same one in the normal layout, not in NEOX); an element
        // of the unrotated tail gets an index kept in range, and key_at ignores its angle.
        let t0 = pos * inv_freq[angle_index(e) % max(half, 1u)];
        let t1 = pos * inv_freq[angle_index(e + 1u) % max(half, 1u)];
        let k0 = key_at(base, e, inv, cos(t0), sin(t0));
        let k1 = key_at(base, e + 1u, inv, cos(t1), sin(t1));
        let v0 = v[base + e];
        let v1 = v[base + e + 1u];
        if (p.f16 != 0u) {
            let dst = (slot * row_len + kh * hd) / 2u + j;
            kc[dst] = pack2x16float(vec2<f32>(k0, k1));
            vc[dst] = pack2x16float(vec2<f32>(v0, v1));
        } else {
            let dst = slot * row_len + kh * hd + e;
            kc[dst] = bitcast<u32>(k0);
            kc[dst + 1u] = bitcast<u32>(k1);
            vc[dst] = bitcast<u32>(v0);
            vc[dst + 1u] = bitcast<u32>(v1);
        }
    }
}
