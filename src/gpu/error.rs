//! Typed GPU failures. wgpu reports most problems asynchronously (an uncaptured-error callback or a
//! device-lost callback), so [`ErrorSink`] records them and every submit checks it: callers get a
//! `Result` instead of wgpu's default handler, which panics.

use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no WebGPU adapter found ({0}); on Linux install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers libvulkan1`), in a browser enable WebGPU")]
    NoAdapter(String),
    #[error("the GPU adapter refused to create a device: {0}")]
    RequestDevice(String),
    #[error("the GPU device was lost ({0}); the model must be loaded again on a new device (the browser engine and `recovery::Recoverable` do that at the next call)")]
    DeviceLost(String),
    #[error("the GPU ran out of memory: {0}; try a smaller model or a shorter context")]
    OutOfMemory(String),
    #[error("GPU validation error (a webslm bug, please report it): {0}")]
    Validation(String),
    #[error("reading a result back from the GPU failed: {0}")]
    Readback(String),
    #[error("{what} needs {needed} bytes but this device allows at most {limit} bytes per buffer")]
    TooLarge { what: String, needed: u64, limit: u64 },
    #[error(transparent)]
    KernelPath(#[from] super::kernel_path::UnknownKernelPath),
    #[error(transparent)]
    DeviceVariant(#[from] super::device_variant::UnknownDeviceVariant),
    #[error("invalid kernel arguments: {0}")]
    InvalidArgument(String),
    /// One invocation would run more loop iterations than the device allows (lavapipe stops it
    /// silently at 65535; see `kernels::loop_budget`): the input is too long for this kernel.
    #[error("{kernel}: {what} needs {needed} loop iterations in one GPU invocation, more than the {budget} it may run; use a shorter input")]
    LoopBudget {
        kernel: &'static str,
        what: String,
        needed: u64,
        budget: u64,
    },
}

/// Collects errors that wgpu reports through callbacks. Shared between the device callbacks and
/// the context; [`ErrorSink::take`] hands back the first error seen since the last check.
#[derive(Clone, Default)]
pub struct ErrorSink {
    first: Arc<Mutex<Option<GpuError>>>,
    lost: Arc<Mutex<Option<String>>>,
}

impl ErrorSink {
    pub fn install(&self, device: &wgpu::Device) {
        let sink = self.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| sink.record(e)));
        let lost = self.lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = lost.lock() {
                slot.get_or_insert(format!("{reason:?}: {message}"));
            }
        });
    }

    pub(crate) fn record(&self, e: wgpu::Error) {
        let typed = match e {
            wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
            wgpu::Error::Validation { description, .. } => GpuError::Validation(description),
            wgpu::Error::Internal { description, .. } => GpuError::Validation(description),
        };
        if let Ok(mut slot) = self.first.lock() {
            slot.get_or_insert(typed);
        }
    }

    /// The device-lost reason, if the device is gone. Checked before any new work is encoded.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|slot| slot.clone())
    }

    /// Marks the device lost when a call, rather than wgpu's callback, found out first (a failed
    /// poll or map): from then on every call fails fast with `DeviceLost`, as after the callback.
    pub fn mark_lost(&self, reason: impl Into<String>) {
        if let Ok(mut slot) = self.lost.lock() {
            slot.get_or_insert(reason.into());
        }
    }

    /// `e`, unless the device is lost: then `DeviceLost`, the cause that a caller can act on. A
    /// lost device fails maps and mapped ranges, and those errors alone would not say why.
    pub fn or_lost(&self, e: GpuError) -> GpuError {
        match self.lost() {
            Some(reason) => GpuError::DeviceLost(reason),
            None => e,
        }
    }

    /// Returns (and clears) the first recorded error; device loss wins over everything else.
    pub fn take(&self) -> Result<(), GpuError> {
        if let Some(reason) = self.lost() {
            return Err(GpuError::DeviceLost(reason));
        }
        match self.first.lock().ok().and_then(|mut slot| slot.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
