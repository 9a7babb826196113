// Tiled flash attention for prefill on real GPUs (q_len > 1; decode keeps attention_gpu.wgsl's
// split-K flash decoding). The queries of one kv head, with the query heads sharing it (GQA),
// are flattened into rows r = s * group + j (query s, head j of the group), and one 64-lane
// workgroup takes a tile of `rows` consecutive rows against one chunk of keys:
//   - the tile's queries are staged once in workgroup memory;
//   - for each tile of `tile` keys: lanes load the keys and values into workgroup memory
//     (adjacent lanes, adjacent bytes), score every (row, key) pair, one lane per row updates its
//     online softmax (running max and sum), and lanes across head_dim add the weighted values;
//   - each key and value row is fetched once for all the rows of the tile (a SmolLM2 tile is 16
//     rows: 5 queries x 3 heads), where the decode kernel fetches it once per query.
// Each lane owns one vec4 column i of head_dim and rows g, g + groups, g + 2 groups, g + 3 groups
// (g = lane / d4): four vec4 accumulators held in named registers, so no private array is ever
// indexed dynamically (a real GPU would spill it to slow memory).
// It writes the same per-(row, chunk) parts as the other attention kernels, so attention_combine
// (attention.wgsl, same Params) merges the chunks and normalises.
// Layouts and masking rules are those of attention.wgsl:
//   q   [batch, q_len, n_head, head_dim]
//   k,v [batch, kv_cap, n_kv_head, head_dim], position t in slot t % kv_cap; f32 or packed f16
//       (kv_f32.wgsl or kv_f16.wgsl comes first: bindings 2 and 3, load_k / load_v)
// Every barrier sits in control flow that is uniform over the workgroup (Chrome's Tint rejects
// any other): the key-tile loop's bounds come from the workgroup id and the uniform only.
// Loops here are counted one by one by `prefill_cost` in kernels/attention_prefill_gpu.rs
// (lavapipe's loop budget applies when tests force this path there): a loop added here must be
// added there.

// Params, bindings 0, 1, 4, 5, 6 and chunk_keys: attention_io.wgsl; the softmax state and
// online_softmax: attention_online.wgsl.

// Accumulator rows per lane: a0..a3 below.
const ROWS_PER_LANE: u32 = 4u;
// Lane groups across rows: groups = min(MAX_GROUPS, WG / d4), rows = 4 * groups <= 32
// (SOFTMAX_ROWS).
const MAX_GROUPS: u32 = 8u;
// vec4s of the query tile (rows * d4 <= 4 * WG = 256), of a key tile and of a value tile.
const MAX_VEC4: u32 = 256u;
// Keys per tile: at most 16, and at most MAX_VEC4 vec4s (4 keys of head_dim 256).
const MAX_TILE: u32 = 16u;

// With attention_online.wgsl's qs, kt (MAX_VEC4 = TILE_VEC4), sc, m, l and corr (one per row
// r, up to SOFTMAX_ROWS):
// 3 x 4 KiB + 2 KiB + 384 B, within the 16 KiB of workgroup memory every WebGPU device has.
var<workgroup> vt: array<vec4<f32>, MAX_VEC4>;  // [key tt][dim vec4 i] of the current tile

// Flattened row r of kv head kvh in batch b, as a row of q (and of the parts).
fn q_row(b: u32, kvh: u32, r: u32) -> u32 {
    let group = p.n_head / p.n_kv_head;
    return (b * p.q_len + r / group) * p.n_head + kvh * group + r % group;
}

// Whether the query at qpos may see key t (before the padding mask).
fn visible(t: u32, qpos: u32) -> bool {
    if (p.causal == 0u) {
        return true;
    }
    return t <= qpos && (p.window == 0u || t + p.window > qpos);
}

// Adds row r's unnormalised output column to its part (rows past the tile's end are not written).
fn write_part(b: u32, kvh: u32, r0: u32, nr: u32, r: u32, c: u32, d4: u32, i: u32, a: vec4<f32>) {
    if (r < nr) {
        part_acc[(q_row(b, kvh, r0 + r) * p.n_chunks + c) * d4 + i] = a;
    }
}

