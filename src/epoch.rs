//! `meshsim trace --epoch`: the instant simulated time 0 stands for in an OTLP export.
//!
//! OTLP times are Unix nanoseconds; from time 0 a trace sits in 1970, outside the "last 7
//! days" every viewer opens on. The anchor is an input the user gives (never the clock),
//! so the same command still writes the same bytes.

/// Latest anchor accepted: 2200-01-01T00:00:00Z. Viewers read OTLP times as signed 64-bit
/// nanoseconds (good to 2262), and a trace's own times are added on top.
pub const MAX_EPOCH_NS: u64 = 7_258_118_400 * 1_000_000_000;

const ALLOWED: &str = "an RFC 3339 instant (2026-12-01T09:00:00Z, 2026-12-01T10:00:00.5+01:00) \
                       or Unix nanoseconds (1796115600000000000), up to 2200-01-01T00:00:00Z";

/// Parses `--epoch`: Unix nanoseconds, or an RFC 3339 date-time with `Z` or an offset.
pub fn parse_epoch(arg: &str) -> Result<u64, String> {
    let arg = arg.trim();
    let ns = if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
        arg.parse::<u64>()
            .map_err(|_| format!("`{arg}` is too large; expected {ALLOWED}"))?
    } else {
        rfc3339_ns(arg).map_err(|why| format!("`{arg}`: {why}; expected {ALLOWED}"))?
    };
    if ns > MAX_EPOCH_NS {
        return Err(format!(
            "`{arg}` is past 2200-01-01T00:00:00Z; expected {ALLOWED}"
        ));
    }
    Ok(ns)
}

fn number(s: &str, what: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {what} is not a number"));
    }
    let n: u64 = s
        .parse()
        .map_err(|_| format!("the {what} is not a number"))?;
    if !range.contains(&n) {
        return Err(format!(
            "the {what} {n} is outside {}..={}",
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn rfc3339_ns(s: &str) -> Result<u64, String> {
    if !s.is_ascii() || s.len() < 20 {
        return Err("not an RFC 3339 date-time".to_string());
    }
    let b = s.as_bytes();
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err("not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS)".to_string());
    }
    let year = number(&s[0..4], "year", 1970..=2200)?;
    let month = number(&s[5..7], "month", 1..=12)?;
    let day = number(&s[8..10], "day", 1..=days_in_month(year, month))?;
    let hour = number(&s[11..13], "hour", 0..=23)?;
    let minute = number(&s[14..16], "minute", 0..=59)?;
    let second = number(&s[17..19], "second", 0..=59)?;
    let mut rest = &s[19..];
    let mut frac_ns = 0;
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err("the fraction of a second needs 1 to 9 digits".to_string());
        }
        frac_ns = number(&f[..digits], "fraction", 0..=999_999_999)? * 10u64.pow(9 - digits as u32);
        rest = &f[digits..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[0..1], "+" | "-") && &rest[3..4] == ":" => {
            let h = number(&rest[1..3], "offset's hours", 0..=23)? as i64;
            let m = number(&rest[4..6], "offset's minutes", 0..=59)? as i64;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err("the time zone must be Z or an offset like +01:00".to_string()),
    };
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset_s;
    if secs < 0 {
        return Err("it is before 1970-01-01T00:00:00Z".to_string());
    }
    Ok(secs as u64 * 1_000_000_000 + frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_instants_match_unix_time() {
        // Goal: known instants (from `date -u -d ... +%s`) parse to their Unix nanoseconds,
        // with offsets, fractions and leap days; bad dates and out-of-range anchors are
        // refused with what is allowed.
        assert_eq!(parse_epoch("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_epoch("2026-12-01T09:00:00Z"),
            Ok(1_796_115_600_000_000_000)
        );
        assert_eq!(
            parse_epoch("2026-12-01T10:00:00.5+01:00"),
            Ok(1_796_115_600_500_000_000)
        );
        assert_eq!(
            parse_epoch("2024-02-29T23:59:59-00:30"),
            Ok(1_709_252_999_000_000_000)
        );
        assert_eq!(
            parse_epoch("1796115600000000000"),
            Ok(1_796_115_600_000_000_000)
        );
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-01 09:00:00Z",
            "2026-12-01T09:00:00",
            "2300-01-01T00:00:00Z",
            "99999999999999999999",
            "yesterday",
            "",
        ] {
            let e = parse_epoch(bad).expect_err(bad);
            assert!(e.contains("expected an RFC 3339 instant"), "{bad}: {e}");
        }
    }
}
