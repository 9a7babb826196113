//! The one place WGSL enters the binary. Kernels are plain WGSL files in `shaders/`, one per
//! family; the only text substitution is the greppable placeholders `WEIGHTS_TYPE`, `LOAD_W4`
//! and `LOAD_W32`, which pick the weight decoder (see `weights.wgsl`).

use crate::formats::quant::WeightFormat;

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");
pub const WEIGHTS: &str = include_str!("../../shaders/weights.wgsl");
pub const WEIGHTS_F16: &str = include_str!("../../shaders/weights_f16.wgsl");
pub const MATMUL: &str = include_str!("../../shaders/matmul.wgsl");
pub const EMBEDDING: &str = include_str!("../../shaders/embedding.wgsl");
pub const NORM: &str = include_str!("../../shaders/norm.wgsl");
pub const ROPE: &str = include_str!("../../shaders/rope.wgsl");
pub const SOFTMAX: &str = include_str!("../../shaders/softmax.wgsl");
pub const ATTENTION: &str = include_str!("../../shaders/attention.wgsl");
pub const ACTIVATIONS: &str = include_str!("../../shaders/activations.wgsl");
/// The elementwise kernel with the activations it applies.
pub const ELEMENTWISE: &str = concat!(
    include_str!("../../shaders/activations.wgsl"),
    "\n",
    include_str!("../../shaders/elementwise.wgsl")
);
pub const TOPK: &str = include_str!("../../shaders/topk.wgsl");
pub const PENALTY: &str = include_str!("../../shaders/penalty.wgsl");
pub const MASK: &str = include_str!("../../shaders/mask.wgsl");
pub const REDUCE: &str = include_str!("../../shaders/reduce.wgsl");
pub const POOL: &str = include_str!("../../shaders/pool.wgsl");
pub const TRIGRAM: &str = include_str!("../../shaders/trigram.wgsl");

/// How a kernel reads a weight tensor: the block format, and for F16 whether the device can
/// read `f16` natively (`shader-f16`) or must unpack halves from u32 words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WeightVariant {
    pub format: WeightFormat,
    pub native_f16: bool,
}

impl WeightVariant {
    /// Every variant [`GpuWeight::upload`](super::GpuWeight::upload) can pick: each format read
    /// from u32 words, and F16 also read natively.
    pub fn all() -> Vec<WeightVariant> {
        let mut all: Vec<WeightVariant> = crate::formats::quant::ALL_FORMATS
            .into_iter()
            .map(|format| WeightVariant {
                format,
                native_f16: false,
            })
            .collect();
        all.push(WeightVariant {
            format: WeightFormat::F16,
            native_f16: true,
        });
        all
    }

    pub fn name(&self) -> String {
        if self.native_f16 {
            format!("{}_native", self.format.name())
        } else {
            self.format.name().to_string()
        }
    }
}

/// A kernel that needs no weights: the common prelude plus its own file.
pub fn plain(kernel: &str) -> String {
    format!("{COMMON}\n{kernel}")
}

/// A one-workgroup-per-row kernel: the prelude, the workgroup reductions, then the kernel.
pub fn rows(kernel: &str) -> String {
    format!("{COMMON}\n{REDUCE}\n{kernel}")
}

/// A kernel that reads weights: decoder functions first (`enable f16;` must open the module),
/// then the prelude, the activations (matmul's gated epilogue) and the kernel with its
/// placeholders filled in.
pub fn with_weights(kernel: &str, v: WeightVariant) -> String {
    let (decoders, ty) = if v.native_f16 {
        (WEIGHTS_F16, "array<f16>")
    } else {
        (WEIGHTS, "array<u32>")
    };
    let body = kernel
        .replace("WEIGHTS_TYPE", ty)
        .replace("LOAD_W4", &format!("load_w4_{}", v.name()))
        .replace("LOAD_W32", &format!("load_w32_{}", v.name()));
    format!("{decoders}\n{COMMON}\n{ACTIVATIONS}\n{body}")
}
