//! Shared by the GPU test binaries: one device per configuration, opened once, and comparison
//! helpers whose tolerances are stated where they are used.
#![allow(dead_code)]

pub mod attention_check;

use std::sync::OnceLock;

use webslm::gpu::{Batch, GpuContext, GpuError, GpuOptions, KernelPath};

/// Which kernel path a test device runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// As the adapter (or `WEBSLM_KERNELS`) chooses: software on lavapipe.
    Auto,
    /// The software-adapter kernels, forced.
    Software,
    /// The real-GPU kernels (`KernelPath::Gpu`), forced: how they are tested on lavapipe.
    Gpu,
}

/// How a test device is narrowed from what the adapter offers, to reach the code a real device
/// of that kind would run. `WEBSLM_DEVICE_VARIANT` (scripts/test-matrix.sh) narrows every one of
/// these further, so `Plain` under the matrix is itself a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The adapter's features and limits.
    Plain,
    /// No subgroups: reductions through workgroup memory.
    NoSubgroups,
    /// No shader-f16 (as headless Chromium's SwiftShader).
    NoF16,
    /// Weights split into [`TINY_BINDING`]-byte parts, so every weight in the tests is split.
    TinyBinding,
    /// Every dispatch of more than 7 workgroups folded into 2D.
    Folded,
    /// Kernels planned for lavapipe's exact loop limit, with no margin: a kernel whose loop count
    /// is underestimated then returns garbage there (tests/loop_limit.rs).
    ExactLoopBudget,
}

/// The storage-binding size [`Variant::TinyBinding`] pretends.
pub const TINY_BINDING: u64 = 4096;

const VARIANTS: usize = 6;

fn options(kernels: Kernels, variant: Variant) -> GpuOptions {
    let mut o = GpuOptions {
        kernels: match kernels {
            Kernels::Auto => None,
            Kernels::Software => Some(KernelPath::Software),
            Kernels::Gpu => Some(KernelPath::Gpu),
        },
        ..Default::default()
    };
    match variant {
        Variant::Plain => {}
        Variant::NoSubgroups => o.disable_subgroups = true,
        Variant::NoF16 => o.disable_shader_f16 = true,
        Variant::TinyBinding => o.weight_split_override = Some(TINY_BINDING),
        Variant::Folded => o.workgroups_per_dim_override = Some(7),
        Variant::ExactLoopBudget => o.loop_budget_override = Some(webslm::kernels::loop_budget::LOOP_LIMIT),
    }
    o
}

/// The device for a kernel path and variant, opened once per process. In CI (`CI=true`) a
/// missing adapter fails the test: a GPU test that silently skips there would prove nothing.
/// Elsewhere it skips with the reason.
pub fn device(kernels: Kernels, variant: Variant) -> Option<&'static GpuContext> {
    static SLOTS: [OnceLock<Option<GpuContext>>; 3 * VARIANTS] = [const { OnceLock::new() }; 3 * VARIANTS];
    SLOTS[kernels as usize * VARIANTS + variant as usize]
        .get_or_init(|| device_fresh(kernels, variant))
        .as_ref()
}

/// A device of its own, under the same CI rule: for tests that read per-device state (the work
/// counters) while other tests run in parallel.
pub fn device_fresh(kernels: Kernels, variant: Variant) -> Option<GpuContext> {
    match GpuContext::new_blocking(options(kernels, variant)) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no GPU adapter could be opened: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            None
        }
    }
}

/// The device as the adapter offers it (most tests).
pub fn gpu() -> Option<&'static GpuContext> {
    device(Kernels::Auto, Variant::Plain)
}

/// [`gpu`], but a device of its own (see [`device_fresh`]).
pub fn gpu_fresh() -> Option<GpuContext> {
    device_fresh(Kernels::Auto, Variant::Plain)
}

/// The device on each kernel path: a test that loops over these checks both families against
/// the same CPU twin.
pub fn both_paths() -> Vec<&'static GpuContext> {
    [Kernels::Software, Kernels::Gpu]
        .into_iter()
        .filter_map(|k| device(k, Variant::Plain))
        .collect()
}

/// Records with `f`, submits, and reads the returned tensor back.
pub fn run_f32(
    ctx: &GpuContext,
    f: impl FnOnce(&mut Batch<'_>) -> Result<webslm::gpu::GpuTensor, GpuError>,
) -> Vec<f32> {
    let mut batch = Batch::new(ctx).expect("batch");
    let out = f(&mut batch).expect("record kernel");
    batch.submit().expect("submit");
    ctx.read_f32_blocking(&out).expect("read back")
}

/// Elementwise: |got - want| <= tol * max(1, |want|) everywhere.
#[track_caller]
pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= tol * w.abs().max(1.0),
            "{what}: element {i}: got {g}, want {w} (|err| {err} > tol {tol})"
        );
    }
}

/// Normalised mean squared error, sum((g - w)^2) / sum(w^2), as ggml's test-backend-ops.
pub fn nmse(got: &[f32], want: &[f32]) -> f64 {
    let num: f64 = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - f64::from(w)).powi(2))
        .sum();
    let den: f64 = want.iter().map(|&w| f64::from(w).powi(2)).sum();
    num / den.max(1e-30)
}
