//! Scalar CPU reference kernels ("CPU twins") for every GPU kernel.
//!
//! These are test oracles, not production code paths: they favour obvious
//! correctness over speed. Functions may `assert!` on shape mismatches
//! (documented per function) because a mismatch is a bug in the test, not a
//! recoverable runtime condition.
//!
//! Who calls them: the GPU tests (`tests/kernels_*.rs`), `webslm bench-kernels`, and other twins.
//! Runtime code (models, sampling, the engine) never does; `tests/layers.rs` checks that.

pub mod attention;
pub mod elementwise;
pub mod embedding;
pub mod kv;
pub mod logprobs;
pub mod mask;
pub mod matmul;
pub mod norm;
pub mod penalty;
pub mod pool;
pub mod rope;
pub mod rope_kv;
pub mod softmax;
pub mod topk;
