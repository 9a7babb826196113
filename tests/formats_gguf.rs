//! GGUF reader: the three shipped models (facts read with gguf-py), and malformed files
//! built byte by byte, each of which must give one specific typed error and never panic.

mod common_formats;

use common_formats::*;
use webslm::formats::gguf::{GgufError, GgufFile, MetaArray, MetaValue, MAX_HEADER_BYTES};
use webslm::formats::quant::{QuantError, WeightFormat};

/// Parses a complete in-memory file.
fn parse(bytes: &[u8]) -> Result<GgufFile, GgufError> {
    GgufFile::parse(bytes, bytes.len() as u64)
}

fn parse_builder(b: &GgufBuilder) -> Result<GgufFile, GgufError> {
    parse(&b.build())
}

// ---------------------------------------------------------------------------------------------
// Well-formed synthetic files
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_small_file() {
    let b = GgufBuilder::valid();
    let bytes = b.build();
    let f = parse(&bytes).expect("valid file parses");
    assert_eq!(f.version(), 3);
    assert_eq!(f.arch().unwrap(), "llama");
    assert_eq!(f.md::<u32>("llama.block_count").unwrap(), 2);
    assert_eq!(f.alignment(), 32);
    let data_start = (b.header().len() as u64).next_multiple_of(32);
    assert_eq!(f.data_start(), data_start);
    assert_eq!(f.tensor_range("a").unwrap(), data_start..data_start + 32);
    assert_eq!(f.tensor_range("b").unwrap(), data_start + 32..data_start + 68);
    assert_eq!(f.tensor("b").unwrap().format, WeightFormat::Q4_0);
    assert_eq!(f.tensor("b").unwrap().dims, [32, 2]);
    assert!(matches!(
        f.tensor_range("c"),
        Err(GgufError::NoSuchTensor { name }) if name == "c"
    ));
}

#[test]
fn version_2_is_accepted() {
    let mut b = GgufBuilder::valid();
    b.version = 2;
    assert_eq!(parse_builder(&b).unwrap().version(), 2);
}

