//! Weights that arrive as a byte stream (the browser's fetch), uploaded to the GPU tensor by
//! tensor as they complete, so that at most one tensor is ever held in memory.
//!
//! The header (GGUF or safetensors) is parsed first; it gives every tensor's byte range. Bytes
//! are then pushed in file order: bytes between tensors are skipped, a tensor's bytes are
//! gathered until it is complete, then a matrix goes to the GPU in its stored format and a
//! vector (norms, biases) is kept as f32 on the CPU. The result is a [`TensorSource`] the model
//! loaders read exactly like a file. The SHA-256 of everything pushed is computed on the way.

use std::collections::HashMap;
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::formats::gguf::GgufFile;
use crate::formats::quant::{dequantize, WeightFormat};
use crate::formats::safetensors::SafetensorsFile;
use crate::gpu::GpuContext;
use crate::kernels::GpuWeight;

use super::tensor_source::TensorSource;
use super::ModelError;

/// What the header says about one tensor.
#[derive(Clone, Debug)]
struct Planned {
    name: String,
    range: Range<u64>,
    format: WeightFormat,
    /// Outermost first, as safetensors writes it (GGUF dims reversed).
    shape: Vec<u64>,
}

enum Held {
    Matrix(GpuWeight),
    Vector(Vec<f32>),
}

/// Tensors of one file, filled by [`StreamingSource::push`].
pub struct StreamingSource {
    plan: Vec<Planned>,
    next: usize,
    /// Absolute offset in the file of the next pushed byte.
    pos: u64,
    file_len: u64,
    current: Vec<u8>,
    held: HashMap<String, Held>,
    shapes: HashMap<String, Vec<u64>>,
    hasher: Sha256,
    /// Largest tensor in bytes: what the stream holds in memory at most.
    pub largest_tensor: u64,
}

impl StreamingSource {
    /// The tensors of a parsed GGUF header.
    pub fn for_gguf(gguf: &GgufFile, file_len: u64) -> StreamingSource {
        let plan = gguf
            .tensors()
            .iter()
            .map(|t| Planned {
                name: t.name.clone(),
                range: t.start..t.start + t.n_bytes,
                format: t.format,
                shape: t.dims.iter().rev().copied().collect(),
            })
            .collect();
        Self::new(plan, file_len)
    }

    /// The weight tensors of a parsed safetensors header (others, such as I64 position ids,
    /// are skipped).
    pub fn for_safetensors(file: &SafetensorsFile) -> StreamingSource {
        let plan = file
            .tensors()
            .iter()
            .filter_map(|t| {
                Some(Planned {
                    name: t.name.clone(),
                    range: t.range.clone(),
                    format: t.format()?,
                    shape: t.shape.clone(),
                })
            })
            .collect();
        Self::new(plan, file.file_len())
    }

    fn new(mut plan: Vec<Planned>, file_len: u64) -> StreamingSource {
        plan.sort_by_key(|p| p.range.start);
        let largest_tensor = plan.iter().map(|p| p.range.end - p.range.start).max().unwrap_or(0);
        let shapes = plan.iter().map(|p| (p.name.clone(), p.shape.clone())).collect();
        StreamingSource {
            plan,
            next: 0,
            pos: 0,
            file_len,
            current: Vec::new(),
            held: HashMap::new(),
            shapes,
            hasher: Sha256::new(),
            largest_tensor,
        }
    }

    /// Bytes pushed so far.
    pub fn received(&self) -> u64 {
        self.pos
    }

    /// Whether the whole file has been pushed.
    pub fn is_complete(&self) -> bool {
        self.pos == self.file_len
    }

    /// The SHA-256 of every byte pushed, as lower-case hex (meaningful once complete).
    pub fn sha256_hex(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Consumes the next bytes of the file, uploading every tensor they complete.
    pub fn push(&mut self, ctx: &GpuContext, mut chunk: &[u8]) -> Result<(), ModelError> {
        if self.pos + chunk.len() as u64 > self.file_len {
            return Err(ModelError::TooManyBytes(self.file_len));
        }
        self.hasher.update(chunk);
        while !chunk.is_empty() {
            let Some(t) = self.plan.get(self.next) else {
                // Past the last tensor: trailing bytes are only counted.
                self.pos += chunk.len() as u64;
                return Ok(());
            };
            if self.pos < t.range.start {
                let skip = ((t.range.start - self.pos) as usize).min(chunk.len());
                self.pos += skip as u64;
                chunk = &chunk[skip..];
                continue;
            }
            let want = (t.range.end - self.pos) as usize;
            if self.current.is_empty() {
                // Exactly one tensor's worth, so the buffer never doubles past it.
                self.current.reserve_exact((t.range.end - t.range.start) as usize);
            }
            let take = want.min(chunk.len());
            self.current.extend_from_slice(&chunk[..take]);
            self.pos += take as u64;
            chunk = &chunk[take..];
            if self.pos == t.range.end {
                let bytes = std::mem::take(&mut self.current);
                let t = t.clone();
                self.store(ctx, &t, &bytes)?;
                self.next += 1;
            }
        }
        Ok(())
    }

    fn store(&mut self, ctx: &GpuContext, t: &Planned, bytes: &[u8]) -> Result<(), ModelError> {
        let bad = |e: String| ModelError::Config(format!("{}: {e}", t.name));
        let held = match t.shape.as_slice() {
            [n] => {
                let len = *n as usize;
                let mut v = vec![0.0; len];
                dequantize(t.format, bytes, len.max(1), &mut v).map_err(|e| bad(e.to_string()))?;
                Held::Vector(v)
            }
            [rows, k] => Held::Matrix(GpuWeight::upload(
                ctx,
                &t.name,
                t.format,
                *rows as usize,
                *k as usize,
                bytes,
            )?),
            // Higher-rank tensors are not weights any supported model reads.
            _ => return Ok(()),
        };
        self.held.insert(t.name.clone(), held);
        Ok(())
    }

    fn shape_error(&self, name: &str, expected: Vec<u64>) -> ModelError {
        ModelError::BadShape {
            name: name.to_string(),
            expected,
            got: self.shapes.get(name).cloned().unwrap_or_default(),
        }
    }

    fn missing(&self, name: &str) -> ModelError {
        if self.shapes.contains_key(name) {
            ModelError::NotArrived(name.to_string())
        } else {
            ModelError::MissingTensor(name.to_string())
        }
    }
}

impl TensorSource for StreamingSource {
    fn has(&self, name: &str) -> bool {
        self.shapes.contains_key(name)
    }

    fn shape(&self, name: &str) -> Option<Vec<u64>> {
        self.shapes.get(name).cloned()
    }

    /// Hands over the uploaded weight (each matrix is taken once).
    fn matrix(&mut self, _ctx: &GpuContext, name: &str, rows: usize, k: usize) -> Result<GpuWeight, ModelError> {
        let expected = vec![rows as u64, k as u64];
        if self.shapes.get(name).is_some_and(|s| *s != expected) {
            return Err(self.shape_error(name, expected));
        }
        match self.held.remove(name) {
            Some(Held::Matrix(w)) => Ok(w),
            Some(other) => {
                self.held.insert(name.to_string(), other);
                Err(self.shape_error(name, expected))
            }
            None => Err(self.missing(name)),
        }
    }

    fn vector_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        match self.held.get(name) {
            Some(Held::Vector(v)) if v.len() == len => Ok(v.clone()),
            Some(_) => Err(self.shape_error(name, vec![len as u64])),
            None => Err(self.missing(name)),
        }
    }
}
