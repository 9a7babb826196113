//! Hugging Face safetensors: single files and sharded checkpoints
//! (`model.safetensors.index.json`). Header parser with lazy tensor ranges, like `gguf`.
//!
//! Byte layout (from the safetensors spec):
//!
//! ```text
//! offset  size  field
//! 0       8     u64 LE header length N (we accept at most 100 MB, as the reference crate does)
//! 8       N     UTF-8 JSON object:
//!                 { "__metadata__": { "key": "string", ... },          (optional)
//!                   "tensor.name": { "dtype": "F32",
//!                                    "shape": [d0, d1, ...],           (row-major, d0 outermost)
//!                                    "data_offsets": [begin, end] },   (relative to byte 8+N)
//!                   ... }
//! 8+N     ...   tensor data, little-endian, densely packed
//! ```
//!
//! Only F32, F16 and BF16 tensors map to a [`WeightFormat`]; integer tensors (such as BERT's I64
//! `embeddings.position_ids`) are listed with `format: None`, so a loader can skip them.
//! The file is untrusted: offsets, sizes and overlaps are validated before `parse` returns.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::formats::quant::WeightFormat;

/// Largest JSON header accepted (the reference `safetensors` crate's limit).
pub const MAX_HEADER_LEN: u64 = 100_000_000;
/// Most dimensions per tensor.
pub const MAX_DIMS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    /// Not an error in the file: fetch at least `needed` bytes from the start and parse again.
    #[error("the header needs at least {needed} bytes from the start of the file; fetch more and parse again")]
    NeedMoreHeader { needed: u64 },
    #[error("the file is {file_len} bytes, too short for a safetensors header (at least 8)")]
    FileTooSmall { file_len: u64 },
    #[error("the header claims to be {len} bytes; at most {limit} are allowed (is this a safetensors file?)")]
    HeaderTooLarge { len: u64, limit: u64 },
    #[error("the header claims {len} bytes but the file has only {file_len} bytes after the length field; the file is truncated")]
    HeaderPastEnd { len: u64, file_len: u64 },
    #[error("the header is not valid JSON of the safetensors shape: {0}")]
    InvalidJson(#[source] serde_json::Error),
    #[error("tensor {tensor:?} has dtype {dtype:?}, which is not a safetensors dtype we know")]
    UnknownDtype { tensor: String, dtype: String },
    #[error("tensor {tensor:?} has more than {limit} dimensions")]
    TooManyDims {
        tensor: String,
        /// How many were counted: `limit + 1` however many the header lists.
        n_dims: usize,
        limit: usize,
    },
    #[error("tensor {tensor:?} has shape {shape:?} whose byte size overflows")]
    ShapeOverflow { tensor: String, shape: Vec<u64> },
    #[error("tensor {tensor:?} has data_offsets [{begin}, {end}]: begin is after end")]
    OffsetsReversed { tensor: String, begin: u64, end: u64 },
    #[error("tensor {tensor:?} ends at data offset {end} but the data section has only {data_len} bytes; the file is truncated or corrupt")]
    OutOfRange { tensor: String, end: u64, data_len: u64 },
    #[error("tensor {tensor:?} has {actual} bytes but its shape and dtype need {expected}")]
    SizeMismatch { tensor: String, expected: u64, actual: u64 },
    #[error("tensors {first:?} and {second:?} overlap in the data section")]
    Overlap { first: String, second: String },
    #[error("tensor {name:?} appears twice in the header")]
    DuplicateTensor { name: String },
    #[error("no tensor named {name:?}")]
    NoSuchTensor { name: String },
    #[error("tensor {tensor:?} has dtype {dtype}, which webslm cannot use as a weight (F32, F16, BF16 only)")]
    NotAWeight { tensor: String, dtype: Dtype },
    #[error("the shard index is not valid JSON with a \"weight_map\": {0}")]
    InvalidIndex(#[source] serde_json::Error),
    #[error("the shard index names file {name:?}; shard names must be plain file names in the model folder")]
    BadShardName { name: String },
    #[error("the shard index names file {shard:?}, which was not provided")]
    MissingShard { shard: String },
    #[error("the shard index puts tensor {tensor:?} in {shard:?}, but that file does not hold it")]
    TensorNotInShard { tensor: String, shard: String },
    #[error("reading the safetensors file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Every dtype in the safetensors spec that has a whole number of bytes per element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

impl Dtype {
    fn parse(s: &str) -> Option<Dtype> {
        Some(match s {
            "BOOL" => Dtype::Bool,
            "U8" => Dtype::U8,
            "I8" => Dtype::I8,
            "F8_E5M2" => Dtype::F8E5M2,
            "F8_E4M3" => Dtype::F8E4M3,
            "I16" => Dtype::I16,
            "U16" => Dtype::U16,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            "I32" => Dtype::I32,
            "U32" => Dtype::U32,
            "F32" => Dtype::F32,
            "F64" => Dtype::F64,
            "I64" => Dtype::I64,
            "U64" => Dtype::U64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 | Dtype::F8E5M2 | Dtype::F8E4M3 => 1,
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }

    /// The weight encoding, for the dtypes the kernels read.
    pub fn weight_format(self) -> Option<WeightFormat> {
        match self {
            Dtype::F32 => Some(WeightFormat::F32),
            Dtype::F16 => Some(WeightFormat::F16),
            Dtype::BF16 => Some(WeightFormat::BF16),
            _ => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One tensor's description from the header.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: Dtype,
    /// Row-major: `shape[0]` is the outermost dimension (the reverse of GGUF's `dims`).
    pub shape: Vec<u64>,
    /// Absolute byte range in the file.
    pub range: Range<u64>,
}

impl TensorInfo {
    /// The weight encoding, or `None` for dtypes that are not weights (I64 position ids, ...).
    pub fn format(&self) -> Option<WeightFormat> {
        self.dtype.weight_format()
    }

    /// The weight encoding, or a [`SafetensorsError::NotAWeight`] naming the tensor.
    pub fn weight_format(&self) -> Result<WeightFormat, SafetensorsError> {
        self.format().ok_or_else(|| SafetensorsError::NotAWeight {
            tensor: self.name.clone(),
            dtype: self.dtype,
        })
    }
}

#[derive(Deserialize)]
struct RawTensor {
    dtype: String,
    #[serde(deserialize_with = "bounded_shape")]
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// A shape list that stops allocating past `MAX_DIMS + 1` entries: a 100 MB header of `[0,0,…]`
/// would otherwise become a 400 MB `Vec`. One extra entry is kept so `TooManyDims` can fire.
fn bounded_shape<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of dimension sizes")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
            let mut out = Vec::new();
            while let Some(d) = seq.next_element::<u64>()? {
                if out.len() <= MAX_DIMS {
                    out.push(d);
                }
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V)
}

/// The header object. Deserialised by hand so that a tensor name given twice is an error
/// (serde_json's maps would silently keep the last one, letting two readers disagree).
struct RawHeader {
    tensors: Vec<(String, RawTensor)>,
    /// The first name seen twice.
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHeader;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader, A::Error> {
                let mut out = Vec::new();
                let mut seen = std::collections::HashSet::new();
                let mut duplicate = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "__metadata__" {
                        // Free-form string map; we keep nothing from it.
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    let t = map.next_value::<RawTensor>()?;
                    if !seen.insert(key.clone()) {
                        duplicate.get_or_insert(key);
                        continue;
                    }
                    out.push((key, t));
                }
                Ok(RawHeader {
                    tensors: out,
                    duplicate,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A parsed safetensors header with validated tensor ranges.
#[derive(Clone, Debug)]
pub struct SafetensorsFile {
    file_len: u64,
    data_start: u64,
    tensors: Vec<TensorInfo>,
    index: HashMap<String, usize>,
}

impl SafetensorsFile {
    /// Parses the header from `prefix`, the first bytes of a file of `file_len` bytes. Returns
    /// [`SafetensorsError::NeedMoreHeader`] when the prefix ends before the JSON header does.
    pub fn parse(prefix: &[u8], file_len: u64) -> Result<SafetensorsFile, SafetensorsError> {
        if file_len < 8 {
            return Err(SafetensorsError::FileTooSmall { file_len });
        }
        let Some(len_bytes) = prefix.get(..8) else {
            return Err(SafetensorsError::NeedMoreHeader { needed: 8 });
        };
        let mut n = [0u8; 8];
        n.copy_from_slice(len_bytes);
        let len = u64::from_le_bytes(n);
        if len > MAX_HEADER_LEN {
            return Err(SafetensorsError::HeaderTooLarge {
                len,
                limit: MAX_HEADER_LEN,
            });
        }
        let data_start = 8 + len; // len <= 1e8: no overflow
        if data_start > file_len {
            return Err(SafetensorsError::HeaderPastEnd {
                len,
                file_len: file_len - 8,
            });
        }
        let Some(json) = prefix.get(8..data_start as usize) else {
            return Err(SafetensorsError::NeedMoreHeader { needed: data_start });
        };
        // The spec pads the header with trailing spaces, which serde_json accepts as whitespace.
        let raw: RawHeader = serde_json::from_slice(json).map_err(SafetensorsError::InvalidJson)?;
        if let Some(name) = raw.duplicate {
            return Err(SafetensorsError::DuplicateTensor { name });
        }
        let data_len = file_len - data_start;

        let mut tensors = Vec::with_capacity(raw.tensors.len());
        for (name, t) in raw.tensors {
            tensors.push(check_tensor(name, t, data_start, data_len)?);
        }
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| (tensors[i].range.start, tensors[i].range.end));
        for pair in order.windows(2) {
            let (a, b) = (&tensors[pair[0]], &tensors[pair[1]]);
            // Empty tensors occupy no bytes and cannot overlap anything.
            if a.range.end > b.range.start && !a.range.is_empty() && !b.range.is_empty() {
                return Err(SafetensorsError::Overlap {
                    first: a.name.clone(),
                    second: b.name.clone(),
                });
            }
        }
        let index = tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        Ok(SafetensorsFile {
            file_len,
            data_start,
            tensors,
            index,
        })
    }

    /// Reads the header of a file on disk (two reads: the length, then the JSON).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<SafetensorsFile, SafetensorsError> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let file_len = file.metadata()?.len();
        let mut buf = Vec::new();
        let mut want = file_len.min(8);
        loop {
            let more = want.saturating_sub(buf.len() as u64);
            (&mut file).take(more).read_to_end(&mut buf)?;
            match SafetensorsFile::parse(&buf, file_len) {
                // `needed` <= file_len and > buf.len(), so every round reads more.
                Err(SafetensorsError::NeedMoreHeader { needed }) => want = needed,
                other => return other,
            }
        }
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Absolute offset of the data section (8 + header length).
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// Tensors in header order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, SafetensorsError> {
        self.index
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| SafetensorsError::NoSuchTensor { name: name.to_owned() })
    }

    /// Absolute byte range of a tensor's data in the file.
    pub fn tensor_range(&self, name: &str) -> Result<Range<u64>, SafetensorsError> {
        self.tensor(name).map(|t| t.range.clone())
    }
}

fn check_tensor(name: String, t: RawTensor, data_start: u64, data_len: u64) -> Result<TensorInfo, SafetensorsError> {
    let Some(dtype) = Dtype::parse(&t.dtype) else {
        return Err(SafetensorsError::UnknownDtype {
            tensor: name,
            dtype: t.dtype,
        });
    };
    if t.shape.len() > MAX_DIMS {
        // `bounded_shape` stops counting at MAX_DIMS + 1.
        return Err(SafetensorsError::TooManyDims {
            tensor: name,
            n_dims: t.shape.len(),
            limit: MAX_DIMS,
        });
    }
    let expected = t.shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
    let Some(expected) = expected else {
        return Err(SafetensorsError::ShapeOverflow {
            tensor: name,
            shape: t.shape,
        });
    };
    let [begin, end] = t.data_offsets;
    if begin > end {
        return Err(SafetensorsError::OffsetsReversed {
            tensor: name,
            begin,
            end,
        });
    }
    if end > data_len {
        return Err(SafetensorsError::OutOfRange {
            tensor: name,
            end,
            data_len,
        });
    }
    if end - begin != expected {
        return Err(SafetensorsError::SizeMismatch {
            tensor: name,
            expected,
            actual: end - begin,
        });
    }
    // end <= data_len = file_len - data_start, so these sums fit.
    Ok(TensorInfo {
        name,
        dtype,
        shape: t.shape,
        range: data_start + begin..data_start + end,
    })
}

/// `model.safetensors.index.json`: which shard file holds each tensor.
#[derive(Clone, Debug)]
pub struct SafetensorsIndex {
    pub weight_map: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawIndex {
    weight_map: BTreeMap<String, String>,
}

impl SafetensorsIndex {
    /// Parses the index JSON. Shard names must be plain file names: the index is untrusted and
    /// its names get joined to a folder path or URL.
    pub fn parse(json: &[u8]) -> Result<SafetensorsIndex, SafetensorsError> {
        let raw: RawIndex = serde_json::from_slice(json).map_err(SafetensorsError::InvalidIndex)?;
        for shard in raw.weight_map.values() {
            let plain = !shard.is_empty()
                && shard != "."
                && shard != ".."
                && !shard.contains(['/', '\\', ':'])
                && !shard.starts_with('.');
            if !plain {
                return Err(SafetensorsError::BadShardName { name: shard.clone() });
            }
        }
        Ok(SafetensorsIndex {
            weight_map: raw.weight_map,
        })
    }

    /// The distinct shard file names, sorted.
    pub fn shards(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.weight_map.values().map(String::as_str).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A sharded checkpoint: the index plus each shard's parsed header.
#[derive(Clone, Debug)]
pub struct ShardedSafetensors {
    index: SafetensorsIndex,
    shards: HashMap<String, SafetensorsFile>,
}

impl ShardedSafetensors {
    /// Checks that every shard the index names was given and holds the tensors mapped to it.
    pub fn new(
        index: SafetensorsIndex,
        shards: HashMap<String, SafetensorsFile>,
    ) -> Result<ShardedSafetensors, SafetensorsError> {
        for (tensor, shard) in &index.weight_map {
            let file = shards
                .get(shard)
                .ok_or_else(|| SafetensorsError::MissingShard { shard: shard.clone() })?;
            if file.tensor(tensor).is_err() {
                return Err(SafetensorsError::TensorNotInShard {
                    tensor: tensor.clone(),
                    shard: shard.clone(),
                });
            }
        }
        Ok(ShardedSafetensors { index, shards })
    }

    /// Reads `model.safetensors.index.json` in `dir` and every shard header it names.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_dir(dir: &std::path::Path) -> Result<ShardedSafetensors, SafetensorsError> {
        let json = std::fs::read(dir.join("model.safetensors.index.json"))?;
        let index = SafetensorsIndex::parse(&json)?;
        let mut shards = HashMap::new();
        for name in index.shards() {
            shards.insert(name.to_owned(), SafetensorsFile::open(&dir.join(name))?);
        }
        ShardedSafetensors::new(index, shards)
    }

    pub fn index(&self) -> &SafetensorsIndex {
        &self.index
    }

    /// The shard file name holding `name`, and the tensor's info (range within that shard).
    pub fn tensor(&self, name: &str) -> Result<(&str, &TensorInfo), SafetensorsError> {
        let no_such = || SafetensorsError::NoSuchTensor { name: name.to_owned() };
        let shard = self.index.weight_map.get(name).ok_or_else(no_such)?;
        let file = self.shards.get(shard).ok_or_else(no_such)?;
        Ok((shard.as_str(), file.tensor(name)?))
    }
}
