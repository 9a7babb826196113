// The key and value rows attention reads, stored as f32 (encoders' fresh K and V, and the
// decoder KV cache when it is kept in f32). kv_f16.wgsl is its twin: the attention kernels call
// only load_k / load_v, so one kernel text serves both formats.

@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;

// Elements 4i..4i+3.
fn load_k(i: u32) -> vec4<f32> {
    return k[i];
}

fn load_v(i: u32) -> vec4<f32> {
    return v[i];
}
