//! `--model` takes a path or a catalogue id, optionally with a variant (`phi-2:q8_0`). An id
//! resolves to a folder in the download cache (`$WEBSLM_CACHE`, else `$XDG_CACHE_HOME/webslm`,
//! else `~/.cache/webslm`), `<id>/<variant>/`, fetched with `curl` on first use from the hub or
//! from the mirror `$WEBSLM_HUB` names (with `HF_TOKEN` as the hub token when set). Every file is
//! checked against the catalogue's size and sha256 before it takes its name, so the cache only
//! ever holds verified files. A GGUF variant resolves to its one `.gguf` file.

use std::path::{Path, PathBuf};
use std::process::Command;

use webslm::catalogue::{verify_file, Catalogue, CatalogueModel, CatalogueVariant};

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEBSLM_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("webslm");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("webslm")
}

/// The mirror that replaces `https://huggingface.co` in catalogue URLs, if any.
fn hub() -> Option<String> {
    std::env::var("WEBSLM_HUB").ok().filter(|h| !h.is_empty())
}

fn builtin() -> Result<Catalogue, String> {
    Catalogue::builtin().map_err(|e| format!("the built-in catalogue is invalid: {e}"))
}

/// The path `--model` names: an existing file or folder as is, else a catalogue id's download
/// (fetched if needed): the `.gguf` file of a GGUF variant, the folder of a safetensors one.
pub fn model_path(arg: &str) -> Result<PathBuf, String> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let catalogue = builtin()?;
    let (model, variant) = catalogue.lookup(arg).map_err(|e| match e {
        webslm::catalogue::CatalogueError::UnknownModel { .. } => {
            format!("{arg}: no such file or folder, and {e}")
        }
        e => e.to_string(),
    })?;
    let dir = cache_root().join(&model.id).join(&variant.id);
    download(model, variant, &dir)?;
    Ok(match variant.gguf() {
        Some(gguf) => dir.join(&gguf.path),
        None => dir,
    })
}

/// Fetches every file of `variant` that `dir` lacks. A download takes its name only once its
/// size and sha256 are the catalogue's; one that fails is deleted.
fn download(model: &CatalogueModel, variant: &CatalogueVariant, dir: &Path) -> Result<(), String> {
    let hub = hub();
    for file in &variant.files {
        let target = dir.join(&file.path);
        if target.is_file() {
            continue;
        }
        let parent = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let mut partial = target.clone().into_os_string();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let url = file.url_on(hub.as_deref());
        let size = file
            .size
            .map_or_else(|| "size unknown".to_string(), |n| format!("{n} bytes"));
        eprintln!("webslm: downloading {url} ({size})");
        let mut curl = Command::new("curl");
        // The HTTP status goes to stdout (the body to the file): 401/403 is a gated repository.
        curl.args(["--fail", "--location", "--silent", "--show-error", "--retry", "2"])
            .args(["--write-out", "%{http_code}", "--output"])
            .arg(&partial)
            .arg(&url);
        // Gated repositories (Gemma, Llama) need a hub token. It goes to the hub only, never to
        // a mirror that WEBSLM_HUB names.
        if let (Ok(token), None) = (std::env::var("HF_TOKEN"), &hub) {
            curl.arg("--header").arg(format!("Authorization: Bearer {token}"));
        }
        let out = curl
            .output()
            .map_err(|e| format!("could not download {url}: running curl failed: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&partial);
            return Err(curl_failure(model, &url, &out));
        }
        verify_file(&partial, file).map_err(|e| format!("{url}: {e}"))?;
        std::fs::rename(&partial, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Why a download failed: a gated repository's refusal names the licence page to accept;
/// anything else names the URL, curl's exit status and its message.
fn curl_failure(model: &CatalogueModel, url: &str, out: &std::process::Output) -> String {
    let http = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let code = out.status.code().map_or_else(|| "none".to_string(), |c| c.to_string());
    let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let denied = http == "401" || http == "403";
    match (model.gated, &model.license_url) {
        (true, Some(page)) if denied => {
            let token = if std::env::var_os("HF_TOKEN").is_some() {
                "HF_TOKEN is set, but its account has not accepted the licence"
            } else {
                "then set HF_TOKEN to a hub token of that account"
            };
            format!(
                "could not download {url} (HTTP {http}): {} is gated: accept its licence at {page}; {token}",
                model.repo
            )
        }
        _ => format!("could not download {url} (curl exit status {code}, HTTP {http}: {why}): check the network"),
    }
}

/// `webslm models`: the catalogue as JSON, each entry with its variants' download bytes and GPU
/// memory.
pub fn list() -> Result<(), String> {
    let catalogue = builtin()?;
    let root = cache_root();
    let rows: Vec<serde_json::Value> = catalogue
        .models
        .iter()
        .map(|m| {
            let variants: Vec<serde_json::Value> = m
                .all_variants()
                .map(|v| {
                    serde_json::json!({
                        "id": v.id, "format": v.format, "dtype": v.dtype,
                        "download_bytes": v.download_bytes(), "gpu_memory_mb": v.gpu_memory_mb,
                        "verified": v.verified(),
                        "cached": root.join(&m.id).join(&v.id).is_dir(),
                    })
                })
                .collect();
            serde_json::json!({
                "id": m.id, "name": m.name, "task": m.task, "model_type": m.model_type,
                "license": m.license, "gated": m.gated, "context_length": m.context_length,
                "default_variant": m.default.id,
                "download_bytes": m.default.download_bytes(), "gpu_memory_mb": m.default.gpu_memory_mb,
                "variants": variants,
            })
        })
        .collect();
    super::opts::print_line(serde_json::json!({ "models": rows }))
}
