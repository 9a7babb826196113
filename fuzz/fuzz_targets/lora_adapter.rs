//! libFuzzer entry for `harness::lora_adapter` (the input handling lives there, shared with the stable
//! replay test tests/fuzz_replay.rs).
#![no_main]

// Each binary calls one handler of the shared file.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::lora_adapter(data));
