//! Random damage to valid scenarios never panics the parser: every mutant is either a model
//! or a list of diagnostics; and every mutant that is a valid model runs without a panic or a
//! hang (with a small event budget, so a mutant that became huge stops at its limit).

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::RngExt;
use sim_core::rng::{Stream, stream};
use sim_core::{Override, parse_scenario, parse_scenario_with};

use crate::faults::FAULTS;
use crate::parse::FULL;
use crate::{LessonFiles, toml_files};

const SMALL_OPEN: &str = r#"[scenario]
name = "small"
duration = "1s"
[workload.w]
endpoint = "a/x"
rate = 5
[service.a.endpoint.x]
work = "exp(1ms)"
"#;

const SMALL_CLOSED: &str = r#"[scenario]
name = "closed"
duration = "2s"
warmup = "100ms"
[network]
latency = "uniform(1ms, 2ms)"
[network.link."a->b"]
loss = 0.1
[workload.u]
endpoint = "a/x"
users = 3
think = "normal(5ms, 1ms)"
[service.a]
workers = 2
queue = 4
[service.a.endpoint.x]
calls = [{ to = "b/y", timeout = "10ms", protocol = "grpc" }]
[service.b.endpoint.y]
fail = 0.5
[[expect]]
metric = "m"
equals = 1
"#;

/// Characters that tend to reach interesting corners: TOML syntax, digits, signs, units,
/// multi-byte characters, control characters.
const ALPHABET: &[char] = &[
    '[', ']', '{', '}', '"', '\'', '=', ',', '.', '#', '\n', ' ', '-', '>', '/', '0', '9', 'e',
    'm', 's', 'n', 'a', 'é', '→', '\u{0}', '\t', '\\', '+', '_',
];

/// One random edit: byte-level damage, line deletion/duplication, a digit change or an
/// inserted character. Works on chars so the result stays a `&str`.
fn mutate(text: &str, rng: &mut Stream) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1);
    match rng.random_range(0..6) {
        0 => {
            let i = rng.random_range(0..n);
            if i < chars.len() {
                chars.remove(i);
            }
        }
        1 => {
            let i = rng.random_range(0..=chars.len());
            chars.insert(i, ALPHABET[rng.random_range(0..ALPHABET.len())]);
        }
        2 => {
            let digits: Vec<usize> = (0..chars.len())
                .filter(|i| chars[*i].is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                let i = digits[rng.random_range(0..digits.len())];
                chars[i] = char::from(b'0' + rng.random_range(0..10u8));
            }
        }
        3 | 4 => {
            let mut lines: Vec<String> = chars
                .iter()
                .collect::<String>()
                .lines()
                .map(String::from)
                .collect();
            if !lines.is_empty() {
                let i = rng.random_range(0..lines.len());
                if rng.random_bool(0.5) {
                    lines.remove(i);
                } else {
                    let dup = lines[i].clone();
                    lines.insert(i, dup);
                }
            }
            return lines.join("\n");
        }
        _ => {
            // Truncate at a random point.
            chars.truncate(rng.random_range(0..n));
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_scenarios_never_panic() {
    // Goal: 600 mutants of each valid scenario (one has every fault kind, chaos and the
    // resilience keys), 1 to 4 edits each, fixed seed, parse to Ok or Err, never a panic;
    // the valid ones also run (budget: 20,000 events) without a panic.
    let mut bases: Vec<String> = vec![
        FULL.to_string(),
        SMALL_OPEN.to_string(),
        SMALL_CLOSED.to_string(),
        FAULTS.to_string(),
    ];
    for path in toml_files("scenarios") {
        if let Ok(text) = std::fs::read_to_string(path) {
            bases.push(text);
        }
    }
    let mut rng = stream(20_261_123, "mutation");
    let (mut ok, mut err) = (0, 0);
    for base in &bases {
        assert!(
            parse_scenario_with("base.toml", base, &[], &LessonFiles).is_ok(),
            "base scenario must be valid:\n{base}"
        );
        for case in 0..600 {
            let mut text = base.clone();
            for _ in 0..rng.random_range(1..=4) {
                text = mutate(&text, &mut rng);
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                parse_scenario_with("m.toml", &text, &[], &LessonFiles)
            }));
            match outcome {
                Ok(Ok(mut model)) => {
                    model.limits.max_events = model.limits.max_events.min(20_000);
                    let ran = catch_unwind(AssertUnwindSafe(|| sim_core::run(&model, 1)));
                    assert!(ran.is_ok(), "engine panicked on mutant {case}:\n{text}");
                    ok += 1;
                }
                Ok(Err(d)) => {
                    assert!(!d.0.is_empty(), "an error must carry a diagnostic");
                    err += 1;
                }
                Err(_) => panic!("parser panicked on mutant {case}:\n{text}"),
            }
        }
    }
    // The mutations must exercise both outcomes to be worth anything.
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

#[test]
fn random_overrides_never_panic() {
    // Goal: random `--set` paths and values (valid or not) never panic either.
    let paths = [
        "scenario.name",
        "scenario.duration",
        "workload.checkout.rate",
        "workload.new.users",
        "service.order.endpoint.place.calls.0.to",
        "service.order.endpoint.place.calls.9.to",
        "network.link.\"a->b\".loss",
        "expect.0.below",
        "expect",
        "service",
        "a..b",
        "\"unclosed",
        "service.gateway.endpoint.checkout.calls.x",
        "scenario.name.deeper",
        "fault.0.at",
        "fault.3.target",
        "fault.6.groups",
        "fault.9.kind",
        "chaos.targets",
        "service.order.endpoint.place.calls.0.breaker.window",
        "service.order.endpoint.place.calls.0.retries",
        "workload.w.jitter",
    ];
    let values = [
        "5",
        "-1",
        "nan",
        "\"exp(1ms)\"",
        "bare",
        "[1, 2]",
        "[[\"order\"], [\"payment\"]]",
        "\"payment#9\"",
        "\"order->payment\"",
        "{ a = 1 }",
        "",
        "1e999",
        "true",
    ];
    let mut rng = stream(7, "mutation");
    for _ in 0..600 {
        let sets: Vec<Override> = (0..rng.random_range(1..=3))
            .map(|_| Override {
                path: paths[rng.random_range(0..paths.len())].to_string(),
                value: values[rng.random_range(0..values.len())].to_string(),
            })
            .collect();
        for base in [FULL, FAULTS] {
            let outcome = catch_unwind(AssertUnwindSafe(|| parse_scenario("f.toml", base, &sets)));
            assert!(outcome.is_ok(), "panicked with {sets:?}");
        }
    }
}
