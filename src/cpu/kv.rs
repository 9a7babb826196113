//! The f16 KV cache on the CPU: what `kv_append.wgsl` stores (f32 rounded to the nearest f16,
//! ties to even, as `pack2x16float` does on the adapters tested), so the attention twin can be fed
//! exactly the values the GPU kernel reads back.

use half::f16;

/// `x` rounded to f16 and widened back: the value an f16 cache holds for `x`.
pub fn round_f16(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| f16::from_f32(v).to_f32()).collect()
}

/// `x` as f16 pairs packed in u32 words, the even element in the low half (`pack2x16float`).
/// An odd length leaves the last word's high half zero.
pub fn pack_f16(x: &[f32]) -> Vec<u32> {
    x.chunks(2)
        .map(|p| {
            let lo = f16::from_f32(p[0]).to_bits() as u32;
            let hi = p.get(1).map_or(0, |&h| f16::from_f32(h).to_bits() as u32);
            lo | hi << 16
        })
        .collect()
}

/// The cache after appending `n` rows of `row` values at positions `pos0..pos0 + n` to a ring of
/// `cap` slots (`cache` is `[cap, row]`, packed as [`pack_f16`]).
///
/// Panics (test reference) on length mismatches or an odd `row`.
pub fn append(cache: &mut [u32], new: &[f32], row: usize, cap: usize, pos0: usize) {
    assert!(
        row.is_multiple_of(2) && cache.len() == cap * row / 2,
        "kv append: cache shape"
    );
    assert!(new.len().is_multiple_of(row), "kv append: rows");
    for (s, r) in new.chunks_exact(row).enumerate() {
        let slot = (pos0 + s) % cap;
        cache[slot * row / 2..][..row / 2].copy_from_slice(&pack_f16(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_nearest_even_and_packs_low_first() {
        // 1 + 2^-11 is halfway between two f16 values: ties go to the even one (1.0).
        assert_eq!(
            round_f16(&[1.0 + 2f32.powi(-11), 0.1]),
            vec![1.0, f16::from_f32(0.1).to_f32()]
        );
        assert_eq!(pack_f16(&[1.0, -2.0, 0.5]), vec![0x3c00 | 0xc000 << 16, 0x3800]);
    }

    #[test]
    fn append_wraps_around_the_ring() {
        let mut cache = vec![0u32; 3];
        append(&mut cache, &[1.0, 1.0, 2.0, 2.0], 2, 3, 2);
        assert_eq!(cache, vec![pack_f16(&[2.0, 2.0])[0], 0, pack_f16(&[1.0, 1.0])[0]]);
    }
}
