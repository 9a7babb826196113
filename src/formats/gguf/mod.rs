//! GGUF (llama.cpp's model file format), versions 2 and 3: header parser and lazy tensor ranges.
//!
//! Byte layout (all integers little-endian; from ggml's `gguf.h`):
//!
//! ```text
//! offset  size  field
//! 0       4     magic "GGUF"
//! 4       4     u32 version (2 or 3; version 1 used u32 counts and is not supported)
//! 8       8     u64 n_tensors
//! 16      8     u64 n_kv
//! 24      ...   n_kv metadata entries:
//!                 string key                      (u64 len, then len UTF-8 bytes, no NUL)
//!                 u32    value type               (0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32,
//!                                                  6 f32, 7 bool, 8 string, 9 array,
//!                                                  10 u64, 11 i64, 12 f64)
//!                 value                           (array = u32 elem type, u64 len, elements;
//!                                                  arrays of arrays nest)
//! ...     ...   n_tensors tensor infos:
//!                 string name
//!                 u32    n_dims                   (<= 4)
//!                 u64    ne[n_dims]               (ne[0] is the innermost, contiguous dim)
//!                 u32    ggml type                (see quant.rs `WeightFormat::ggml_type`)
//!                 u64    offset                   (relative to the data section, aligned)
//! ...     pad   zero padding up to a multiple of `general.alignment` (u32, default 32)
//! data    ...   tensor data; each tensor is ne[1]*ne[2]*ne[3] rows of row_bytes(ne[0])
//! ```
//!
//! The browser cannot map a 500 MB file, so parsing works on a *prefix*: [`GgufFile::parse`]
//! takes the first bytes of the file plus its total length, and either returns the parsed header
//! or [`GgufError::NeedMoreHeader`] with how many bytes it needs. The tensor data is never read
//! here; [`GgufFile::tensor_range`] gives the absolute byte range to fetch or map for a tensor.
//!
//! A GGUF file is untrusted input. Every count, length and offset is bounded (see the `MAX_*`
//! constants), every size computation is checked, and every tensor range is checked against the
//! file length, the alignment and every other tensor before `parse` returns.

mod error;
mod metadata;
mod reader;

use std::collections::HashMap;
use std::ops::Range;

pub use error::GgufError;
pub use metadata::{FromMeta, MetaArray, MetaValue};

use crate::formats::quant::{QuantError, WeightFormat};
use reader::Cursor;

/// Most tensors a file may declare (the biggest current models have a few thousand).
pub const MAX_TENSORS: u64 = 65536;
/// Most metadata entries a file may declare (real files have 20-60).
pub const MAX_KVS: u64 = 65536;
/// Longest metadata string (16 MiB): room for any chat template, and a bound on one allocation.
pub const MAX_STRING_LEN: u64 = 1 << 24;
/// Longest metadata array (16 Mi elements): vocabularies of 262144 tokens pass with margin.
pub const MAX_ARRAY_LEN: u64 = 1 << 24;
/// Deepest array nesting (a top-level array is depth 1). Real files nest at most 1 deep.
pub const MAX_NESTING: u32 = 4;
/// Longest tensor name. ggml's own limit (GGML_MAX_NAME) is 64; we allow some slack.
pub const MAX_TENSOR_NAME: u64 = 256;
/// Most tensor dimensions (GGML_MAX_DIMS).
pub const MAX_DIMS: u32 = 4;
/// Largest header (everything before the data section) we agree to parse: 64 MiB. Gemma 3's
/// header, with a 262144-token vocabulary and scores, is 6.5 MB.
pub const MAX_HEADER_BYTES: u64 = 64 << 20;
/// Largest `general.alignment` accepted (ggml requires a power of two).
pub const MAX_ALIGNMENT: u64 = 1 << 16;
/// Alignment of the data section and of each tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// One tensor's description from the header.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub format: WeightFormat,
    /// ggml order: `dims[0]` is the innermost (contiguous) dimension, the row length.
    pub dims: Vec<u64>,
    /// Absolute byte offset of the first byte in the file.
    pub start: u64,
    /// Size in bytes (whole rows of whole blocks).
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Absolute byte range of the tensor's data in the file.
    pub fn range(&self) -> Range<u64> {
        self.start..self.start + self.n_bytes
    }

    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header: metadata and tensor infos, with validated tensor ranges.
