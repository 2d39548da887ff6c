//! Random damage to valid partial results never panics `merge`: every mutant of a real
//! `compare --shard` or `sweep --shard` partial (fields deleted, types changed, numeric
//! extremes, duplicated entries and lines, truncation, huge arrays, a part given twice) is
//! either merged into exactly the undamaged output, or refused with one short line that
//! names the file and the field. A third of the mutants damage every part alike and forge
//! the checksum, so the field checks and the printers behind them face what the checksum
//! would otherwise stop: those must not panic either. Runs in-process, the way `meshsim merge` does (read, check,
//! merge, build, print), with a fixed seed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::RngExt;
use reports::compare::{
    Comparison, compare_files, extract, write_compare_json, write_compare_text,
};
use reports::many::{
    Partial, Plan, SeedChoice, Shard, Source, Vary, merge, read_partial, run_jobs,
};
use reports::sweep::{Sweep, sweep_files, write_sweep_json, write_sweep_text};
use serde_json::{Value, json};
use sim_core::rng::{Stream, stream};

/// A server behind a gateway with one flow, short enough that a plan of a few runs takes
/// milliseconds.
const SCENARIO: &str = r#"
[scenario]
name = "fuzzed"
seed = 3
duration = "1s"
drain = "1s"
[workload.load]
endpoint = "server/serve"
rate = 50
[service.server]
workers = 1
[service.server.endpoint.serve]
work = "exp(2ms)"
fail = 0.1
"#;

/// The names of a partial's fields, as messages name them (the first segment of a path).
const FIELDS: &[&str] = &[
    "the file",
    "meshsim",
    "shard",
    "plan",
    "jobs",
    "content_fnv",
];

/// About how many bytes of JSON a huge list holds: enough for 10,000 variants or 200,000
/// seeds, little enough to keep the test fast (a twentieth of it when every part is damaged).
const HUGE_BYTES: usize = 2_500_000;

/// Longest refusal accepted: one line, whatever the damage.
const MAX_MESSAGE_CHARS: usize = 400;

/// Every shard of a real plan, as `(file name, pretty JSON)`.
fn parts(command: &str, vary: &[&str], seeds: u64, shards: u32) -> Vec<(String, String)> {
    let sources = [Source::new("fuzzed.toml", SCENARIO)];
    let vary: Vec<Vary> = vary.iter().map(|v| Vary::parse(v).unwrap()).collect();
    let choice = SeedChoice {
        first: None,
        count: seeds,
    };
    let plan = Plan::new(command, &sources, &[], &vary, choice).unwrap();
    (1..=shards)
        .map(|index| {
            let shard = Shard {
                index,
                count: shards,
            };
            let jobs = plan.info.jobs(shard);
            let results = run_jobs(&plan, &jobs, 1, &extract, &|| {})
                .unwrap()
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            let part = Partial::new(&plan.info, shard, results);
            let name = format!("{command}.part-{index}-of-{shards}.json");
            (name, serde_json::to_string_pretty(&part).unwrap())
        })
        .collect()
}

/// What `meshsim merge` does with the texts: read and check each, merge, print text, JSON
/// and the `--out` files; all of it as bytes, or the refusal.
fn merge_and_print(parts: &[(String, String)]) -> Result<Vec<u8>, String> {
    let read = parts
        .iter()
        .map(|(name, text)| read_partial(name, text).map(|p| (name.clone(), p)))
        .collect::<Result<Vec<_>, _>>()?;
    let (plan, jobs) = merge(read)?;
    let mut out = Vec::new();
    let files = if plan.command == "compare" {
        let c = Comparison::build(plan, &jobs);
        write_compare_text(&mut out, &c).unwrap();
        write_compare_json(&mut out, &c).unwrap();
        compare_files(&c).unwrap()
    } else {
        let s = Sweep::build(plan, &jobs);
        write_sweep_text(&mut out, &s).unwrap();
        write_sweep_json(&mut out, &s).unwrap();
        sweep_files(&s).unwrap()
    };
    for (name, bytes) in files {
        out.extend(name.into_bytes());
        out.extend(bytes);
    }
    Ok(out)
}

