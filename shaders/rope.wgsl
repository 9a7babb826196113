// Rotary position embedding, in place on x = [seq, heads, head_dim] and, in the same dispatch,
// on x2 = [seq, heads2, head_dim] (the keys beside the queries: one dispatch instead of two).
// Token s sits at position pos0 + s. Only the first rot_dims of each head rotate (partial
// rotary, e.g. Phi-2).
//   normal layout (llama.cpp ROPE_TYPE_NORM): pairs (2i, 2i+1)
//   NEOX layout (HF rotate_half):             pairs (i, i + rot_dims/2)
// inv_freq[i] = base^(-2i/rot_dims), computed on the host so that scaled variants (Llama 3,
// linear, YaRN) only change that table. With heads2 = 0, x2 is a scratch buffer never touched.

struct Params {
    seq: u32,
    heads: u32,
    head_dim: u32,
    rot_dims: u32,
    pos0: u32,
    neox: u32,
    heads2: u32,
    _pad: u32, // the host's struct is 32 bytes; sizes match so a field added on one side shows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> x2: array<f32>;

@compute @workgroup_size(WG)
fn rope(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(g, nwg);
    let half = p.rot_dims / 2u;
    let i = id % half;
    let per_token = p.heads + p.heads2;
    let head = id / half;
    if (head >= p.seq * per_token) {
        return;
    }
    let s = head / per_token;
    let h = head % per_token;
    let theta = f32(p.pos0 + s) * inv_freq[i];
    let c = cos(theta);
    let sn = sin(theta);
    var a = 2u * i;
    var b = a + 1u;
    if (p.neox != 0u) {
        a = i;
        b = i + half;
    }
    if (h < p.heads) {
        let base = (s * p.heads + h) * p.head_dim;
        let x0 = x[base + a];
        let x1 = x[base + b];
        x[base + a] = x0 * c - x1 * sn;
        x[base + b] = x0 * sn + x1 * c;
    } else {
        let base = (s * p.heads2 + h - p.heads) * p.head_dim;
        let x0 = x2[base + a];
        let x1 = x2[base + b];
        x2[base + a] = x0 * c - x1 * sn;
        x2[base + b] = x0 * sn + x1 * c;
    }
}
