//! GgufFile::parse on arbitrary bytes, as a whole file (file_len = len) and as a prefix of a
//! longer file (which must either parse or ask for more, never panic or over-allocate).
#![no_main]

use libfuzzer_sys::fuzz_target;
use webslm::formats::gguf::GgufFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = GgufFile::parse(data, data.len() as u64) {
        // Every range handed out must lie inside the file.
        for t in f.tensors() {
            assert!(t.range().end <= data.len() as u64);
        }
        let _ = f.arch();
        let _ = webslm::formats::inspect::inspect_gguf(&f);
    }
    let _ = GgufFile::parse(data, (data.len() as u64).saturating_mul(3) + 1000);
});
