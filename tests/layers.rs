//! The layering of `src/`: which top-level module may name which (`crate::<module>`). Each module
//! may use only modules listed before it, so the table is a topological order and no cycle can
//! form; and the CPU twins (`cpu`) are for tests and `webslm bench-kernels` only, never a runtime
//! path (models, sampling, the engine). A new `use` that breaks this fails here, naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (module, modules it may use), lowest layer first.
const LAYERS: &[(&str, &[&str])] = &[
    ("clock", &[]),
    ("rng", &[]),
    ("ops", &[]),
    ("formats", &["rng"]),
    // clock: a failed map in the browser yields to the event loop (clock::next_task) so the
    // device-lost callback can run before the loss is reported.
    ("gpu", &["clock"]),
    ("cpu", &["ops", "formats", "rng"]),
    // The CPU backend's SIMD kernels: runtime code (unlike `cpu`, which its tests compare with).
    ("simd", &["formats"]),
    ("kernels", &["gpu", "ops", "formats"]),
    ("tokenizer", &["formats"]),
    // Structured output: llguidance over the tokenizer's vocabulary.
    ("constraint", &["tokenizer"]),
    ("chat_template", &["clock", "formats"]),
    ("catalogue", &["formats"]),
    // constraint: ModelError carries its typed errors.
    (
        "models",
        &["constraint", "formats", "gpu", "kernels", "ops", "tokenizer"],
    ),
    ("sampling", &["kernels", "ops", "rng"]),
    // OpenAI's logprobs JSON for the CLI and the browser.
    ("logprobs", &["sampling"]),
    // LoRA adapters: parsed from their files, fitted onto a loaded model's projections.
    ("lora", &["formats", "gpu", "kernels", "models", "ops"]),
    ("analysis", &["lora", "models", "gpu", "kernels", "ops", "tokenizer"]),
    (
        "engine",
        &[
            "chat_template",
            "clock",
            "constraint",
            "formats",
            "gpu",
            "kernels",
            "lora",
            "models",
            "sampling",
            "tokenizer",
        ],
    ),
    ("generate", &["constraint", "engine", "models", "sampling", "tokenizer"]),
    // Native only: an engine rebuilt from its file on a new device after a device loss.
    ("recovery", &["engine", "models"]),
    (
        "chat",
        &[
            "chat_template",
            "constraint",
            "engine",
            "generate",
            "models",
            "sampling",
            "tokenizer",
        ],
    ),
    (
        "bench",
        &[
            "clock",
            "constraint",
            "rng",
            "ops",
            "formats",
            "gpu",
            "cpu",
            "simd",
            "kernels",
            "tokenizer",
            "models",
            "sampling",
            "engine",
            "lora",
        ],
    ),
    (
        "web",
        &[
            "analysis",
            "constraint",
            "chat_template",
            "engine",
            "formats",
            "generate",
            "gpu",
            "logprobs",
            "lora",
            "models",
            "ops",
            "sampling",
            "tokenizer",
        ],
    ),
];

/// The modules `text` names as `crate::<module>` outside comments, including each name of a
/// `crate::{a, b::c}` group.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|p| ident(p.trim())).filter(|n| !n.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_table_is_a_topological_order() {
    let mut seen = BTreeSet::new();
    for (module, deps) in LAYERS {
        for d in *deps {
            assert!(seen.contains(d), "{module} may use {d}, which is not listed before it");
        }
        assert!(seen.insert(*module), "{module} is listed twice");
    }
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        let first = rel
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        // The binary is its own crate (it names `webslm::`), and lib.rs only declares modules.
        if module == "bin" || module == "lib" {
            continue;
        }
        let Some(deps) = allowed.get(module.as_str()) else {
            broken.push(format!("{}: module {module} is not in LAYERS", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("readable");
        for used in crate_refs(&text) {
            if used != module && !deps.contains(&used.as_str()) {
                broken.push(format!("{}: {module} uses crate::{used}", rel.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_scanner_sees_groups_and_skips_comments() {
    let text = "use crate::{gpu::Batch, ops};\n// crate::cpu in a comment\nlet x = crate::rng::Rng::new(1);";
    let got: Vec<String> = crate_refs(text).into_iter().collect();
    assert_eq!(got, ["gpu", "ops", "rng"]);
}
