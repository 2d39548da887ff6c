//! Typed reads of raw leaf values: each checks type and range and, on failure, reports the
//! path, the bad value and what is allowed, then returns `None` so checking can go on.

use toml::Value;

use super::Sink;
use super::raw::Val;
use crate::dist::{Dist, parse_dist};
use crate::time::{SimDuration, parse_duration};

/// A value as TOML would write it, cut short if long.
pub(super) fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// Quotes a path segment the way `--set` needs it (`link."a->b"`), if it is not a bare key.
pub(super) fn seg(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

impl Sink<'_> {
    fn wrong_type(&mut self, v: &toml::Spanned<Value>, path: &str, want: &str) {
        let value = v.get_ref();
        let msg = format!(
            "{path} = {}: expected {want}, found {}",
            show(value),
            kind(value)
        );
        self.error(v.span(), msg);
    }

    /// A string.
    pub(super) fn string(&mut self, v: &Val, path: &str) -> Option<String> {
        let v = v.as_ref()?;
        match v.get_ref() {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.wrong_type(v, path, "a string");
                None
            }
        }
    }

    /// A boolean.
    pub(super) fn boolean(&mut self, v: &Val, path: &str) -> Option<bool> {
        let v = v.as_ref()?;
        match v.get_ref() {
            Value::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, path, "true or false");
                None
            }
        }
    }

    /// A seed: any u64. TOML integers stop at `i64::MAX`, so a larger seed (as `--seed` and
    /// `hunt` accept) is written as a quoted string of digits; both forms are read.
    pub(super) fn seed(&mut self, v: &Val, path: &str) -> Option<u64> {
        let v = v.as_ref()?;
        let allowed = format!(
            "an integer from 0 to {} (above {}, TOML integers cannot hold it: write the \
             digits in quotes, e.g. seed = \"{}\")",
            u64::MAX,
            i64::MAX,
            u64::MAX
        );
        let found = match v.get_ref() {
            Value::Integer(n) => u64::try_from(*n).ok(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<u64>().ok()
            }
            _ => {
                self.wrong_type(v, path, &allowed);
                return None;
            }
        };
        if found.is_none() {
            let msg = format!(
                "{path} = {} is out of range; allowed: {allowed}",
                show(v.get_ref())
            );
            self.error(v.span(), msg);
        }
        found
    }

    /// A whole number in `lo..=hi`.
    pub(super) fn int(&mut self, v: &Val, path: &str, lo: i64, hi: i64) -> Option<i64> {
        let v = v.as_ref()?;
        let allowed = format!("an integer from {lo} to {hi}");
        match v.get_ref() {
            Value::Integer(n) if (lo..=hi).contains(n) => Some(*n),
            Value::Integer(n) => {
                let msg = format!("{path} = {n} is out of range; allowed: {allowed}");
                self.error(v.span(), msg);
                None
            }
            _ => {
                self.wrong_type(v, path, &allowed);
                None
            }
        }
    }

    /// A finite number (integer or float) in `lo..=hi`, or `lo < x <= hi` if `lo_open`.
    pub(super) fn number(
        &mut self,
        v: &Val,
        path: &str,
        lo: f64,
        hi: f64,
        lo_open: bool,
    ) -> Option<f64> {
        let v = v.as_ref()?;
        let allowed = if lo_open {
            format!("a number > {lo} and <= {hi}")
        } else {
            format!("a number from {lo} to {hi}")
        };
        let x = match v.get_ref() {
            Value::Integer(n) => *n as f64,
            Value::Float(x) => *x,
            _ => {
                self.wrong_type(v, path, &allowed);
                return None;
            }
        };
        let shown = show(v.get_ref());
        let problem = if x.is_nan() {
            "is not a number"
        } else if x.is_infinite() {
            "is not finite"
        } else if x < lo || (lo_open && x <= lo) || x > hi {
            "is out of range"
        } else {
            return Some(x);
        };
        self.error(
            v.span(),
            format!("{path} = {shown} {problem}; allowed: {allowed}"),
        );
        None
    }

    /// Any finite number.
    pub(super) fn finite(&mut self, v: &Val, path: &str) -> Option<f64> {
        let v = v.as_ref()?;
        let x = match v.get_ref() {
            Value::Integer(n) => *n as f64,
            Value::Float(x) => *x,
            _ => {
                self.wrong_type(v, path, "a number");
                return None;
            }
        };
        if x.is_finite() {
            return Some(x);
        }
        let msg = format!(
            "{path} = {} is not finite; allowed: any finite number",
            show(v.get_ref())
        );
        self.error(v.span(), msg);
        None
    }

    /// A probability, in `[0, 1]`.
    pub(super) fn probability(&mut self, v: &Val, path: &str) -> Option<f64> {
        self.number(v, path, 0.0, 1.0, false)
    }

    /// A duration string such as `"250ms"`.
    pub(super) fn duration(&mut self, v: &Val, path: &str) -> Option<SimDuration> {
        let spanned = v.as_ref()?;
        let Value::String(text) = spanned.get_ref() else {
            self.wrong_type(spanned, path, "a duration string such as \"250ms\"");
            return None;
        };
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(spanned.span(), format!("{path}: {e}"));
                None
            }
        }
    }

    /// A distribution string such as `"exp(2ms)"`.
    pub(super) fn dist(&mut self, v: &Val, path: &str) -> Option<Dist> {
        let spanned = v.as_ref()?;
        let Value::String(text) = spanned.get_ref() else {
            self.wrong_type(spanned, path, "a distribution string such as \"exp(2ms)\"");
            return None;
        };
        match parse_dist(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(spanned.span(), format!("{path}: {e}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    fn val(v: Value) -> Val {
        Some(Spanned::new(0..1, v))
    }

    #[test]
    fn numbers_out_of_range_name_value_and_range() {
        // Goal: NaN, infinity, negatives and huge numbers are each rejected with the range.
        let mut sink = Sink::new("f.toml", "x", Vec::new());
        assert_eq!(
            sink.number(&val(Value::Float(0.5)), "p", 0.0, 1.0, false),
            Some(0.5)
        );
        assert_eq!(
            sink.number(&val(Value::Float(f64::NAN)), "p", 0.0, 1.0, false),
            None
        );
        assert_eq!(
            sink.number(&val(Value::Float(f64::INFINITY)), "p", 0.0, 1.0, false),
            None
        );
        assert_eq!(
            sink.number(&val(Value::Integer(0)), "rate", 0.0, 1e9, true),
            None
        );
        assert_eq!(
            sink.int(&val(Value::Integer(-3)), "replicas", 1, 100_000),
            None
        );
        assert_eq!(
            sink.int(&val(Value::Float(2.0)), "replicas", 1, 100_000),
            None
        );
        let messages: Vec<&str> = sink.diags.iter().map(|d| d.message.as_str()).collect();
        assert!(messages[0].contains("p = nan is not a number; allowed: a number from 0 to 1"));
        assert!(messages[1].contains("p = inf is not finite"));
        assert!(messages[2].contains("rate = 0 is out of range; allowed: a number > 0"));
        assert!(
            messages[3]
                .contains("replicas = -3 is out of range; allowed: an integer from 1 to 100000")
        );
        assert!(messages[4].contains("expected an integer from 1 to 100000, found a float"));
    }

    #[test]
    fn segments_are_quoted_when_not_bare() {
        // Goal: paths in messages can be pasted into --set.
        assert_eq!(seg("checkout"), "checkout");
        assert_eq!(seg("a->b"), "\"a->b\"");
    }
}
