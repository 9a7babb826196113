//! `SimdError`: what can be wrong with a CPU matrix product's arguments. Shapes and weight bytes
//! come from model files, so each is a typed error, never a panic.

use crate::formats::quant::{QuantError, WeightFormat};

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SimdError {
    #[error("the {isa} instruction set is not available on this CPU or in this build")]
    IsaUnavailable { isa: &'static str },
    #[error("no CPU dot product for {} weights yet (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K, F32, F16, BF16 have one)", format.name())]
    UnsupportedFormat { format: WeightFormat },
    #[error("{what}: expected {expected} elements or bytes, got {actual}")]
    Shape {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("activations were prepared for another kernel than the {} one", format.name())]
    ActivationKind { format: WeightFormat },
    #[error("weights: {0}")]
    Quant(#[from] QuantError),
    #[error("matrix size overflows usize")]
    Overflow,
}
