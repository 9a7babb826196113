//! A bounds-checked little-endian cursor over the header prefix, and the metadata value parser.
//!
//! Every read first asks [`Cursor::need`] for its bytes, which tells apart the three ways a read
//! can fail: past the end of the *file* (a truncated or lying file: an error), past the header
//! size limit (refused), or only past the end of the *prefix* we were given (`NeedMoreHeader`:
//! the caller fetches more). Allocations sized by a count from the file happen only after `need`
//! has confirmed that the bytes for that many elements are really in the prefix, so a lying count
//! cannot make us allocate more than a small multiple of the bytes we actually hold.

use super::error::GgufError;
use super::metadata::{MetaArray, MetaValue};
use super::{MAX_ARRAY_LEN, MAX_HEADER_BYTES, MAX_NESTING, MAX_STRING_LEN};

pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    file_len: u64,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(prefix: &'a [u8], file_len: u64) -> Self {
        // A prefix longer than the file it claims to be from is the caller's bug; never read
        // past what the file can hold.
        let keep = usize::try_from(file_len).map_or(prefix.len(), |n| n.min(prefix.len()));
        Cursor {
            buf: &prefix[..keep],
            pos: 0,
            file_len,
        }
    }

    pub(super) fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// Checks that `n` bytes from the current position are readable.
    pub(super) fn need(&self, n: u64, what: &'static str) -> Result<(), GgufError> {
        let offset = self.pos();
        let end = offset.checked_add(n).ok_or(GgufError::UnexpectedEof {
            what,
            offset,
            needed: n,
            file_len: self.file_len,
        })?;
        if end > self.file_len {
            return Err(GgufError::UnexpectedEof {
                what,
                offset,
                needed: n,
                file_len: self.file_len,
            });
        }
        if end > MAX_HEADER_BYTES {
            return Err(GgufError::HeaderTooLarge {
                needed: end,
                limit: MAX_HEADER_BYTES,
            });
        }
        if end > self.buf.len() as u64 {
            return Err(GgufError::NeedMoreHeader { needed: end });
        }
        Ok(())
    }

    pub(super) fn bytes(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GgufError> {
        self.need(n, what)?;
        // `need` proved pos + n <= buf.len(), so both conversions and the slice are in range.
        let start = self.pos;
        let end = start + n as usize;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let b = self.bytes(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes (no terminator).
    pub(super) fn string(&mut self, what: &'static str, limit: u64) -> Result<&'a str, GgufError> {
        let offset = self.pos();
        let len = self.u64(what)?;
        if len > limit {
            return Err(GgufError::StringTooLong {
                what,
                offset,
                len,
                limit,
            });
        }
        let b = self.bytes(len, what)?;
        std::str::from_utf8(b).map_err(|_| GgufError::InvalidUtf8 { what, offset })
    }
}

/// GGUF value type ids (`enum gguf_type` in gguf.h).
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// Fewest bytes one element of a type can occupy; used to check an array's length against the
/// bytes available before allocating for it. `None` for unknown types.
fn min_size(type_id: u32) -> Option<u64> {
    Some(match type_id {
        T_U8 | T_I8 | T_BOOL => 1,
        T_U16 | T_I16 => 2,
        T_U32 | T_I32 | T_F32 => 4,
        T_U64 | T_I64 | T_F64 => 8,
        T_STRING => 8,    // the length prefix of an empty string
        T_ARRAY => 4 + 8, // element type + length of an empty array
        _ => return None,
    })
}

const VALUE: &str = "metadata value";

/// Reads one value of type `type_id`. `depth` counts the arrays we are already inside.
pub(super) fn read_value(
    cur: &mut Cursor<'_>,
    type_id: u32,
    depth: u32,
    type_offset: u64,
) -> Result<MetaValue, GgufError> {
    Ok(match type_id {
        T_U8 => MetaValue::U8(u8::from_le_bytes(cur.array(VALUE)?)),
        T_I8 => MetaValue::I8(i8::from_le_bytes(cur.array(VALUE)?)),
        T_U16 => MetaValue::U16(u16::from_le_bytes(cur.array(VALUE)?)),
        T_I16 => MetaValue::I16(i16::from_le_bytes(cur.array(VALUE)?)),
        T_U32 => MetaValue::U32(u32::from_le_bytes(cur.array(VALUE)?)),
        T_I32 => MetaValue::I32(i32::from_le_bytes(cur.array(VALUE)?)),
        T_F32 => MetaValue::F32(f32::from_le_bytes(cur.array(VALUE)?)),
        // ggml writes 0 or 1; any other byte is read as true, as llama.cpp does.
        T_BOOL => MetaValue::Bool(cur.array::<1>(VALUE)?[0] != 0),
        T_STRING => MetaValue::Str(cur.string("metadata string", MAX_STRING_LEN)?.to_owned()),
        T_ARRAY => MetaValue::Array(read_array(cur, depth + 1)?),
        T_U64 => MetaValue::U64(u64::from_le_bytes(cur.array(VALUE)?)),
        T_I64 => MetaValue::I64(i64::from_le_bytes(cur.array(VALUE)?)),
        T_F64 => MetaValue::F64(f64::from_le_bytes(cur.array(VALUE)?)),
        _ => {
            return Err(GgufError::UnknownValueType {
                offset: type_offset,
                type_id,
            })
        }
    })
}

/// Decodes `len` fixed-size little-endian elements in one pass over an already-checked slice.
fn fixed<const N: usize, T>(cur: &mut Cursor<'_>, len: u64, conv: fn([u8; N]) -> T) -> Result<Vec<T>, GgufError> {
    // len <= MAX_ARRAY_LEN, so len * N cannot overflow.
    let b = cur.bytes(len * N as u64, "metadata array")?;
    Ok(b.chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            conv(a)
        })
        .collect())
}

/// An array value: u32 element type, u64 length, then the elements. `depth` is 1 for an array
/// that is a top-level value.
fn read_array(cur: &mut Cursor<'_>, depth: u32) -> Result<MetaArray, GgufError> {
    let offset = cur.pos();
    if depth > MAX_NESTING {
        return Err(GgufError::NestingTooDeep {
            offset,
            limit: MAX_NESTING,
        });
    }
    let elem_type = cur.u32("array element type")?;
    let len = cur.u64("array length")?;
    if len > MAX_ARRAY_LEN {
        return Err(GgufError::ArrayTooLong {
            offset,
            len,
            limit: MAX_ARRAY_LEN,
        });
    }
    let min = min_size(elem_type).ok_or(GgufError::UnknownValueType {
        offset,
        type_id: elem_type,
    })?;
    // Proves that `len` elements can exist in the prefix before we allocate for them (and asks
    // for the whole array at once when the prefix is short, saving the caller round trips).
    cur.need(len * min, "metadata array")?;
    let n = len as usize; // <= MAX_ARRAY_LEN, fits every usize we target
    Ok(match elem_type {
        T_U8 => MetaArray::U8(fixed(cur, len, u8::from_le_bytes)?),
        T_I8 => MetaArray::I8(fixed(cur, len, i8::from_le_bytes)?),
        T_U16 => MetaArray::U16(fixed(cur, len, u16::from_le_bytes)?),
        T_I16 => MetaArray::I16(fixed(cur, len, i16::from_le_bytes)?),
        T_U32 => MetaArray::U32(fixed(cur, len, u32::from_le_bytes)?),
        T_I32 => MetaArray::I32(fixed(cur, len, i32::from_le_bytes)?),
        T_F32 => MetaArray::F32(fixed(cur, len, f32::from_le_bytes)?),
        T_BOOL => MetaArray::Bool(fixed(cur, len, |b: [u8; 1]| b[0] != 0)?),
        T_U64 => MetaArray::U64(fixed(cur, len, u64::from_le_bytes)?),
        T_I64 => MetaArray::I64(fixed(cur, len, i64::from_le_bytes)?),
        T_F64 => MetaArray::F64(fixed(cur, len, f64::from_le_bytes)?),
        T_STRING => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(cur.string("metadata string", MAX_STRING_LEN)?.to_owned());
            }
            MetaArray::Str(v)
        }
        _ => {
            // T_ARRAY: min_size rejected every other id above.
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_array(cur, depth + 1)?);
            }
            MetaArray::Array(v)
        }
    })
}
