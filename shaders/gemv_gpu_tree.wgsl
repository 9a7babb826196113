// gemv_gpu's reduction on devices without subgroups: a tree in workgroup memory, log2(WG)
// halving steps, all ROWS rows at once.

struct Lane {
    @builtin(local_invocation_index) lid: u32,
}

// Row r's partial sums at [r * WG ..]: the host keeps ROWS * WG <= 512 (8 KiB, half of the
// 16 KiB every WebGPU device offers).
var<workgroup> red: array<vec4<f32>, 512>;

// The workgroup's sum of a0..a3 (one per row) for row `lane.lid`, in lanes lid < ROWS.
fn row_totals(lane: Lane, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) -> vec4<f32> {
    let l = lane.lid;
    red[l] = a0;
    if (ROWS > 1u) {
        red[WG + l] = a1;
    }
    if (ROWS > 2u) {
        red[2u * WG + l] = a2;
        red[3u * WG + l] = a3;
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (l < s) {
            red[l] += red[l + s];
            if (ROWS > 1u) {
                red[WG + l] += red[WG + l + s];
            }
            if (ROWS > 2u) {
                red[2u * WG + l] += red[2u * WG + l + s];
                red[3u * WG + l] += red[3u * WG + l + s];
            }
        }
        workgroupBarrier();
    }
    return red[min(l, ROWS - 1u) * WG];
}