#[test]
fn every_value_type_round_trips() {
    let mut b = GgufBuilder::default();
    b.kv_raw(b"u8", T_U8, &[200])
        .kv_raw(b"i8", T_I8, &(-5i8).to_le_bytes())
        .kv_raw(b"u16", T_U16, &60000u16.to_le_bytes())
        .kv_raw(b"i16", T_I16, &(-300i16).to_le_bytes())
        .kv_raw(b"u32", T_U32, &4_000_000_000u32.to_le_bytes())
        .kv_raw(b"i32", T_I32, &(-70000i32).to_le_bytes())
        .kv_raw(b"f32", T_F32, &1.5f32.to_le_bytes())
        .kv_raw(b"bool", T_BOOL, &[1])
        .kv_raw(b"str", T_STRING, &gstr("héllo".as_bytes()))
        .kv_raw(b"u64", T_U64, &(1u64 << 40).to_le_bytes())
        .kv_raw(b"i64", T_I64, &(-1i64 << 40).to_le_bytes())
        .kv_raw(b"f64", T_F64, &0.25f64.to_le_bytes());
    let mut strs = gstr(b"x");
    strs.extend(gstr(b"yz"));
    b.kv_raw(b"strs", T_ARRAY, &garray(T_STRING, 2, &strs));
    let f32s: Vec<u8> = [1.0f32, -2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    b.kv_raw(b"f32s", T_ARRAY, &garray(T_F32, 2, &f32s));
    let i32s: Vec<u8> = [3i32, -4].iter().flat_map(|x| x.to_le_bytes()).collect();
    b.kv_raw(b"i32s", T_ARRAY, &garray(T_I32, 2, &i32s));
    // [[1u8, 2u8], []] as an array of arrays, the inner ones of different types
    let mut inner = garray(T_U8, 2, &[1, 2]);
    inner.extend(garray(T_F64, 0, &[]));
    b.kv_raw(b"nested", T_ARRAY, &garray(T_ARRAY, 2, &inner));

    let f = parse_builder(&b).expect("parses");
    assert_eq!(f.md::<u8>("u8").unwrap(), 200);
    assert_eq!(f.md::<i8>("i8").unwrap(), -5);
    assert_eq!(f.md::<u16>("u16").unwrap(), 60000);
    assert_eq!(f.md::<i16>("i16").unwrap(), -300);
    assert_eq!(f.md::<u32>("u32").unwrap(), 4_000_000_000);
    assert_eq!(f.md::<i32>("i32").unwrap(), -70000);
    assert_eq!(f.md::<f32>("f32").unwrap(), 1.5);
    assert!(f.md::<bool>("bool").unwrap());
    assert_eq!(f.md_str("str").unwrap(), "héllo");
    assert_eq!(f.md::<u64>("u64").unwrap(), 1 << 40);
    assert_eq!(f.md::<i64>("i64").unwrap(), -1 << 40);
    assert_eq!(f.md::<f64>("f64").unwrap(), 0.25);
    assert_eq!(f.md_str_array("strs").unwrap(), ["x", "yz"]);
    assert_eq!(f.md_f32_array("f32s").unwrap(), [1.0, -2.0]);
    assert_eq!(f.md_i32_array("i32s").unwrap(), [3, -4]);
    assert_eq!(
        f.md_value("nested"),
        Some(&MetaValue::Array(MetaArray::Array(vec![
            MetaArray::U8(vec![1, 2]),
            MetaArray::F64(vec![]),
        ])))
    );
    // Lossless widening, and only that.
    assert_eq!(f.md::<u32>("u8").unwrap(), 200);
    assert_eq!(f.md::<u64>("u32").unwrap(), 4_000_000_000);
    assert_eq!(f.md::<i64>("i32").unwrap(), -70000);
    assert_eq!(f.md::<i64>("u32").unwrap(), 4_000_000_000);
    assert_eq!(f.md::<f64>("f32").unwrap(), 1.5);
    assert_eq!(f.md_opt::<u32>("absent").unwrap(), None);
    assert_eq!(f.md_opt::<u32>("u16").unwrap(), Some(60000));
}

#[test]
fn accessor_errors_name_key_and_type() {
    let f = parse_builder(&GgufBuilder::valid()).unwrap();
    let e = f.md::<u32>("llama.context_length").unwrap_err();
    assert!(matches!(&e, GgufError::MissingKey { key } if key == "llama.context_length"));
    assert!(e.to_string().contains("llama.context_length"));
    let e = f.md::<u32>("general.architecture").unwrap_err();
    assert!(
        matches!(&e, GgufError::WrongType { key, found, .. } if key == "general.architecture" && found == "string")
    );
    // u32 does not silently narrow to u8 or turn into a float or an i32.
    assert!(matches!(
        f.md::<u8>("llama.block_count"),
        Err(GgufError::WrongType { .. })
    ));
    assert!(matches!(
        f.md::<f32>("llama.block_count"),
        Err(GgufError::WrongType { .. })
    ));
    assert!(matches!(
        f.md::<i32>("llama.block_count"),
        Err(GgufError::WrongType { .. })
    ));
    assert!(matches!(f.md_opt::<String>("small"), Err(GgufError::WrongType { .. })));
    assert!(matches!(f.md_str_array("small"), Err(GgufError::WrongType { .. })));
}

#[test]
fn short_prefix_asks_for_more_and_then_parses() {
    let bytes = GgufBuilder::valid().build();
    let full = bytes.len() as u64;
    let mut have = 1usize;
    let mut rounds = 0;
    let f = loop {
        match GgufFile::parse(&bytes[..have], full) {
            Err(GgufError::NeedMoreHeader { needed }) => {
                assert!(needed > have as u64 && needed <= full, "needed {needed}");
                have = needed as usize;
                rounds += 1;
                assert!(rounds < 100, "no progress");
            }
            other => break other.expect("parses once the header is there"),
        }
    };
    assert_eq!(f.tensors().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Malformed files: each gives one specific error
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_magic() {
    let mut b = GgufBuilder::valid();
    b.magic = *b"GGML";
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::BadMagic { found }) if &found == b"GGML"
    ));
}

