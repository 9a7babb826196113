//! The catalogue of real checkpoints people ask for by name (`models.json`, shared with the JS
//! wrapper): where each one downloads from, its size, licence, context and GPU memory.

use serde::Deserialize;

use crate::formats::hf_config::ModelFamily;

/// The catalogue file, compiled in.
pub const CATALOGUE_JSON: &str = include_str!("models.json");

#[derive(Clone, Debug, Deserialize)]
pub struct CatalogueFile {
    /// Path inside the model folder (`1_Pooling/config.json`).
    pub path: String,
    pub url: String,
    /// Bytes, as the hub lists them.
    pub size: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CatalogueModel {
    pub id: String,
    pub name: String,
    /// `text-generation`, `feature-extraction`, `text-classification`, `token-classification`,
    /// `question-answering`.
    pub task: String,
    /// `config.json`'s `model_type`.
    pub model_type: String,
    pub format: String,
    pub dtype: String,
    pub license: String,
    pub context_length: usize,
    pub default_context: usize,
    pub gpu_memory_mb: u64,
    pub repo: String,
    pub files: Vec<CatalogueFile>,
}

impl CatalogueModel {
    /// Bytes of all files.
    pub fn download_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The model family, which must be one webslm runs.
    pub fn family(&self) -> Option<ModelFamily> {
        ModelFamily::parse(&self.model_type).ok()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Catalogue {
    pub version: u32,
    pub note: String,
    pub models: Vec<CatalogueModel>,
}

impl Catalogue {
    /// The compiled-in catalogue.
    pub fn builtin() -> Result<Catalogue, serde_json::Error> {
        serde_json::from_str(CATALOGUE_JSON)
    }

    pub fn get(&self, id: &str) -> Option<&CatalogueModel> {
        self.models.iter().find(|m| m.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.id.as_str()).collect()
    }
}
