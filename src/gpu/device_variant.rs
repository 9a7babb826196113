//! `WEBSLM_DEVICE_VARIANT` (native only): narrows the device every test opens, so one test binary
//! runs unchanged on the variants a real device may be (scripts/test-matrix.sh loops over them).
//!
//! The value is a comma-separated list: `no-subgroups` (reductions take the workgroup-memory
//! fallback), `no-f16` (as headless Chromium's SwiftShader), `split=BYTES` (weights split as if a
//! storage binding could hold only BYTES). It only ever removes features or lowers limits, so a
//! variant is a device that exists somewhere, never one that cannot.

use super::GpuOptions;

/// Environment variable read when a device is opened natively.
pub const DEVICE_VARIANT_ENV: &str = "WEBSLM_DEVICE_VARIANT";

/// A variant list with an entry this module does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown entry {0:?} in WEBSLM_DEVICE_VARIANT: expected a comma-separated list of no-subgroups, no-f16, split=BYTES")]
pub struct UnknownDeviceVariant(pub String);

/// `options` narrowed by `spec` (an empty spec leaves them as they are).
pub fn apply(spec: &str, mut options: GpuOptions) -> Result<GpuOptions, UnknownDeviceVariant> {
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry {
            "no-subgroups" => options.disable_subgroups = true,
            "no-f16" => options.disable_shader_f16 = true,
            _ => {
                let bytes = entry
                    .strip_prefix("split=")
                    .and_then(|b| b.parse::<u64>().ok())
                    .filter(|&b| b > 0)
                    .ok_or_else(|| UnknownDeviceVariant(entry.to_string()))?;
                // The smaller of two splits wins, as with the adapter's own limit.
                let split = options.weight_split_override.map_or(bytes, |s| s.min(bytes));
                options.weight_split_override = Some(split);
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_entry_and_refuses_unknown_ones() {
        let o = apply(" no-subgroups, no-f16 ,split=4096", GpuOptions::default()).unwrap();
        assert!(o.disable_subgroups && o.disable_shader_f16);
        assert_eq!(o.weight_split_override, Some(4096));
        assert!(!apply("", GpuOptions::default()).unwrap().disable_subgroups);
        for bad in ["f16", "split=", "split=0", "split=-1", "no-subgroups,x"] {
            assert_eq!(
                apply(bad, GpuOptions::default()).unwrap_err().0,
                bad.rsplit(',').next().unwrap().trim()
            );
        }
    }
}
