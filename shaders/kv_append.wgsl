// Appends new keys and values to an f16 KV cache: one invocation per (token, pair of elements)
// rounds both the key pair and the value pair to f16 and packs each into one u32 word
// (pack2x16float: no shader-f16 needed). Token s (position pos0 + s) lands in slot
// (pos0 + s) % cap, so a sliding-window layer's ring buffer wraps here.
//   k, v    [n, row] f32 (row = n_kv_head * head_dim, even), read as pairs
//   kc, vc  [cap, row / 2] u32 words

struct Params {
    n: u32,
    half_row: u32,  // row / 2: words per cached row
    cap: u32,
    pos0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> k: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> kc: array<u32>;
@group(0) @binding(4) var<storage, read_write> vc: array<u32>;

@compute @workgroup_size(WG)
fn kv_append(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    if (id >= p.n * p.half_row) {
        return;
    }
    let s = id / p.half_row;
    let j = id % p.half_row;
    let dst = ((p.pos0 + s) % p.cap) * p.half_row + j;
    kc[dst] = pack2x16float(k[id]);
    vc[dst] = pack2x16float(v[id]);
}