#[test]
fn version_1_is_rejected() {
    let mut b = GgufBuilder::valid();
    b.version = 1;
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::UnsupportedVersion { version: 1, .. })
    ));
}

#[test]
fn version_99_is_rejected() {
    let mut b = GgufBuilder::valid();
    b.version = 99;
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::UnsupportedVersion { version: 99, .. })
    ));
}

#[test]
fn huge_tensor_count() {
    let mut b = GgufBuilder::valid();
    b.n_tensors = Some(u64::MAX);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::TooManyTensors { count: u64::MAX, .. })
    ));
}

#[test]
fn tensor_count_within_limit_but_missing_infos() {
    let mut b = GgufBuilder::valid();
    b.n_tensors = Some(60000);
    assert!(matches!(parse(&b.header()), Err(GgufError::UnexpectedEof { .. })));
}

#[test]
fn huge_kv_count() {
    let mut b = GgufBuilder::valid();
    b.n_kv = Some(1 << 40);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::TooManyKvs { count, .. }) if count == 1 << 40
    ));
}

#[test]
fn huge_string_length() {
    let mut b = GgufBuilder::default();
    let mut payload = (u64::MAX - 3).to_le_bytes().to_vec();
    payload.extend_from_slice(b"abc");
    b.kv_raw(b"name", T_STRING, &payload);
    assert!(matches!(parse_builder(&b), Err(GgufError::StringTooLong { .. })));
}

#[test]
fn huge_key_length() {
    let mut bytes = GgufBuilder::default().header();
    bytes[16..24].copy_from_slice(&1u64.to_le_bytes()); // one KV
    bytes.extend((1u64 << 50).to_le_bytes()); // its key length
    bytes.extend_from_slice(&[b'k'; 64]);
    assert!(matches!(parse(&bytes), Err(GgufError::StringTooLong { .. })));
}

#[test]
fn string_longer_than_file() {
    let mut b = GgufBuilder::default();
    let mut payload = 1000u64.to_le_bytes().to_vec();
    payload.extend_from_slice(b"abc");
    b.kv_raw(b"name", T_STRING, &payload);
    assert!(matches!(parse(&b.header()), Err(GgufError::UnexpectedEof { .. })));
}

#[test]
fn huge_array_length() {
    let mut b = GgufBuilder::default();
    b.kv_raw(b"arr", T_ARRAY, &garray(T_U8, u64::MAX, &[1, 2, 3]));
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::ArrayTooLong { len: u64::MAX, .. })
    ));
}

#[test]
fn array_longer_than_file() {
    // 1 Mi strings of at least 8 bytes each cannot fit in a few dozen bytes.
    let mut b = GgufBuilder::default();
    b.kv_raw(b"arr", T_ARRAY, &garray(T_STRING, 1 << 20, &gstr(b"x")));
    assert!(matches!(parse(&b.header()), Err(GgufError::UnexpectedEof { .. })));
}

#[test]
fn array_would_exceed_header_limit() {
    // Claims a 2^40-byte file: the array fits the file but not our header-size limit.
    let mut b = GgufBuilder::default();
    b.kv_raw(b"arr", T_ARRAY, &garray(T_STRING, 1 << 24, &gstr(b"x")));
    let header = b.header();
    assert!(matches!(
        GgufFile::parse(&header, 1 << 40),
        Err(GgufError::HeaderTooLarge {
            limit: MAX_HEADER_BYTES,
            ..
        })
    ));
}

