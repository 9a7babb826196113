//! Block decoders against llama.cpp's own: `tests/fixtures/quant_blocks.json` holds raw blocks cut
//! from the shipped GGUFs (and, for formats they do not use, blocks that gguf-py quantised) with
//! the values llama.cpp's `gguf` Python package dequantises them to. Regenerate with
//! `scripts/fixtures/make_quant_fixtures.py`.

mod common;

use common::{assert_close, device, gpu, run_f32, Kernels, Variant};
use webslm::formats::quant::{dequantize, WeightFormat};
use webslm::gpu::{DType, GpuContext};
use webslm::kernels::matmul::{matmul_with, MatmulKernel};
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

/// The decoders written from ggml-quants.c do the same f32 operations as gguf-py's numpy in the
/// same order, and Rust never contracts them into an FMA: the CPU side is exact, not just close.
#[test]
fn cpu_decoders_are_bit_exact() {
    for f in fixtures() {
        let mut out = vec![0.0; f.rows * f.k];
        dequantize(f.format, &f.bytes, f.k, &mut out).expect("dequantize");
        for (i, (g, w)) in out.iter().zip(&f.values).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{}: element {i}: {g} vs {w}", f.source);
        }
    }
}

/// Real blocks through matmul's decoders too (the gather reads 4 weights at a time; GEMV reads
/// whole 32-weight chunks): x is the identity, so y = W^T and every output is one weight times 1
/// plus zeros, which is exact. Rows are whole blocks laid end to end, so the fixture's bytes are
/// read as rows of at most 256 weights, which keeps the identity small.
fn gpu_matmul_matches(ctx: &GpuContext) {
    for f in fixtures() {
        let k = [256, 64, 32]
            .into_iter()
            .find(|&k| f.format.is_quantized() && f.k.is_multiple_of(k))
            .unwrap_or(f.k);
        let rows = f.rows * f.k / k;
        let w = GpuWeight::upload(ctx, &f.source, f.format, rows, k, &f.bytes).expect("upload");
        let mut eye = vec![0.0f32; k * k];
        for i in 0..k {
            eye[i * k + i] = 1.0;
        }
        let xt = ctx.upload_f32(&eye, &[k, k]).expect("x");
        let values = &f.values;
        let want: Vec<f32> = (0..k).flat_map(|i| (0..rows).map(move |r| values[r * k + i])).collect();
        for kernel in [MatmulKernel::Gemv, MatmulKernel::Gemm] {
            let got = run_f32(ctx, |b| {
                let y = b.ctx().tensor(&[k, rows], DType::F32)?;
                matmul_with(b, kernel, &xt, &w, &y)?;
                Ok(y)
            });
            assert_close(&got, &want, DECODE_TOL, &format!("GPU {kernel:?} {}", f.source));
        }
        // The GPU path's GEMV serves at most 4 activation rows: the identity 4 rows at a time.
        for i0 in (0..k).step_by(4) {
            let m = (k - i0).min(4);
            let xt = ctx.upload_f32(&eye[i0 * k..(i0 + m) * k], &[m, k]).expect("x");
            let got = run_f32(ctx, |b| {
                let y = b.ctx().tensor(&[m, rows], DType::F32)?;
                matmul_with(b, MatmulKernel::GemvGpu, &xt, &w, &y)?;
                Ok(y)
            });
            let what = format!("GPU GemvGpu {} rows {i0}..", f.source);
            assert_close(&got, &want[i0 * rows..(i0 + m) * rows], DECODE_TOL, &what);
        }
    }
}

#[test]
fn gpu_matmul_decoders_match_llama_cpp() {
    let Some(ctx) = gpu() else { return };
    gpu_matmul_matches(ctx);
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
    let Some(ctx) = device(Kernels::Auto, Variant::NoF16) else {
        return;
    };
    gpu_gather_matches(ctx);
}
