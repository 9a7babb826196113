//! `--name value` options for the subcommands, with typed errors instead of panics.

use std::collections::HashMap;
use std::str::FromStr;

use webslm::gpu::{kernel_path, GpuOptions};

/// The option every command that opens a GPU takes: `--kernels software|gpu|auto` picks the
/// kernel family (see `webslm::gpu::kernel_path`); without it, `WEBSLM_KERNELS` and then the
/// adapter decide.
const KERNELS: &str = "kernels";

pub struct Opts {
    /// Every value given for each name, in order (`--text A --text B`).
    values: HashMap<String, Vec<String>>,
    flags: Vec<String>,
}

impl Opts {
    /// Splits `args` into `--name value` pairs (names in `valued`) and bare `--name` switches
    /// (names in `switches`). Any other name is an error: a typo must not be silently ignored.
    pub fn parse(args: &[String], switches: &[&str], valued: &[&str]) -> Result<Self, String> {
        let (mut values, mut flags) = (HashMap::new(), Vec::new());
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument `{a}`"))?;
            if switches.contains(&name) {
                flags.push(name.to_string());
            } else if !valued.contains(&name) {
                return Err(format!("unknown option --{name}"));
            } else {
                let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                values.entry(name.to_string()).or_insert_with(Vec::new).push(v.clone());
            }
        }
        Ok(Opts { values, flags })
    }

    /// [`Opts::parse`] for a command that opens a GPU: `--kernels` is accepted as well.
    pub fn parse_gpu(args: &[String], switches: &[&str], valued: &[&str]) -> Result<Self, String> {
        let mut valued = valued.to_vec();
        valued.push(KERNELS);
        Self::parse(args, switches, &valued)
    }

    /// The device options the command line asks for (`--kernels`); an unknown path is an error
    /// before any device or model is opened.
    pub fn gpu_options(&self) -> Result<GpuOptions, String> {
        let kernels = match self.str(KERNELS) {
            None => None,
            Some(v) => kernel_path::parse_requested(v).map_err(|e| format!("--{KERNELS}: {e}"))?,
        };
        Ok(GpuOptions {
            kernels,
            ..GpuOptions::default()
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The last value given for `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// Every value given for `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .get(name)
            .map_or_else(Vec::new, |v| v.iter().map(String::as_str).collect())
    }

    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.str(name).ok_or_else(|| format!("--{name} is required"))
    }

    /// A comma-separated list of counts of at least 1 (`--batch 1,32`), or `default`'s.
    pub fn counts(&self, name: &str, default: &str) -> Result<Vec<usize>, String> {
        self.str(name)
            .unwrap_or(default)
            .split(',')
            .map(|s| match s.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("--{name}: `{s}` is not a count (1 or more)")),
            })
            .collect()
    }

    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.str(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name}: cannot read `{v}`")),
        }
    }
}

/// Writes one line to stdout. A closed pipe (`webslm embed ... | head`) is an error to report,
/// not a panic as `println!` would make it.
pub fn print_line(line: impl std::fmt::Display) -> Result<(), String> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| format!("writing to stdout failed: {e}"))
}