#[test]
fn deep_nesting() {
    // Six arrays deep: [[[[[[ ]]]]]]
    let mut payload = garray(T_U8, 0, &[]);
    for _ in 0..5 {
        payload = garray(T_ARRAY, 1, &payload);
    }
    let mut b = GgufBuilder::default();
    b.kv_raw(b"deep", T_ARRAY, &payload);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::NestingTooDeep { limit: 4, .. })
    ));
}

#[test]
fn four_levels_of_nesting_are_fine() {
    let mut payload = garray(T_U8, 1, &[9]);
    for _ in 0..3 {
        payload = garray(T_ARRAY, 1, &payload);
    }
    let mut b = GgufBuilder::default();
    b.kv_raw(b"deep", T_ARRAY, &payload);
    assert!(parse_builder(&b).is_ok());
}

#[test]
fn unknown_value_type() {
    let mut b = GgufBuilder::default();
    b.kv_raw(b"odd", 13, &[0; 8]);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::UnknownValueType { type_id: 13, .. })
    ));
}

#[test]
fn unknown_array_element_type() {
    let mut b = GgufBuilder::default();
    b.kv_raw(b"odd", T_ARRAY, &garray(77, 1, &[0; 8]));
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::UnknownValueType { type_id: 77, .. })
    ));
}

#[test]
fn invalid_utf8_key() {
    let mut b = GgufBuilder::default();
    b.kv_raw(b"bad\xff\xfekey", T_U8, &[1]);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::InvalidUtf8 {
            what: "metadata key",
            ..
        })
    ));
}

#[test]
fn duplicate_key() {
    let mut b = GgufBuilder::valid();
    b.kv_u32("llama.block_count", 3);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::DuplicateKey { key }) if key == "llama.block_count"
    ));
}

#[test]
fn n_dims_9() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[1; 9], GGML_F32, 128);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::TooManyDims { n_dims: 9, .. })
    ));
}

#[test]
fn zero_dim() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[4, 0], GGML_F32, 128);
    assert!(matches!(parse_builder(&b), Err(GgufError::ZeroDim { dim: 1, .. })));
}

#[test]
fn dims_overflowing_u64() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[1 << 32, 1 << 32, 2], GGML_F32, 128);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::ShapeOverflow { tensor, .. }) if tensor == "c"
    ));
}

#[test]
fn byte_size_overflowing_u64() {
    // 2^62 elements fit u64 and i64, but 2^62 * 4 bytes does not.
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[1 << 31, 1 << 31], GGML_F32, 128);
    assert!(matches!(parse_builder(&b), Err(GgufError::ShapeOverflow { .. })));
}

#[test]
fn row_not_whole_blocks() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[33], GGML_Q4_0, 128);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::BadRowLength {
            source: QuantError::NotBlockAligned { k: 33, .. },
            ..
        })
    ));
}

#[test]
fn unknown_ggml_type_99() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[4], 99, 128);
    let err = parse_builder(&b).unwrap_err();
    assert!(matches!(
        &err,
        GgufError::UnknownTensorType { tensor, source: QuantError::UnsupportedType { id: 99 } }
            if tensor == "c"
    ));
    assert!(err.to_string().contains("99"), "{err}");
}

#[test]
fn known_but_unsupported_ggml_type_is_named() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[256], 16, 128); // iq2_xxs
    let err = parse_builder(&b).unwrap_err();
    assert!(matches!(err, GgufError::UnknownTensorType { .. }));
    assert!(err.to_string().contains("iq2_xxs"), "{err}");
}

