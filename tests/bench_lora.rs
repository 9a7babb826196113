//! `webslm bench --lora` (issue 19's done-when): attaching adapters adds exactly their tensor
//! bytes to GPU memory, switching the active set writes nothing to the GPU and allocates nothing,
//! and the first token after a switch makes the same queue writes as any decoded token (its id and
//! the uniform arena: no weight upload). On the tiny Llama 3 fixture with its two committed
//! adapters, so it costs a few seconds; `scripts/lora/make_random_gguf_adapter.py` makes a
//! SmolLM2-sized adapter for the same report by hand (numbers in the report).

use std::path::{Path, PathBuf};

use webslm::bench::lora::BenchAdapter;
use webslm::bench::model::{bench_model, ModelBenchConfig};
use webslm::engine::EngineOptions;
use webslm::models::ModelError;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn adapter(rel: &str, scale: f32) -> BenchAdapter {
    let path = fixture(rel);
    let adapter = webslm::lora::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BenchAdapter {
        name: rel.to_string(),
        adapter,
        scale,
    }
}

#[test]
fn bench_reports_adapter_bytes_and_a_switch_without_uploads() {
    let cfg = ModelBenchConfig {
        runs: 1,
        prompt_lens: vec![4],
        decode_tokens: 2,
        cost_tokens: 2,
        profile_tokens: 0,
        // A GGUF adapter and a PEFT folder (crossing formats on the GGUF base) at once.
        adapters: vec![
            adapter("lora/llama3-a/adapter-f32.gguf", 1.0),
            adapter("lora/llama3-b/peft", 0.5),
        ],
    };
    let options = EngineOptions {
        context: 64,
        ..Default::default()
    };
    let base = fixture("decoders/tiny-llama3/model-f32.gguf");
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let report = match (bench_model(&base, &cfg, &options, |_| {}), in_ci) {
        (Ok(r), _) => r,
        (Err(ModelError::Gpu(e)), false) => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            return;
        }
        (Err(e), _) => panic!("{e}"),
    };
    let l = report.lora.expect("--lora adapters give a lora report");
    let tensor_bytes: u64 = cfg.adapters.iter().map(|a| a.adapter.tensor_bytes()).sum();
    assert!(tensor_bytes > 0);
    assert_eq!(l.adapter_tensor_bytes, tensor_bytes);
    assert_eq!(
        l.gpu_bytes_added, tensor_bytes,
        "attaching added other GPU memory than the adapters'"
    );
    // The low-rank intermediates are r floats per token and projection; a few KiB with pool
    // rounding. Before the scratch uniforms went back to the pool at once, every adapter GEMV
    // held its own 64 KiB until submit (26 MiB per SmolLM2 token on the software path).
    assert!(
        l.adapter_scratch_bytes <= 64 * 1024,
        "a step with the adapters held {} more bytes than one without",
        l.adapter_scratch_bytes
    );
    assert_eq!(l.switch_queue_writes, 0, "switching wrote to the GPU");
    assert_eq!(l.switch_bytes_allocated, 0, "switching allocated GPU memory");
    assert_eq!(
        l.step_after_switch_queue_writes as f64, report.per_token.queue_writes,
        "the token after a switch made other queue writes than a decoded token"
    );
    assert_eq!(l.adapters.len(), 2);
}
