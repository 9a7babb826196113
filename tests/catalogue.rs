//! The model catalogue (src/catalogue/models.json, schema 2): every file of a verified download
//! has its exact size, a sha256 and a URL pinned to a hub commit; every decoder's default download
//! is a quantised GGUF; whatever lacks a fact says `unverified`; variants are picked by id and an
//! unknown one is a typed error naming the known ones; downloads are checked (size, sha256) and a
//! file that fails is removed; a catalogue id without a network fails naming the URL.

use std::collections::HashSet;
use std::process::Command;

use webslm::catalogue::{verify_file, Catalogue, CatalogueError, CatalogueFile, HUB};

const WANTED: [&str; 15] = [
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

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `(repo, commit)` of `https://huggingface.co/<owner>/<name>/resolve/<commit>/<path>`, the path
/// being the file's own.
fn hub_url_parts(f: &CatalogueFile) -> Option<(&str, &str)> {
    let rest = f.url.strip_prefix(HUB)?.strip_prefix('/')?;
    let (repo, rest) = rest.split_once("/resolve/")?;
    let (commit, path) = rest.split_once('/')?;
    (repo.matches('/').count() == 1 && path == f.path).then_some((repo, commit))
}

#[test]
fn catalogue_is_complete_and_supported() {
    let c = Catalogue::builtin().expect("models.json parses");
    assert_eq!(c.version, 2);
    for id in WANTED {
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
        assert!(!m.license.is_empty() && m.context_length > 0, "{}", m.id);
        assert!(
            !m.note.is_empty(),
            "{}: the note must say where the facts came from",
            m.id
        );
        if m.gated {
            let page = m.license_url.as_deref().unwrap_or_default();
            assert!(
                page.starts_with("https://huggingface.co/"),
                "{}: gated without a licence page",
                m.id
            );
        }
        let mut variant_ids = HashSet::new();
        for v in m.all_variants() {
            assert!(
                variant_ids.insert(v.id.as_str()),
                "{}: duplicate variant {}",
                m.id,
                v.id
            );
            assert!(!v.files.is_empty(), "{}:{} has no files", m.id, v.id);
            let weights: u64 = v
                .files
                .iter()
                .filter(|f| f.path.ends_with(".safetensors") || f.path.ends_with(".gguf"))
                .filter_map(|f| f.size)
                .sum();
            assert!(
                v.gpu_memory_mb << 20 >= weights,
                "{}:{}: {} MB cannot hold {weights} bytes of weights",
                m.id,
                v.id,
                v.gpu_memory_mb
            );
            for f in &v.files {
                assert!(
                    !f.path.contains("..") && !f.path.starts_with('/'),
                    "{}: {}",
                    m.id,
                    f.path
                );
                let parts = hub_url_parts(f);
                assert!(parts.is_some(), "{}:{}: {} is not a hub resolve URL", m.id, v.id, f.url);
            }
        }
    }
}

#[test]
fn verified_files_have_size_sha256_and_pinned_url() {
    let c = Catalogue::builtin().expect("models.json parses");
    let mut verified = 0;
    for m in &c.models {
        for v in m.all_variants() {
            for f in &v.files {
                let commit = hub_url_parts(f).map(|(_, commit)| commit).unwrap_or_default();
                let complete = f.size.is_some_and(|n| n > 0)
                    && f.sha256.as_deref().is_some_and(|s| is_hex(s, 64))
                    && is_hex(commit, 40);
                // A file that lacks a fact must say so, and so must its variant and entry.
                if !complete {
                    assert!(
                        f.unverified,
                        "{}:{}: {} lacks a fact but is not unverified",
                        m.id, v.id, f.path
                    );
                    assert!(
                        v.unverified && m.unverified(),
                        "{}:{}: unverified file in a verified variant",
                        m.id,
                        v.id
                    );
                } else {
                    assert!(
                        !f.unverified,
                        "{}:{}: {} has every fact but says unverified",
                        m.id, v.id, f.path
                    );
                    verified += 1;
                }
            }
            if !v.unverified {
                assert!(v.files.iter().all(|f| !f.unverified), "{}:{}", m.id, v.id);
            }
        }
    }
    // all-MiniLM-L6-v2's files are hashed from the copy fetched here: at least those are verified.
    assert!(verified >= 7, "only {verified} files are verified");
}

#[test]
fn every_decoder_defaults_to_a_quantised_gguf() {
    let c = Catalogue::builtin().expect("models.json parses");
    for m in c.models.iter().filter(|m| m.task == "text-generation") {
        let d = &m.default;
        assert_eq!(d.format, "gguf", "{}: default download is {}", m.id, d.format);
        let gguf = d.gguf().unwrap_or_else(|| panic!("{}: no .gguf file", m.id));
        assert_eq!(d.files.len(), 1, "{}: a GGUF download is one file", m.id);
        let quantised = [
            "q2_k", "q3_k", "q4_0", "q4_1", "q4_k", "q5_0", "q5_1", "q5_k", "q6_k", "q8_0", "iq4",
        ];
        assert!(
            quantised.iter().any(|q| d.dtype.starts_with(q)),
            "{}: default dtype {} is not quantised",
            m.id,
            d.dtype
        );
        // 4-bit by the rule: Q4_K_M, or Q4_0 where that is the authors' own build.
        assert!(d.dtype.starts_with("q4_"), "{}: default {} is not 4-bit", m.id, d.dtype);
        assert!(gguf.path.ends_with(".gguf"), "{}", m.id);
    }
}

#[test]
fn every_safetensors_download_is_a_folder_the_loader_takes() {
    let c = Catalogue::builtin().expect("models.json parses");
    for m in &c.models {
        for v in m.all_variants().filter(|v| v.format == "safetensors") {
            let has = |p: &str| v.files.iter().any(|f| f.path == p);
            assert!(has("config.json"), "{}:{}: no config.json", m.id, v.id);
            assert!(
                has("tokenizer.json") || has("vocab.txt"),
                "{}:{}: no tokenizer",
                m.id,
                v.id
            );
            assert!(
                has("model.safetensors") || has("model.safetensors.index.json"),
                "{}:{}: no weights",
                m.id,
                v.id
            );
        }
        for v in m.all_variants().filter(|v| v.format == "gguf") {
            assert!(
                v.gguf().is_some() && v.files.len() == 1,
                "{}:{}: a GGUF download is one .gguf",
                m.id,
                v.id
            );
        }
    }
}

#[test]
fn variants_are_picked_by_id_and_unknown_ones_are_typed_errors() {
    let c = Catalogue::builtin().expect("models.json parses");
    let (m, v) = c.lookup("phi-2").expect("phi-2");
    assert_eq!(v.id, m.default.id);
    for other in &m.variants {
        let (_, picked) = c.lookup(&format!("phi-2:{}", other.id)).expect("a listed variant");
        assert_eq!(picked.id, other.id);
    }
    let (_, named_default) = c
        .lookup(&format!("phi-2:{}", m.default.id))
        .expect("the default by name");
    assert_eq!(named_default.id, m.default.id);
    match c.lookup("phi-2:no-such-variant") {
        Err(CatalogueError::UnknownVariant { model, variant, known }) => {
            assert_eq!((model.as_str(), variant.as_str()), ("phi-2", "no-such-variant"));
            assert!(known.contains(&m.default.id), "{known}");
        }
        other => panic!("expected UnknownVariant, got {other:?}"),
    }
    assert!(matches!(
        c.lookup("no-such-model"),
        Err(CatalogueError::UnknownModel { .. })
    ));

    // The CLI says the same, with no panic and no download.
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(["embed", "--model", "all-minilm-l6-v2:no-such-variant", "--text", "hi"])
        .env("WEBSLM_CACHE", std::env::temp_dir().join("webslm-no-such-cache"))
        .output()
        .expect("the webslm binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("has no variant `no-such-variant`; its variants are f32"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn hub_url_is_replaced_by_a_mirror() {
    let c = Catalogue::builtin().expect("models.json parses");
    let f = &c.get("all-minilm-l6-v2").expect("MiniLM").default.files[0];
    let rest = f.url.strip_prefix(HUB).expect("a hub URL");
    assert_eq!(
        f.url_on(Some("http://127.0.0.1:1/hub/")),
        format!("http://127.0.0.1:1/hub{rest}")
    );
    assert_eq!(f.url_on(None), f.url);
}

#[test]
fn downloads_are_checked_and_a_bad_file_is_removed() {
    let dir = std::env::temp_dir().join(format!("webslm-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bytes = b"hello, catalogue";
    let real = {
        use sha2::Digest;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    // The right hash with its first digit changed.
    let wrong = format!("{}{}", if real.starts_with('0') { '1' } else { '0' }, &real[1..]);
    let sha = wrong.as_str();
    let file = |size, sha256: &str| CatalogueFile {
        path: "f.bin".into(),
        url: format!("{HUB}/a/b/resolve/{}/f.bin", "0".repeat(40)),
        size,
        sha256: Some(sha256.to_string()),
        unverified: false,
    };
    let path = dir.join("f.bin");
    for (want, ok) in [
        (file(Some(bytes.len() as u64), &real), true),
        (file(Some(bytes.len() as u64 + 1), &real), false),
        (file(Some(bytes.len() as u64), sha), false),
        (file(None, &real), true),
    ] {
        std::fs::write(&path, bytes).expect("write");
        let got = verify_file(&path, &want);
        assert_eq!(got.is_ok(), ok, "{got:?}");
        if !ok {
            let e = got.expect_err("checked above").to_string();
            assert!(e.starts_with("IntegrityError: f.bin:"), "{e}");
            assert!(!path.exists(), "a file that fails its check must not stay");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn catalogue_id_without_network_names_the_url() {
    let c = Catalogue::builtin().expect("models.json parses");
    let want = &c.get("tinyllama-1.1b-chat").expect("TinyLlama").default.files[0].url;
    let cache = std::env::temp_dir().join(format!("webslm-cache-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(["tokenize", "--model", "tinyllama-1.1b-chat", "--text", "hi"])
        .env("WEBSLM_CACHE", &cache)
        .env_remove("WEBSLM_HUB")
        // A proxy on a closed port: no request leaves the machine, whatever its network.
        .env("https_proxy", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .output()
        .expect("the webslm binary runs");
    let _ = std::fs::remove_dir_all(&cache);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("could not download {want}")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn readme_gives_phi2_download_as_the_catalogue_does() {
    let c = Catalogue::builtin().expect("models.json parses");
    let d = &c.get("phi-2").expect("Phi-2").default;
    let gguf = d.gguf().expect("Phi-2 defaults to a GGUF");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let size = gguf.size.expect("Phi-2's size is known");
    let line = format!("{}, {size} bytes", gguf.path);
    assert!(
        readme.contains(&line),
        "README.md must say `{line}` next to createEngine('phi-2')"
    );
    assert!(readme.contains("createEngine('phi-2')"));
}

#[test]
fn webslm_models_lists_every_variant_with_bytes_and_gpu_memory() {
    let c = Catalogue::builtin().expect("models.json parses");
    let out = Command::new(env!("CARGO_BIN_EXE_webslm"))
        .arg("models")
        .env("WEBSLM_CACHE", std::env::temp_dir().join("webslm-no-such-cache"))
        .output()
        .expect("the webslm binary runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = listed["models"].as_array().expect("a models array");
    assert_eq!(rows.len(), c.models.len());
    for (row, m) in rows.iter().zip(&c.models) {
        assert_eq!(row["id"], m.id.as_str());
        assert_eq!(row["default_variant"], m.default.id.as_str());
        let variants = row["variants"].as_array().expect("variants");
        assert_eq!(variants.len(), 1 + m.variants.len(), "{}", m.id);
        for (v, want) in variants.iter().zip(m.all_variants()) {
            assert_eq!(v["id"], want.id.as_str());
            assert_eq!(
                v["download_bytes"],
                serde_json::json!(want.download_bytes()),
                "{}:{}",
                m.id,
                want.id
            );
            // A size is missing only where a fact is: then the listing says null, not a partial sum.
            let sized = want.files.iter().all(|f| f.size.is_some());
            assert_eq!(v["download_bytes"].is_u64(), sized, "{}:{}", m.id, want.id);
            assert_eq!(v["gpu_memory_mb"], want.gpu_memory_mb, "{}:{}", m.id, want.id);
            assert_eq!(v["cached"], false);
        }
    }
}
