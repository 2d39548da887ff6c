//! `--vary PATH=V1,V2,…`: the dimensions of a plan's variant grid, and the variants' labels.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sim_core::Override;

use super::{Source, VariantInfo};

/// One `--vary`: a dotted key path and the values it takes, as typed (TOML values; a bare
/// word is a string, as with `--set`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vary {
    pub path: String,
    pub values: Vec<String>,
}

/// One setting of a variant: a key path and the value it has there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub path: String,
    /// As typed on the command line (a TOML value or a bare word).
    pub value: String,
}

impl Setting {
    pub(super) fn to_override(&self) -> Override {
        Override {
            path: self.path.clone(),
            value: self.value.clone(),
        }
    }

    /// `PATH=VALUE` for a label: the value without its surrounding quotes.
    fn label(&self) -> String {
        let v = self.value.as_str();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| v.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
            .unwrap_or(v);
        format!("{}={unquoted}", self.path)
    }
}

impl Vary {
    /// Parses `PATH=V1,V2,…`. Values are split at commas outside quotes and brackets, so
    /// `"lognormal(2ms, 20ms)"`, `lognormal(2ms, 20ms)` and `[1, 2]` are one value each.
    pub fn parse(arg: &str) -> Result<Vary, String> {
        let example = "e.g. --vary workload.checkout.rate=100,200,400";
        let (path, list) = arg
            .split_once('=')
            .ok_or_else(|| format!("--vary {arg}: expected PATH=V1,V2,…; {example}"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("--vary {arg}: no key path before '='; {example}"));
        }
        let values = split_values(list).map_err(|e| format!("--vary {arg}: {e}"))?;
        for (i, v) in values.iter().enumerate() {
            if v.is_empty() {
                return Err(format!(
                    "--vary {arg}: value {} of {} is empty; {example}",
                    i + 1,
                    values.len()
                ));
            }
            if values[..i].contains(v) {
                return Err(format!(
                    "--vary {arg}: {v} is given twice; each value makes one variant"
                ));
            }
        }
        Ok(Vary {
            path: path.to_string(),
            values,
        })
    }
}

/// Splits at top-level commas (outside `"…"`, `'…'`, `()`, `[]`, `{}`), trimming each value.
fn split_values(list: &str) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth: Vec<char> = Vec::new();
    for c in list.chars() {
        if let Some(q) = quote {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => depth.push(')'),
            '[' => depth.push(']'),
            '{' => depth.push('}'),
            ')' | ']' | '}' if depth.last() == Some(&c) => {
                depth.pop();
            }
            ')' | ']' | '}' => return Err(format!("unmatched '{c}'")),
            ',' if depth.is_empty() => {
                values.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q}"));
    }
    if let Some(close) = depth.last() {
        return Err(format!("missing '{close}'"));
    }
    values.push(current.trim().to_string());
    Ok(values)
}

/// Two `--vary` on one path would make labels and runs ambiguous.
pub(super) fn check_dimensions(vary: &[Vary]) -> Result<(), Vec<String>> {
    for (i, v) in vary.iter().enumerate() {
        if vary[..i].iter().any(|w| w.path == v.path) {
            return Err(vec![format!(
                "--vary {}: the path is varied twice; give all its values in one --vary",
                v.path
            )]);
        }
    }
    Ok(())
}

/// Every combination of the dimensions' values, the first dimension slowest (nested loops in
/// the order the flags were given). No dimension: one empty combination.
pub(super) fn grid(vary: &[Vary]) -> Vec<Vec<Setting>> {
    let mut combos = vec![Vec::new()];
    for v in vary {
        combos = combos
            .into_iter()
            .flat_map(|combo: Vec<Setting>| {
                v.values.iter().map(move |value| {
                    let mut c = combo.clone();
                    c.push(Setting {
                        path: v.path.clone(),
                        value: value.clone(),
                    });
                    c
                })
            })
            .collect();
    }
    combos
}

/// A diagnostic caused by a `--vary` value says `--vary`, not `--set` (the parser only sees
/// overrides).
pub(super) fn blame_vary(line: String, combo: &[Setting]) -> String {
    let line = if combo.is_empty() {
        line
    } else {
        line.replace("added by --set)", "added by --set or --vary)")
    };
    combo.iter().fold(line, |line, s| {
        let arg = format!("{}={}", s.path, s.value);
        line.replace(&format!("--set {arg}"), &format!("--vary {arg}"))
    })
}

