//! Every kernel family as the host assembles it, and the byte layout of the `Params` uniform it
//! writes. `tests/shaders_naga.rs` reads this table to validate each WGSL module the host can
//! build (all weight variants, entry points, `override` sets and workgroup sizes) through naga
//! without a GPU, and to compare each WGSL `Params` struct with its Rust twin field by field: a
//! field added on one side only would otherwise shift every later field silently.

use super::shaders::{self, WeightVariant};
use super::{
    attention, elementwise, embedding, gemm_gpu, gemv_gpu, kv_append, logprobs, mask, matmul, norm, penalty, pool,
    rope, rope_kv, softmax, topk,
};

/// `override` constants by name, as `GpuContext::pipeline_with` takes them.
pub type OverrideSet = Vec<(&'static str, f64)>;

/// Size and field offsets of a `#[repr(C)]` Params struct, in declaration order.
#[derive(Debug, PartialEq, Eq)]
pub struct ParamsLayout {
    pub size: usize,
    pub fields: Vec<(String, usize)>,
}

/// `params_layout!(Params; a, b, c)`: the [`ParamsLayout`] of `Params` with those fields, from
/// the compiler's own offsets. List every field: the size check catches one left out only at the
/// end.
macro_rules! params_layout {
    ($ty:ty; $($field:ident),+ $(,)?) => {
        $crate::kernels::layout::ParamsLayout {
            size: ::std::mem::size_of::<$ty>(),
            fields: vec![$((stringify!($field).to_string(), ::std::mem::offset_of!($ty, $field))),+],
        }
    };
}
pub(crate) use params_layout;

/// How the host wraps a family's WGSL file into a module (see `shaders.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assembly {
    /// `shaders::plain`, dispatched with a `workgroup_size()` workgroup.
    Plain,
    /// `shaders::rows`, dispatched with `ROW_WG`.
    Rows,
    /// `shaders::with_weights`, once per [`WeightVariant`].
    Weights,
    /// The GPU path's cooperative kernels: `shaders::with_weights` once per [`WeightVariant`],
    /// workgroups of `gemv_gpu::WORKGROUP_SIZES`; with `subgroups`, a module only a device
    /// with the `subgroups` feature compiles.
    Cooperative { subgroups: bool },
    /// `shaders::with_weights_tiled`, once per [`WeightVariant`] and tile type, dispatched with
    /// `gemm_gpu::THREADS` lanes.
    WeightsTiled,
}

/// One WGSL kernel family.
pub struct KernelFamily {
    /// Its file in `shaders/`.
    pub file: &'static str,
    /// The text the host passes to the assembly (the file, or the file with its includes).
    pub text: &'static str,
    pub assembly: Assembly,
    /// Its entry points, as the host names them in `pipeline()`.
    pub entries: &'static [&'static str],
    /// Every set of extra `override` constants the host passes for an entry point (`WG` apart).
    pub overrides: fn(&str) -> Vec<OverrideSet>,
    /// The host's `Params`.
    pub params: fn() -> ParamsLayout,
}

impl KernelFamily {
    /// The WGSL modules the host can build for this family, with the weight variant behind each.
    pub fn modules(&self) -> Vec<(Option<WeightVariant>, String)> {
        match self.assembly {
            Assembly::Plain => vec![(None, shaders::plain(self.text))],
            Assembly::Rows => vec![(None, shaders::rows(self.text))],
            Assembly::Weights | Assembly::Cooperative { .. } => WeightVariant::all()
                .into_iter()
                .map(|v| (Some(v), shaders::with_weights(self.text, v)))
                .collect(),
            Assembly::WeightsTiled => WeightVariant::all()
                .into_iter()
                .flat_map(|v| [false, true].map(|f16| (Some(v), shaders::with_weights_tiled(self.text, v, f16))))
                .collect(),
        }
    }

    /// The workgroup sizes the host can override `WG` with.
    pub fn workgroup_sizes(&self) -> Vec<u32> {
        match self.assembly {
            Assembly::Rows => vec![super::ROW_WG],
            Assembly::Cooperative { .. } => gemv_gpu::WORKGROUP_SIZES.to_vec(),
            Assembly::WeightsTiled => vec![gemm_gpu::THREADS],
            Assembly::Plain | Assembly::Weights => {
                let mut sizes: Vec<u32> = (0..=4096).map(super::workgroup_size).collect();
                sizes.sort_unstable();
                sizes.dedup();
                sizes
            }
        }
    }
}

/// No `override` constants beyond `WG`.
fn none(_entry: &str) -> Vec<OverrideSet> {
    vec![Vec::new()]
}

