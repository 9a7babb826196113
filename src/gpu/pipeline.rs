//! Compiled compute pipelines, cached for the life of the device.
//!
//! Compiling a pipeline costs 1-100 ms on lavapipe and more on some browsers, while decoding a
//! token dispatches a few hundred kernels; so every pipeline is built once, under a deterministic
//! key, and looked up afterwards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::GpuError;
use super::GpuContext;

/// What makes two pipelines different: the kernel family and entry point, the variant (weight
/// format, op, f16 path...) that changes the WGSL text, and the workgroup size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    pub kernel: &'static str,
    pub variant: String,
    pub workgroup: u32,
}

/// A compiled pipeline and the kernel family it runs (the name profiles group by).
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub name: &'static str,
}

impl std::ops::Deref for Kernel {
    type Target = wgpu::ComputePipeline;

    fn deref(&self) -> &wgpu::ComputePipeline {
        &self.pipeline
    }
}

#[derive(Default)]
pub struct PipelineCache {
    pipelines: Mutex<HashMap<PipelineKey, Arc<Kernel>>>,
}

impl PipelineCache {
    pub fn len(&self) -> usize {
        self.pipelines.lock().map(|p| p.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl GpuContext {
    /// The pipeline for `key`, compiling `source()` with entry point `entry` on first use.
    /// `WG` is always overridden with the key's workgroup size.
    pub fn pipeline(
        &self,
        key: PipelineKey,
        entry: &str,
        source: impl FnOnce() -> String,
    ) -> Result<Arc<Kernel>, GpuError> {
        self.pipeline_with(key, entry, &[], source)
    }

    /// As [`GpuContext::pipeline`], also setting other `override` constants. They must be a
    /// function of the key (its variant), or the cache would hand out the wrong pipeline.
    pub fn pipeline_with(
        &self,
        key: PipelineKey,
        entry: &str,
        overrides: &[(&str, f64)],
        source: impl FnOnce() -> String,
    ) -> Result<Arc<Kernel>, GpuError> {
        if let Some(p) = self.pipelines.pipelines.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return Ok(p);
        }
        let label = format!("{}:{}:{}", key.kernel, key.variant, key.workgroup);
        // Errors from earlier work surface as themselves, not as this pipeline's.
        self.check()?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(source().into()),
        });
        let mut constants = vec![("WG", f64::from(key.workgroup))];
        constants.extend_from_slice(overrides);
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // Kernels here never read workgroup memory before writing it.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        // A shader that fails to compile is an error, not a panic. Natively the scope resolves at
        // once; in the browser it resolves later, so the error reaches the sink and the next
        // submit reports it.
        let error = scope.pop();
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(e) = pollster::block_on(error) {
            return Err(GpuError::Validation(format!("compiling {label}: {e}")));
        }
        #[cfg(target_arch = "wasm32")]
        {
            let sink = self.errors.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(e) = error.await {
                    sink.record(e);
                }
            });
        }
        let pipeline = Arc::new(Kernel {
            pipeline,
            name: key.kernel,
        });
        if let Ok(mut cache) = self.pipelines.pipelines.lock() {
            cache.insert(key, pipeline.clone());
        }
        Ok(pipeline)
    }
}
