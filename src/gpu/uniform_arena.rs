//! Every dispatch's params in one uniform buffer, written once per batch.
//!
//! Queue writes land before the whole submit that follows them, so one buffer that each dispatch
//! overwrote would leave every dispatch reading the last one's values. Instead each dispatch's
//! params get their own slot (aligned to `minUniformBufferOffsetAlignment`) in a CPU-side copy,
//! and [`Batch`](super::Batch) writes the copy with one `queue.write_buffer` just before it
//! submits: one host write per batch instead of one per dispatch.
//!
//! The slots are bound with a plain `BufferBinding` offset rather than a dynamic offset: dynamic
//! offsets need explicit bind group layouts, i.e. a hand-written binding list for every entry
//! point (or WGSL reflection in the wasm build), while the pipelines here use the layouts wgpu
//! derives from the WGSL. A decode step lays its dispatches out in the same order every token, so
//! a dispatch lands at the same offset each time and its bind group can still be cached
//! (`bind_cache.rs`).
//!
//! The buffers persist across batches: the previous batch was submitted before this one's write,
//! and WebGPU runs queue writes and submits in the order they were issued, so the write cannot
//! overtake a kernel that still reads the old values.

use std::sync::Mutex;

use super::stats::GpuStats;

/// Bytes per arena buffer: 4096 slots of 256 bytes, more than any batch here records (a decoded
/// SmolLM2 token is about 400 dispatches). A batch that needs more takes a second buffer (and a
/// second write) rather than failing.
pub(crate) const CHUNK_BYTES: u64 = 1 << 20;

/// The device's arena buffers, created on first use and kept for its life.
pub(crate) struct UniformArena {
    device: wgpu::Device,
    align: u64,
    chunks: Mutex<Vec<wgpu::Buffer>>,
}

/// Where one dispatch's params live: buffer `chunk` at `offset`, `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub chunk: usize,
    pub offset: u64,
    pub size: u64,
}

impl UniformArena {
    pub fn new(device: wgpu::Device) -> Self {
        // A power of two; WebGPU's default, and most GPUs', is 256.
        let align = u64::from(device.limits().min_uniform_buffer_offset_alignment).max(16);
        UniformArena {
            device,
            align,
            chunks: Mutex::default(),
        }
    }

    /// The slot alignment (`minUniformBufferOffsetAlignment`).
    pub fn align(&self) -> u64 {
        self.align
    }

    /// Arena buffer `i`, created (and counted in `stats`) on first use.
    pub fn chunk(&self, i: usize, stats: &GpuStats) -> wgpu::Buffer {
        let mut chunks = self.chunks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while chunks.len() <= i {
            stats.allocated(CHUNK_BYTES);
            chunks.push(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("webslm uniform arena"),
                size: CHUNK_BYTES,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        chunks[i].clone()
    }
}

/// One batch's params, in the order its dispatches were recorded.
#[derive(Default)]
pub(crate) struct UniformBytes {
    bytes: Vec<u8>,
    /// Bytes already written by an earlier flush (profiling submits mid-batch).
    flushed: usize,
}

impl UniformBytes {
    /// Copies `params` (padded to 16 bytes, as WGSL sizes uniform structs) into the next slot.
    /// A slot never straddles two arena buffers.
    pub fn push(&mut self, params: &[u8], align: u64) -> Slot {
        let size = (params.len().max(16) as u64).div_ceil(16) * 16;
        let mut at = (self.bytes.len() as u64).div_ceil(align) * align;
        if at % CHUNK_BYTES + size > CHUNK_BYTES {
            at = at.div_ceil(CHUNK_BYTES) * CHUNK_BYTES;
        }
        self.bytes.resize(at as usize, 0);
        self.bytes.extend_from_slice(params);
        self.bytes.resize((at + size) as usize, 0);
        Slot {
            chunk: (at / CHUNK_BYTES) as usize,
            offset: at % CHUNK_BYTES,
            size,
        }
    }

    /// Writes the bytes pushed since the last flush: one `queue.write_buffer` per arena buffer
    /// they touch (one for any batch under `CHUNK_BYTES`).
    pub fn flush(&mut self, arena: &UniformArena, queue: &wgpu::Queue, stats: &GpuStats) {
        let chunk = CHUNK_BYTES as usize;
        while self.flushed < self.bytes.len() {
            let i = self.flushed / chunk;
            let end = self.bytes.len().min((i + 1) * chunk);
            let buffer = arena.chunk(i, stats);
            queue.write_buffer(&buffer, (self.flushed % chunk) as u64, &self.bytes[self.flushed..end]);
            stats.queue_write();
            self.flushed = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_padded_and_never_straddle_a_chunk() {
        let mut u = UniformBytes::default();
        let a = u.push(&[1; 20], 256);
        assert_eq!(
            a,
            Slot {
                chunk: 0,
                offset: 0,
                size: 32
            }
        );
        let b = u.push(&[2; 4], 256);
        assert_eq!(
            b,
            Slot {
                chunk: 0,
                offset: 256,
                size: 16
            }
        );
        assert_eq!(&u.bytes[256..260], &[2; 4]);
        assert_eq!(&u.bytes[20..32], &[0; 12], "padding is zeroed");
        // Fill up to the last slot of the first chunk; the next one opens the second chunk.
        let slots = (CHUNK_BYTES / 256) as usize;
        let mut last = b;
        for _ in 2..slots {
            last = u.push(&[3; 16], 256);
        }
        assert_eq!(
            last,
            Slot {
                chunk: 0,
                offset: CHUNK_BYTES - 256,
                size: 16
            }
        );
        assert_eq!(
            u.push(&[4; 16], 256),
            Slot {
                chunk: 1,
                offset: 0,
                size: 16
            }
        );
        // A slot too big for what is left of a chunk starts the next one.
        let mut v = UniformBytes::default();
        v.bytes.resize(CHUNK_BYTES as usize - 48, 0);
        assert_eq!(
            v.push(&[5; 64], 16),
            Slot {
                chunk: 1,
                offset: 0,
                size: 64
            }
        );
    }
}
