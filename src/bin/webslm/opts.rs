//! `--name value` options for the subcommands, with typed errors instead of panics.

use std::collections::HashMap;
use std::str::FromStr;

pub struct Opts {
    values: HashMap<String, String>,
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
                values.insert(name.to_string(), v.clone());
            }
        }
        Ok(Opts { values, flags })
    }

    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.str(name).ok_or_else(|| format!("--{name} is required"))
    }

    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.str(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name}: cannot read `{v}`")),
        }
    }
}
