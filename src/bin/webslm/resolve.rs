//! `--model` takes a path or a catalogue id. An id resolves to a folder in the download cache
//! (`$WEBSLM_CACHE`, else `$XDG_CACHE_HOME/webslm`, else `~/.cache/webslm`), fetched with `curl`
//! on first use (with `HF_TOKEN` as the hub token when set). Without a network the error names
//! the URL that could not be reached.

use std::path::{Path, PathBuf};
use std::process::Command;

use webslm::catalogue::{Catalogue, CatalogueModel};

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

/// The path `--model` names: an existing file or folder as is, else a catalogue id's folder
/// (downloaded if needed).
pub fn model_path(arg: &str) -> Result<PathBuf, String> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let catalogue = Catalogue::builtin().map_err(|e| format!("the built-in catalogue is invalid: {e}"))?;
    let Some(model) = catalogue.get(arg) else {
        return Err(format!(
            "{arg}: no such file or folder, and not a catalogue id (webslm models lists them: {})",
            catalogue.ids().join(", ")
        ));
    };
    let dir = cache_root().join(&model.id);
    download(model, &dir)?;
    Ok(dir)
}

/// Fetches every file of `model` that `dir` lacks. A partial download never takes a file's name.
fn download(model: &CatalogueModel, dir: &Path) -> Result<(), String> {
    for file in &model.files {
        let target = dir.join(&file.path);
        if target.is_file() {
            continue;
        }
        let parent = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let partial = target.with_extension("part");
        eprintln!("webslm: downloading {} ({} bytes)", file.url, file.size);
        let mut curl = Command::new("curl");
        curl.args([
            "--fail",
            "--location",
            "--silent",
            "--show-error",
            "--retry",
            "2",
            "--output",
        ])
        .arg(&partial)
        .arg(&file.url);
        // Gated repositories (Gemma, Llama) need a hub token.
        if let Ok(token) = std::env::var("HF_TOKEN") {
            curl.arg("--header").arg(format!("Authorization: Bearer {token}"));
        }
        let status = curl
            .status()
            .map_err(|e| format!("could not download {}: running curl failed: {e}", file.url))?;
        if !status.success() {
            let _ = std::fs::remove_file(&partial);
            return Err(format!(
                "could not download {} (curl exit status {}): check the network, and for gated models (Gemma, Llama) accept the licence and set up a hub token",
                file.url,
                status.code().map_or_else(|| "none".to_string(), |c| c.to_string())
            ));
        }
        let got = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        if got != file.size {
            eprintln!(
                "webslm: warning: {} is {got} bytes; the catalogue lists {}",
                file.url, file.size
            );
        }
        std::fs::rename(&partial, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// `webslm models`: the catalogue as JSON.
pub fn list() -> Result<(), String> {
    let catalogue = Catalogue::builtin().map_err(|e| format!("the built-in catalogue is invalid: {e}"))?;
    let rows: Vec<serde_json::Value> = catalogue
        .models
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id, "name": m.name, "task": m.task, "model_type": m.model_type,
                "dtype": m.dtype, "license": m.license, "context_length": m.context_length,
                "download_bytes": m.download_bytes(), "gpu_memory_mb": m.gpu_memory_mb,
                "cached": cache_root().join(&m.id).is_dir(),
            })
        })
        .collect();
    super::opts::print_line(serde_json::json!({ "models": rows }))
}
