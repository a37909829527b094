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
    /// value, the first one naming it): `None` when absent, a usage error listing the naming
    /// spellings (`a, b or c`) otherwise.
    pub fn choice<T: Copy + PartialEq>(
        &self,
        name: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, UsageError> {
        let Some(v) = self.value(&[name]) else {
            return Ok(None);
        };
        if let Some(&(_, t)) = choices.iter().find(|(spelling, _)| *spelling == v) {
            return Ok(Some(t));
        }
        let naming: Vec<&str> = choices
            .iter()
            .enumerate()
            .filter(|&(i, (_, t))| choices[..i].iter().all(|(_, u)| u != t))
            .map(|(_, (spelling, _))| *spelling)
            .collect();
        let expected = match naming.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Err(UsageError(format!("{name} expects {expected}, got {v:?}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(raw: &[&str]) -> Args {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        Args::parse(&raw, &["--pick"]).unwrap()
    }

    #[test]
    fn choice_accepts_every_spelling_and_names_the_first_of_each_value() {
        let table = [("one", 1), ("uno", 1), ("two", 2), ("three", 3)];
        assert_eq!(args(&[]).choice("--pick", &table).unwrap(), None);
        assert_eq!(
            args(&["--pick", "uno"]).choice("--pick", &table).unwrap(),
            Some(1)
        );
        assert_eq!(
            args(&["--pick=three"]).choice("--pick", &table).unwrap(),
            Some(3)
        );
        let e = args(&["--pick", "four"])
            .choice("--pick", &table)
            .unwrap_err();
        assert_eq!(e.0, "--pick expects one, two or three, got \"four\"");
        let e = args(&["--pick", "x"])
            .choice("--pick", &table[..2])
            .unwrap_err();
        assert_eq!(e.0, "--pick expects one, got \"x\"");
    }
}
