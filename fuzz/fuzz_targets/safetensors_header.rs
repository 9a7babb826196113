//! SafetensorsFile::parse on arbitrary bytes (whole file, and as a prefix of a longer one), and
//! the shard index parser on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webslm::formats::safetensors::{SafetensorsFile, SafetensorsIndex};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = SafetensorsFile::parse(data, data.len() as u64) {
        for t in f.tensors() {
            assert!(t.range.start <= t.range.end && t.range.end <= data.len() as u64);
        }
    }
    let _ = SafetensorsFile::parse(data, (data.len() as u64).saturating_mul(3) + 1000);
    let _ = SafetensorsIndex::parse(data);
});