/// One step of a path into a JSON value.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every node's path, root first.
fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(Step::Key(k.clone()));
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(Step::Index(i));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'v>(v: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(v, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// A value a field should not have: a wrong type or a numeric extreme. A string marker is
/// replaced in the text by a number JSON allows but f64 cannot hold.
fn hostile(rng: &mut Stream) -> Value {
    let pool = [
        json!(0),
        json!(-1),
        json!(4_294_967_295u64),
        json!(4_294_967_296u64),
        json!(u64::MAX),
        json!(10_000_000),
        json!(1e308),
        json!(-1e308),
        json!(0.5),
        json!("NaN"),
        json!("inf"),
        json!("\u{1}big"),
        json!("abc"),
        json!(""),
        json!(true),
        Value::Null,
        json!([]),
        json!({}),
    ];
    pool[rng.random_range(0..pool.len())].clone()
}

/// One random piece of damage to one part's text.
fn mutate(text: &str, rng: &mut Stream, huge_bytes: usize) -> String {
    let mut value: Value = serde_json::from_str(text).unwrap();
    let mut all = Vec::new();
    paths(&value, &mut Vec::new(), &mut all);
    let path = all[rng.random_range(1..all.len())].clone();
    let (parent, last) = path.split_at(path.len() - 1);
    match rng.random_range(0..10) {
        // A field or an entry deleted.
        0 | 1 => match (&last[0], node(&mut value, parent)) {
            (Step::Key(k), Value::Object(m)) => {
                m.shift_remove(k);
            }
            (Step::Index(i), Value::Array(a)) => {
                a.remove(*i);
            }
            _ => unreachable!("a path's parent holds its last step"),
        },
        // A wrong type or an extreme value.
        2..=4 => *node(&mut value, &path) = hostile(rng),
        // An entry of a list duplicated.
        5 => {
            if let Value::Array(a) = node(&mut value, parent) {
                let Step::Index(i) = last[0] else {
                    unreachable!()
                };
                let copy = a[i].clone();
                a.insert(i, copy);
            } else {
                *node(&mut value, &path) = hostile(rng);
            }
        }
        // A huge list: a list grown by copies of its entries, or any other node replaced
        // by a list of copies of itself.
        6 => {
            let target = node(&mut value, &path);
            let item = match &*target {
                Value::Array(a) if !a.is_empty() => a[0].clone(),
                other => other.clone(),
            };
            let size = serde_json::to_string(&item).unwrap().len();
            let copies = (huge_bytes / size).clamp(2, 200_000);
            match target {
                Value::Array(a) if !a.is_empty() => a.extend(vec![item; copies]),
                other => *other = Value::Array(vec![item; copies]),
            }
        }
        // Text damage: a line duplicated (duplicate keys), the file cut short, a character
        // replaced.
        7 => return duplicate_line(text, rng),
        8 => {
            let cut = rng.random_range(0..text.chars().count());
            return text.chars().take(cut).collect();
        }
        _ => {
            let mut chars: Vec<char> = text.chars().collect();
            let i = rng.random_range(0..chars.len());
            chars[i] = ['0', '9', '-', '"', ',', '}', 'e', '.'][rng.random_range(0..8)];
            return chars.into_iter().collect();
        }
    }
    serde_json::to_string_pretty(&value)
        .unwrap()
        .replace("\"\\u0001big\"", "1e999")
}

fn duplicate_line(text: &str, rng: &mut Stream) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let i = rng.random_range(0..lines.len());
    lines.insert(i, lines[i]);
    lines.join("\n")
}

/// Whether a refusal is one short line `FILE: FIELD…` naming one of the parts and a field of
/// the format (a JSON syntax error names its line and column instead).
fn names_file_and_field(message: &str, names: &[String]) -> bool {
    let Some(rest) = names
        .iter()
        .find_map(|n| message.strip_prefix(&format!("{n}: ")))
    else {
        return false;
    };
    if message.chars().count() > MAX_MESSAGE_CHARS || message.contains('\n') {
        return false;
    }
    if rest.starts_with("not a partial result") {
        return rest.contains(" line ") && rest.contains(" column ");
    }
    let field = rest.split(": ").next().unwrap_or("");
    let first = field.split(['.', '[', ' ']).next().unwrap_or("");
    FIELDS.contains(&first) || field == "the file"
}

