// F16 weights read as native `array<f16>`, for adapters with shader-f16. Kept in its own file:
// a module that merely mentions f16 fails to compile where the feature is missing, and those
// devices use `load_w4_f16` from weights.wgsl instead. Must come first in the module.
enable f16;

fn load_w4_f16_native(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = row * k_len + k;
    if (k + 4u <= k_len) {
        return vec4<f32>(f32(weights[b]), f32(weights[b + 1u]), f32(weights[b + 2u]), f32(weights[b + 3u]));
    }
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < k_len) {
            v[i] = f32(weights[b + i]);
        }
    }
    return v;
}

fn load_w32_f16_native(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let k = c * 32u;
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j++) {
        out[j] = load_w4_f16_native(row, k + 4u * j, k_len);
    }
    return out;
}
