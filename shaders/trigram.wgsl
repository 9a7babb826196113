// MobileBERT's trigram input: each position's embedding becomes [e(t+1), e(t), e(t-1)], with
// zeros where the neighbour is outside the sequence. HF pads with zeros at the ends of the
// padded batch; here a neighbour whose mask is 0 (padding) also reads as zero, so a sequence
// gives the same result alone or in a batch (HF would read the pad token's embedding there).
// One invocation per output value.

struct Params {
    batch: u32,
    seq: u32,
    dim: u32, // embedding width; the output rows are 3 * dim
    mode: u32, // unused: the host writes pool's Params (see kernels/pool.rs)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> e: array<f32>;      // [batch, seq, dim]
@group(0) @binding(2) var<storage, read> mask: array<u32>;   // [batch, seq]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [batch, seq, 3 * dim]

@compute @workgroup_size(WG)
fn trigram(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(g, nwg);
    let width = 3u * p.dim;
    if (i >= p.batch * p.seq * width) {
        return;
    }
    let row = i / width; // b * seq + t
    let c = i % width;
    let part = c / p.dim; // 0: next, 1: this, 2: previous
    let d = c % p.dim;
    let t = row % p.seq;
    var v = 0.0;
    if (part == 1u) {
        v = e[row * p.dim + d];
    } else if (part == 0u) {
        if (t + 1u < p.seq && mask[row + 1u] != 0u) {
            v = e[(row + 1u) * p.dim + d];
        }
    } else if (t > 0u && mask[row - 1u] != 0u) {
        v = e[(row - 1u) * p.dim + d];
    }
    y[i] = v;
}