/// Every kernel family the host dispatches.
pub const FAMILIES: &[KernelFamily] = &[
    KernelFamily {
        file: "matmul.wgsl",
        text: shaders::MATMUL,
        assembly: Assembly::Weights,
        entries: &["gemv", "gemm"],
        overrides: matmul::override_sets,
        params: matmul::params_layout,
    },
    KernelFamily {
        file: "gemv_gpu.wgsl",
        text: shaders::GEMV_GPU_TREE,
        assembly: Assembly::Cooperative { subgroups: false },
        entries: &["gemv_gpu"],
        overrides: gemv_gpu::override_sets,
        params: matmul::params_layout,
    },
    KernelFamily {
        file: "gemv_gpu.wgsl",
        text: shaders::GEMV_GPU_SUBGROUPS,
        assembly: Assembly::Cooperative { subgroups: true },
        entries: &["gemv_gpu"],
        overrides: gemv_gpu::override_sets,
        params: matmul::params_layout,
    },
    KernelFamily {
        file: "gemm_gpu.wgsl",
        text: shaders::GEMM_GPU,
        assembly: Assembly::WeightsTiled,
        entries: &[gemm_gpu::ENTRY],
        overrides: gemm_gpu::override_sets,
        params: matmul::params_layout,
    },
    KernelFamily {
        file: "embedding.wgsl",
        text: shaders::EMBEDDING,
        assembly: Assembly::Weights,
        entries: &["embedding"],
        overrides: none,
        params: embedding::params_layout,
    },
    KernelFamily {
        file: "attention.wgsl",
        text: shaders::ATTENTION,
        assembly: Assembly::Plain,
        entries: &["attention_partial", "attention_combine"],
        overrides: none,
        params: attention::params_layout,
    },
    // The same kernels reading an f16 KV cache.
    KernelFamily {
        file: "attention.wgsl",
        text: shaders::ATTENTION_KV_F16,
        assembly: Assembly::Plain,
        entries: &["attention_partial", "attention_combine"],
        overrides: none,
        params: attention::params_layout,
    },
    KernelFamily {
        file: "attention_gpu.wgsl",
        text: shaders::ATTENTION_GPU,
        assembly: Assembly::Plain,
        entries: &["attention_gpu"],
        overrides: none,
        params: attention::params_layout,
    },
    KernelFamily {
        file: "attention_gpu.wgsl",
        text: shaders::ATTENTION_GPU_KV_F16,
        assembly: Assembly::Plain,
        entries: &["attention_gpu"],
        overrides: none,
        params: attention::params_layout,
    },
    KernelFamily {
        file: "attention_prefill_gpu.wgsl",
        text: shaders::ATTENTION_PREFILL_GPU,
        assembly: Assembly::Plain,
        entries: &["attention_prefill_gpu"],
        overrides: none,
        params: attention::params_layout,
    },
    KernelFamily {
        file: "attention_prefill_gpu.wgsl",
        text: shaders::ATTENTION_PREFILL_GPU_KV_F16,
        assembly: Assembly::Plain,
        entries: &["attention_prefill_gpu"],
        overrides: none,
        params: attention::params_layout,
    },
    KernelFamily {
        file: "kv_append.wgsl",
        text: shaders::KV_APPEND,
        assembly: Assembly::Plain,
        entries: &["kv_append"],
        overrides: none,
        params: kv_append::params_layout,
    },
    KernelFamily {
        file: "norm.wgsl",
        text: shaders::NORM,
        assembly: Assembly::Rows,
        entries: &["norm"],
        overrides: none,
        params: norm::params_layout,
    },
    KernelFamily {
        file: "softmax.wgsl",
        text: shaders::SOFTMAX,
        assembly: Assembly::Rows,
        entries: &["softmax"],
        overrides: none,
        params: softmax::params_layout,
    },
    KernelFamily {
        file: "rope.wgsl",
        text: shaders::ROPE,
        assembly: Assembly::Plain,
        entries: &["rope"],
        overrides: none,
        params: rope::params_layout,
    },
    KernelFamily {
        file: "rope_kv.wgsl",
        text: shaders::ROPE_KV,
        assembly: Assembly::Rows,
        entries: &["rope_kv"],
        overrides: none,
        params: rope_kv::params_layout,
    },
    KernelFamily {
        file: "elementwise.wgsl",
        text: shaders::ELEMENTWISE,
        assembly: Assembly::Plain,
        entries: &["elementwise"],
        overrides: none,
        params: elementwise::params_layout,
    },
    KernelFamily {
        file: "topk.wgsl",
        text: shaders::TOPK,
        assembly: Assembly::Plain,
        entries: &["topk"],
        overrides: none,
        params: topk::params_layout,
    },
    KernelFamily {
        file: "penalty.wgsl",
        text: shaders::PENALTY,
        assembly: Assembly::Plain,
        entries: &["penalty"],
        overrides: none,
        params: penalty::params_layout,
    },
    KernelFamily {
        file: "logprobs.wgsl",
        text: shaders::LOGPROBS,
        assembly: Assembly::Rows,
        entries: &["logprobs"],
        overrides: none,
        params: logprobs::params_layout,
    },
    KernelFamily {
        file: "mask.wgsl",
        text: shaders::MASK,
        assembly: Assembly::Plain,
        entries: &["mask_logits"],
        overrides: none,
        params: mask::params_layout,
    },
    KernelFamily {
        file: "pool.wgsl",
        text: shaders::POOL,
        assembly: Assembly::Plain,
        entries: &["pool"],
        overrides: none,
        params: pool::params_layout,
    },
    // trigram shares pool's Params (`mode` unused).
    KernelFamily {
        file: "trigram.wgsl",
        text: shaders::TRIGRAM,
        assembly: Assembly::Plain,
        entries: &["trigram"],
        overrides: none,
        params: pool::params_layout,
    },
];