@compute @workgroup_size(WG)
fn attention_prefill_gpu(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // Workgroup-uniform from here to the end of the key-tile loop (barriers sit in it): the
    // workgroup id, not the lane, picks the work.
    let w = wid.x + wid.y * nwg.x;
    let d4 = p.head_dim / 4u;
    let groups = min(MAX_GROUPS, WG / d4);
    let rows = ROWS_PER_LANE * groups;
    let tile = min(MAX_TILE, MAX_VEC4 / d4);
    let group = p.n_head / p.n_kv_head;
    let all_rows = p.q_len * group;
    let n_tiles = (all_rows + rows - 1u) / rows;
    // Workgroups: key chunks fastest, then row tiles, kv heads, batches.
    if (w >= p.batch * p.n_kv_head * n_tiles * p.n_chunks) {
        return;
    }
    let c = w % p.n_chunks;
    let r0 = (w / p.n_chunks) % n_tiles * rows;
    let kvh = (w / (p.n_chunks * n_tiles)) % p.n_kv_head;
    let b = w / (p.n_chunks * n_tiles * p.n_kv_head);
    let nr = min(rows, all_rows - r0);
    // The chunk's keys that some row of the tile sees: up to the last query (causal), from the
    // first query's window start.
    let first_pos = p.pos0 + r0 / group;
    let last_pos = p.pos0 + (r0 + nr - 1u) / group;
    let keys = chunk_keys(c, first_pos, last_pos);
    let lo = keys.x;
    let hi = keys.y;

    for (var e = lane; e < rows * d4; e += WG) {
        let r = e / d4;
        var x = vec4<f32>(0.0);
        if (r < nr) {
            x = q[q_row(b, kvh, r0 + r) * d4 + e % d4];
        }
        qs[e] = x;
    }
    if (lane < rows) {
        m[lane] = NO_SCORE;
        l[lane] = 0.0;
    }
    // This lane's column, and its rows g + groups * u: lanes past groups * d4 only load.
    let i = lane % d4;
    let g = lane / d4;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var t0 = lo; t0 < hi; t0 += tile) {
        let tk = min(tile, hi - t0);
        workgroupBarrier();  // the previous tile's kt, vt, sc and corr are used up
        for (var e = lane; e < tk * d4; e += WG) {
            let at = ((b * p.kv_cap + (t0 + e / d4) % p.kv_cap) * p.n_kv_head + kvh) * d4 + e % d4;
            kt[e] = load_k(at);
            vt[e] = load_v(at);
        }
        workgroupBarrier();
        // Scores, one (row, key) pair per lane; keys a row may not see get NO_SCORE.
        for (var e = lane; e < rows * tile; e += WG) {
            let r = e / tile;
            let tt = e % tile;
            let t = t0 + tt;
            var x = NO_SCORE;
            if (tt < tk && visible(t, p.pos0 + (r0 + r) / group)
                && (p.use_mask == 0u || mask[b * p.kv_len + t] != 0u)) {
                x = tile_score(r, tt, d4);
            }
            sc[e] = x;
        }
        workgroupBarrier();
        // Online softmax, one lane per row: the scores become weights.
        if (lane < rows) {
            online_softmax(lane, tile, tk);
        }
        workgroupBarrier();
        // Values: each value vec4 read once from workgroup memory into the lane's four rows.
        if (g < groups) {
            let s0 = g * tile;
            let s1 = (g + groups) * tile;
            let s2 = (g + 2u * groups) * tile;
            let s3 = (g + 3u * groups) * tile;
            a0 *= corr[g];
            a1 *= corr[g + groups];
            a2 *= corr[g + 2u * groups];
            a3 *= corr[g + 3u * groups];
            for (var tt = 0u; tt < tk; tt++) {
                let vv = vt[tt * d4 + i];
                a0 += sc[s0 + tt] * vv;
                a1 += sc[s1 + tt] * vv;
                a2 += sc[s2 + tt] * vv;
                a3 += sc[s3 + tt] * vv;
            }
        }
    }
    // Each lane reads back only what it wrote itself (its accumulators; lane r's m and l).
    if (g < groups) {
        write_part(b, kvh, r0, nr, g, c, d4, i, a0);
        write_part(b, kvh, r0, nr, g + groups, c, d4, i, a1);
        write_part(b, kvh, r0, nr, g + 2u * groups, c, d4, i, a2);
        write_part(b, kvh, r0, nr, g + 3u * groups, c, d4, i, a3);
    }
    if (lane < nr) {
        part_ml[q_row(b, kvh, r0 + lane) * p.n_chunks + c] = vec2<f32>(m[lane], l[lane]);
    }
}
