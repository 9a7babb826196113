//! Block decoders against llama.cpp's own: `tests/fixtures/quant_blocks.json` holds raw blocks cut
//! from the shipped GGUFs (and, for formats they do not use, blocks that gguf-py quantised) with
//! the values llama.cpp's `gguf` Python package dequantises them to. Regenerate with
//! `scripts/fixtures/make_quant_fixtures.py`.

mod common;

use common::{assert_close, gpu, gpu_no_f16, run_f32};
use webslm::formats::quant::{dequantize, WeightFormat};
use webslm::gpu::GpuContext;
use webslm::kernels::{embedding::embedding, GpuWeight};

struct Fixture {
    format: WeightFormat,
    source: String,
    rows: usize,
    k: usize,
    bytes: Vec<u8>,
    values: Vec<f32>,
}

fn fixtures() -> Vec<Fixture> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quant_blocks.json"))
        .expect("fixture file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    let entries = json.as_array().expect("a list");
    entries
        .iter()
        .map(|e| {
            let hex = e["bytes_hex"].as_str().expect("bytes_hex");
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            Fixture {
                format: WeightFormat::from_ggml_type(e["ggml_type"].as_u64().expect("ggml_type") as u32)
                    .expect("known type"),
                source: e["source"].as_str().expect("source").to_string(),
                rows: e["rows"].as_u64().expect("rows") as usize,
                k: e["k"].as_u64().expect("k") as usize,
                bytes,
                values: e["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(|v| v.as_f64().expect("number") as f32)
                    .collect(),
            }
        })
        .collect()
}

/// Tolerance: gguf-py and these decoders do the same f32 operations in the same order; 1e-6
/// relative leaves room only for FMA contraction.
const DECODE_TOL: f32 = 1e-6;

#[test]
fn fixtures_cover_every_format() {
    let seen: Vec<WeightFormat> = fixtures().iter().map(|f| f.format).collect();
    for fmt in webslm::formats::quant::ALL_FORMATS {
        assert!(seen.contains(&fmt), "no fixture for {}", fmt.name());
    }
}

#[test]
fn cpu_decoders_match_llama_cpp() {
    for f in fixtures() {
        let mut out = vec![0.0; f.rows * f.k];
        dequantize(f.format, &f.bytes, f.k, &mut out).expect("dequantize");
        assert_close(&out, &f.values, DECODE_TOL, &f.source);
    }
}

fn gpu_gather_matches(ctx: &GpuContext) {
    for f in fixtures() {
        let w = GpuWeight::upload(ctx, &f.source, f.format, f.rows, f.k, &f.bytes).expect("upload");
        let ids: Vec<u32> = (0..f.rows as u32).rev().collect();
        let idt = ctx.upload_u32(&ids, &[ids.len()]).expect("ids");
        let got = run_f32(ctx, |b| embedding(b, &w, &idt));
        let want: Vec<f32> = ids
            .iter()
            .flat_map(|&r| f.values[r as usize * f.k..(r as usize + 1) * f.k].to_vec())
            .collect();
        assert_close(&got, &want, DECODE_TOL, &format!("GPU {}", f.source));
    }
}

#[test]
fn gpu_decoders_match_llama_cpp() {
    let Some(ctx) = gpu() else { return };
    gpu_gather_matches(ctx);
}

#[test]
fn gpu_decoders_match_llama_cpp_without_shader_f16() {
    let Some(ctx) = gpu_no_f16() else { return };
    gpu_gather_matches(ctx);
}
