//! safetensors reader and HF config: all-MiniLM-L6-v2 as shipped, and malformed headers that
//! must each give one specific typed error.

mod common_formats;

use std::collections::HashMap;

use common_formats::*;
use webslm::formats::hf_config::{HfConfig, ModelFamily};
use webslm::formats::quant::WeightFormat;
use webslm::formats::safetensors::{
    Dtype, SafetensorsError, SafetensorsFile, SafetensorsIndex, ShardedSafetensors, MAX_HEADER_LEN,
};

fn parse(bytes: &[u8]) -> Result<SafetensorsFile, SafetensorsError> {
    SafetensorsFile::parse(bytes, bytes.len() as u64)
}

/// Two F32 tensors and an I64 one, with metadata; 16 + 8 + 16 bytes of data.
const VALID: &str = r#"{"__metadata__":{"format":"pt"},
    "w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},
    "pos":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},
    "h":{"dtype":"BF16","shape":[8],"data_offsets":[24,40]}}"#;

#[test]
fn valid_file() {
    let bytes = safetensors_file(VALID, 40);
    let f = parse(&bytes).expect("parses");
    let start = 8 + VALID.len() as u64;
    assert_eq!(f.data_start(), start);
    assert_eq!(f.tensor_range("w").unwrap(), start..start + 16);
    assert_eq!(f.tensor("w").unwrap().format(), Some(WeightFormat::F32));
    assert_eq!(f.tensor("h").unwrap().format(), Some(WeightFormat::BF16));
    let pos = f.tensor("pos").unwrap();
    assert_eq!(pos.dtype, Dtype::I64);
    assert_eq!(pos.format(), None);
    assert!(matches!(
        pos.weight_format(),
        Err(SafetensorsError::NotAWeight { dtype: Dtype::I64, .. })
    ));
    assert!(matches!(f.tensor("nope"), Err(SafetensorsError::NoSuchTensor { .. })));
}

#[test]
fn header_padding_spaces_are_allowed() {
    let header = format!("{VALID}      ");
    assert!(parse(&safetensors_file(&header, 40)).is_ok());
}

#[test]
fn short_prefix_asks_for_more() {
    let bytes = safetensors_file(VALID, 40);
    let full = bytes.len() as u64;
    assert!(matches!(
        SafetensorsFile::parse(&bytes[..3], full),
        Err(SafetensorsError::NeedMoreHeader { needed: 8 })
    ));
    let needed = 8 + VALID.len() as u64;
    assert!(matches!(
        SafetensorsFile::parse(&bytes[..8], full),
        Err(SafetensorsError::NeedMoreHeader { needed: n }) if n == needed
    ));
    assert!(SafetensorsFile::parse(&bytes[..needed as usize], full).is_ok());
}

#[test]
fn truncated_at_every_byte() {
    let bytes = safetensors_file(VALID, 40);
    let header_end = 8 + VALID.len();
    for n in 0..bytes.len() {
        match parse(&bytes[..n]) {
            Err(SafetensorsError::FileTooSmall { .. }) if n < 8 => {}
            Err(SafetensorsError::HeaderPastEnd { .. }) if (8..header_end).contains(&n) => {}
            Err(SafetensorsError::OutOfRange { .. }) if n >= header_end => {}
            other => panic!("truncated to {n} bytes: unexpected {other:?}"),
        }
    }
}

#[test]
fn file_too_small() {
    assert!(matches!(
        parse(&[1, 2, 3]),
        Err(SafetensorsError::FileTooSmall { file_len: 3 })
    ));
}

#[test]
fn header_length_past_end_of_file() {
    let mut bytes = safetensors_file(VALID, 40);
    bytes[..8].copy_from_slice(&10_000u64.to_le_bytes());
    assert!(matches!(
        parse(&bytes),
        Err(SafetensorsError::HeaderPastEnd { len: 10_000, .. })
    ));
}

