//! The GPU path's GEMV laid out for the shipped models' projections (shapes read from the GGUF
//! headers in models/), on a device with WebGPU's default limits: the counters `webslm bench`
//! reports must meet issue 16's targets for every weight a decoded token streams:
//! - no weight byte read by a dispatch of fewer than `SMALL_DISPATCH_INVOCATIONS` lanes
//!   (the target is a share below 1%);
//! - at most 64 weight loads in a row per lane;
//! - the loops within lavapipe's budget.
//!
//! No GPU needed: `plan` is what `gemv_gpu` dispatches and reports (tests/kernels_matmul.rs
//! checks that on a device). The table is printed (`--nocapture`).

use std::path::Path;

use webslm::formats::gguf::GgufFile;
use webslm::gpu::{Capabilities, SMALL_DISPATCH_INVOCATIONS};
use webslm::kernels::gemv_gpu::{loop_cost, plan};
use webslm::kernels::loop_budget::LOOP_BUDGET;

const MODELS: [&str; 3] = [
    "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
];

/// Issue 16's bound on one lane's chain of weight loads.
const MAX_SERIAL_LOADS: u64 = 64;

/// A WebGPU device with the default limits (256 lanes per workgroup), with and without subgroups.
fn caps(subgroups: bool) -> Capabilities {
    let features = match subgroups {
        true => wgpu::Features::SUBGROUP,
        false => wgpu::Features::empty(),
    };
    Capabilities::from_adapter(
        &wgpu::AdapterInfo::new(wgpu::DeviceType::DiscreteGpu, wgpu::Backend::Vulkan),
        features,
        &wgpu::Limits::default(),
    )
}

/// The [n, k] weights a decoded token multiplies by: every 2-D tensor but the token embedding,
/// which is a gather, unless the model ties its output head to it.
fn projections(file: &GgufFile) -> Vec<(String, usize, usize, u64)> {
    let tied = !file.tensors().iter().any(|t| t.name == "output.weight");
    file.tensors()
        .iter()
        .filter(|t| t.dims.len() == 2 && (t.name != "token_embd.weight" || tied))
        .map(|t| (t.name.clone(), t.dims[1] as usize, t.dims[0] as usize, t.n_bytes))
        .collect()
}

#[test]
fn shipped_models_meet_the_gemv_targets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for model in MODELS {
        let path = dir.join(model);
        if !path.exists() {
            eprintln!("SKIPPED {model}: not in models/ (scripts/fetch-models.sh)");
            continue;
        }
        let file = GgufFile::open(&path).expect("a valid GGUF");
        let caps = caps(true);
        let (mut total, mut small, mut serial, mut fewest) = (0u64, 0u64, 0u64, u64::MAX);
        let mut shapes = std::collections::BTreeMap::new();
        for (name, n, k, bytes) in projections(&file) {
            let p = plan(n, k, &caps).expect("a plan");
            total += bytes;
            if p.invocations() < SMALL_DISPATCH_INVOCATIONS {
                small += bytes;
            }
            serial = serial.max(p.serial_loads);
            fewest = fewest.min(p.invocations());
            for subgroups in [true, false] {
                let cost = loop_cost(&p, subgroups);
                assert!(cost <= LOOP_BUDGET, "{model} {name}: {cost} loop trips");
            }
            // One line per distinct shape (the layers repeat).
            let suffix = name.rsplit('.').nth(1).unwrap_or(&name).to_string();
            shapes.entry((n, k)).or_insert((suffix, p));
        }
        println!("{model}:");
        for ((n, k), (name, p)) in &shapes {
            println!(
                "  {name:>12} n={n:>6} k={k:>5}: wg={} rows={} unit={} invocations={} serial_loads={}",
                p.workgroup,
                p.rows,
                if p.chunks { 32 } else { 4 },
                p.invocations(),
                p.serial_loads
            );
        }
        let share = small as f64 / total.max(1) as f64;
        println!("  small_dispatch_weight_share={share:.4} max_serial_weight_loads={serial} min_invocations={fewest}");
        assert!(share < 0.01, "{model}: {share:.4} of weight bytes in small dispatches");
        assert!(serial <= MAX_SERIAL_LOADS, "{model}: {serial} serial weight loads");
    }
}
