//! `--vary PATH=V1,V2,…` or `PATH=A..B:STEP`: the dimensions of a plan's variant grid, and
//! the variants' labels.

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

    /// `KEY=VALUE` for a label: the value without its surrounding quotes, the key as
    /// `short` names it.
    fn label(&self, short: &dyn Fn(&str) -> String) -> String {
        let v = self.value.as_str();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| v.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
            .unwrap_or(v);
        format!("{}={unquoted}", short(&self.path))
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
        let values = match range(list.trim()) {
            Some(points) => points.map_err(|e| format!("--vary {arg}: {e}"))?,
            None => split_values(list).map_err(|e| format!("--vary {arg}: {e}"))?,
        };
        if values.len() as u64 > MAX_RANGE_POINTS {
            return Err(format!(
                "--vary {}=…: {} values; a --vary may have at most {MAX_RANGE_POINTS}",
                path.chars().take(60).collect::<String>(),
                values.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in values.iter().enumerate() {
            if v.is_empty() {
                return Err(format!(
                    "--vary {arg}: value {} of {} is empty; {example}",
                    i + 1,
                    values.len()
                ));
            }
            if !seen.insert(v.as_str()) {
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

/// Most points a range may expand to, and most values a list may give: more is a typo, or a
/// grid no machine finishes.
pub const MAX_RANGE_POINTS: u64 = 10_000;

/// `A..B:STEP`, inclusive of B when it lands on a step: `None` if `text` is not shaped like a
/// range (it is then a list of values). The numbers are plain decimals; the points are
/// computed exactly (as integers scaled by the most decimals any of the three has), so they
/// print with those decimals and no float noise: `0.1..0.3:0.1` is `0.1, 0.2, 0.3`, and
/// `100..400:100` stays integers.
fn range(text: &str) -> Option<Result<Vec<String>, String>> {
    let (a, rest) = text.split_once("..")?;
    let starts_numeric = a
        .trim()
        .trim_start_matches(['-', '+'])
        .starts_with(|c: char| c.is_ascii_digit());
    if !starts_numeric || text.contains(',') {
        return None;
    }
    let form = "expected a range A..B:STEP of plain numbers, e.g. 100..400:100 or 0.1..0.5:0.1";
    let Some((b, step)) = rest.split_once(':') else {
        return Some(Err(format!("no STEP after B; {form}")));
    };
    let parts = [("A", a.trim()), ("B", b.trim()), ("STEP", step.trim())];
    let mut decimals = 0;
    for (name, part) in parts {
        match decimal_places(part) {
            Some(d) => decimals = decimals.max(d),
            None => return Some(Err(format!("{name} is \"{part}\"; {form}"))),
        }
    }
    if decimals > 9 {
        return Some(Err(format!("more than 9 decimals; {form}")));
    }
    let [a, b, step] = parts.map(|(_, p)| scaled(p, decimals));
    Some(expand(a, b, step, decimals, parts.map(|(_, p)| p)))
}

/// The points of a checked range, as text with `decimals` decimals.
fn expand(
    a: i128,
    b: i128,
    step: i128,
    decimals: u32,
    typed: [&str; 3],
) -> Result<Vec<String>, String> {
    let [ta, tb, ts] = typed;
    if step <= 0 {
        return Err(format!("STEP is {ts}; it must be above 0"));
    }
    if a > b {
        return Err(format!("the range starts above its end ({ta} > {tb})"));
    }
    let count = (b - a) / step + 1;
    if count > i128::from(MAX_RANGE_POINTS) {
        return Err(format!(
            "{count} points; a range may have at most {MAX_RANGE_POINTS} (use a larger STEP)"
        ));
    }
    Ok((0..count).map(|i| fixed(a + i * step, decimals)).collect())
}

/// Decimals of a plain decimal number (`-12`, `0.25`; not `3.` nor `1e3`), `None` if it is not one.
fn decimal_places(text: &str) -> Option<u32> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let ok = !int.is_empty()
        && int.len() <= 18
        && all_digits(int)
        && all_digits(frac)
        && (frac.is_empty() != digits.contains('.'));
    ok.then_some(frac.len() as u32)
}

/// A plain decimal (checked by [`decimal_places`]) times 10^decimals, exactly.
fn scaled(text: &str, decimals: u32) -> i128 {
    let negative = text.starts_with('-');
    let digits = text.trim_start_matches(['-', '+']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let padded = format!("{frac:0<width$}", width = decimals as usize);
    let value: i128 = format!("{int}{padded}").parse().unwrap_or(0);
    if negative { -value } else { value }
}

/// `value / 10^decimals` as text with exactly `decimals` decimals.
fn fixed(value: i128, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let unit = 10i128.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let v = value.abs();
    format!(
        "{sign}{}.{:0width$}",
        v / unit,
        v % unit,
        width = decimals as usize
    )
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

/// Two `--vary` on one path would make labels and runs ambiguous. Paths are compared by
/// their keys, so `workload."w".rate` and `workload.w.rate` are one path.
pub(super) fn check_dimensions(vary: &[Vary]) -> Result<(), Vec<String>> {
    let keys = |v: &Vary| sim_core::scenario::key_path(&v.path).unwrap_or_default();
    for (i, v) in vary.iter().enumerate() {
        if vary[..i]
            .iter()
            .any(|w| w.path == v.path || (keys(w) == keys(v) && !keys(v).is_empty()))
        {
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

/// `NAME KEY=VALUE …`, as short as stays readable: the name only when several files are
/// compared (or nothing varies), and each varied path by its last segment (`style=async`)
/// unless two varied paths end alike, then in full.
pub(super) fn label(name: &str, combo: &[Setting], several_files: bool, varied: &[&str]) -> String {
    let last = |p: &str| p.rsplit('.').next().unwrap_or(p).to_string();
    let short = |p: &str| {
        let l = last(p);
        if varied.iter().filter(|q| last(q) == l).count() > 1 {
            p.to_string()
        } else {
            l
        }
    };
    let name = (several_files || combo.is_empty()).then(|| name.to_string());
    name.into_iter()
        .chain(combo.iter().map(|s| s.label(&short)))
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
        let many = format!(
            "workload.x.rate={}",
            (0..10_001)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        for (arg, says) in [
            ("workload.x.rate", "expected PATH=V1,V2"),
            ("=1,2", "no key path"),
            ("workload.x.rate=1,,2", "value 2 of 3 is empty"),
            ("workload.x.rate=", "value 1 of 1 is empty"),
            ("workload.x.rate=1,2,1", "1 is given twice"),
            (
                many.as_str(),
                "10001 values; a --vary may have at most 10000",
            ),
            ("a=\"x,y", "unclosed \""),
            ("a=exp(1ms", "missing ')'"),
            ("a=1)", "unmatched ')'"),
        ] {
            let err = Vary::parse(arg).unwrap_err();
            assert!(err.contains(says), "{arg}: {err}");
            let path = arg.split('=').next().unwrap_or("");
            assert!(err.starts_with(&format!("--vary {path}")), "{err}");
        }
    }

    // Goal: ranges expand exactly (inclusive of B when it lands on a step, integers stay
    // integers, decimals without float noise); bad ranges are refused with what is wrong.
    #[test]
    fn ranges_expand_exactly() {
        let values = |arg: &str| Vary::parse(arg).unwrap().values;
        assert_eq!(values("w.rate=100..400:100"), ["100", "200", "300", "400"]);
        assert_eq!(values("w.rate=100..450:100"), ["100", "200", "300", "400"]);
        assert_eq!(values("x=0.1..0.3:0.1"), ["0.1", "0.2", "0.3"]);
        assert_eq!(
            values("x=1..2:0.25"),
            ["1.00", "1.25", "1.50", "1.75", "2.00"]
        );
        assert_eq!(values("x=-1..1:1"), ["-1", "0", "1"]);
        assert_eq!(values("x=5..5:1"), ["5"]);
        // Not a range: a list, or a word.
        assert_eq!(values("x=1,2"), ["1", "2"]);
        assert_eq!(values("x=a..b"), ["a..b"]);
        for (arg, says) in [
            ("x=1..5:0", "STEP is 0; it must be above 0"),
            ("x=1..5:-1", "STEP is -1; it must be above 0"),
            ("x=5..1:1", "starts above its end (5 > 1)"),
            (
                "x=0..100000:1",
                "100001 points; a range may have at most 10000",
            ),
            ("x=1..5", "no STEP after B"),
            ("x=1..b:1", "B is \"b\""),
            ("x=1e3..2e3:1", "A is \"1e3\""),
        ] {
            let err = Vary::parse(arg).unwrap_err();
            assert!(err.starts_with(&format!("--vary {arg}: ")), "{err}");
            assert!(err.contains(says), "{arg}: {err}");
        }
    }

    // Goal: the grid is the cartesian product, first dimension slowest.
    #[test]
    fn a_path_varied_twice_is_refused_however_it_is_quoted() {
        // Goal: two --vary on one key are refused even when one quotes a segment, since
        // `workload."w".rate` and `workload.w.rate` are the same key; distinct keys pass.
        let v = |arg: &str| Vary::parse(arg).unwrap();
        let twice = [v("workload.w.rate=1,2"), v("workload.\"w\".rate=3,4")];
        let err = check_dimensions(&twice).unwrap_err();
        assert!(err[0].contains("varied twice"), "{err:?}");
        assert!(check_dimensions(&[v("workload.w.rate=1"), v("workload.v.rate=2")]).is_ok());
    }

    #[test]
    fn grid_is_the_cartesian_product() {
        let a = Vary::parse("a=1,2").unwrap();
        let b = Vary::parse("b=x,y,z").unwrap();
        let g = grid(&[a, b]);
        let labels: Vec<String> = g.iter().map(|c| label("s", c, true, &["a", "b"])).collect();
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
        let src = |f: &str| Source::new(f, "");
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
        assert_eq!(
            label("x", std::slice::from_ref(&s), true, &["s.e.work"]),
            "x work=exp(9ms)"
        );
    }

    // Goal: labels stay short — the file name only when several files are compared, a
    // varied path by its last segment unless two paths end alike.
    #[test]
    fn labels_are_as_short_as_stays_unambiguous() {
        let set = |p: &str, v: &str| Setting {
            path: p.into(),
            value: v.into(),
        };
        let one = [set("flow.f.style", "\"async\"")];
        assert_eq!(label("x", &one, false, &["flow.f.style"]), "style=async");
        assert_eq!(label("x", &[], false, &[]), "x");
        let two = [
            set("service.a.replicas", "2"),
            set("service.b.replicas", "3"),
        ];
        let varied = ["service.a.replicas", "service.b.replicas"];
        assert_eq!(
            label("x", &two, false, &varied),
            "service.a.replicas=2 service.b.replicas=3"
        );
    }
}
