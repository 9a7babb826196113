//! Tiny writers for GGUF and safetensors files, so malformed-file tests can build exactly the
//! bytes they need, and the models-folder lookup shared by the real-file tests.
#![allow(dead_code)] // each test binary uses part of this

use std::path::PathBuf;

/// GGUF value type ids (gguf.h).
pub const T_U8: u32 = 0;
pub const T_I8: u32 = 1;
pub const T_U16: u32 = 2;
pub const T_I16: u32 = 3;
pub const T_U32: u32 = 4;
pub const T_I32: u32 = 5;
pub const T_F32: u32 = 6;
pub const T_BOOL: u32 = 7;
pub const T_STRING: u32 = 8;
pub const T_ARRAY: u32 = 9;
pub const T_U64: u32 = 10;
pub const T_I64: u32 = 11;
pub const T_F64: u32 = 12;

/// ggml type ids used in tests.
pub const GGML_F32: u32 = 0;
pub const GGML_Q4_0: u32 = 2;

/// A GGUF string: u64 length + bytes.
pub fn gstr(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// Builds a GGUF file from raw pieces. Counts default to the number of entries added, but can
/// be overridden to lie.
pub struct GgufBuilder {
    pub magic: [u8; 4],
    pub version: u32,
    pub n_tensors: Option<u64>,
    pub n_kv: Option<u64>,
    kv: Vec<u8>,
    kv_count: u64,
    infos: Vec<u8>,
    info_count: u64,
    pub alignment: u64,
    pub data: Vec<u8>,
}

impl Default for GgufBuilder {
    fn default() -> Self {
        GgufBuilder {
            magic: *b"GGUF",
            version: 3,
            n_tensors: None,
            n_kv: None,
            kv: Vec::new(),
            kv_count: 0,
            infos: Vec::new(),
            info_count: 0,
            alignment: 32,
            data: Vec::new(),
        }
    }
}

impl GgufBuilder {
    /// A key with a raw value payload of type `ty`.
    pub fn kv_raw(&mut self, key: &[u8], ty: u32, payload: &[u8]) -> &mut Self {
        self.kv.extend(gstr(key));
        self.kv.extend(ty.to_le_bytes());
        self.kv.extend_from_slice(payload);
        self.kv_count += 1;
        self
    }

    pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.kv_raw(key.as_bytes(), T_U32, &v.to_le_bytes())
    }

    pub fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
        self.kv_raw(key.as_bytes(), T_STRING, &gstr(v.as_bytes()))
    }

    /// A tensor info with a raw ggml type id and relative offset.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.infos.extend(gstr(name.as_bytes()));
        self.infos.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.infos.extend(d.to_le_bytes());
        }
        self.infos.extend(ty.to_le_bytes());
        self.infos.extend(offset.to_le_bytes());
        self.info_count += 1;
        self
    }

    /// Header bytes up to the end of the tensor infos (no padding).
    pub fn header(&self) -> Vec<u8> {
        let mut v = self.magic.to_vec();
        v.extend(self.version.to_le_bytes());
        v.extend(self.n_tensors.unwrap_or(self.info_count).to_le_bytes());
        v.extend(self.n_kv.unwrap_or(self.kv_count).to_le_bytes());
        v.extend_from_slice(&self.kv);
        v.extend_from_slice(&self.infos);
        v
    }

    /// The whole file: header, zero padding to the alignment, data.
    pub fn build(&self) -> Vec<u8> {
        let mut v = self.header();
        let pad = (v.len() as u64).next_multiple_of(self.alignment) as usize;
        v.resize(pad, 0);
        v.extend_from_slice(&self.data);
        v
    }

    /// A small valid file: metadata of several types, an F32 tensor `a` [8] and a Q4_0
    /// tensor `b` [32, 2] (2 rows of one 18-byte block), 32-byte aligned.
    pub fn valid() -> GgufBuilder {
        let mut b = GgufBuilder::default();
        b.kv_str("general.architecture", "llama")
            .kv_u32("llama.block_count", 2)
            .kv_raw(b"small", T_U8, &[7]);
        b.tensor("a", &[8], GGML_F32, 0).tensor("b", &[32, 2], GGML_Q4_0, 32);
        b.data = vec![0u8; 32 + 36];
        b
    }
}

/// Array payload: element type, length, then raw element bytes.
pub fn garray(elem_ty: u32, len: u64, elems: &[u8]) -> Vec<u8> {
    let mut v = elem_ty.to_le_bytes().to_vec();
    v.extend(len.to_le_bytes());
    v.extend_from_slice(elems);
    v
}

/// A safetensors file from a header JSON string and `data_len` zero bytes of data.
pub fn safetensors_file(header: &str, data_len: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.resize(v.len() + data_len, 0);
    v
}

/// The models folder (`WEBSLM_MODELS_DIR` or `<crate>/models`), or `None` with a printed reason
/// when it is missing. Under CI (`CI=true`) a missing folder is a failure, not a skip.
pub fn models_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("WEBSLM_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{test}: models folder {} is missing (run scripts/fetch-models.sh or set WEBSLM_MODELS_DIR)",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED {msg}");
    None
}

/// Writes `bytes` to a file named after `name` in the temp folder, unique to this process.
pub fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("webslm-test-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("write temp file");
    path
}
