//! The model catalogue (src/catalogue/models.json): well-formed hub URLs, sizes and memory for
//! every model, every architecture one webslm runs; and a catalogue id without a network fails
//! with an error naming the URL.

use std::collections::HashSet;
use std::process::Command;

use webslm::catalogue::Catalogue;

#[test]
fn catalogue_is_complete_and_supported() {
    let c = Catalogue::builtin().expect("models.json parses");
    let wanted = [
        "distilbert-sst2",
        "mobilebert-squad",
        "bert-base-ner",
        "all-minilm-l6-v2",
        "smollm2-135m-instruct",
        "smollm2-360m-instruct",
        "smollm2-1.7b-instruct",
        "qwen2.5-0.5b-instruct",
        "qwen2.5-1.5b-instruct",
        "gemma-3-270m-it",
        "gemma-3-1b-it",
        "gemma-2b-it",
        "phi-2",
        "llama-3.2-1b-instruct",
        "tinyllama-1.1b-chat",
    ];
    for id in wanted {
        assert!(c.get(id).is_some(), "catalogue lacks {id}");
    }
    let mut ids = HashSet::new();
    for m in &c.models {
        assert!(ids.insert(m.id.as_str()), "duplicate id {}", m.id);
        let family = m
            .family()
            .unwrap_or_else(|| panic!("{}: model_type {} unsupported", m.id, m.model_type));
        if family.is_encoder() {
            assert_ne!(m.task, "text-generation", "{}", m.id);
        } else {
            assert_eq!(m.task, "text-generation", "{}", m.id);
            webslm::models::Family::from_hf(family).unwrap_or_else(|e| panic!("{}: {e}", m.id));
            assert!(m.default_context <= m.context_length, "{}", m.id);
        }
        let names: HashSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert!(
            names.contains("config.json") && names.contains("tokenizer.json"),
            "{}",
            m.id
        );
        assert!(
            names.contains("model.safetensors") || names.contains("model.safetensors.index.json"),
            "{}: no weights",
            m.id
        );
        let weights: u64 = m
            .files
            .iter()
            .filter(|f| f.path.ends_with(".safetensors"))
            .map(|f| f.size)
            .sum();
        assert!(weights > 1 << 20, "{}: weights of {weights} bytes", m.id);
        assert!(
            m.gpu_memory_mb << 20 >= weights,
            "{}: {} MB cannot hold the weights",
            m.id,
            m.gpu_memory_mb
        );
        for f in &m.files {
            let want = format!("https://huggingface.co/{}/resolve/main/{}", m.repo, f.path);
            assert_eq!(f.url, want, "{}", m.id);
            assert!(f.size > 0, "{}: {} has no size", m.id, f.path);
            assert!(
                !f.path.contains("..") && !f.path.starts_with('/'),
                "{}: {}",
                m.id,
                f.path
            );
        }
        assert!(!m.license.is_empty() && m.context_length > 0, "{}", m.id);
    }
}

#[test]
fn catalogue_id_without_network_names_the_url() {
    let cache = std::env::temp_dir().join(format!("webslm-cache-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(["tokenize", "--model", "tinyllama-1.1b-chat", "--text", "hi"])
        .env("WEBSLM_CACHE", &cache)
        // A proxy on a closed port: no request leaves the machine, whatever its network.
        .env("https_proxy", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .output()
        .expect("the webslm binary runs");
    let _ = std::fs::remove_dir_all(&cache);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("could not download https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0/resolve/main/"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
