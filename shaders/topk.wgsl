// Top-k (and argmax, k = 1) over a vocabulary, in passes of the same entry point, so the
// logits never leave the GPU and only k (value, id) pairs are read back. Each invocation keeps
// the top k of one chunk of its input:
//   first pass: the logits (id = position);
//   later passes: the previous pass's winners (ids read from in_idx), until one chunk is left.
// Ordering: value descending, ties by smaller id (candidates arrive in id order and insertion
// only passes strictly smaller values). NaN never enters the list; -inf does. The host counts
// the loops (`topk_loop_cost` in kernels/topk.rs).

struct Params {
    n: u32,        // candidates in the input
    chunk: u32,    // candidates per invocation
    k: u32,        // at most MAX_K
    has_idx: u32,  // 0: id = position, 1: id = in_idx[position]
    // -inf, from the host: WGSL rejects a constant expression that evaluates to infinity.
    neg_inf: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in_val: array<f32>;
@group(0) @binding(2) var<storage, read> in_idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_val: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_idx: array<u32>;

const MAX_K: u32 = 64u;

@compute @workgroup_size(WG)
fn topk(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = linear_id(g, nwg);
    let start = c * p.chunk;
    if (start >= p.n) {
        return;
    }
    let end = min(p.n, start + p.chunk);
    var best_v: array<f32, MAX_K>;
    var best_i: array<u32, MAX_K>;
    var count = 0u;
    for (var j = start; j < end; j++) {
        let val = in_val[j];
        let id = select(j, in_idx[j], p.has_idx != 0u);
        // NaN is tested on the bits: a compiler may fold `val != val` away.
        let is_nan = (bitcast<u32>(val) & 0x7FFFFFFFu) > 0x7F800000u;
        // Skip NaN, pass-1 padding (id 0xFFFFFFFF) and values that cannot enter a full list.
        if (is_nan || id == 0xFFFFFFFFu || (count == p.k && !(val > best_v[p.k - 1u]))) {
            continue;
        }
        var pos = min(count, p.k - 1u);
        while (pos > 0u && val > best_v[pos - 1u]) {
            best_v[pos] = best_v[pos - 1u];
            best_i[pos] = best_i[pos - 1u];
            pos--;
        }
        best_v[pos] = val;
        best_i[pos] = id;
        count = min(count + 1u, p.k);
    }
    let o = c * p.k;
    for (var i = 0u; i < p.k; i++) {
        if (i < count) {
            out_val[o + i] = best_v[i];
            out_idx[o + i] = best_i[i];
        } else {
            out_val[o + i] = p.neg_inf;
            out_idx[o + i] = 0xFFFFFFFFu;
        }
    }
}