#[derive(Clone, Debug)]
pub struct GgufFile {
    version: u32,
    file_len: u64,
    alignment: u64,
    data_start: u64,
    metadata: Vec<(String, MetaValue)>,
    md_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

/// Bytes one tensor info needs at least (empty name, zero dims); bounds `Vec` capacity.
const MIN_TENSOR_INFO: u64 = 8 + 4 + 4 + 8;
/// Bytes one metadata entry needs at least (empty key, type, one-byte value).
const MIN_KV: u64 = 8 + 4 + 1;

/// Capacity for `count` items of at least `min` bytes each, bounded by the bytes we hold.
fn bounded_capacity(cur: &Cursor<'_>, count: u64, min: u64, prefix_len: usize) -> usize {
    let left = (prefix_len as u64).saturating_sub(cur.pos());
    count.min(left / min) as usize
}

impl GgufFile {
    /// Parses the header from `prefix`, the first bytes of a file of `file_len` bytes.
    ///
    /// Returns [`GgufError::NeedMoreHeader`] when `prefix` ends before the header does; fetch at
    /// least `needed` bytes (fetching more, say double, saves round trips on large vocabularies)
    /// and call again. The padding after the tensor infos need not be in the prefix.
    pub fn parse(prefix: &[u8], file_len: u64) -> Result<GgufFile, GgufError> {
        let mut cur = Cursor::new(prefix, file_len);
        let prefix_len = prefix.len();

        let magic = cur.bytes(4, "magic")?;
        if magic != b"GGUF" {
            let mut found = [0u8; 4];
            found.copy_from_slice(magic);
            return Err(GgufError::BadMagic { found });
        }
        let version = cur.u32("version")?;
        if version != 2 && version != 3 {
            let hint = if matches!(version.swap_bytes(), 2 | 3) {
                " (this looks like a big-endian GGUF; convert it to little-endian)"
            } else if version == 1 {
                " (version 1 is obsolete; re-convert the model with a current llama.cpp)"
            } else {
                ""
            };
            return Err(GgufError::UnsupportedVersion { version, hint });
        }
        let n_tensors = cur.u64("tensor count")?;
        if n_tensors > MAX_TENSORS {
            return Err(GgufError::TooManyTensors {
                count: n_tensors,
                limit: MAX_TENSORS,
            });
        }
        let n_kv = cur.u64("metadata count")?;
        if n_kv > MAX_KVS {
            return Err(GgufError::TooManyKvs {
                count: n_kv,
                limit: MAX_KVS,
            });
        }

        let cap = bounded_capacity(&cur, n_kv, MIN_KV, prefix_len);
        let mut metadata = Vec::with_capacity(cap);
        let mut md_index = HashMap::with_capacity(cap);
        for _ in 0..n_kv {
            let key = cur.string("metadata key", MAX_STRING_LEN)?;
            let type_offset = cur.pos();
            let type_id = cur.u32("metadata value type")?;
            let value = reader::read_value(&mut cur, type_id, 0, type_offset)?;
            if md_index.insert(key.to_owned(), metadata.len()).is_some() {
                return Err(GgufError::DuplicateKey { key: key.to_owned() });
            }
            metadata.push((key.to_owned(), value));
        }

        let cap = bounded_capacity(&cur, n_tensors, MIN_TENSOR_INFO, prefix_len);
        let mut tensors = Vec::with_capacity(cap);
        let mut rel_offsets = Vec::with_capacity(cap);
        let mut tensor_index = HashMap::with_capacity(cap);
        for _ in 0..n_tensors {
            let (info, rel) = read_tensor_info(&mut cur)?;
            if tensor_index.contains_key(&info.name) {
                return Err(GgufError::DuplicateTensor { name: info.name });
            }
            tensor_index.insert(info.name.clone(), tensors.len());
            tensors.push(info);
            rel_offsets.push(rel);
        }

        let mut file = GgufFile {
            version,
            file_len,
            alignment: DEFAULT_ALIGNMENT,
            data_start: 0,
            metadata,
            md_index,
            tensors,
            tensor_index,
        };
        let alignment = file.md_opt::<u64>("general.alignment")?.unwrap_or(DEFAULT_ALIGNMENT);
        if !alignment.is_power_of_two() || alignment > MAX_ALIGNMENT {
            return Err(GgufError::BadAlignment {
                value: alignment,
                limit: MAX_ALIGNMENT,
            });
        }
        file.alignment = alignment;
        // pos <= MAX_HEADER_BYTES and alignment <= 2^16, so this cannot overflow.
        file.data_start = cur.pos().next_multiple_of(alignment);
        file.place_tensors(&rel_offsets)?;
        Ok(file)
    }