/// The name each file goes by in labels: its scenario name; the file stem when two files share
/// a name; the path as given when two also share a stem.
pub(super) fn file_names(sources: &[Source], scenario_names: &[&str]) -> Vec<String> {
    let stems: Vec<String> = sources
        .iter()
        .map(|s| {
            Path::new(&s.file)
                .file_stem()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_else(|| s.file.clone())
        })
        .collect();
    let shared = |names: &[&str], i: usize| {
        names
            .iter()
            .enumerate()
            .any(|(j, n)| j != i && *n == names[i])
    };
    let stem_refs: Vec<&str> = stems.iter().map(String::as_str).collect();
    (0..sources.len())
        .map(|i| {
            if !shared(scenario_names, i) {
                scenario_names[i].to_string()
            } else if !shared(&stem_refs, i) {
                stems[i].clone()
            } else {
                sources[i].file.clone()
            }
        })
        .collect()
}

/// `NAME PATH=VALUE …`.
pub(super) fn label(name: &str, combo: &[Setting]) -> String {
    std::iter::once(name.to_string())
        .chain(combo.iter().map(Setting::label))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Labels name the columns and the JSON keys: they must differ.
pub(super) fn check_labels(variants: &[VariantInfo]) -> Result<(), Vec<String>> {
    for (i, v) in variants.iter().enumerate() {
        if let Some(j) = variants[..i].iter().position(|w| w.label == v.label) {
            return Err(vec![format!(
                "variants {} and {} are both \"{}\" ({} and {}): give each file once",
                j + 1,
                i + 1,
                v.label,
                variants[j].file,
                v.file
            )]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: values split at top-level commas only; quotes and brackets keep theirs.
    #[test]
    fn values_split_at_top_level_commas() {
        let v = Vary::parse("service.pay.endpoint.charge.work=\"lognormal(2ms, 20ms)\", exp(1ms),lognormal(1ms, 9ms),[1, 2],'a,b'").unwrap();
        assert_eq!(v.path, "service.pay.endpoint.charge.work");
        assert_eq!(
            v.values,
            [
                "\"lognormal(2ms, 20ms)\"",
                "exp(1ms)",
                "lognormal(1ms, 9ms)",
                "[1, 2]",
                "'a,b'"
            ]
        );
    }

    // Goal: malformed --vary arguments are refused with the argument and what is expected.
    #[test]
    fn bad_syntax_is_refused() {
        for (arg, says) in [
            ("workload.x.rate", "expected PATH=V1,V2"),
            ("=1,2", "no key path"),
            ("workload.x.rate=1,,2", "value 2 of 3 is empty"),
            ("workload.x.rate=", "value 1 of 1 is empty"),
            ("workload.x.rate=1,2,1", "1 is given twice"),
            ("a=\"x,y", "unclosed \""),
            ("a=exp(1ms", "missing ')'"),
            ("a=1)", "unmatched ')'"),
        ] {
            let err = Vary::parse(arg).unwrap_err();
            assert!(err.contains(says), "{arg}: {err}");
            assert!(err.starts_with(&format!("--vary {arg}")), "{err}");
        }
    }

    // Goal: the grid is the cartesian product, first dimension slowest.
    #[test]
    fn grid_is_the_cartesian_product() {
        let a = Vary::parse("a=1,2").unwrap();
        let b = Vary::parse("b=x,y,z").unwrap();
        let g = grid(&[a, b]);
        let labels: Vec<String> = g.iter().map(|c| label("s", c)).collect();
        assert_eq!(
            labels,
            [
                "s a=1 b=x",
                "s a=1 b=y",
                "s a=1 b=z",
                "s a=2 b=x",
                "s a=2 b=y",
                "s a=2 b=z"
            ]
        );
        assert_eq!(grid(&[]), vec![Vec::<Setting>::new()]);
    }

    // Goal: files are named by scenario name, by stem when names clash, by path when stems
    // clash too.
    #[test]
    fn file_names_stay_unique() {
        let src = |f: &str| Source {
            file: f.into(),
            text: String::new(),
        };
        let sources = [src("a/sync.toml"), src("b/async.toml"), src("c/async.toml")];
        assert_eq!(
            file_names(&sources, &["sync", "x", "x"]),
            ["sync", "b/async.toml", "c/async.toml"]
        );
        assert_eq!(
            file_names(&sources[..2], &["same", "same"]),
            ["sync", "async"]
        );
    }

    // Goal: labels show values without their TOML quotes.
    #[test]
    fn labels_drop_quotes() {
        let s = Setting {
            path: "s.e.work".into(),
            value: "\"exp(9ms)\"".into(),
        };
        assert_eq!(label("x", &[s]), "x s.e.work=exp(9ms)");
    }
}
