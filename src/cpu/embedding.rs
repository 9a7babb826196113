//! Reference token-embedding lookup from a (possibly quantised) table.

use crate::formats::quant::{dequantize, WeightFormat};

/// Returns `[ids.len(), k]`: row `t` is the dequantised table row `ids[t]`.
///
/// `table` is `rows` rows of `k` elements in `fmt`; each looked-up row is
/// dequantised on its own (rows are whole blocks, so this equals slicing a
/// fully dequantised table).
///
/// Panics (test reference) if `table` is not a whole number of rows or an id
/// is out of range.
pub fn embedding(table: &[u8], fmt: WeightFormat, k: usize, ids: &[u32]) -> Vec<f32> {
    let row_bytes = match fmt.row_bytes(k) {
        Ok(rb) if rb > 0 => rb,
        Ok(_) => panic!("embedding: k must be > 0"),
        Err(e) => panic!("embedding: {e}"),
    };
    assert_eq!(table.len() % row_bytes, 0, "embedding: ragged table");
    let rows = table.len() / row_bytes;
    let mut out = vec![0.0f32; ids.len() * k];
    for (&id, dst) in ids.iter().zip(out.chunks_exact_mut(k)) {
        let id = id as usize;
        assert!(id < rows, "embedding: id {id} out of range ({rows} rows)");
        let src = &table[id * row_bytes..(id + 1) * row_bytes];
        if let Err(e) = dequantize(fmt, src, k, dst) {
            panic!("embedding: {e}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::quant::{random_weights, ALL_FORMATS};

    #[test]
    fn picks_rows() {
        for f in ALL_FORMATS {
            let (rows, k) = (6, 256);
            let t = random_weights(f, rows, k, 4);
            let mut full = vec![0.0; rows * k];
            dequantize(f, &t, k, &mut full).unwrap();
            let e = embedding(&t, f, k, &[5, 0, 5, 2]);
            for (i, id) in [5usize, 0, 5, 2].into_iter().enumerate() {
                assert_eq!(e[i * k..(i + 1) * k], full[id * k..(id + 1) * k]);
            }
        }
    }

    #[test]
    #[should_panic]
    fn out_of_range_panics() {
        let t = random_weights(WeightFormat::F32, 2, 4, 1);
        embedding(&t, WeightFormat::F32, 4, &[2]);
    }
}
