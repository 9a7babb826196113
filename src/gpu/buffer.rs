//! GPU tensors and the buffer pool.
//!
//! Activations are short-lived and come in a handful of sizes that repeat every token, so their
//! buffers are recycled through [`BufferPool`] instead of being created per dispatch. Weights are
//! allocated once at their exact size and never pooled.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::error::GpuError;
use super::stats::GpuStats;

/// Usage every pooled buffer gets: kernels read and write it, and it can be uploaded/read back.
const POOLED_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Idle buffers per (size bucket, usage), ordered by buffer id (pooled buffers are never destroyed,
/// so an id is never reused for another buffer).
type FreeLists = HashMap<(u64, wgpu::BufferUsages), BTreeSet<wgpu::Buffer>>;

/// Recycles buffers by (size bucket, usage). Buckets are powers of two, so a buffer serves any
/// request up to its size; the waste is below 2x and only for activations, which are small.
///
/// A request takes the idle buffer with the lowest id, not the last one returned: which buffer
/// a request gets then depends only on which are idle, not on the order earlier work dropped
/// them. Every decoded token starts with the same buffers idle, so it gets the same buffers as
/// the token before, and its bind groups can be reused (`bind_cache.rs`); with last-in-first-out
/// the order flips from one token to the next.
#[derive(Clone)]
pub struct BufferPool {
    device: wgpu::Device,
    free: Arc<Mutex<FreeLists>>,
    stats: Arc<GpuStats>,
}

impl BufferPool {
    pub fn new(device: wgpu::Device, stats: Arc<GpuStats>) -> Self {
        BufferPool {
            device,
            free: Arc::default(),
            stats,
        }
    }

    fn bucket(bytes: u64) -> u64 {
        bytes.max(16).next_power_of_two()
    }

    /// A buffer of at least `bytes`, from the free list when one fits.
    pub fn get(&self, bytes: u64, usage: wgpu::BufferUsages) -> PooledBuffer {
        let size = Self::bucket(bytes);
        let reused = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.get_mut(&(size, usage)).and_then(BTreeSet::pop_first));
        let buffer = reused.unwrap_or_else(|| {
            // Pooled buffers are never freed while the device lives, so this only grows.
            self.stats.allocated(size);
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("webslm pooled"),
                size,
                usage,
                mapped_at_creation: false,
            })
        });
        PooledBuffer {
            buffer: Some(buffer),
            free: Some(self.free.clone()),
            stats: None,
        }
    }

    /// Buffers currently idle in the pool (for tests and memory reports).
    pub fn idle_count(&self) -> usize {
        self.free
            .lock()
            .map(|f| f.values().map(BTreeSet::len).sum())
            .unwrap_or(0)
    }
}

/// A buffer that returns to its pool when dropped. Safe even if the GPU still uses it: WebGPU
/// orders later queue writes and submits after earlier ones, so a reuse can't overtake a read.
pub struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    free: Option<Arc<Mutex<FreeLists>>>,
    /// For a buffer that is not pooled: where to count its bytes as freed.
    stats: Option<Arc<GpuStats>>,
}

impl PooledBuffer {
    /// A buffer that is not pooled (one-off uploads), counted in `stats` while it lives.
    pub fn unpooled(buffer: wgpu::Buffer, stats: &Arc<GpuStats>) -> Self {
        stats.allocated(buffer.size());
        PooledBuffer {
            buffer: Some(buffer),
            free: None,
            stats: Some(stats.clone()),
        }
    }

    pub fn raw(&self) -> &wgpu::Buffer {
        // Invariant: `buffer` is only None during drop.
        self.buffer.as_ref().expect("PooledBuffer used after drop")
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let Some(buffer) = self.buffer.take() else { return };
        if let Some(stats) = &self.stats {
            stats.freed(buffer.size());
        }
        if let Some(Ok(mut free)) = self.free.as_ref().map(|f| f.lock()) {
            free.entry((buffer.size(), buffer.usage())).or_default().insert(buffer);
        }
    }
}

/// Element type of a tensor on the GPU. Activations are f32; token ids and masks are u32; the
/// KV cache may hold f16, two per u32 word (`pack2x16float`, so no `shader-f16` is needed; an
/// odd count leaves the last word's high half unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    U32,
    F16,
}

impl DType {
    /// Bytes that `numel` elements of this type take, padded to whole u32 words.
    pub fn bytes_for(self, numel: usize) -> u64 {
        match self {
            DType::F32 | DType::U32 => numel as u64 * 4,
            DType::F16 => (numel as u64).div_ceil(2) * 4,
        }
    }
}

/// A dense row-major tensor in a GPU storage buffer.
pub struct GpuTensor {
    pub(crate) buf: PooledBuffer,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl GpuTensor {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn bytes(&self) -> u64 {
        self.dtype.bytes_for(self.numel())
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buf.raw()
    }

    /// The binding covering exactly this tensor's elements (the pooled buffer may be larger).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buf.raw(),
            offset: 0,
            size: wgpu::BufferSize::new(self.bytes().max(4)),
        })
    }
}

