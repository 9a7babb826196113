//! Private text analysis with encoder models: sentence embeddings, text classification,
//! entity tagging (NER/PII) and extractive question answering, the tasks transformers.js and
//! transformers' pipelines offer under the same names.
//!
//! [`TextModel`] ties an [`Encoder`] to its tokenizer. The post-processing is pure Rust over
//! logits (`classify.rs`, `ner.rs`, `qa.rs`) so the browser build shares it unchanged. Task errors
//! (inputs too long, no head for the task) are [`AnalysisError`]s; the encoder's own are
//! `ModelError`s inside it.

pub mod classify;
mod error;
pub mod inputs;
pub mod ner;
pub mod qa;

mod text_model;

pub use error::AnalysisError;
pub use text_model::{EmbedOptions, Output, TextModel, DEFAULT_BATCH};

/// Scales `v` to unit L2 norm (sentence-transformers' `Normalize`: divides by max(norm, 1e-12)).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
        .max(1e-12);
    v.iter_mut().for_each(|x| *x = (f64::from(*x) / norm) as f32);
}

/// Cosine similarity of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_cosine() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
