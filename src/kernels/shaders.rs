//! The one place WGSL enters the binary. Kernels are plain WGSL files in `shaders/`, one per
//! family; the only text substitution is the greppable placeholders `WEIGHTS_TYPE`, `LOAD_W4`
//! and `LOAD_W32`, which pick the weight decoder (see `weights.wgsl`), plus the `TileT` alias
//! the tiled GEMM's workgroup tiles are declared with (`with_weights_tiled`).

use crate::formats::quant::WeightFormat;

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");
pub const WEIGHTS: &str = include_str!("../../shaders/weights.wgsl");
pub const WEIGHTS_F16: &str = include_str!("../../shaders/weights_f16.wgsl");
/// The software path's GEMV and GEMM, with what every matmul kernel shares.
pub const MATMUL: &str = concat!(
    include_str!("../../shaders/matmul.wgsl"),
    "\n",
    include_str!("../../shaders/matmul_io.wgsl")
);
/// The GPU path's cooperative GEMV, reducing in workgroup memory (devices without subgroups).
pub const GEMV_GPU_TREE: &str = concat!(
    include_str!("../../shaders/gemv_gpu.wgsl"),
    "\n",
    include_str!("../../shaders/matmul_io.wgsl"),
    "\n",
    include_str!("../../shaders/gemv_gpu_tree.wgsl")
);
/// The same GEMV reducing through subgroups (devices with `subgroups`).
pub const GEMV_GPU_SUBGROUPS: &str = concat!(
    include_str!("../../shaders/gemv_gpu.wgsl"),
    "\n",
    include_str!("../../shaders/matmul_io.wgsl"),
    "\n",
    include_str!("../../shaders/gemv_gpu_subgroups.wgsl")
);
/// The real-GPU tiled GEMM, after matmul.wgsl and matmul_io.wgsl, whose Params, bindings, overrides
/// and epilogue it shares.
pub const GEMM_GPU: &str = concat!(
    include_str!("../../shaders/matmul.wgsl"),
    "\n",
    include_str!("../../shaders/matmul_io.wgsl"),
    "\n",
    include_str!("../../shaders/gemm_gpu.wgsl")
);
pub const EMBEDDING: &str = include_str!("../../shaders/embedding.wgsl");
pub const NORM: &str = include_str!("../../shaders/norm.wgsl");
pub const ROPE: &str = include_str!("../../shaders/rope.wgsl");
/// The GPU path's fused q/k norm, RoPE and KV-cache store.
pub const ROPE_KV: &str = include_str!("../../shaders/rope_kv.wgsl");
pub const SOFTMAX: &str = include_str!("../../shaders/softmax.wgsl");
/// The attention kernels with their KV reader (`load_k` / `load_v`) for each cache format, and
/// the Params and bindings both attention kernels share (`attention_io.wgsl`).
pub const ATTENTION: &str = concat!(
    include_str!("../../shaders/kv_f32.wgsl"),
    "\n",
    include_str!("../../shaders/attention_io.wgsl"),
    "\n",
    include_str!("../../shaders/attention.wgsl")
);
pub const ATTENTION_KV_F16: &str = concat!(
    include_str!("../../shaders/kv_f16.wgsl"),
    "\n",
    include_str!("../../shaders/attention_io.wgsl"),
    "\n",
    include_str!("../../shaders/attention.wgsl")
);
/// A real-GPU attention module: the KV reader, what both attention kernels share
/// (`attention_io.wgsl`), what the two GPU-path kernels share (`attention_online.wgsl`), the kernel.
macro_rules! gpu_attention {
    ($kv:literal, $kernel:literal) => {
        concat!(
            include_str!(concat!("../../shaders/", $kv)),
            "\n",
            include_str!("../../shaders/attention_io.wgsl"),
            "\n",
            include_str!("../../shaders/attention_online.wgsl"),
            "\n",
            include_str!(concat!("../../shaders/", $kernel))
        )
    };
}
/// The real-GPU decode attention (`KernelPath::Gpu`), with the same KV readers.
pub const ATTENTION_GPU: &str = gpu_attention!("kv_f32.wgsl", "attention_gpu.wgsl");
pub const ATTENTION_GPU_KV_F16: &str = gpu_attention!("kv_f16.wgsl", "attention_gpu.wgsl");
/// The real-GPU prefill attention (`KernelPath::Gpu`, q_len > 1): tiled flash attention.
pub const ATTENTION_PREFILL_GPU: &str = gpu_attention!("kv_f32.wgsl", "attention_prefill_gpu.wgsl");
pub const ATTENTION_PREFILL_GPU_KV_F16: &str = gpu_attention!("kv_f16.wgsl", "attention_prefill_gpu.wgsl");
pub const KV_APPEND: &str = include_str!("../../shaders/kv_append.wgsl");
pub const ACTIVATIONS: &str = include_str!("../../shaders/activations.wgsl");
/// The elementwise kernel with the activations it applies.
pub const ELEMENTWISE: &str = concat!(
    include_str!("../../shaders/activations.wgsl"),
    "\n",
    include_str!("../../shaders/elementwise.wgsl")
);
pub const TOPK: &str = include_str!("../../shaders/topk.wgsl");
pub const LOGPROBS: &str = include_str!("../../shaders/logprobs.wgsl");
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

/// The GPU path's GEMV for weight variant `v`, reducing through subgroups or workgroup memory.
/// Browsers require `enable subgroups;` before subgroup builtins are used; naga (wgpu natively)
/// does not implement the directive and rejects it, so it is added on the web only.
pub fn gemv_gpu(v: WeightVariant, subgroups: bool) -> String {
    if !subgroups {
        return with_weights(GEMV_GPU_TREE, v);
    }
    let module = with_weights(GEMV_GPU_SUBGROUPS, v);
    if cfg!(target_arch = "wasm32") {
        format!("enable subgroups;\n{module}")
    } else {
        module
    }
}

/// As [`with_weights`], declaring the workgroup tiles' element type `TileT`: `f16` when
/// `f16_tile` (the module then enables `f16`, first, unless the native-f16 decoders already do),
/// else `f32`.
pub fn with_weights_tiled(kernel: &str, v: WeightVariant, f16_tile: bool) -> String {
    let enable = if f16_tile && !v.native_f16 { "enable f16;\n" } else { "" };
    let tile = if f16_tile { "f16" } else { "f32" };
    format!("{enable}{}\nalias TileT = {tile};\n", with_weights(kernel, v))
}
