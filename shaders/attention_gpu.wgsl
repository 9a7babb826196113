// Split-K flash decoding for real GPUs: one workgroup per (batch, query, kv head, group of the
// query heads sharing it, chunk of key positions). The workgroup's lanes cooperate on each tile
// of keys: load the tile's keys into workgroup memory (adjacent lanes, adjacent bytes), score
// every (head, key) pair of the tile, update each head's online softmax, and add the tile's
// values into the heads' outputs, lanes across head_dim. Every key and value row is fetched once
// for all the query heads of its group (GQA; Gemma 3's head_dim 256 included). All state lives
// in workgroup memory or scalars: no dynamically indexed private array, which a real GPU would
// spill. attention_combine (attention.wgsl, same Params) then merges the chunks.
// The software-adapter kernel (attention.wgsl) has the same layouts and masking rules:
//   q   [batch, q_len, n_head, head_dim]
//   k,v [batch, kv_cap, n_kv_head, head_dim], position t in slot t % kv_cap; f32 or packed f16
//       (kv_f32.wgsl or kv_f16.wgsl comes first: bindings 2 and 3, load_k / load_v)
//   out parts per (row, chunk), as attention_partial writes them.
// Loops here are counted one by one by `gpu_cost` in kernels/attention_gpu.rs (lavapipe's loop
// budget applies when tests force this path there): a loop added here must be added there.

// Params and bindings 0, 1, 4, 5, 6: attention_io.wgsl.

// vec4s of query / output a workgroup holds: heads_per_inv * head_dim / 4 (the host keeps it so).
const MAX_ACC: u32 = 256u;
// Keys per tile: at most 16, and at most MAX_ACC vec4s of keys (4 keys of head_dim 256).
const MAX_TILE: u32 = 16u;

// With attention_online.wgsl's qs ([head j][dim vec4 i]) and kt ([key tt][dim vec4 i]) of
// TILE_VEC4 = MAX_ACC vec4s.
var<workgroup> acc: array<vec4<f32>, MAX_ACC>;  // [head j][dim vec4 i], unnormalised output
// sc, m, l, corr (one row per head j) and online_softmax: attention_online.wgsl.

@compute @workgroup_size(WG)
fn attention_gpu(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    // Workgroup-uniform from here to the end (barriers sit in these loops).
    let w = wid.x + wid.y * nwg.x;
    if (w >= chunk_count()) {
        return;
    }
    let ch = chunk_of(w);
    let d4 = p.head_dim / 4u;
    let tile = min(MAX_TILE, MAX_ACC / d4);

    for (var e = lane; e < ch.nh * d4; e += WG) {
        qs[e] = q[ch.row0 * d4 + e];
        acc[e] = vec4<f32>(0.0);
    }
    if (lane < ch.nh) {
        m[lane] = NO_SCORE;
        l[lane] = 0.0;
    }
    for (var t0 = ch.lo; t0 < ch.hi; t0 += tile) {
        let tk = min(tile, ch.hi - t0);
        workgroupBarrier();  // the previous tile's kt and sc are used up
        for (var e = lane; e < tk * d4; e += WG) {
            let t = t0 + e / d4;
            kt[e] = load_k(((ch.b * p.kv_cap + t % p.kv_cap) * p.n_kv_head + ch.kvh) * d4 + e % d4);
        }
        workgroupBarrier();
        // Scores, one (head, key) pair per lane; masked keys get NO_SCORE.
        for (var e = lane; e < ch.nh * tile; e += WG) {
            let j = e / tile;
            let tt = e % tile;
            var x = NO_SCORE;
            let t = t0 + tt;
            if (tt < tk && (p.use_mask == 0u || mask[ch.b * p.kv_len + t] != 0u)) {
                x = tile_score(j, tt, d4);
            }
            sc[e] = x;
        }
        workgroupBarrier();
        // Online softmax, one lane per head: the scores become weights.
        if (lane < ch.nh) {
            online_softmax(lane, tile, tk);
        }
        workgroupBarrier();
        // Values: lanes across (head, dim vec4); adjacent lanes read adjacent bytes of a row.
        for (var e = lane; e < ch.nh * d4; e += WG) {
            let j = e / d4;
            let i = e % d4;
            var a = acc[e] * corr[j];
            for (var tt = 0u; tt < tk; tt++) {
                let t = t0 + tt;
                a += sc[j * tile + tt] * load_v(((ch.b * p.kv_cap + t % p.kv_cap) * p.n_kv_head + ch.kvh) * d4 + i);
            }
            acc[e] = a;
        }
    }
    workgroupBarrier();
    for (var e = lane; e < ch.nh * d4; e += WG) {
        let j = e / d4;
        part_acc[((ch.row0 + j) * p.n_chunks + ch.c) * d4 + e % d4] = acc[e];
    }
    if (lane < ch.nh) {
        part_ml[(ch.row0 + lane) * p.n_chunks + ch.c] = vec2<f32>(m[lane], l[lane]);
    }
}
