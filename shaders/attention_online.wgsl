// What the two real-GPU attention kernels (attention_gpu.wgsl for decode, attention_prefill_gpu.wgsl
// for prefill) share: the query rows and the current key tile in workgroup memory and the score of
// a (row, key) pair, each row's online softmax state, and the step that turns a tile's scores into
// weights. A row is a query head (decode) or a (query, query head) pair
// (prefill); the kernel's lane `row` runs the step for its row, after a barrier that makes the
// tile's scores visible, and before one that publishes the weights and `corr`.

const NO_SCORE: f32 = -3.0e38;
// Rows one workgroup may hold (decode: up to 16 heads; prefill: up to 32 rows).
const SOFTMAX_ROWS: u32 = 32u;

// vec4s of query rows, and of the current tile's keys: [row or key][dim vec4].
const TILE_VEC4: u32 = 256u;
var<workgroup> qs: array<vec4<f32>, TILE_VEC4>;
var<workgroup> kt: array<vec4<f32>, TILE_VEC4>;
var<workgroup> sc: array<f32, 512>;          // [row][key of the tile]: score, then weight (32 x 16)
var<workgroup> m: array<f32, SOFTMAX_ROWS>;     // running max per row
var<workgroup> l: array<f32, SOFTMAX_ROWS>;     // running sum of exp per row
var<workgroup> corr: array<f32, SOFTMAX_ROWS>;  // this tile's rescale of each row's output

// Query row `row` against key `tt` of the tile: scale * q.k, soft-capped (Gemma 2).
fn tile_score(row: u32, tt: u32, d4: u32) -> f32 {
    var dot_qk = 0.0;
    for (var i = 0u; i < d4; i++) {
        dot_qk += dot(qs[row * d4 + i], kt[tt * d4 + i]);
    }
    var x = dot_qk * p.scale;
    if (p.softcap > 0.0) {
        x = p.softcap * tanh(clamp(x / p.softcap, -15.0, 15.0));
    }
    return x;
}

// Row `row`'s scores sc[row * tile + tt], tt < tk, become weights against the new running max;
// masked keys (NO_SCORE) weigh 0, and a row that has seen no key yet keeps its (zero) output.
fn online_softmax(row: u32, tile: u32, tk: u32) {
    var m_new = m[row];
    for (var tt = 0u; tt < tk; tt++) {
        m_new = max(m_new, sc[row * tile + tt]);
    }
    var sum = 0.0;
    for (var tt = 0u; tt < tk; tt++) {
        let x = sc[row * tile + tt];
        let wt = select(exp(x - m_new), 0.0, x == NO_SCORE);
        sc[row * tile + tt] = wt;
        sum += wt;
    }
    let cr = select(exp(m[row] - m_new), 1.0, m[row] == NO_SCORE);
    corr[row] = cr;
    l[row] = l[row] * cr + sum;
    m[row] = m_new;
}
