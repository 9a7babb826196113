//! `crate::formats::quant` for the kernels, as in the webslm crate.
#[path = "../../src/formats/quant.rs"]
pub mod quant;