    /// Turns relative offsets into absolute ranges and checks alignment, bounds and overlap.
    fn place_tensors(&mut self, rel_offsets: &[u64]) -> Result<(), GgufError> {
        for (t, &rel) in self.tensors.iter_mut().zip(rel_offsets) {
            if rel % self.alignment != 0 {
                return Err(GgufError::MisalignedTensor {
                    tensor: t.name.clone(),
                    offset: rel,
                    alignment: self.alignment,
                });
            }
            let out_of_bounds = |start: u64, end: u64| GgufError::TensorOutOfBounds {
                tensor: t.name.clone(),
                start,
                end,
                file_len: self.file_len,
            };
            let start = self
                .data_start
                .checked_add(rel)
                .ok_or_else(|| out_of_bounds(u64::MAX, u64::MAX))?;
            let end = start
                .checked_add(t.n_bytes)
                .ok_or_else(|| out_of_bounds(start, u64::MAX))?;
            if end > self.file_len {
                return Err(out_of_bounds(start, end));
            }
            t.start = start;
        }
        // Sorted by start, each tensor must end before the next begins.
        let mut order: Vec<usize> = (0..self.tensors.len()).collect();
        order.sort_by_key(|&i| self.tensors[i].start);
        for pair in order.windows(2) {
            let (a, b) = (&self.tensors[pair[0]], &self.tensors[pair[1]]);
            if a.start + a.n_bytes > b.start {
                return Err(GgufError::OverlappingTensors {
                    first: a.name.clone(),
                    second: b.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Reads the header of a file on disk, fetching more of it as [`GgufFile::parse`] asks.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<GgufFile, GgufError> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let file_len = file.metadata()?.len();
        let mut buf = Vec::new();
        let mut want = file_len.min(1 << 20);
        loop {
            let more = want.saturating_sub(buf.len() as u64);
            (&mut file).take(more).read_to_end(&mut buf)?;
            match GgufFile::parse(&buf, file_len) {
                // `needed` <= file_len and > buf.len(), so every round reads more.
                Err(GgufError::NeedMoreHeader { needed }) => {
                    want = needed.max(want.saturating_mul(2)).min(file_len);
                }
                other => return other,
            }
        }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute offset of the data section (end of the header, aligned).
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// Tensor infos in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensor_index
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| GgufError::NoSuchTensor { name: name.to_owned() })
    }

    /// Absolute byte range of a tensor's data in the file.
    pub fn tensor_range(&self, name: &str) -> Result<Range<u64>, GgufError> {
        self.tensor(name).map(TensorInfo::range)
    }

    /// Metadata entries in file order.
    pub fn metadata(&self) -> impl Iterator<Item = (&str, &MetaValue)> {
        self.metadata.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The raw value under `key`, if any.
    pub fn md_value(&self, key: &str) -> Option<&MetaValue> {
        self.md_index.get(key).map(|&i| &self.metadata[i].1)
    }

    fn md_required(&self, key: &str) -> Result<&MetaValue, GgufError> {
        self.md_value(key)
            .ok_or_else(|| GgufError::MissingKey { key: key.to_owned() })
    }

    fn wrong_type(key: &str, expected: &'static str, found: &MetaValue) -> GgufError {
        GgufError::WrongType {
            key: key.to_owned(),
            expected,
            found: found.type_description(),
        }
    }

    /// A scalar under `key`, converted to `T` (lossless widening only; see [`FromMeta`]).
    pub fn md<T: FromMeta>(&self, key: &str) -> Result<T, GgufError> {
        let v = self.md_required(key)?;
        T::from_meta(v).ok_or_else(|| Self::wrong_type(key, T::EXPECTED, v))
    }

    /// Like [`GgufFile::md`], but a missing key is `Ok(None)`; a wrong type is still an error.
    pub fn md_opt<T: FromMeta>(&self, key: &str) -> Result<Option<T>, GgufError> {
        match self.md_value(key) {
            None => Ok(None),
            Some(v) => T::from_meta(v)
                .map(Some)
                .ok_or_else(|| Self::wrong_type(key, T::EXPECTED, v)),
        }
    }

    pub fn md_str(&self, key: &str) -> Result<&str, GgufError> {
        match self.md_required(key)? {
            MetaValue::Str(s) => Ok(s),
            v => Err(Self::wrong_type(key, "string", v)),
        }
    }

    pub fn md_array(&self, key: &str) -> Result<&MetaArray, GgufError> {
        match self.md_required(key)? {
            MetaValue::Array(a) => Ok(a),
            v => Err(Self::wrong_type(key, "array", v)),
        }
    }

    pub fn md_str_array(&self, key: &str) -> Result<&[String], GgufError> {
        match self.md_required(key)? {
            MetaValue::Array(MetaArray::Str(a)) => Ok(a),
            v => Err(Self::wrong_type(key, "array of string", v)),
        }
    }

    pub fn md_f32_array(&self, key: &str) -> Result<&[f32], GgufError> {
        match self.md_required(key)? {
            MetaValue::Array(MetaArray::F32(a)) => Ok(a),
            v => Err(Self::wrong_type(key, "array of f32", v)),
        }
    }

    pub fn md_i32_array(&self, key: &str) -> Result<&[i32], GgufError> {
        match self.md_required(key)? {
            MetaValue::Array(MetaArray::I32(a)) => Ok(a),
            v => Err(Self::wrong_type(key, "array of i32", v)),
        }
    }

    /// `general.architecture`, e.g. `llama`, `gemma3`, `qwen2`: the prefix of the model's keys.
    pub fn arch(&self) -> Result<&str, GgufError> {
        self.md_str("general.architecture")
    }
}

/// One tensor info; returns it (with `start` still 0) and its offset relative to the data section.
fn read_tensor_info(cur: &mut Cursor<'_>) -> Result<(TensorInfo, u64), GgufError> {
    let name = cur.string("tensor name", MAX_TENSOR_NAME)?.to_owned();
    let n_dims = cur.u32("tensor n_dims")?;
    if n_dims > MAX_DIMS {
        return Err(GgufError::TooManyDims {
            tensor: name,
            n_dims,
            limit: MAX_DIMS,
        });
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(cur.u64("tensor dimension")?);
    }
    let type_id = cur.u32("tensor type")?;
    let rel = cur.u64("tensor offset")?;

    if let Some(dim) = dims.iter().position(|&d| d == 0) {
        return Err(GgufError::ZeroDim { tensor: name, dim });
    }
    let format = WeightFormat::from_ggml_type(type_id).map_err(|source| GgufError::UnknownTensorType {
        tensor: name.clone(),
        source,
    })?;
    let n_bytes = match tensor_bytes(format, &dims) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(GgufError::ShapeOverflow { tensor: name, dims }),
        Err(source) => return Err(GgufError::BadRowLength { tensor: name, source }),
    };
    let info = TensorInfo {
        name,
        format,
        dims,
        start: 0,
        n_bytes,
    };
    Ok((info, rel))
}

/// Byte size of a tensor: rows of `dims[0]` elements times the product of the other dims.
/// `Ok(None)` on overflow (ggml also requires the element count to fit i64).
fn tensor_bytes(format: WeightFormat, dims: &[u64]) -> Result<Option<u64>, QuantError> {
    let Some(n_elements) = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)) else {
        return Ok(None);
    };
    if n_elements > i64::MAX as u64 {
        return Ok(None);
    }
    let ne0 = dims.first().copied().unwrap_or(1);
    let Ok(ne0_usize) = usize::try_from(ne0) else {
        return Ok(None);
    };
    let row = match format.row_bytes(ne0_usize) {
        Ok(r) => r as u64,
        Err(QuantError::Overflow) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(row.checked_mul(n_elements / ne0))
}