/// `count` mutants of `good`, each damaging one part (or giving one twice); every outcome
/// checked. Returns (merged, refused).
fn fuzz(good: &[(String, String)], count: usize, seed: u64) -> (usize, usize) {
    let whole = merge_and_print(good).expect("the undamaged parts merge");
    let names: Vec<String> = good.iter().map(|(n, _)| n.clone()).collect();
    let mut rng = stream(seed, "merge-fuzz");
    let (mut merged, mut refused) = (0, 0);
    for m in 0..count {
        let mut parts = good.to_vec();
        let k = rng.random_range(0..parts.len());
        let forged = rng.random_range(0..3) == 0;
        if forged {
            // The same damage to every part (they have the same shape), each with its
            // checksum recomputed: what gets past the checksum must still be checked field
            // by field, and whatever passes must print without a panic.
            let choices = rng.clone();
            for part in &mut parts {
                part.1 = forge_checksum(&mutate(&part.1, &mut choices.clone(), HUGE_BYTES / 20));
            }
            let _ = mutate(&good[0].1, &mut rng, 0);
        } else if rng.random_range(0..20) == 0 {
            parts.push(parts[k].clone());
        } else {
            parts[k].1 = mutate(&parts[k].1, &mut rng, HUGE_BYTES);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| merge_and_print(&parts)));
        if std::env::var_os("MERGE_FUZZ_SHOW").is_some() {
            eprintln!(
                "mutant {m}: {:?}",
                outcome.as_ref().map(|r| r.as_ref().map(Vec::len))
            );
        }
        match outcome {
            Err(_) => panic!(
                "mutant {m} panicked merge; part {k}:\n{}",
                clip(&parts[k].1)
            ),
            Ok(Ok(bytes)) => {
                assert!(
                    forged || bytes == whole,
                    "mutant {m} merged into other output; part {k}:\n{}",
                    clip(&parts[k].1)
                );
                merged += 1;
            }
            Ok(Err(message)) => {
                assert!(
                    names_file_and_field(&message, &names),
                    "mutant {m}: the refusal must name the file and the field: {}",
                    clip(&message)
                );
                refused += 1;
            }
        }
    }
    (merged, refused)
}

/// `text` with `content_fnv` set to the checksum of its shard, plan and jobs, computed here
/// independently (FNV-1a 64 of their compact JSON, then a 0 byte), when it is a JSON object.
fn forge_checksum(text: &str) -> String {
    let Ok(Value::Object(mut top)) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let content = json!({
        "shard": top.get("shard").cloned().unwrap_or(Value::Null),
        "plan": top.get("plan").cloned().unwrap_or(Value::Null),
        "jobs": top.get("jobs").cloned().unwrap_or(Value::Null),
    });
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in serde_json::to_vec(&content).unwrap().into_iter().chain([0]) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    top.insert("content_fnv".into(), json!(format!("{hash:016x}")));
    serde_json::to_string_pretty(&top).unwrap()
}

fn clip(text: &str) -> String {
    text.chars().take(3000).collect()
}

#[test]
fn damaged_compare_partials_merge_exactly_or_are_refused_by_field() {
    // Goal: 300 mutants of a compare split into 3 shards (2 variants × 3 seeds): no panic;
    // merged output identical to the undamaged merge, or a refusal naming file and field.
    let good = parts("compare", &["workload.load.rate=40,80"], 3, 3);
    let (merged, refused) = fuzz(&good, 300, 11);
    assert_eq!(merged + refused, 300);
    assert!(refused > 200, "most damage is refused: {refused}");
}

#[test]
fn damaged_sweep_partials_merge_exactly_or_are_refused_by_field() {
    // Goal: the same for a two-dimensional sweep in 2 shards (4 points × 2 seeds).
    let good = parts(
        "sweep",
        &["workload.load.rate=20..40:20", "service.server.workers=1,2"],
        2,
        2,
    );
    let (merged, refused) = fuzz(&good, 300, 12);
    assert_eq!(merged + refused, 300);
    assert!(refused > 200, "most damage is refused: {refused}");
}
