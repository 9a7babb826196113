//! Sequence-classification scores from logits, as transformers' text-classification pipeline
//! computes them: softmax over the labels, or a sigmoid per label for multi-label models and
//! single-output heads; raw outputs for regression.

use serde::Serialize;

use crate::models::encoder::config::Problem;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// Numerically stable softmax in f64 (rows are short: labels or sequence positions).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

fn sigmoid(x: f32) -> f32 {
    (1.0 / (1.0 + (-(x as f64)).exp())) as f32
}

/// Every label with its score, highest first (ties keep label order).
pub fn label_scores(logits: &[f32], labels: &[String], problem: Problem) -> Vec<LabelScore> {
    let scores = match problem {
        Problem::Regression => logits.to_vec(),
        Problem::MultiLabel => logits.iter().map(|&l| sigmoid(l)).collect(),
        Problem::SingleLabel if logits.len() == 1 => logits.iter().map(|&l| sigmoid(l)).collect(),
        Problem::SingleLabel => softmax(logits),
    };
    let mut out: Vec<LabelScore> = scores
        .into_iter()
        .enumerate()
        .map(|(i, score)| LabelScore {
            label: labels.get(i).cloned().unwrap_or_else(|| format!("LABEL_{i}")),
            score,
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sorted_and_sigmoid_for_multi_label() {
        let labels = ["neg".to_string(), "pos".to_string()];
        let s = label_scores(&[0.0, 2.0_f32.ln()], &labels, Problem::SingleLabel);
        assert_eq!(s[0].label, "pos");
        assert!((s[0].score - 2.0 / 3.0).abs() < 1e-6 && (s[1].score - 1.0 / 3.0).abs() < 1e-6);
        let m = label_scores(&[0.0, 0.0], &labels, Problem::MultiLabel);
        assert!(m.iter().all(|l| (l.score - 0.5).abs() < 1e-6));
        assert_eq!(label_scores(&[3.5], &labels[..1], Problem::Regression)[0].score, 3.5);
        assert!((softmax(&[1000.0, 1000.0])[0] - 0.5).abs() < 1e-6);
    }
}
