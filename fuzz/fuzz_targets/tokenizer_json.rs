//! tokenizers::Tokenizer::from_bytes on arbitrary bytes; what loads must also encode and decode
//! a short text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tok) = tokenizers::Tokenizer::from_bytes(data) {
        if let Ok(enc) = tok.encode("Hello, wörld! 123  \n\t 你好", true) {
            let _ = tok.decode(enc.get_ids(), false);
        }
    }
});
