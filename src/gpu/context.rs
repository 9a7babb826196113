//! Opening a GPU: instance -> adapter -> device, the same code natively and in the browser.

use super::buffer::BufferPool;
use super::capabilities::Capabilities;
use super::error::{ErrorSink, GpuError};
use super::pipeline::PipelineCache;
use super::stats::GpuStats;

/// Knobs for opening a device. The overrides exist so tests can force the fallback paths that
/// some real devices take (no `shader-f16`, small binding limits) on a device that has more.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Do not request `shader-f16` even when the adapter offers it (headless Chromium's
    /// SwiftShader never does).
    pub disable_shader_f16: bool,
    /// Do not request `subgroups` even when the adapter offers it, so the kernels that reduce
    /// through subgroups take their workgroup-memory fallback (as on devices without them).
    pub disable_subgroups: bool,
    /// Split weights into parts of at most this many bytes, as a device with this small a
    /// `maxStorageBufferBindingSize` would, so the split path runs on any device.
    pub weight_split_override: Option<u64>,
    /// Pretend `maxComputeWorkgroupsPerDimension` is this small, so large dispatches fold into 2D
    /// (see `Batch::dispatch`) in tests of any size.
    pub workgroups_per_dim_override: Option<u32>,
    /// Submit and time every dispatch alone (see `profile`); natively only, for `webslm bench`.
    pub profile_kernels: bool,
    /// Plan kernels for this many loop iterations per invocation instead of the default budget
    /// (tests use the exact lavapipe limit, with no margin, to prove the loop counts exact).
    pub loop_budget_override: Option<u64>,
    /// Run this kernel path whatever the adapter is (`--kernels`, the JS `kernels` option);
    /// `None` lets `WEBSLM_KERNELS` (native) and then the adapter decide.
    pub kernels: Option<super::kernel_path::KernelPath>,
}

/// An open device, plus the caches that live as long as it does.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub caps: Capabilities,
    pub pipelines: PipelineCache,
    pub pool: BufferPool,
    pub(crate) errors: ErrorSink,
    /// Work counters for benchmarks (see [`GpuStats`]).
    pub stats: std::sync::Arc<GpuStats>,
    /// Set when `GpuOptions::profile_kernels` asked for per-kernel times.
    #[cfg(not(target_arch = "wasm32"))]
    pub profiler: Option<super::profile::KernelProfiler>,
    /// Held by the one [`super::Batch`] recording at a time. A kernel's scratch buffers go back to
    /// the pool as soon as it is recorded; only the same batch, which runs them in order, may
    /// take them again before it is submitted (see `Batch`).
    pub(crate) recording: std::sync::Mutex<()>,
    /// Where every dispatch's params go (see `Batch`).
    pub(crate) uniform_arena: super::uniform_arena::UniformArena,
    /// Bind groups reused across batches (see `Batch`).
    pub(crate) bind_groups: super::bind_cache::BindGroupCache,
}

impl GpuContext {
    /// Opens the best adapter. Natively `WGPU_BACKEND` (e.g. `vulkan`) narrows the search.
    pub async fn new(options: GpuOptions) -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        Self::from_adapter(&adapter, options).await
    }

    /// Blocking variant for the CLI and tests.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(options: GpuOptions) -> Result<Self, GpuError> {
        pollster::block_on(Self::new(options))
    }

    async fn from_adapter(adapter: &wgpu::Adapter, options: GpuOptions) -> Result<Self, GpuError> {
        let options = match device_variant_env() {
            Some(spec) => super::device_variant::apply(&spec, options)?,
            None => options,
        };
        let offered = adapter.features();
        // Request only what kernels use, but all of it that the adapter has.
        let mut wanted = wgpu::Features::empty();
        if !options.disable_subgroups {
            wanted |= wgpu::Features::SUBGROUP;
        }
        if !options.disable_shader_f16 {
            wanted |= wgpu::Features::SHADER_F16;
        }
        let features = offered & wanted;
        // The adapter's real limits: wgpu's defaults cap storage bindings at 128 MiB even on
        // GPUs that allow far more, which would force needless tensor splits.
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("webslm"),
                required_features: features,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        let errors = ErrorSink::default();
        errors.install(&device);

        let mut caps = Capabilities::from_adapter(&adapter.get_info(), device.features(), &device.limits());
        if let Some(limit) = options.workgroups_per_dim_override {
            caps.max_workgroups_per_dim = caps.max_workgroups_per_dim.min(limit.max(1));
        }
        if let Some(limit) = options.weight_split_override {
            caps.weight_split_bytes = caps.weight_split_bytes.min(limit);
        }
        if let Some(budget) = options.loop_budget_override {
            caps.loop_budget = budget;
        }
        caps.kernels = super::kernel_path::choose(
            options.kernels,
            kernels_env().as_deref(),
            &caps.adapter,
            caps.is_software,
        )?;
        log::info!("webslm GPU: {}", caps.summary());
        let stats = std::sync::Arc::new(GpuStats::default());
        Ok(GpuContext {
            pool: BufferPool::new(device.clone(), stats.clone()),
            uniform_arena: super::uniform_arena::UniformArena::new(device.clone()),
            bind_groups: Default::default(),
            stats,
            #[cfg(not(target_arch = "wasm32"))]
            profiler: options.profile_kernels.then(Default::default),
            pipelines: PipelineCache::default(),
            device,
            queue,
            caps,
            errors,
            recording: std::sync::Mutex::new(()),
        })
    }

    /// Why the device was lost, once it is (destroyed, driver reset, ...). A lost context stays
    /// lost: every later call fails with `DeviceLost`, and only a new context can run work
    /// (see `crate::recovery`).
    pub fn lost(&self) -> Option<String> {
        self.errors.lost()
    }

    /// Fails with the first asynchronous error (device lost, out of memory, validation) seen so far.
    pub fn check(&self) -> Result<(), GpuError> {
        self.errors.take()
    }
}

/// `WEBSLM_DEVICE_VARIANT`, natively (tests only; see `device_variant`).
fn device_variant_env() -> Option<String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var(super::device_variant::DEVICE_VARIANT_ENV).ok()
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}

/// `WEBSLM_KERNELS`, natively; the browser has no environment (the JS option says it instead).
fn kernels_env() -> Option<String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var(super::kernel_path::KERNELS_ENV).ok()
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}