/// The formats requantised downloads use: a tensor of two rows spans exactly two rows of blocks
/// (ggml's block sizes); one byte missing from the file, or a row that is not whole blocks, is
/// a typed error.
#[test]
fn requantised_types_have_their_block_sizes() {
    // (ggml type id, format, elements per block, bytes per block)
    let types = [
        (7, WeightFormat::Q5_1, 32, 24),
        (10, WeightFormat::Q2_K, 256, 84),
        (11, WeightFormat::Q3_K, 256, 110),
        (13, WeightFormat::Q5_K, 256, 176),
        (20, WeightFormat::IQ4_NL, 32, 18),
        (23, WeightFormat::IQ4_XS, 256, 136),
    ];
    for (id, fmt, elems, bytes) in types {
        let mut b = GgufBuilder::valid();
        b.tensor("c", &[elems, 2], id, 128);
        b.data = vec![0u8; 128 + 2 * bytes as usize];
        let f = parse(&b.build()).unwrap_or_else(|e| panic!("{}: {e}", fmt.name()));
        let t = f.tensor("c").unwrap();
        assert_eq!(t.format, fmt);
        let start = f.data_start() + 128;
        assert_eq!(f.tensor_range("c").unwrap(), start..start + 2 * bytes);

        b.data.pop();
        assert!(
            matches!(parse_builder(&b), Err(GgufError::TensorOutOfBounds { .. })),
            "{}: truncated data",
            fmt.name()
        );

        let mut b = GgufBuilder::valid();
        b.tensor("c", &[elems + 32, 1], id, 128); // 576 for the 256-element super-blocks
        b.data = vec![0u8; 1 << 12];
        let ragged = elems > 32;
        let parsed = parse_builder(&b);
        if ragged {
            assert!(
                matches!(
                    parsed,
                    Err(GgufError::BadRowLength {
                        source: QuantError::NotBlockAligned { .. },
                        ..
                    })
                ),
                "{}: a row of {} elements",
                fmt.name(),
                elems + 32
            );
        } else {
            assert!(parsed.is_ok(), "{}: 64 elements are two whole blocks", fmt.name());
        }
    }
}

#[test]
fn duplicate_tensor_name() {
    let mut b = GgufBuilder::valid();
    b.tensor("a", &[8], GGML_F32, 128);
    b.data.resize(160, 0);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::DuplicateTensor { name }) if name == "a"
    ));
}

#[test]
fn tensor_offset_misaligned() {
    let mut b = GgufBuilder::default();
    b.tensor("a", &[8], GGML_F32, 4);
    b.data = vec![0; 64];
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::MisalignedTensor {
            offset: 4,
            alignment: 32,
            ..
        })
    ));
}

#[test]
fn tensor_past_end_of_file() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[8], GGML_F32, 1 << 20);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::TensorOutOfBounds { tensor, .. }) if tensor == "c"
    ));
}

#[test]
fn tensor_offset_overflowing_u64() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[8], GGML_F32, u64::MAX - 31);
    assert!(matches!(parse_builder(&b), Err(GgufError::TensorOutOfBounds { .. })));
}

#[test]
fn overlapping_tensors() {
    let mut b = GgufBuilder::valid();
    b.tensor("c", &[16], GGML_F32, 0); // 64 bytes from 0: covers "b" at 32
    assert!(matches!(parse_builder(&b), Err(GgufError::OverlappingTensors { .. })));
}

#[test]
fn bad_alignment_value() {
    let mut b = GgufBuilder::valid();
    b.kv_u32("general.alignment", 24);
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::BadAlignment { value: 24, .. })
    ));
}

#[test]
fn alignment_of_wrong_type() {
    let mut b = GgufBuilder::valid();
    b.kv_str("general.alignment", "32");
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::WrongType { key, .. }) if key == "general.alignment"
    ));
}

#[test]
fn custom_alignment_moves_data_start() {
    let mut b = GgufBuilder::valid();
    b.kv_u32("general.alignment", 64);
    b.alignment = 64;
    // "b" at 32 is no longer aligned.
    assert!(matches!(
        parse_builder(&b),
        Err(GgufError::MisalignedTensor {
            offset: 32,
            alignment: 64,
            ..
        })
    ));
}

