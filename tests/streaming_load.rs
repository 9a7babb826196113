//! Weights pushed as a byte stream in odd-sized chunks (as the browser's fetch delivers them)
//! load the same models as the files do, holding at most one tensor at a time, and hash the
//! stream like sha256sum does.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use webslm::engine::{Engine, EngineOptions};
use webslm::formats::gguf::GgufFile;
use webslm::formats::safetensors::SafetensorsFile;
use webslm::models::decoder::Decoder;
use webslm::models::encoder::{Encoder, EncoderConfig};
use webslm::models::files::ModelFiles;
use webslm::models::streaming::StreamingSource;
use webslm::rng::Rng;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Pushes `bytes` in chunks of 1 to 5000 bytes.
fn push_all(ctx: &webslm::gpu::GpuContext, src: &mut StreamingSource, bytes: &[u8], seed: u64) {
    let mut rng = Rng::new(seed);
    let mut at = 0;
    while at < bytes.len() {
        let n = rng.usize_range(1, 5000).min(bytes.len() - at);
        src.push(ctx, &bytes[at..at + n]).expect("push");
        at += n;
    }
    assert!(src.is_complete());
    let want: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(src.sha256_hex(), want);
}

#[test]
fn gguf_decoder_from_a_stream() {
    let Some(ctx) = common::gpu() else { return };
    let path = fixture("decoders/tiny-qwen2/model-f32.gguf");
    let bytes = std::fs::read(&path).expect("fixture");
    let gguf = GgufFile::parse(&bytes, bytes.len() as u64).expect("header");
    let mut src = StreamingSource::for_gguf(&gguf, bytes.len() as u64);
    assert!(src.push(ctx, &bytes[..10]).is_ok());
    // Loading before the stream is complete names the missing tensor.
    let early = Decoder::load_gguf(ctx, &gguf, &mut src).err().expect("incomplete");
    assert!(early.to_string().contains("has not arrived"), "{early}");
    // The engine owns its device, so the weights go to a device of their own.
    let own = webslm::gpu::GpuContext::new_blocking(Default::default()).expect("gpu");
    let mut src = StreamingSource::for_gguf(&gguf, bytes.len() as u64);
    push_all(&own, &mut src, &bytes, 1);
    assert!(src.push(&own, &[0]).is_err(), "bytes past the end are refused");
    let streamed = Decoder::load_gguf(&own, &gguf, &mut src).expect("load");
    let mut a = Engine::new(own, streamed, ModelFiles::Gguf(gguf), &EngineOptions::default()).expect("engine");
    let mut b = Engine::load(&path, &EngineOptions::default()).expect("from file");
    let ids = [1, 2, 3, 40, 41];
    let (la, lb) = (a.forward(&ids, true).expect("a"), b.forward(&ids, true).expect("b"));
    assert_eq!(a.read_logits(&la).expect("a"), b.read_logits(&lb).expect("b"));
}

#[test]
fn safetensors_encoder_from_a_stream() {
    let Some(ctx) = common::gpu() else { return };
    let dir = fixture("encoders/tiny-mobilebert-qa");
    let bytes = std::fs::read(dir.join("model.safetensors")).expect("fixture");
    let header = SafetensorsFile::parse(&bytes, bytes.len() as u64).expect("header");
    let mut src = StreamingSource::for_safetensors(&header);
    push_all(ctx, &mut src, &bytes, 2);
    assert!(src.largest_tensor < bytes.len() as u64 / 2);
    let cfg = EncoderConfig::parse(&std::fs::read(dir.join("config.json")).expect("config")).expect("cfg");
    assert!(Encoder::load(ctx, cfg, &mut src).is_ok());
}
