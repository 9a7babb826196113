// The key and value rows attention reads, stored as f16 pairs packed in u32 words (written by
// kv_append.wgsl with pack2x16float): half the bytes of f32, and no shader-f16 needed, so it
// works on every adapter. kv_f32.wgsl is its twin.

@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;

// Elements 4i..4i+3 (two words: the low half of each word is the even element).
fn load_k(i: u32) -> vec4<f32> {
    let w = k[i];
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn load_v(i: u32) -> vec4<f32> {
    let w = v[i];
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