#[test]
fn header_length_huge() {
    let mut bytes = safetensors_file(VALID, 40);
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        SafetensorsFile::parse(&bytes, u64::MAX),
        Err(SafetensorsError::HeaderTooLarge {
            len: u64::MAX,
            limit: MAX_HEADER_LEN
        })
    ));
}

#[test]
fn invalid_json() {
    let bytes = safetensors_file(r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]"#, 16);
    assert!(matches!(parse(&bytes), Err(SafetensorsError::InvalidJson(_))));
}

#[test]
fn json_of_the_wrong_shape() {
    for header in [
        r#"[1,2,3]"#,
        r#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#,
        r#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
        r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#,
        r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} trailing"#,
    ] {
        let bytes = safetensors_file(header, 8);
        assert!(
            matches!(parse(&bytes), Err(SafetensorsError::InvalidJson(_))),
            "{header}"
        );
    }
}

#[test]
fn offsets_reversed() {
    let bytes = safetensors_file(r#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}"#, 16);
    assert!(matches!(
        parse(&bytes),
        Err(SafetensorsError::OffsetsReversed { begin: 16, end: 0, .. })
    ));
}

#[test]
fn offsets_out_of_range() {
    let bytes = safetensors_file(r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, 16);
    assert!(matches!(
        parse(&bytes),
        Err(SafetensorsError::OutOfRange {
            end: 24,
            data_len: 16,
            ..
        })
    ));
}

#[test]
fn size_mismatch_with_shape() {
    let bytes = safetensors_file(r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, 16);
    assert!(matches!(
        parse(&bytes),
        Err(SafetensorsError::SizeMismatch {
            expected: 12,
            actual: 16,
            ..
        })
    ));
}

#[test]
fn shape_overflow() {
    let header = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#;
    assert!(matches!(
        parse(&safetensors_file(header, 16)),
        Err(SafetensorsError::ShapeOverflow { .. })
    ));
}

#[test]
fn too_many_dims() {
    let header = r#"{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#;
    assert!(matches!(
        parse(&safetensors_file(header, 4)),
        Err(SafetensorsError::TooManyDims { n_dims: 9, .. })
    ));
    // A very long shape list is not collected in full.
    let dims = vec!["1"; 10_000].join(",");
    let header = format!(r#"{{"w":{{"dtype":"F32","shape":[{dims}],"data_offsets":[0,4]}}}}"#);
    assert!(matches!(
        parse(&safetensors_file(&header, 4)),
        Err(SafetensorsError::TooManyDims {
            n_dims: 9,
            limit: 8,
            ..
        })
    ));
}

#[test]
fn overlapping_tensors() {
    let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
                     "b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#;
    assert!(matches!(
        parse(&safetensors_file(header, 16)),
        Err(SafetensorsError::Overlap { .. })
    ));
}

#[test]
fn empty_tensors_do_not_overlap() {
    let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
                     "e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}"#;
    assert!(parse(&safetensors_file(header, 16)).is_ok());
}

#[test]
fn unknown_dtype() {
    let header = r#"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#;
    assert!(matches!(
        parse(&safetensors_file(header, 16)),
        Err(SafetensorsError::UnknownDtype { dtype, .. }) if dtype == "F128"
    ));
}

#[test]
fn duplicate_tensor_name() {
    let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                     "a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    assert!(matches!(
        parse(&safetensors_file(header, 8)),
        Err(SafetensorsError::DuplicateTensor { name }) if name == "a"
    ));
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints
// ---------------------------------------------------------------------------------------------

fn shard(header: &str, data_len: usize) -> SafetensorsFile {
    parse(&safetensors_file(header, data_len)).expect("shard parses")
}

#[test]
fn sharded_checkpoint() {
    let index = SafetensorsIndex::parse(
        br#"{"metadata":{"total_size":24},"weight_map":{
            "a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    assert_eq!(
        index.shards(),
        ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    );
    let mut shards = HashMap::new();
    shards.insert(
        "model-00001-of-00002.safetensors".to_owned(),
        shard(r#"{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#, 8),
    );
    shards.insert(
        "model-00002-of-00002.safetensors".to_owned(),
        shard(r#"{"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 16),
    );
    let s = ShardedSafetensors::new(index.clone(), shards.clone()).unwrap();
    let (file, info) = s.tensor("b").unwrap();
    assert_eq!(file, "model-00002-of-00002.safetensors");
    assert_eq!(info.format(), Some(WeightFormat::F32));
    assert!(matches!(s.tensor("c"), Err(SafetensorsError::NoSuchTensor { .. })));

    shards.remove("model-00002-of-00002.safetensors");
    assert!(matches!(
        ShardedSafetensors::new(index.clone(), shards.clone()),
        Err(SafetensorsError::MissingShard { shard }) if shard == "model-00002-of-00002.safetensors"
    ));
    shards.insert(
        "model-00002-of-00002.safetensors".to_owned(),
        shard(r#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 16),
    );
    assert!(matches!(
        ShardedSafetensors::new(index, shards),
        Err(SafetensorsError::TensorNotInShard { tensor, .. }) if tensor == "b"
    ));
}

#[test]
fn shard_names_must_be_plain_file_names() {
    for name in ["../../etc/passwd", "/abs.safetensors", "sub/x.safetensors", "", ".."] {
        let json = format!(r#"{{"weight_map":{{"a":"{name}"}}}}"#);
        assert!(
            matches!(
                SafetensorsIndex::parse(json.as_bytes()),
                Err(SafetensorsError::BadShardName { .. })
            ),
            "{name}"
        );
    }
    assert!(matches!(
        SafetensorsIndex::parse(br#"{"metadata":{}}"#),
        Err(SafetensorsError::InvalidIndex(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// all-MiniLM-L6-v2 as shipped
// ---------------------------------------------------------------------------------------------

#[test]
fn minilm_safetensors_and_config() {
    let Some(dir) = models_dir("minilm_safetensors_and_config") else {
        return;
    };
    let dir = dir.join("all-minilm-l6-v2");
    let f = SafetensorsFile::open(&dir.join("model.safetensors")).expect("parses");
    assert_eq!(f.tensors().len(), 104);
    // Offsets read with Python's json module from the sha256-pinned file (header length 11408).
    assert_eq!(f.data_start(), 8 + 11408);
    let pos = f.tensor("embeddings.position_ids").unwrap();
    assert_eq!(pos.dtype, Dtype::I64);
    assert_eq!(pos.shape, [1, 512]);
    assert_eq!(pos.format(), None);
    let emb = f.tensor("embeddings.word_embeddings.weight").unwrap();
    assert_eq!(emb.shape, [30522, 384]);
    assert_eq!(emb.range, 808088..808088 + 30522 * 384 * 4);
    assert_eq!(
        f.tensor_range("encoder.layer.5.output.dense.weight").unwrap(),
        87917720..87917720 + 384 * 1536 * 4
    );
    let f32s = f
        .tensors()
        .iter()
        .filter(|t| t.format() == Some(WeightFormat::F32))
        .count();
    assert_eq!(f32s, 103);

    let cfg = HfConfig::parse(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg.family, ModelFamily::Bert);
    assert_eq!(cfg.architectures, ["BertModel"]);
    assert_eq!(cfg.num_hidden_layers, 6);
    assert_eq!(cfg.hidden_size, 384);
    assert_eq!(cfg.num_attention_heads, 12);
    assert_eq!(cfg.intermediate_size, 1536);
    assert_eq!(cfg.vocab_size, 30522);
    assert_eq!(cfg.max_position_embeddings, Some(512));
    assert_eq!(cfg.layer_norm_eps, Some(1e-12));
    assert_eq!(cfg.type_vocab_size, Some(2));
    assert_eq!(cfg.hidden_act.as_deref(), Some("gelu"));
}
