//! Which family of kernels a device runs: the ones tuned for software adapters, or the ones
//! designed for real GPUs.
//!
//! The two optima are opposite. A CPU emulator of a GPU (lavapipe, SwiftShader, WARP) runs a few
//! host threads, so it wants few, fat invocations that each walk whole rows, and few dispatches.
//! A real GPU wants tens of thousands of lanes with adjacent lanes reading adjacent bytes,
//! reductions in workgroup memory or subgroups, and no long serial loops per lane. Both paths
//! compute the same results (the kernel tests compare each with the CPU twins); only the shape of
//! the work differs.

use std::fmt;
use std::str::FromStr;

/// Environment variable that forces a path natively (tests run the GPU path on lavapipe with it).
pub const KERNELS_ENV: &str = "WEBSLM_KERNELS";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelPath {
    /// Few dispatches of few, long-running invocations: the optimum on CPU emulators.
    Software,
    /// Wide workgroups, coalesced loads, cooperative reductions: the optimum on real GPUs.
    Gpu,
}

impl KernelPath {
    /// The path an adapter gets unless something overrides it.
    pub fn for_adapter(is_software: bool) -> Self {
        if is_software {
            KernelPath::Software
        } else {
            KernelPath::Gpu
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KernelPath::Software => "software",
            KernelPath::Gpu => "gpu",
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--kernels` / `kernels` / `WEBSLM_KERNELS` accept `software`, `gpu` and `auto` (`auto` is
/// `None`: the adapter decides).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel path {0:?}: expected auto, software or gpu")]
pub struct UnknownKernelPath(pub String);

/// Parses a requested path; `auto` (or an empty string) means "let the adapter decide".
pub fn parse_requested(s: &str) -> Result<Option<KernelPath>, UnknownKernelPath> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(None),
        other => other.parse().map(Some),
    }
}

impl FromStr for KernelPath {
    type Err = UnknownKernelPath;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "software" => Ok(KernelPath::Software),
            "gpu" => Ok(KernelPath::Gpu),
            _ => Err(UnknownKernelPath(s.to_string())),
        }
    }
}

/// The chosen path and why, for `webslm info` and `checkSupport`.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelChoice {
    pub path: KernelPath,
    pub reason: String,
}

/// Picks the path: an explicit request wins, then the environment (native only), then the
/// adapter's kind.
pub fn choose(
    requested: Option<KernelPath>,
    env: Option<&str>,
    adapter: &str,
    is_software: bool,
) -> Result<KernelChoice, UnknownKernelPath> {
    if let Some(path) = requested {
        return Ok(KernelChoice {
            path,
            reason: "requested by the caller".into(),
        });
    }
    if let Some(path) = env.map(parse_requested).transpose()?.flatten() {
        return Ok(KernelChoice {
            path,
            reason: format!("forced by {KERNELS_ENV}"),
        });
    }
    let path = KernelPath::for_adapter(is_software);
    let reason = if is_software {
        format!("{adapter} is a software adapter (a CPU emulating a GPU)")
    } else {
        format!("{adapter} is a hardware adapter")
    };
    Ok(KernelChoice { path, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_beats_env_beats_adapter() {
        let c = choose(Some(KernelPath::Software), Some("gpu"), "x", false).unwrap();
        assert_eq!(c.path, KernelPath::Software);
        let c = choose(None, Some("gpu"), "llvmpipe", true).unwrap();
        assert_eq!(c.path, KernelPath::Gpu);
        let c = choose(None, Some("auto"), "llvmpipe", true).unwrap();
        assert_eq!(c.path, KernelPath::Software);
        let c = choose(None, None, "RTX", false).unwrap();
        assert_eq!(c.path, KernelPath::Gpu);
        assert!(choose(None, Some("fast"), "x", false).is_err());
    }
}
