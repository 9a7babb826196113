//! What the adapter really offers. The device is requested with the adapter's own limits (not
//! wgpu's conservative defaults), and kernel selection reads this struct, never `wgpu::Limits`.

/// Kernels compute byte offsets in u32 and multiply them by up to 2 (f16 element to byte), so
/// one binding stays below 2 GiB whatever the device allows.
const MAX_KERNEL_BYTES: u64 = 1 << 31;

/// lavapipe's per-invocation loop counter stops the invocation at this many iterations
/// (`kernels::loop_budget` says how it counts).
pub const LOOP_LIMIT: u64 = 65_535;

/// What kernels plan for: the limit less an eighth, a margin for a driver that counts one
/// construct more than the probes saw.
pub const LOOP_BUDGET: u64 = LOOP_LIMIT - LOOP_LIMIT / 8;

/// Features and limits that kernel selection depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Capabilities {
    /// Adapter name and backend, for logs and benchmark headers.
    pub adapter: String,
    pub backend: String,
    /// A CPU emulator (lavapipe, SwiftShader, WARP): kernels that favour few dispatches win there.
    pub is_software: bool,
    /// The kernel family this device runs, and why (see [`super::kernel_path`]).
    pub kernels: super::kernel_path::KernelChoice,
    /// `shader-f16`: f16 weights can be read as `array<f16>`; without it they are unpacked from u32.
    pub shader_f16: bool,
    pub subgroups: bool,
    /// Largest byte range one storage binding may cover. Tensors above it are split by rows.
    pub max_storage_binding: u64,
    /// Largest weight part; equals the binding limit unless a test lowers it to force splits.
    pub weight_split_bytes: u64,
    pub max_buffer_size: u64,
    pub max_uniform_binding: u64,
    pub max_workgroup_storage: u32,
    pub max_invocations_per_workgroup: u32,
    pub max_workgroup_size_x: u32,
    pub max_workgroups_per_dim: u32,
    pub max_storage_buffers_per_stage: u32,
    pub min_storage_offset_alignment: u32,
    /// Loop iterations one invocation may run (see `kernels::loop_budget`); tests set it to the
    /// exact limit to check that each kernel's loop count is right, not just conservative.
    pub loop_budget: u64,
}

impl Capabilities {
    pub fn from_adapter(info: &wgpu::AdapterInfo, features: wgpu::Features, l: &wgpu::Limits) -> Self {
        let is_software = info.device_type == wgpu::DeviceType::Cpu
            || ["llvmpipe", "lavapipe", "swiftshader", "warp"]
                .iter()
                .any(|s| info.name.to_lowercase().contains(s));
        Capabilities {
            adapter: info.name.clone(),
            backend: format!("{:?}", info.backend),
            kernels: super::kernel_path::KernelChoice {
                path: super::kernel_path::KernelPath::for_adapter(is_software),
                reason: String::new(),
            },
            is_software,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            max_storage_binding: l.max_storage_buffer_binding_size,
            weight_split_bytes: l
                .max_storage_buffer_binding_size
                .min(l.max_buffer_size)
                .min(MAX_KERNEL_BYTES),
            max_buffer_size: l.max_buffer_size,
            max_uniform_binding: l.max_uniform_buffer_binding_size,
            max_workgroup_storage: l.max_compute_workgroup_storage_size,
            max_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_workgroup_size_x: l.max_compute_workgroup_size_x,
            max_workgroups_per_dim: l.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_stage: l.max_storage_buffers_per_shader_stage,
            min_storage_offset_alignment: l.min_storage_buffer_offset_alignment,
            loop_budget: LOOP_BUDGET,
        }
    }

    /// Largest buffer that a single kernel binding can see: both limits apply, and kernels
    /// address bytes with u32 arithmetic.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_storage_binding.min(self.max_buffer_size).min(MAX_KERNEL_BYTES)
    }

    /// One-line summary for logs.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}{}) kernels={} shader-f16={} subgroups={} max_storage_binding={} MiB max_buffer={} MiB wg_invocations={}",
            self.adapter,
            self.backend,
            if self.is_software { ", software" } else { "" },
            self.kernels.path,
            self.shader_f16,
            self.subgroups,
            self.max_storage_binding >> 20,
            self.max_buffer_size >> 20,
            self.max_invocations_per_workgroup
        )
    }
}
