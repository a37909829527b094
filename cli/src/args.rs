//! A small command-line argument reader: `--flag value`, `--flag=value`, `-k 3`, switches.

use std::collections::VecDeque;

/// Parsed arguments of one subcommand: options by name, switches, positionals.
pub struct Args {
    items: VecDeque<String>,
    positionals: Vec<String>,
    opts: Vec<(String, String)>,
    switches: Vec<String>,
}

/// A usage error: exit code 2 with this message.
#[derive(Debug)]
pub struct UsageError(pub String);

impl Args {
    /// Splits `raw` into options (those named in `valued`), switches and positionals.
    pub fn parse(raw: &[String], valued: &[&str]) -> Result<Args, UsageError> {
        let mut a = Args {
            items: raw.iter().cloned().collect(),
            positionals: Vec::new(),
            opts: Vec::new(),
            switches: Vec::new(),
        };
        while let Some(it) = a.items.pop_front() {
            if it == "--" {
                a.positionals.extend(a.items.drain(..));
                break;
            }
            if it.starts_with('-') && it.len() > 1 && !is_number(&it) {
                let (name, inline) = match it.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (it.clone(), None),
                };
                if valued.contains(&name.as_str()) {
                    let v = match inline {
                        Some(v) => v,
                        None => a
                            .items
                            .pop_front()
                            .ok_or_else(|| UsageError(format!("option {name} needs a value")))?,
                    };
                    a.opts.push((name, v));
                } else if inline.is_some() {
                    return Err(UsageError(format!("option {name} takes no value")));
                } else {
                    a.switches.push(name);
                }
            } else {
                a.positionals.push(it);
            }
        }
        Ok(a)
    }

    /// [`Args::parse`] for a subcommand whose usage text is `usage`: `None`, after printing
    /// `usage` to stdout, when `--help` or `-h` was given.
    pub fn parse_or_help(
        raw: &[String],
        valued: &[&str],
        usage: &str,
    ) -> Result<Option<Args>, UsageError> {
        let mut a = Args::parse(raw, valued)?;
        if a.flag("--help") || a.flag("-h") {
            println!("{usage}");
            return Ok(None);
        }
        Ok(Some(a))
    }

    /// The last value of option `name` (any of its spellings).
    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// Whether switch `name` was given.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.switches.len();
        self.switches.retain(|s| s != name);
        before != self.switches.len()
    }

    /// Positional arguments in order.
    pub fn positionals(&self) -> &[String] {
        &self.positionals
    }

    /// Fails on switches nobody asked for (call after all `flag` calls).
    pub fn finish(&self) -> Result<(), UsageError> {
        match self.switches.first() {
            Some(s) => Err(UsageError(format!("unknown option {s}"))),
            None => Ok(()),
        }
    }

    /// [`Args::parsed`] with `default` when the option is absent.
    pub fn parsed_or<T: std::str::FromStr>(
        &self,
        names: &[&str],
        what: &str,
        default: T,
    ) -> Result<T, UsageError> {
        Ok(self.parsed(names, what)?.unwrap_or(default))
    }

    /// Option `name` as one of `choices` (spelling, value; several spellings may share a
    /// value): `None` when absent, a usage error naming the `expected` spellings otherwise.
    pub fn choice<T: Copy>(
        &self,
        name: &str,
        choices: &[(&str, T)],
        expected: &str,
    ) -> Result<Option<T>, UsageError> {
        match self.value(&[name]) {
            None => Ok(None),
            Some(v) => choices
                .iter()
                .find(|(spelling, _)| *spelling == v)
                .map(|&(_, t)| Some(t))
                .ok_or_else(|| UsageError(format!("{name} expects {expected}, got {v:?}"))),
        }
    }

    /// Parses option `names` as T, with `what` naming the expected form in errors.
    pub fn parsed<T: std::str::FromStr>(
        &self,
        names: &[&str],
        what: &str,
    ) -> Result<Option<T>, UsageError> {
        match self.value(names) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| UsageError(format!("{} expects {what}, got {v:?}", names[0]))),
        }
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}