#[test]
fn truncated_at_every_byte() {
    let b = GgufBuilder::valid();
    let bytes = b.build();
    let header_end = b.header().len();
    for n in 0..bytes.len() {
        // As a whole (short) file: the header part is an EOF, the data part an out-of-bounds tensor.
        match parse(&bytes[..n]) {
            Err(GgufError::UnexpectedEof { .. }) if n < header_end => {}
            Err(GgufError::TensorOutOfBounds { .. }) if n >= header_end => {}
            other => panic!("truncated to {n} bytes: unexpected {other:?}"),
        }
        // As a prefix of the real file: only ever a request for more.
        if n < header_end {
            assert!(matches!(
                GgufFile::parse(&bytes[..n], bytes.len() as u64),
                Err(GgufError::NeedMoreHeader { needed }) if needed > n as u64
            ));
        } else {
            assert!(GgufFile::parse(&bytes[..n], bytes.len() as u64).is_ok());
        }
    }
}

#[test]
fn random_byte_flips_never_panic() {
    // A cheap deterministic fuzz pass; the cargo-fuzz target goes further.
    let bytes = GgufBuilder::valid().build();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20_000 {
        let mut m = bytes.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % m.len() as u64) as usize;
            m[i] = (state >> 32) as u8;
        }
        let _ = parse(&m);
    }
}

// ---------------------------------------------------------------------------------------------
// The shipped models
// ---------------------------------------------------------------------------------------------

