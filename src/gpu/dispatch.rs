//! The one place that encodes and submits GPU work, and reads results back.
//!
//! A [`Batch`] records many dispatches into one command encoder and submits them together:
//! per-submit overhead (about 0.1 ms on lavapipe, more in browsers) would otherwise dominate
//! small kernels. Within a batch the dispatches share one compute pass (each pass costs a real
//! GPU a barrier and the browser a validation step), ended only where a copy must be encoded,
//! since copies cannot sit inside a pass. Each dispatch's params get their own slot in the
//! uniform arena, written once per batch (`uniform_arena.rs`), and bind groups are reused across
//! batches where the bindings repeat (`bind_cache.rs`).

use super::bind_cache::BindKey;
use super::buffer::{GpuTensor, PooledBuffer};
use super::error::GpuError;
use super::pipeline::Kernel;
use super::uniform_arena::UniformBytes;
use super::GpuContext;

/// Only one batch records at a time per device (it holds `GpuContext::recording`): buffers that
/// its kernels drop return to the pool while it records, and another recorder that took one and
/// submitted first would overwrite it under this batch. Within one batch, reuse is safe because
/// commands run in recording order. Record and submit one batch at a time per thread.
pub struct Batch<'a> {
    ctx: &'a GpuContext,
    _recording: std::sync::MutexGuard<'a, ()>,
    /// The open compute pass, if any. Declared before `encoder` so that a batch dropped
    /// unsubmitted ends its pass while the encoder it records into still exists (wgpu 30 on
    /// Vulkan reports nothing either way, tests/gpu_stats.rs; other backends need not agree).
    /// `forget_lifetime` lets the batch own the pass next to its encoder; wgpu then checks at run
    /// time that nothing else is encoded while the pass is open, which `end_pass` ensures.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: wgpu::CommandEncoder,
    /// Every dispatch's params, written to the arena just before submit.
    params: UniformBytes,
    dispatches: usize,
}

