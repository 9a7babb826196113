// gemv_gpu's reduction on devices with subgroups: subgroupAdd sums each subgroup's lanes, the
// subgroups' sums meet in workgroup memory, and lane r adds up row r's. The subgroup size is
// whatever the device runs (4 to 128 lanes); nothing here assumes one. (On the web this module
// needs `enable subgroups;`, which the host prepends there: naga rejects the directive.)

struct Lane {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(subgroup_id) sg: u32,
    @builtin(num_subgroups) n_sg: u32,
}

// Subgroup s's sum for row r at [s * ROWS + r]: at most WG subgroups (of one lane each), and
// the host keeps ROWS * WG <= 512.
var<workgroup> red: array<vec4<f32>, 512>;

// The workgroup's sum of a0..a3 (one per row) for row `lane.lid`, in lanes lid < ROWS.
fn row_totals(lane: Lane, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) -> vec4<f32> {
    let s0 = subgroupAdd(a0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    if (ROWS > 1u) {
        s1 = subgroupAdd(a1);
    }
    if (ROWS > 2u) {
        s2 = subgroupAdd(a2);
        s3 = subgroupAdd(a3);
    }
    if (lane.sg_lane == 0u) {
        let b = lane.sg * ROWS;
        red[b] = s0;
        if (ROWS > 1u) {
            red[b + 1u] = s1;
        }
        if (ROWS > 2u) {
            red[b + 2u] = s2;
            red[b + 3u] = s3;
        }
    }
    workgroupBarrier();
    var t = vec4<f32>(0.0);
    if (lane.lid < ROWS) {
        for (var s = 0u; s < lane.n_sg; s++) {
            t += red[s * ROWS + lane.lid];
        }
    }
    return t;
}
