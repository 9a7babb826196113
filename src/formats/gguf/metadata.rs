//! GGUF metadata values and the typed conversions behind `GgufFile::md::<T>()`.
//!
//! Arrays are stored typed (`Vec<f32>`, `Vec<String>`, ...) rather than as a `Vec<MetaValue>`:
//! a 262144-entry token-score array then costs 1 MiB, not 8, and accessors can hand out slices.

/// One metadata value, as stored in the file (GGUF value types 0..=12).
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    Array(MetaArray),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A metadata array: all elements share one type. Arrays of arrays may mix element types.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    Array(Vec<MetaArray>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl MetaArray {
    pub fn len(&self) -> usize {
        match self {
            MetaArray::U8(v) => v.len(),
            MetaArray::I8(v) => v.len(),
            MetaArray::U16(v) => v.len(),
            MetaArray::I16(v) => v.len(),
            MetaArray::U32(v) => v.len(),
            MetaArray::I32(v) => v.len(),
            MetaArray::F32(v) => v.len(),
            MetaArray::Bool(v) => v.len(),
            MetaArray::Str(v) => v.len(),
            MetaArray::Array(v) => v.len(),
            MetaArray::U64(v) => v.len(),
            MetaArray::I64(v) => v.len(),
            MetaArray::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name, as used in error messages ("string", "f32", "array").
    pub fn elem_type_name(&self) -> &'static str {
        match self {
            MetaArray::U8(_) => "u8",
            MetaArray::I8(_) => "i8",
            MetaArray::U16(_) => "u16",
            MetaArray::I16(_) => "i16",
            MetaArray::U32(_) => "u32",
            MetaArray::I32(_) => "i32",
            MetaArray::F32(_) => "f32",
            MetaArray::Bool(_) => "bool",
            MetaArray::Str(_) => "string",
            MetaArray::Array(_) => "array",
            MetaArray::U64(_) => "u64",
            MetaArray::I64(_) => "i64",
            MetaArray::F64(_) => "f64",
        }
    }
}

impl MetaValue {
    /// The value's type for error messages, e.g. `u32` or `array of string (49152 elements)`.
    pub fn type_description(&self) -> String {
        match self {
            MetaValue::U8(_) => "u8".into(),
            MetaValue::I8(_) => "i8".into(),
            MetaValue::U16(_) => "u16".into(),
            MetaValue::I16(_) => "i16".into(),
            MetaValue::U32(_) => "u32".into(),
            MetaValue::I32(_) => "i32".into(),
            MetaValue::F32(_) => "f32".into(),
            MetaValue::Bool(_) => "bool".into(),
            MetaValue::Str(_) => "string".into(),
            MetaValue::Array(a) => {
                format!("array of {} ({} elements)", a.elem_type_name(), a.len())
            }
            MetaValue::U64(_) => "u64".into(),
            MetaValue::I64(_) => "i64".into(),
            MetaValue::F64(_) => "f64".into(),
        }
    }
}

/// A Rust type that a scalar metadata value converts to. Conversions widen only where every
/// value of the stored type fits (u8/u16/u32 -> u32, u8..u64 -> u64, i8..i32 and u8..u32 ->
/// i64, f32 -> f64); anything else is a `WrongType` error rather than a silent cast.
pub trait FromMeta: Sized {
    /// Name used in `WrongType` errors.
    const EXPECTED: &'static str;
    fn from_meta(v: &MetaValue) -> Option<Self>;
}

macro_rules! from_meta {
    ($t:ty, $name:literal, $($variant:ident),+) => {
        impl FromMeta for $t {
            const EXPECTED: &'static str = $name;
            fn from_meta(v: &MetaValue) -> Option<Self> {
                match *v {
                    $(MetaValue::$variant(x) => Some(<$t>::from(x)),)+
                    _ => None,
                }
            }
        }
    };
}

from_meta!(u8, "u8", U8);
from_meta!(i8, "i8", I8);
from_meta!(u16, "u16 (or u8)", U8, U16);
from_meta!(i16, "i16 (or i8, u8)", I8, I16, U8);
from_meta!(u32, "u32 (or u8, u16)", U8, U16, U32);
from_meta!(i32, "i32 (or i8, i16, u8, u16)", I8, I16, I32, U8, U16);
from_meta!(u64, "u64 (or u8, u16, u32)", U8, U16, U32, U64);
from_meta!(i64, "i64 (or a smaller integer)", I8, I16, I32, I64, U8, U16, U32);
from_meta!(f32, "f32", F32);
from_meta!(f64, "f64 (or f32)", F32, F64);
from_meta!(bool, "bool", Bool);

/// `usize` for counts and sizes: any unsigned integer that fits this target's `usize` (wasm32
/// has 32-bit `usize`, so a u64 above 4 Gi is a type error there, not a truncation).
impl FromMeta for usize {
    const EXPECTED: &'static str = "an unsigned integer that fits usize";
    fn from_meta(v: &MetaValue) -> Option<Self> {
        u64::from_meta(v).and_then(|x| usize::try_from(x).ok())
    }
}

impl FromMeta for String {
    const EXPECTED: &'static str = "string";
    fn from_meta(v: &MetaValue) -> Option<Self> {
        match v {
            MetaValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}
