// out[t][:] = W[ids[t]][:], decoded from the table's own block format (LOAD_W4). One dispatch
// per bound part of the table; ids outside a part are left to the part that holds them.

struct Params {
    n_ids: u32,
    k: u32,          // row length
    row0: u32,       // first table row in this part
    rows: u32,       // rows in this part
    total_rows: u32, // rows in the whole table
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: WEIGHTS_TYPE;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn embedding(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    let per_row = (p.k + 3u) / 4u;
    let t = id / per_row;
    if (t >= p.n_ids) {
        return;
    }
    let k = (id % per_row) * 4u;
    let row = ids[t];
    var v = vec4<f32>(0.0);
    if (row >= p.row0 && row < p.row0 + p.rows) {
        v = LOAD_W4(row - p.row0, k, p.k);
    } else if (!(row >= p.total_rows && p.row0 == 0u)) {
        // Another part owns this row. (An id past the table is written as zeros by part 0.)
        return;
    }
    let o = t * p.k + k;
    for (var i = 0u; i < 4u; i++) {
        if (k + i < p.k) {
            out[o + i] = v[i];
        }
    }
}
