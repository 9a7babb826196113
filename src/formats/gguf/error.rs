//! Everything that can be wrong with a GGUF file, as one typed enum. Each message says what was
//! found, where, and (when it helps) what to do about it.

use crate::formats::quant::QuantError;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// Not an error in the file: the header prefix handed to [`super::GgufFile::parse`] is too
    /// short. Fetch at least `needed` bytes from the start of the file and parse again.
    #[error("the header needs at least {needed} bytes from the start of the file; fetch more and parse again")]
    NeedMoreHeader { needed: u64 },
    #[error("not a GGUF file: the magic bytes are {found:?}, expected \"GGUF\"")]
    BadMagic { found: [u8; 4] },
    #[error("GGUF version {version} is not supported (only 2 and 3){hint}")]
    UnsupportedVersion { version: u32, hint: &'static str },
    #[error("the file ends inside the header: {what} at byte {offset} needs {needed} more bytes but the file has {file_len}; the file is truncated (an incomplete download?)")]
    UnexpectedEof {
        what: &'static str,
        offset: u64,
        needed: u64,
        file_len: u64,
    },
    #[error("the GGUF header would be longer than {limit} bytes (it needs {needed}); refusing to read it")]
    HeaderTooLarge { needed: u64, limit: u64 },
    #[error("the file declares {count} tensors; at most {limit} are allowed")]
    TooManyTensors { count: u64, limit: u64 },
    #[error("the file declares {count} metadata entries; at most {limit} are allowed")]
    TooManyKvs { count: u64, limit: u64 },
    #[error("{what} at byte {offset} is {len} bytes long; at most {limit} are allowed")]
    StringTooLong {
        what: &'static str,
        offset: u64,
        len: u64,
        limit: u64,
    },
    #[error("the metadata array at byte {offset} has {len} elements; at most {limit} are allowed")]
    ArrayTooLong { offset: u64, len: u64, limit: u64 },
    #[error("the metadata array at byte {offset} nests more than {limit} arrays deep")]
    NestingTooDeep { offset: u64, limit: u32 },
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str, offset: u64 },
    #[error("metadata value type {type_id} at byte {offset} is unknown (known: 0..=12)")]
    UnknownValueType { offset: u64, type_id: u32 },
    #[error("metadata key {key:?} appears twice")]
    DuplicateKey { key: String },
    #[error("tensor {name:?} appears twice")]
    DuplicateTensor { name: String },
    #[error("tensor {tensor:?} has {n_dims} dimensions; at most {limit} are allowed")]
    TooManyDims { tensor: String, n_dims: u32, limit: u32 },
    #[error("tensor {tensor:?} has size 0 in dimension {dim}")]
    ZeroDim { tensor: String, dim: usize },
    #[error("tensor {tensor:?} has dimensions {dims:?} whose element count or byte size overflows")]
    ShapeOverflow { tensor: String, dims: Vec<u64> },
    #[error("tensor {tensor:?}: {source}")]
    UnknownTensorType {
        tensor: String,
        #[source]
        source: QuantError,
    },
    #[error("tensor {tensor:?}: {source}")]
    BadRowLength {
        tensor: String,
        #[source]
        source: QuantError,
    },
    #[error("general.alignment is {value}; it must be a power of two no larger than {limit}")]
    BadAlignment { value: u64, limit: u64 },
    #[error("tensor {tensor:?} starts at data offset {offset}, which is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        tensor: String,
        offset: u64,
        alignment: u64,
    },
    #[error("tensor {tensor:?} occupies bytes {start}..{end} but the file has only {file_len} bytes; the file is truncated or corrupt")]
    TensorOutOfBounds {
        tensor: String,
        start: u64,
        end: u64,
        file_len: u64,
    },
    #[error("tensors {first:?} and {second:?} overlap in the data section")]
    OverlappingTensors { first: String, second: String },
    #[error("metadata key {key:?} is missing")]
    MissingKey { key: String },
    #[error("metadata key {key:?} holds {found}, expected {expected}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("no tensor named {name:?} in this file")]
    NoSuchTensor { name: String },
    #[error("reading the GGUF file failed: {0}")]
    Io(#[from] std::io::Error),
}
