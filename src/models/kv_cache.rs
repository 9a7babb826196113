//! The key/value cache: per layer, K and V as `[cap, n_kv_head, head_dim]` GPU tensors, f16 by
//! default (half the memory and half the bytes each decoded token reads; packed in u32 pairs, so
//! every adapter can hold it) or f32.
//!
//! Position t lives in slot t % cap. Global layers get `cap = context`; sliding-window layers
//! keep only what their window can still see: `window + max_chunk - 1` slots (a prefill chunk of
//! `max_chunk` queries reaches `window - 1` positions behind its first query).

use crate::gpu::{Batch, DType, GpuContext, GpuError, GpuTensor};
use crate::kernels::kv_append::kv_append;

use super::{DecoderConfig, ModelError};

/// How the cache stores keys and values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvDtype {
    /// Rounded to f16 on the way in (nearest even), two per u32 word.
    #[default]
    F16,
    F32,
}

impl KvDtype {
    pub fn dtype(self) -> DType {
        match self {
            KvDtype::F16 => DType::F16,
            KvDtype::F32 => DType::F32,
        }
    }

    /// Bytes per cached key or value element.
    pub fn elem_bytes(self) -> usize {
        match self {
            KvDtype::F16 => 2,
            KvDtype::F32 => 4,
        }
    }
}

pub struct LayerCache {
    pub k: GpuTensor,
    pub v: GpuTensor,
    pub cap: usize,
}

pub struct KvCache {
    pub layers: Vec<LayerCache>,
    /// Positions the model may use in total.
    pub context: usize,
    /// Most tokens one forward call may add.
    pub max_chunk: usize,
    /// The token ids whose keys and values are cached, in order (for reusing a shared prefix).
    pub tokens: Vec<u32>,
    pub dtype: KvDtype,
}

impl KvCache {
    pub fn new(
        ctx: &GpuContext,
        cfg: &DecoderConfig,
        context: usize,
        max_chunk: usize,
        dtype: KvDtype,
    ) -> Result<Self, ModelError> {
        if context == 0 || max_chunk == 0 {
            return Err(ModelError::Config("context and chunk size must be positive".into()));
        }
        let row = cfg.n_kv_head * cfg.head_dim;
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for &local in &cfg.local_layers {
            let cap = if local {
                context.min(cfg.sliding_window + max_chunk - 1)
            } else {
                context
            };
            layers.push(LayerCache {
                k: ctx.tensor(&[cap, row], dtype.dtype())?,
                v: ctx.tensor(&[cap, row], dtype.dtype())?,
                cap,
            });
        }
        Ok(KvCache {
            layers,
            context,
            max_chunk,
            tokens: Vec::new(),
            dtype,
        })
    }

    /// Positions filled so far.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Forgets everything from position `len` on (a new chat turn that diverges, a new prompt).
    pub fn truncate(&mut self, len: usize) {
        self.tokens.truncate(len);
    }

    /// GPU memory held, in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.k.bytes() + l.v.bytes()).sum()
    }

    /// Records copying `n` rows of new keys and values (`[n, n_kv_head * head_dim]`) into layer
    /// `layer` at positions `pos0..pos0 + n`, wrapping around the ring.
    pub fn write(
        &self,
        batch: &mut Batch<'_>,
        layer: usize,
        k: &GpuTensor,
        v: &GpuTensor,
        pos0: usize,
        n: usize,
    ) -> Result<(), GpuError> {
        let l = &self.layers[layer];
        if self.dtype == KvDtype::F16 {
            let row = k.numel() / n.max(1);
            return kv_append(batch, k, v, &l.k, &l.v, row, l.cap, pos0);
        }
        let row_bytes = (k.numel() / n.max(1)) as u64 * 4;
        let mut s = 0;
        while s < n {
            let slot = (pos0 + s) % l.cap;
            let run = (n - s).min(l.cap - slot);
            let (src, dst, bytes) = (s as u64 * row_bytes, slot as u64 * row_bytes, run as u64 * row_bytes);
            batch.copy_region(k.buffer(), src, l.k.buffer(), dst, bytes);
            batch.copy_region(v.buffer(), src, l.v.buffer(), dst, bytes);
            s += run;
        }
        Ok(())
    }
}
