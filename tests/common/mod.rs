//! Shared by the GPU test binaries: one device per configuration, opened once, and comparison
//! helpers whose tolerances are stated where they are used.
#![allow(dead_code)]

pub mod attention_check;

use std::sync::OnceLock;

use webslm::gpu::{Batch, GpuContext, GpuError, GpuOptions};

/// Opens a device once per process. In CI (`CI=true`) a missing adapter fails the test: a GPU
/// test that silently skips there would prove nothing. Elsewhere it skips with the reason.
fn open(slot: &'static OnceLock<Option<GpuContext>>, options: GpuOptions) -> Option<&'static GpuContext> {
    slot.get_or_init(|| open_new(options)).as_ref()
}

/// A device of its own, under the same CI rule: for tests that read per-device state (the work
/// counters) while other tests run in parallel.
pub fn gpu_fresh() -> Option<GpuContext> {
    open_new(GpuOptions::default())
}

fn open_new(options: GpuOptions) -> Option<GpuContext> {
    match GpuContext::new_blocking(options) {
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

/// The device as the adapter offers it.
pub fn gpu() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(&CTX, GpuOptions::default())
}

/// The device on each kernel path: as the adapter chooses, then the other one forced. A test that
/// loops over these checks both families against the same CPU twin.
pub fn both_paths() -> Vec<&'static GpuContext> {
    let Some(auto) = gpu() else { return Vec::new() };
    let forced = GpuOptions {
        kernels: Some(match auto.caps.kernels.path {
            webslm::gpu::KernelPath::Software => webslm::gpu::KernelPath::Gpu,
            webslm::gpu::KernelPath::Gpu => webslm::gpu::KernelPath::Software,
        }),
        ..Default::default()
    };
    static OTHER: OnceLock<Option<GpuContext>> = OnceLock::new();
    std::iter::once(auto).chain(open(&OTHER, forced)).collect()
}

/// The same adapter without `shader-f16` (as headless Chromium's SwiftShader).
pub fn gpu_no_f16() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(
        &CTX,
        GpuOptions {
            disable_shader_f16: true,
            ..Default::default()
        },
    )
}

/// The same adapter folding every dispatch of more than 7 workgroups into 2D.
pub fn gpu_folded() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(
        &CTX,
        GpuOptions {
            workgroups_per_dim_override: Some(7),
            ..Default::default()
        },
    )
}

/// The same adapter splitting weights as if a storage binding could cover only 4 KiB, so every
/// weight in the tests is split into several parts.
pub const TINY_BINDING: u64 = 4096;
pub fn gpu_tiny_binding() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(
        &CTX,
        GpuOptions {
            weight_split_override: Some(TINY_BINDING),
            ..Default::default()
        },
    )
}

/// The same adapter running the real-GPU kernel path (`KernelPath::Gpu`), as forced on lavapipe.
pub fn gpu_path() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(&CTX, gpu_path_options(GpuOptions::default()))
}

/// The GPU path without `shader-f16`.
pub fn gpu_path_no_f16() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    let options = GpuOptions {
        disable_shader_f16: true,
        ..Default::default()
    };
    open(&CTX, gpu_path_options(options))
}

/// The GPU path with weights split into [`TINY_BINDING`]-byte parts.
pub fn gpu_path_tiny_binding() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    let options = GpuOptions {
        weight_split_override: Some(TINY_BINDING),
        ..Default::default()
    };
    open(&CTX, gpu_path_options(options))
}

/// A GPU-path device of its own (see [`gpu_fresh`]).
pub fn gpu_path_fresh() -> Option<GpuContext> {
    open_new(gpu_path_options(GpuOptions::default()))
}

fn gpu_path_options(options: GpuOptions) -> GpuOptions {
    GpuOptions {
        kernels: Some(webslm::gpu::KernelPath::Gpu),
        ..options
    }
}

/// The same adapter planning kernels for lavapipe's exact loop limit, with no margin: a kernel
/// whose loop count is underestimated then returns garbage there (tests/loop_limit.rs).
pub fn gpu_exact_loop_budget() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    open(
        &CTX,
        GpuOptions {
            loop_budget_override: Some(webslm::kernels::loop_budget::LOOP_LIMIT),
            ..Default::default()
        },
    )
}

/// Devices running the GPU kernel path (`KernelPath::Gpu`) whatever the adapter is: the GPU
/// path's kernels are tested on lavapipe this way, in the same variants as the software path.
#[derive(Clone, Copy)]
pub enum GpuPath {
    /// The adapter's features (subgroups where it has them).
    Plain,
    /// No subgroups: reductions through workgroup memory.
    NoSubgroups,
    /// No shader-f16.
    NoF16,
    /// Weights split into `TINY_BINDING`-byte parts.
    TinyBinding,
}

pub fn gpu_path_as(variant: GpuPath) -> Option<&'static GpuContext> {
    static CTX: [OnceLock<Option<GpuContext>>; 4] = [const { OnceLock::new() }; 4];
    let mut options = GpuOptions {
        kernels: Some(webslm::gpu::KernelPath::Gpu),
        ..Default::default()
    };
    match variant {
        GpuPath::Plain => {}
        GpuPath::NoSubgroups => options.disable_subgroups = true,
        GpuPath::NoF16 => options.disable_shader_f16 = true,
        GpuPath::TinyBinding => options.weight_split_override = Some(TINY_BINDING),
    }
    open(&CTX[variant as usize], options)
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
