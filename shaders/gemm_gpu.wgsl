// Prefill GEMM for real GPUs: y[m][row0 + r] = sum_k x[m][k] * W[r][k], in 32 x 32 output tiles
// staged through workgroup memory.
//
// Appended to matmul.wgsl by the host (shaders::with_weights_tiled), so it shares Params, the
// bindings, the epilogue `store`, `load_x4` and the CHUNKS / EPILOGUE / X_VEC4 overrides;
// `TileT` (f16 where the device has shader-f16 and the format's values fit f16, else f32) is
// declared by the host after this text.
//
// Why this shape (the software path's `gemm` has no shared memory: see ARCHITECTURE.md):
// - a workgroup of 64 lanes (8 x 8) owns 32 tokens x 32 weight rows; each lane accumulates a 4 x 4
//   register block in f32;
// - per 32-wide K step, lanes 0..31 each decode one weight row's 32 weights (a whole block of the
//   32-weight formats, a sub-block of the K-quants) with LOAD_W32, so each weight block is decoded
//   once per tile and its scales once per block; lanes 32..63 stage the 32 tokens' x values;
// - then every lane reads its 4 rows and 4 tokens from workgroup memory: each decoded weight is
//   reused by 32 tokens and each x value by 32 rows, against 1 and 4 in registers alone;
// - lane (tx, ty) owns rows tx + 8j and tokens ty + 8i, so adjacent lanes read adjacent rows of
//   the tile (a 36-word row pitch puts them on distinct banks) and write adjacent outputs.

const TILE: u32 = 32u;
// Row pitch of both tiles in vec4s: 8 hold a row's 32 values, 1 pads it off the bank of the next.
const PITCH: u32 = 9u;

var<workgroup> w_tile: array<vec4<TileT>, 288>; // [TILE rows][PITCH]: 32 weights of a row
var<workgroup> x_tile: array<vec4<f32>, 288>;   // [TILE tokens][PITCH]: 32 x values of a token

// x[m][k..k+4], zero past the row's end (the weights there are zero too, but 0 * x must not meet
// a NaN or inf read past the row).
fn tile_x4(m: u32, k: u32) -> vec4<f32> {
    if (k < p.k) {
        return load_x4(m, k);
    }
    return vec4<f32>(0.0);
}

@compute @workgroup_size(WG)
fn gemm_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    // Dispatches past maxComputeWorkgroupsPerDimension are folded into 2D (gpu/dispatch.rs).
    let tile = wid.x + wid.y * nwg.x;
    let row_tiles = (p.n + TILE - 1u) / TILE;
    let m0 = (tile / row_tiles) * TILE;
    if (m0 >= p.m) {
        return; // the whole workgroup leaves together: `tile` is uniform
    }
    let r0 = (tile % row_tiles) * TILE;
    let tx = li % 8u;
    let ty = li / 8u;
    // The row or token this lane stages, clamped to the last one (staged twice, stored once).
    let stage = li % TILE;
    let w_row = min(r0 + stage, p.n - 1u);
    let x_row = min(m0 + stage, p.m - 1u);

    var acc = mat4x4<f32>();
    for (var c = 0u; c < (p.k + TILE - 1u) / TILE; c++) {
        workgroupBarrier(); // the previous step's reads are done
        if (li < TILE) {
            if (CHUNKS) {
                // Written out: a private array indexed in a loop may spill on real GPUs.
                let w = LOAD_W32(w_row, c, p.k);
                let o = stage * PITCH;
                w_tile[o] = vec4<TileT>(w[0]);
                w_tile[o + 1u] = vec4<TileT>(w[1]);
                w_tile[o + 2u] = vec4<TileT>(w[2]);
                w_tile[o + 3u] = vec4<TileT>(w[3]);
                w_tile[o + 4u] = vec4<TileT>(w[4]);
                w_tile[o + 5u] = vec4<TileT>(w[5]);
                w_tile[o + 6u] = vec4<TileT>(w[6]);
                w_tile[o + 7u] = vec4<TileT>(w[7]);
            } else {
                // Float formats of any length: LOAD_W4 reads zeros past the row's end.
                for (var j = 0u; j < 8u; j++) {
                    w_tile[stage * PITCH + j] = vec4<TileT>(LOAD_W4(w_row, c * TILE + 4u * j, p.k));
                }
            }
        } else {
            for (var j = 0u; j < 8u; j++) {
                x_tile[stage * PITCH + j] = tile_x4(x_row, c * TILE + 4u * j);
            }
        }
        workgroupBarrier();
        for (var q = 0u; q < 8u; q++) {
            let xm = mat4x4<f32>(x_tile[ty * PITCH + q], x_tile[(ty + 8u) * PITCH + q],
                                 x_tile[(ty + 16u) * PITCH + q], x_tile[(ty + 24u) * PITCH + q]);
            let wm = mat4x4<f32>(vec4<f32>(w_tile[tx * PITCH + q]), vec4<f32>(w_tile[(tx + 8u) * PITCH + q]),
                                 vec4<f32>(w_tile[(tx + 16u) * PITCH + q]), vec4<f32>(w_tile[(tx + 24u) * PITCH + q]));
            // acc[i][j] = dot(x of token ty + 8i, w of row tx + 8j), as matmul.wgsl's gemm.
            acc += transpose(wm) * xm;
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + ty + 8u * i;
        if (m < p.m) {
            for (var j = 0u; j < 4u; j++) {
                let r = r0 + tx + 8u * j;
                if (r < p.n) {
                    store(m * p.n_out + p.row0 + r, acc[i][j]);
                }
            }
        }
    }
}