/// The element count of `shape`, or an error when it overflows (shapes come from model files,
/// and wasm32's usize is 32 bits).
pub fn checked_numel(shape: &[usize]) -> Result<usize, GpuError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|n| n.checked_mul(4).is_some())
        .ok_or_else(|| GpuError::InvalidArgument(format!("shape {shape:?} has too many elements")))
}

impl super::GpuContext {
    /// An uninitialised f32/u32 tensor from the pool.
    pub fn tensor(&self, shape: &[usize], dtype: DType) -> Result<GpuTensor, GpuError> {
        let numel = checked_numel(shape)?;
        let bytes = dtype.bytes_for(numel).max(4);
        if bytes > self.caps.max_binding_bytes() {
            return Err(GpuError::TooLarge {
                what: format!("a {dtype:?} tensor of shape {shape:?}"),
                needed: bytes,
                limit: self.caps.max_binding_bytes(),
            });
        }
        Ok(GpuTensor {
            buf: self.pool.get(bytes, POOLED_USAGE),
            shape: shape.to_vec(),
            dtype,
        })
    }

    pub fn upload_f32(&self, data: &[f32], shape: &[usize]) -> Result<GpuTensor, GpuError> {
        self.upload(bytemuck::cast_slice(data), data.len(), shape, DType::F32)
    }

    pub fn upload_u32(&self, data: &[u32], shape: &[usize]) -> Result<GpuTensor, GpuError> {
        self.upload(bytemuck::cast_slice(data), data.len(), shape, DType::U32)
    }

    /// An f16 tensor of `shape` from its packed words (two elements per u32, the even one in the
    /// low half: `cpu::kv::pack_f16`).
    pub fn upload_f16(&self, words: &[u32], shape: &[usize]) -> Result<GpuTensor, GpuError> {
        let numel = checked_numel(shape)?;
        if numel.div_ceil(2) != words.len() {
            return Err(GpuError::InvalidArgument(format!(
                "{} words do not hold the f16 values of shape {shape:?}",
                words.len()
            )));
        }
        let tensor = self.upload(bytemuck::cast_slice(words), words.len(), &[words.len()], DType::F16)?;
        Ok(GpuTensor {
            shape: shape.to_vec(),
            ..tensor
        })
    }

    /// Uploads go to a fresh buffer filled at creation, never to a pooled one: a pooled buffer
    /// may have been dropped by a kernel recorded in a batch that is not submitted yet, and a
    /// `queue.write_buffer` into it would land before that kernel runs.
    fn upload(&self, bytes: &[u8], len: usize, shape: &[usize], dtype: DType) -> Result<GpuTensor, GpuError> {
        if checked_numel(shape)? != len {
            return Err(GpuError::InvalidArgument(format!(
                "{len} values do not fill shape {shape:?}"
            )));
        }
        let size = (bytes.len() as u64).max(4);
        if size > self.caps.max_binding_bytes() {
            return Err(GpuError::TooLarge {
                what: format!("a {dtype:?} tensor of shape {shape:?}"),
                needed: size,
                limit: self.caps.max_binding_bytes(),
            });
        }
        if let Some(reason) = self.lost() {
            return Err(GpuError::DeviceLost(reason));
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("webslm upload"),
            size,
            usage: POOLED_USAGE,
            mapped_at_creation: true,
        });
        if !bytes.is_empty() {
            self.stats.queue_write();
            // f32/u32 data: the length is a multiple of 4, as mapping requires.
            buffer
                .slice(..bytes.len() as u64)
                .get_mapped_range_mut()
                .map_err(|e| self.failure(GpuError::Readback(e.to_string())))?
                .copy_from_slice(bytes);
        }
        buffer.unmap();
        Ok(GpuTensor {
            buf: PooledBuffer::unpooled(buffer, &self.stats),
            shape: shape.to_vec(),
            dtype,
        })
    }

    /// A read-only storage buffer holding `bytes` exactly (padded to 4 bytes), e.g. one weight part.
    pub fn upload_weight_bytes(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer, GpuError> {
        let padded = (bytes.len() as u64).div_ceil(4).max(1) * 4;
        if padded > self.caps.max_binding_bytes() {
            return Err(GpuError::TooLarge {
                what: label.to_string(),
                needed: padded,
                limit: self.caps.max_binding_bytes(),
            });
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: padded,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // Weights live as long as the model; their bytes are not counted back when it drops.
        self.stats.allocated(padded);
        let whole = bytes.len() / 4 * 4;
        self.queue.write_buffer(&buffer, 0, &bytes[..whole]);
        self.stats.queue_write();
        if whole < bytes.len() {
            self.stats.queue_write();
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            self.queue.write_buffer(&buffer, whole as u64, &tail);
        }
        Ok(buffer)
    }
}
