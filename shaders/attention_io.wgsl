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
