//! tokenizer.json loading on arbitrary bytes; what loads must also encode and decode a short text
//! without panicking.
//!
//! Found by this target (tokenizers 0.23.2): `Tokenizer::from_bytes` *panics* ("Helper: Error(
//! \"invalid escape\" ...)", decoders/mod.rs:90) when the "decoder" object holds malformed JSON,
//! because its deserializer calls `.expect()`. So the file is first parsed as a
//! `serde_json::Value`, which rejects malformed JSON with an error; the tokenizer is built from that
//! value. webslm's own loader must do the same (or catch the unwind). The crashing input is kept as
//! seeds/tokenizer_json/regress_decoder_invalid_escape.json.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(tok) = serde_json::from_value::<tokenizers::Tokenizer>(json) else { return };
    if let Ok(enc) = tok.encode("Hello, wörld! 123  \n\t 你好", true) {
        let _ = tok.decode(enc.get_ids(), false);
    }
});
