//! The GPU layer: everything that talks to `wgpu` directly.
//!
//! - [`context`]: opens an adapter and device (natively and in the browser) and owns them.
//! - [`capabilities`]: what the adapter really offers; kernel selection reads it.
//! - [`kernel_path`]: software-adapter kernels or real-GPU kernels, chosen per adapter.
//! - [`buffer`]: GPU tensors and the pool that recycles activation buffers.
//! - [`pipeline`]: compiled compute pipelines, cached by (kernel, variant, workgroup size).
//! - [`dispatch`]: the one place that encodes, submits and reads back work.
//! - `uniform_arena`: every dispatch's params in one uniform buffer, one write per batch.
//! - `bind_cache`: bind groups reused across batches when their bindings repeat.
//! - `profile`: per-kernel GPU time, one dispatch per submit (native only).
//! - [`stats`]: counters of dispatches, submits, bytes read and buffer memory, for benchmarks.
//! - [`error`]: device loss, out-of-memory and validation failures as typed errors.

mod bind_cache;
pub mod buffer;
pub mod capabilities;
pub mod context;
pub mod device_variant;
pub mod dispatch;
pub mod error;
pub mod kernel_path;
pub mod pipeline;
#[cfg(not(target_arch = "wasm32"))]
pub mod profile;
pub mod stats;
mod uniform_arena;

pub use buffer::{BufferPool, DType, GpuTensor};
pub use capabilities::Capabilities;
pub use context::{GpuContext, GpuOptions};
pub use dispatch::Batch;
pub use error::GpuError;
pub use kernel_path::{KernelChoice, KernelPath};
pub use pipeline::{Kernel, PipelineCache, PipelineKey};
pub use stats::{GpuStats, StatsSnapshot, WeightDispatch, SMALL_DISPATCH_INVOCATIONS};
