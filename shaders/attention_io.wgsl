// What both attention kernels (attention.wgsl for software adapters, attention_gpu.wgsl for real
// GPUs) share: the uniform and the bindings of queries, mask and the per-chunk parts that
// attention_combine adds up. The KV reader (kv_f32.wgsl or kv_f16.wgsl: bindings 2 and 3) comes
// first, this next, then the kernel.

struct Params {
    batch: u32,
    q_len: u32,
    kv_len: u32,
    kv_cap: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    pos0: u32,
    causal: u32,
    window: u32,
    use_mask: u32,
    softcap: f32,
    scale: f32,
    chunk: u32,     // keys per chunk: one partial invocation (software) or workgroup (GPU path)
    n_chunks: u32,
    // Query heads of one kv head per invocation or workgroup (a kv head's last group may be
    // smaller; on the GPU path heads_per_inv * head_dim / 4 <= MAX_ACC).
    heads_per_inv: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
// Per (row, chunk): the unnormalised output, and (running max, sum of exp).
@group(0) @binding(5) var<storage, read_write> part_acc: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> part_ml: array<vec2<f32>>;

// One unit of attention work: a (batch b, query s, kv head) row, a group of `nh` of that kv
// head's query heads starting at h0, and one chunk of keys [lo, hi) of those the query sees.
struct Chunk {
    b: u32,
    s: u32,
    kvh: u32,
    c: u32,     // the key chunk
    h0: u32,
    nh: u32,
    row0: u32,  // (b, s, h0) flattened, as in q
    qpos: u32,
    lo: u32,
    hi: u32,
}

// Units of work: (b, s, kv head, head group) rows times key chunks. Ids past the end (a
// dispatch rounded up or folded into 2D) do nothing.
fn chunk_count() -> u32 {
    let head_groups = (p.n_head / p.n_kv_head + p.heads_per_inv - 1u) / p.heads_per_inv;
    return p.batch * p.q_len * p.n_kv_head * head_groups * p.n_chunks;
}

// Unit `id`: key chunks are the fastest index, then head groups, kv heads, queries and batches.
// Key t is visible when t < kv_len and, if causal, t <= qpos and (window == 0 or
// t > qpos - window).
fn chunk_of(id: u32) -> Chunk {
    let group = p.n_head / p.n_kv_head;
    let head_groups = (group + p.heads_per_inv - 1u) / p.heads_per_inv;
    let irow = id / p.n_chunks;
    let c = id % p.n_chunks;
    let hg = irow % head_groups;
    let kvh = (irow / head_groups) % p.n_kv_head;
    let s = (irow / (head_groups * p.n_kv_head)) % p.q_len;
    let b = irow / (head_groups * p.n_kv_head * p.q_len);
    let h0 = kvh * group + hg * p.heads_per_inv;
    let qpos = p.pos0 + s;
    let keys = chunk_keys(c, qpos, qpos);
    let nh = min(p.heads_per_inv, group - hg * p.heads_per_inv);
    return Chunk(b, s, kvh, c, h0, nh, (b * p.q_len + s) * p.n_head + h0, qpos, keys.x, keys.y);
}

// Keys [lo, hi) of chunk c that some query at positions first..=last sees: when causal, up to
// the last query and from the first one's window start.
fn chunk_keys(c: u32, first: u32, last: u32) -> vec2<u32> {
    var lo = c * p.chunk;
    var hi = min(p.kv_len, lo + p.chunk);
    if (p.causal != 0u) {
        hi = min(hi, last + 1u);
        if (p.window != 0u && first + 1u > p.window) {
            lo = max(lo, first + 1u - p.window);
        }
    }
    return vec2<u32>(lo, hi);
}
