//! The GPU layer: everything that talks to `wgpu` directly.
//!
//! - [`context`]: opens an adapter and device (natively and in the browser) and owns them.
//! - [`capabilities`]: what the adapter really offers; kernel selection reads it.
//! - [`buffer`]: GPU tensors and the pool that recycles activation buffers.
//! - [`pipeline`]: compiled compute pipelines, cached by (kernel, variant, workgroup size).
//! - [`dispatch`]: the one place that encodes, submits and reads back work.
//! - [`error`]: device loss, out-of-memory and validation failures as typed errors.

pub mod buffer;
pub mod capabilities;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod pipeline;

pub use buffer::{BufferPool, DType, GpuTensor};
pub use capabilities::Capabilities;
pub use context::{GpuContext, GpuOptions};
pub use dispatch::Batch;
pub use error::GpuError;
pub use pipeline::{PipelineCache, PipelineKey};
