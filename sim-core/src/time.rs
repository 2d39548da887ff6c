//! Virtual time: integer nanoseconds, never floating point, never the wall clock.
//!
//! Integer time makes every run exact and repeatable: two events scheduled for the same
//! instant compare equal on every machine, and the kernel breaks the tie by insertion order.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

pub const NS_PER_US: u64 = 1_000;
pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Time since `earlier`, zero if `earlier` is later (never panics).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us * NS_PER_US)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * NS_PER_MS)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NS_PER_S)
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NS_PER_MS as f64
    }
    /// Rounds a non-negative number of nanoseconds to the nearest integer; negative and NaN
    /// become zero, and values past `u64::MAX` saturate, so sampling can never panic.
    ///
    /// Every draw of a distribution comes here. Below 2^62 ns (146 years: every draw of a
    /// sensible scenario) `ns + 0.5` truncates through a signed conversion, one instruction
    /// where the unsigned one takes a dozen; the rest (NaN fails the range test) takes the
    /// general rounding. Both round alike (`from_nanos_f64_equals_the_general_rounding`).
    #[inline]
    pub fn from_nanos_f64(ns: f64) -> Self {
        if (0.0..EXACT_I64_NS).contains(&ns) {
            return SimDuration((ns + 0.5) as i64 as u64);
        }
        Self::from_nanos_f64_general(ns)
    }

    /// `from_nanos_f64` for any value: zero for NaN and below, saturation at `u64::MAX`
    /// (the crate's tests compare draws with it).
    pub(crate) fn from_nanos_f64_general(ns: f64) -> Self {
        if ns.is_nan() || ns <= 0.0 {
            SimDuration(0)
        } else if ns >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            // `+ 0.5` then truncate: rounds half up like `round()` for positive values, without
            // a libm call on the hot path.
            SimDuration((ns + 0.5) as u64)
        }
    }
}

/// Below this many nanoseconds (2^62) a value plus a half converts to `i64` exactly as it
/// would to `u64`: both truncate, and the sum stays far below `i64::MAX`.
const EXACT_I64_NS: f64 = (1u64 << 62) as f64;

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

impl fmt::Display for SimDuration {
    /// The shortest exact form with a unit, as a scenario file would write it (`250us`, `2s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let units = [
            (60 * NS_PER_S, "m"),
            (NS_PER_S, "s"),
            (NS_PER_MS, "ms"),
            (NS_PER_US, "us"),
        ];
        for (size, unit) in units {
            if ns != 0 && ns % size == 0 {
                return write!(f, "{}{}", ns / size, unit);
            }
        }
        write!(f, "{ns}ns")
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// Parses a duration with a unit: `250us`, `1.5ms`, `2s`, `1m`, `24h`. Units: ns, us, ms, s,
/// m, h (a compressed simulated day is written with the same units as a real one).
/// Returns a message saying what is allowed when the text is not a duration.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(|| {
            format!(
                "duration \"{text}\" has no unit; write e.g. \"5ms\" (units: ns, us, ms, s, m, h)"
            )
        })?;
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => NS_PER_US as f64,
        "ms" => NS_PER_MS as f64,
        "s" => NS_PER_S as f64,
        "m" | "min" => 60.0 * NS_PER_S as f64,
        "h" => 3600.0 * NS_PER_S as f64,
        other => {
            return Err(format!(
                "unknown time unit \"{other}\" in \"{text}\"; allowed units: ns, us, ms, s, m, h"
            ));
        }
    };
    let value: f64 = num.trim().parse().map_err(|_| {
        format!("\"{text}\" is not a duration; write a number and a unit, e.g. \"5ms\"")
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("duration \"{text}\" must be a finite number >= 0"));
    }
    let ns = value * scale;
    // One simulated year is far beyond any meaningful scenario and keeps sums of durations
    // safely inside u64 nanoseconds.
    if ns > 365.0 * 86_400.0 * NS_PER_S as f64 {
        return Err(format!("duration \"{text}\" is too long; at most one year"));
    }
    Ok(SimDuration::from_nanos_f64(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_durations() {
        assert_eq!(
            parse_duration("250us").unwrap(),
            SimDuration::from_micros(250)
        );
        assert_eq!(
            parse_duration("1.5ms").unwrap(),
            SimDuration::from_micros(1500)
        );
        assert_eq!(parse_duration("2m").unwrap(), SimDuration::from_secs(120));
        assert_eq!(
            parse_duration("24h").unwrap(),
            SimDuration::from_secs(86_400)
        );
        assert_eq!(SimDuration::from_micros(1500).to_string(), "1500us");
        assert_eq!(SimDuration::from_secs(120).to_string(), "2m");
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("-5ms").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("NaNms").is_err());
        assert!(parse_duration("1e30s").is_err());
    }

    // Goal: the short rounding of `from_nanos_f64` gives exactly what the general rounding
    // gives (zero for NaN, negatives and -0, half up, saturation at u64::MAX), for random
    // values of every magnitude and for the edges: around 0, 0.5, 2^53, 2^62, 2^63, 2^64.
    #[test]
    fn from_nanos_f64_equals_the_general_rounding() {
        let check = |x: f64| {
            assert_eq!(
                SimDuration::from_nanos_f64(x),
                SimDuration::from_nanos_f64_general(x),
                "{x:e}"
            );
        };
        let mut edges = vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            u64::MAX as f64,
            i64::MAX as f64,
        ];
        for base in [0.5, 1.5, 2.5, 1e6 + 0.5, (1u64 << 53) as f64, EXACT_I64_NS] {
            for x in [base, -base, 2.0 * base] {
                // The neighbouring doubles either side (bases are not zero).
                let bits = x.to_bits();
                edges.extend([x, f64::from_bits(bits + 1), f64::from_bits(bits - 1)]);
            }
        }
        edges.iter().copied().for_each(check);
        // Random bit patterns cover every exponent and sign (NaNs included); random values
        // in [0, 2^64) cover the magnitudes durations have.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..1_000_000 {
            check(f64::from_bits(next()));
            let scale = (next() % 65) as i32;
            check((next() >> 11) as f64 / (1u64 << 53) as f64 * 2f64.powi(scale));
        }
    }
}