impl<'a> Batch<'a> {
    pub fn new(ctx: &'a GpuContext) -> Result<Self, GpuError> {
        if let Some(reason) = ctx.errors.lost() {
            return Err(GpuError::DeviceLost(reason));
        }
        // A panic while recording poisons nothing that matters: the guard only orders batches.
        let recording = ctx.recording.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("webslm batch"),
        });
        Ok(Batch {
            ctx,
            _recording: recording,
            pass: None,
            encoder,
            params: UniformBytes::default(),
            dispatches: 0,
        })
    }

    pub fn ctx(&self) -> &'a GpuContext {
        self.ctx
    }

    /// Records one dispatch. Binding 0 is `params` (a uniform); bindings 1.. are `buffers` in order.
    /// `workgroups` is a total count; it is folded into 2D when it exceeds the per-dimension limit
    /// (kernels recover the linear index with `linear_id` from `common.wgsl`).
    pub fn dispatch(
        &mut self,
        pipeline: &Kernel,
        params: &[u8],
        buffers: &[wgpu::BindingResource<'_>],
        workgroups: u32,
    ) -> Result<(), GpuError> {
        self.dispatch_from(pipeline, params, 1, buffers, workgroups)
    }

    /// As [`Batch::dispatch`], with `buffers` at bindings `first_binding..`: for a second entry
    /// point of a module that uses a later range of its bindings.
    pub fn dispatch_from(
        &mut self,
        pipeline: &Kernel,
        params: &[u8],
        first_binding: u32,
        buffers: &[wgpu::BindingResource<'_>],
        workgroups: u32,
    ) -> Result<(), GpuError> {
        let numbered: Vec<(u32, wgpu::BindingResource<'_>)> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u32 + first_binding, b.clone()))
            .collect();
        self.dispatch_at(pipeline, params, &numbered, workgroups)
    }

    /// As [`Batch::dispatch`], each buffer with its binding number: for an entry point that
    /// skips a binding another entry point of its module uses.
    pub fn dispatch_at(
        &mut self,
        pipeline: &Kernel,
        params: &[u8],
        buffers: &[(u32, wgpu::BindingResource<'_>)],
        workgroups: u32,
    ) -> Result<(), GpuError> {
        if workgroups == 0 {
            return Ok(());
        }
        let slot = self.params.push(params, self.ctx.uniform_arena.align());
        let arena = self.ctx.uniform_arena.chunk(slot.chunk, &self.ctx.stats);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &arena,
                offset: slot.offset,
                size: wgpu::BufferSize::new(slot.size),
            }),
        }];
        for (binding, resource) in buffers {
            entries.push(wgpu::BindGroupEntry {
                binding: *binding,
                resource: resource.clone(),
            });
        }
        let create = || {
            self.ctx.stats.bind_group_created();
            self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let bind_group = match BindKey::new(pipeline, &entries) {
            Some(key) => self.ctx.bind_groups.get_or_create(key, create),
            None => create(),
        };
        let max = self.ctx.caps.max_workgroups_per_dim.max(1);
        let (x, y) = if workgroups <= max {
            (workgroups, 1)
        } else {
            (max, workgroups.div_ceil(max))
        };
        let pass = self.pass.get_or_insert_with(|| {
            self.ctx.stats.compute_pass();
            self.encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: None,
                })
                .forget_lifetime()
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        self.dispatches += 1;
        self.ctx.stats.dispatched();
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(profiler) = &self.ctx.profiler {
            self.run_alone(profiler, pipeline.name)?;
        }
        Ok(())
    }

    /// Ends the open compute pass, if any, so that the encoder can take a copy (the next
    /// dispatch opens a new pass).
    fn end_pass(&mut self) {
        self.pass = None;
    }

    /// Profiling: submits what is recorded (this dispatch and any copies before it) and charges
    /// the time until the GPU finishes to `kernel`.
    #[cfg(not(target_arch = "wasm32"))]
    fn run_alone(&mut self, profiler: &super::profile::KernelProfiler, kernel: &'static str) -> Result<(), GpuError> {
        let fresh = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("webslm profiled dispatch"),
        });
        self.end_pass();
        let recorded = std::mem::replace(&mut self.encoder, fresh);
        let t = std::time::Instant::now();
        submit_encoded(self.ctx, &mut self.params, recorded);
        self.ctx.wait_idle()?;
        profiler.add(kernel, t.elapsed().as_secs_f64());
        Ok(())
    }

    /// Records a buffer-to-buffer copy between dispatches (ordered with them).
    pub fn copy(&mut self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        self.end_pass();
        self.encoder.copy_buffer_to_buffer(src, 0, dst, 0, bytes);
    }

    /// Records a copy of `bytes` from `src` at `src_offset` to `dst` at `dst_offset` (offsets and
    /// size are multiples of 4), ordered with the dispatches around it.
    pub fn copy_region(
        &mut self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        self.end_pass();
        self.encoder
            .copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes);
    }

    /// A pooled uniform buffer for the dispatch being recorded, back in the pool at once: a later
    /// dispatch of this batch that takes it again runs after this one (commands run in recording
    /// order, and wgpu orders a copy into it after the earlier read), and no other recorder can
    /// take it before this batch is submitted (`recording`). Holding each until submit cost a
    /// software-path token 64 KiB per GEMV: 26 MiB more with a LoRA adapter's 420 low-rank GEMVs.
    pub fn scratch_uniform(&mut self, bytes: u64) -> wgpu::Buffer {
        let pooled = self
            .ctx
            .pool
            .get(bytes, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST);
        pooled.raw().clone()
    }

    pub fn dispatch_count(&self) -> usize {
        self.dispatches
    }

    /// Submits everything recorded so far.
    pub fn submit(self) -> Result<(), GpuError> {
        let Batch {
            ctx,
            pass,
            encoder,
            mut params,
            ..
        } = self;
        drop(pass);
        submit_encoded(ctx, &mut params, encoder);
        ctx.check()
    }

    /// Submits everything recorded so far together with copies of `tensors` into one staging
    /// buffer, and reads them back: one submit and one wait for a decode step's results.
    pub async fn submit_and_read(mut self, tensors: &[&GpuTensor]) -> Result<Vec<Vec<u32>>, GpuError> {
        let total: u64 = tensors.iter().map(|t| t.bytes()).sum();
        let staging = self.ctx.pool.get(
            total.max(4),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        self.end_pass();
        let mut offset = 0;
        for t in tensors {
            self.encoder
                .copy_buffer_to_buffer(t.buffer(), 0, staging.raw(), offset, t.bytes());
            offset += t.bytes();
        }
        let ctx = self.ctx;
        self.submit()?;
        let words = ctx.map_staging(&staging, total.max(4)).await?;
        let mut out = Vec::with_capacity(tensors.len());
        let mut at = 0;
        for t in tensors {
            out.push(words[at..at + t.numel()].to_vec());
            at += t.numel();
        }
        Ok(out)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn submit_and_read_blocking(self, tensors: &[&GpuTensor]) -> Result<Vec<Vec<u32>>, GpuError> {
        pollster::block_on(self.submit_and_read(tensors))
    }
}

/// Writes the params recorded so far to the uniform arena and submits `encoder` (its pass
/// ended): the write lands before the submit, as the arena needs.
fn submit_encoded(ctx: &GpuContext, params: &mut UniformBytes, encoder: wgpu::CommandEncoder) {
    params.flush(&ctx.uniform_arena, &ctx.queue, &ctx.stats);
    ctx.queue.submit([encoder.finish()]);
    ctx.stats.submitted();
    ctx.bind_groups.next_generation();
}

/// Event-loop turns a failed map waits for the device-lost callback (about 4 ms each once timers
/// nest, so at most about 0.2 s, and only on a path that has already failed).
#[cfg(target_arch = "wasm32")]
const LOSS_SETTLE_TURNS: usize = 50;

impl GpuContext {
    /// Waits for all submitted work (natively; the browser resolves map callbacks itself).
    pub fn wait_idle(&self) -> Result<(), GpuError> {
        self.poll_wait()?;
        self.check()
    }

    /// Blocks until submitted work is done (natively). A failed poll means the device is gone:
    /// it is marked lost, so later calls fail fast instead of waiting on it again.
    fn poll_wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| {
                self.errors.mark_lost(e.to_string());
                GpuError::DeviceLost(e.to_string())
            })
    }

    /// Copies a tensor back to the CPU as raw 32-bit words.
    pub async fn read_u32_words(&self, t: &GpuTensor) -> Result<Vec<u32>, GpuError> {
        let bytes = t.bytes();
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = self
            .pool
            .get(bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
        encoder.copy_buffer_to_buffer(t.buffer(), 0, staging.raw(), 0, bytes);
        self.queue.submit([encoder.finish()]);
        self.stats.submitted();
        self.map_staging(&staging, bytes).await
    }

    /// Waits for `staging` (MAP_READ) to be written and copies its first `bytes` out.
    async fn map_staging(&self, staging: &PooledBuffer, bytes: u64) -> Result<Vec<u32>, GpuError> {
        let slice = staging.raw().slice(0..bytes);
        let (tx, rx) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.poll_wait()?;
        // A lost device fails pending maps (WebGPU rejects them; wgpu-core errors them out at
        // the poll), so this await ends either way; the error then says the device is gone.
        let mapped = match rx.await {
            Ok(mapped) => mapped.map_err(|e| GpuError::Readback(e.to_string())),
            Err(_) => Err(GpuError::Readback("map callback dropped".into())),
        };
        if let Err(e) = mapped {
            return Err(self.map_failed(e).await);
        }
        // Copy out and unmap before anything can return early: the staging buffer goes back to
        // the pool, and a buffer left mapped would break its next use.
        let words = slice
            .get_mapped_range()
            .map(|view| bytemuck::cast_slice::<u8, u32>(&view).to_vec());
        staging.raw().unmap();
        let words = words.map_err(|e| self.failure(GpuError::Readback(e.to_string())))?;
        self.check()?;
        Ok(words)
    }

    /// A failed map as the error to report: `DeviceLost` when the device is gone. Chromium
    /// rejects pending maps before the device's `lost` promise settles (observed with
    /// `GPUDevice.destroy()`), so in the browser this waits a few event-loop turns for the
    /// device-lost callback before deciding that the failure was something else.
    async fn map_failed(&self, e: GpuError) -> GpuError {
        #[cfg(target_arch = "wasm32")]
        for _ in 0..LOSS_SETTLE_TURNS {
            if self.errors.lost().is_some() {
                break;
            }
            crate::clock::next_task().await;
        }
        self.failure(e)
    }

    /// `e`, or `DeviceLost` when the device is gone. Natively wgpu-core reports a destroyed
    /// device's loss only at its next poll, and a call can fail on it before that (a buffer made
    /// on it is invalid, so mapping it fails), so this polls first to let the callback run.
    pub(crate) fn failure(&self, e: GpuError) -> GpuError {
        #[cfg(not(target_arch = "wasm32"))]
        if self.errors.lost().is_none() {
            let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        }
        self.errors.or_lost(e)
    }

    pub async fn read_f32(&self, t: &GpuTensor) -> Result<Vec<f32>, GpuError> {
        Ok(self.read_u32_words(t).await?.into_iter().map(f32::from_bits).collect())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_f32_blocking(&self, t: &GpuTensor) -> Result<Vec<f32>, GpuError> {
        pollster::block_on(self.read_f32(t))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_u32_blocking(&self, t: &GpuTensor) -> Result<Vec<u32>, GpuError> {
        pollster::block_on(self.read_u32_words(t))
    }
}