fn open_model(name: &str) -> Option<GgufFile> {
    let dir = models_dir(name)?;
    let path = dir.join(name);
    Some(GgufFile::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn count_format(f: &GgufFile, fmt: WeightFormat) -> usize {
    f.tensors().iter().filter(|t| t.format == fmt).count()
}

// The byte offsets below are facts about the sha256-pinned files of scripts/fetch-models.sh,
// read once with llama.cpp's gguf-py 0.x (`GGUFReader(path).tensors[i].data_offset` /
// `.n_bytes`, and `.data_offset` for the data section).

#[test]
fn smollm2_header() {
    let Some(f) = open_model("SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    assert_eq!(f.version(), 3);
    assert_eq!(f.arch().unwrap(), "llama");
    assert_eq!(f.md::<u32>("llama.block_count").unwrap(), 30);
    assert_eq!(f.md::<u32>("llama.embedding_length").unwrap(), 576);
    assert_eq!(f.md::<u32>("llama.attention.head_count").unwrap(), 9);
    assert_eq!(f.md::<u32>("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(f.md::<f32>("llama.rope.freq_base").unwrap(), 1e5);
    assert_eq!(f.md_str("tokenizer.ggml.pre").unwrap(), "smollm");
    assert_eq!(f.md_str_array("tokenizer.ggml.tokens").unwrap().len(), 49152);
    assert_eq!(f.md_i32_array("tokenizer.ggml.token_type").unwrap().len(), 49152);
    assert!(f.md_str("tokenizer.chat_template").is_ok());
    assert_eq!(f.tensors().len(), 272);
    assert_eq!(count_format(&f, WeightFormat::Q4_1), 210);
    assert_eq!(count_format(&f, WeightFormat::Q8_0), 1);
    assert_eq!(count_format(&f, WeightFormat::F32), 61);
    assert_eq!(f.tensor("token_embd.weight").unwrap().format, WeightFormat::Q8_0);
    assert_eq!(f.data_start(), 1785664);
    assert_eq!(
        f.tensor_range("token_embd.weight").unwrap(),
        1785664..1785664 + 30081024
    );
    assert_eq!(
        f.tensor_range("blk.0.attn_q.weight").unwrap(),
        33806656..33806656 + 207360
    );
}

#[test]
fn gemma3_header() {
    let Some(f) = open_model("gemma-3-270m-q4_k_m.gguf") else {
        return;
    };
    assert_eq!(f.arch().unwrap(), "gemma3");
    assert_eq!(f.md::<u32>("gemma3.block_count").unwrap(), 18);
    assert_eq!(f.md::<u32>("gemma3.embedding_length").unwrap(), 640);
    assert_eq!(f.md::<u32>("gemma3.attention.head_count_kv").unwrap(), 1);
    assert_eq!(f.md::<u32>("gemma3.attention.sliding_window").unwrap(), 512);
    assert_eq!(f.md_str_array("tokenizer.ggml.tokens").unwrap().len(), 262144);
    assert_eq!(f.md_f32_array("tokenizer.ggml.scores").unwrap().len(), 262144);
    assert!(f.md_value("tokenizer.chat_template").is_none());
    assert_eq!(f.tensors().len(), 236);
    for (fmt, n) in [
        (WeightFormat::F32, 109),
        (WeightFormat::Q5_0, 81),
        (WeightFormat::Q4_K, 27),
        (WeightFormat::Q8_0, 10),
        (WeightFormat::Q6_K, 9),
    ] {
        assert_eq!(count_format(&f, fmt), n, "{fmt:?}");
    }
    assert_eq!(f.data_start(), 6525120);
    let embd = f.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.dims, [640, 262144]);
    assert_eq!(embd.range(), 6527680..6527680 + 178257920);
    assert_eq!(
        f.tensor_range("blk.5.ffn_down.weight").unwrap(),
        205014208..205014208 + 737280
    );
}

#[test]
fn qwen2_header() {
    let Some(f) = open_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else {
        return;
    };
    assert_eq!(f.arch().unwrap(), "qwen2");
    assert_eq!(f.md::<u32>("qwen2.block_count").unwrap(), 24);
    assert_eq!(f.md::<u32>("qwen2.attention.head_count").unwrap(), 14);
    assert_eq!(f.md::<u32>("qwen2.attention.head_count_kv").unwrap(), 2);
    // No qwen2.vocab_size key: the vocabulary is the token list (and token_embd's ne[1]).
    assert_eq!(f.md_str_array("tokenizer.ggml.tokens").unwrap().len(), 151936);
    assert_eq!(f.tensor("token_embd.weight").unwrap().dims, [896, 151936]);
    assert_eq!(f.tensor("token_embd.weight").unwrap().format, WeightFormat::Q5_0);
    assert_eq!(f.tensor("output.weight").unwrap().format, WeightFormat::Q8_0);
    assert_eq!(f.tensors().len(), 291);
    assert_eq!(f.data_start(), 5947776);
    assert_eq!(f.tensor_range("output.weight").unwrap(), 5947776..5947776 + 144643072);
    assert_eq!(
        f.tensor_range("token_embd.weight").unwrap(),
        150590848..150590848 + 93592576
    );
}

#[test]
fn real_header_prefixes_never_panic() {
    let name = "SmolLM2-135M-Instruct.Q4_1.gguf";
    let Some(dir) = models_dir(name) else {
        return;
    };
    let path = dir.join(name);
    let file_len = std::fs::metadata(&path).unwrap().len();
    // The header region is small (1.8 MB); read just that much.
    let header_len = GgufFile::open(&path).unwrap().data_start() as usize;
    let mut bytes = Vec::new();
    use std::io::Read;
    std::fs::File::open(&path)
        .unwrap()
        .take(header_len as u64)
        .read_to_end(&mut bytes)
        .unwrap();
    // Only the last < 32 bytes (alignment padding) may already be enough to parse.
    let in_padding = |n: usize| n + 32 > header_len;
    for n in (0..header_len).step_by(4099) {
        match GgufFile::parse(&bytes[..n], file_len) {
            Err(GgufError::NeedMoreHeader { needed }) if needed > n as u64 => {}
            Ok(_) if in_padding(n) => {}
            other => panic!("prefix of {n} bytes: unexpected {other:?}"),
        }
        // The same bytes as a whole, truncated file.
        match GgufFile::parse(&bytes[..n], n as u64) {
            Err(GgufError::UnexpectedEof { .. }) => {}
            Err(GgufError::TensorOutOfBounds { .. }) if in_padding(n) => {}
            other => panic!("file truncated to {n} bytes: unexpected {other:?}"),
        }
    }
    assert!(GgufFile::parse(&bytes, file_len).is_ok());
}
