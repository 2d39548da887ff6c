//! `rate_file = "traffic.csv"`: a workload's rate as CSV rows of `time_s,rate`, e.g. exported
//! from a metrics system. The rows mean what `rate = [["TIME", RATE], …]` points mean: linear
//! in between, equal times a step, flat after the last.

use crate::time::SimDuration;

/// One year in seconds: the longest time a schedule point may have (as `parse_duration`).
const MAX_TIME_S: f64 = 365.0 * 86_400.0;

/// Parses the CSV `text` of `name` into `(time_s, rate)` points. Blank lines and lines
/// starting with `#` are skipped; the first other line may be a header (its first field is
/// not a number). Errors name the file and its 1-based line.
pub(super) fn parse_rate_csv(
    name: &str,
    text: &str,
    max_rate: f64,
    max_points: usize,
) -> Result<Vec<(f64, f64)>, String> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut seen_row = false;
    for (i, line) in text.lines().enumerate() {
        let here = format!("{name}:{}", i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let first_row = !seen_row;
        seen_row = true;
        if first_row && fields[0].parse::<f64>().is_err() {
            continue; // the header, e.g. `time_s,rate`
        }
        let shape = "expected TIME_S,RATE such as 60,200 (seconds from the start, requests/s)";
        let [t, r] = fields.as_slice() else {
            return Err(format!(
                "{here}: {} fields in {line:?}; {shape}",
                fields.len()
            ));
        };
        let time_s = match t.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=MAX_TIME_S).contains(&x) => x,
            _ => {
                return Err(format!(
                    "{here}: time {t:?} is not allowed; allowed: seconds from 0 to {MAX_TIME_S} \
                     (one year)"
                ));
            }
        };
        // Rounded to the nanosecond as a duration in `rate` points is, so a file and the
        // same points written inline draw the same arrivals.
        let time_s = SimDuration::from_nanos_f64(time_s * 1e9).as_secs_f64();
        let rate = match r.parse::<f64>() {
            Ok(x) if (0.0..=max_rate).contains(&x) => x,
            _ => {
                return Err(format!(
                    "{here}: rate {r:?} is not allowed; allowed: a number from 0 to {max_rate} \
                     (requests/s; 0 sends nothing)"
                ));
            }
        };
        if let Some(&(prev, _)) = out.last()
            && time_s < prev
        {
            return Err(format!(
                "{here}: time {t} comes before the previous row's ({prev}); times must not \
                 decrease (equal times make a step)"
            ));
        }
        if out.len() == max_points {
            return Err(format!(
                "{here}: more than {max_points} rows; at most {max_points} points are allowed"
            ));
        }
        out.push((time_s, rate));
    }
    if out.is_empty() {
        return Err(format!(
            "{name}: no rows; a rate file needs at least one TIME_S,RATE row such as 0,200"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<(f64, f64)>, String> {
        parse_rate_csv("t.csv", text, 1e9, 3)
    }

    #[test]
    fn header_comments_and_blank_lines_are_skipped() {
        // Goal: a header and comments are not rows; rows keep their order and values.
        let got = parse("# synthetic\ntime_s,rate\n\n0,10\n60, 20.5\r\n").unwrap();
        assert_eq!(got, vec![(0.0, 10.0), (60.0, 20.5)]);
    }

    #[test]
    fn each_bad_row_is_named_with_its_line() {
        // Goal: every refusal names the file and the 1-based line of the bad row.
        let cases = [
            ("0,10\nx,5\n", "t.csv:2: time \"x\""),
            ("0,10\n5\n", "t.csv:2: 1 fields"),
            ("0,10\n5,1,2\n", "t.csv:2: 3 fields"),
            ("10,1\n5,1\n", "t.csv:2: time 5 comes before"),
            ("0,-1\n", "t.csv:1: rate \"-1\""),
            ("0,2e9\n", "t.csv:1: rate \"2e9\""),
            ("0,NaN\n", "t.csv:1: rate \"NaN\""),
            ("-1,5\n", "t.csv:1: time \"-1\""),
            ("inf,5\n", "t.csv:1: time \"inf\""),
            ("0,1\n1,1\n2,1\n3,1\n", "t.csv:4: more than 3 rows"),
            ("time_s,rate\n# only a header\n", "t.csv: no rows"),
            ("", "t.csv: no rows"),
        ];
        for (text, want) in cases {
            let e = parse(text).expect_err(text);
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn equal_times_are_a_step() {
        // Goal: equal times are allowed (a step), as in inline points.
        assert_eq!(parse("0,1\n5,1\n5,9\n").unwrap().len(), 3);
    }
}
