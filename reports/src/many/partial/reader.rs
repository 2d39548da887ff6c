//! Reading a partial result from its JSON text, field by field.
//!
//! A partial is a file meshsim wrote, but it reaches `merge` after a trip through a cluster's
//! storage and sometimes an editor, so every field is checked here before anything is built
//! from it: its type, its range and its agreement with the other fields (the shard's jobs are
//! exactly the runs of that shard of that plan). Each refusal is one line naming the field by
//! its path (`plan.variants[2].label`, `jobs[7].metrics."…p50"`) and what is allowed; values
//! quoted in messages are clipped, so a damaged file cannot print a 100 MB line. Last, the
//! content checksum written with the file catches what no range can: a metric deleted or
//! changed by hand would otherwise merge into a confident wrong figure.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Partial, content_fnv};
use crate::many::{
    Job, JobResult, MAX_RUNS, MAX_VARIANTS, Metrics, PlanInfo, Setting, Shard, VariantInfo,
};

/// Largest magnitude a metric may have: every number in a report is a 64-bit count, a time
/// in ms of a 64-bit ns clock or a ratio of those, so anything bigger is damage — and keeping
/// values below it keeps every sum and square of a summary finite.
pub const MAX_METRIC_ABS: f64 = 18_446_744_073_709_551_616.0;

/// Longest quoted value in a message.
const CLIP_CHARS: usize = 40;

/// The commands whose partial results merge.
const COMMANDS: [&str; 2] = ["compare", "sweep"];

/// Parses and checks one partial; the error is one line, `FILE: FIELD: problem`.
pub fn read_partial(file: &str, text: &str) -> Result<Partial, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!("{file}: not a partial result of meshsim compare or sweep --shard (JSON: {e})")
    })?;
    partial(&value).map_err(|e| format!("{file}: {e}"))
}

/// `text` cut to [`CLIP_CHARS`] characters, with `…` when cut.
pub(crate) fn clip(text: &str) -> String {
    crate::clip(text, CLIP_CHARS)
}

/// What a value is, for "found …" (clipped).
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => clip(&n.to_string()),
        Value::String(s) => format!("the string \"{}\"", clip(s)),
        Value::Array(a) => format!("a list of {} entries", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

fn wrong(path: &str, want: &str, v: &Value) -> String {
    format!("{path}: expected {want}, found {}", found(v))
}

fn object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, String> {
    v.as_object().ok_or_else(|| wrong(path, "an object", v))
}

fn array<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array().ok_or_else(|| wrong(path, "a list", v))
}

fn field<'v>(map: &'v Map<String, Value>, path: &str, key: &str) -> Result<&'v Value, String> {
    let full = if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    };
    map.get(key)
        .ok_or_else(|| format!("{full}: missing (damaged or edited file?)"))
}

fn string(v: &Value, path: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| wrong(path, "a string", v))
}

fn integer(v: &Value, path: &str, lo: u64, hi: u64) -> Result<u64, String> {
    match v.as_u64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(wrong(path, &format!("an integer from {lo} to {hi}"), v)),
    }
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>, String> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{path}[{i}]")))
        .collect()
}

fn partial(v: &Value) -> Result<Partial, String> {
    let top = object(v, "the file")?;
    let meshsim = string(field(top, "", "meshsim")?, "meshsim")?;
    let s = object(field(top, "", "shard")?, "shard")?;
    let count = integer(
        field(s, "shard", "count")?,
        "shard.count",
        1,
        u64::from(u32::MAX),
    )?;
    let index = integer(field(s, "shard", "index")?, "shard.index", 1, count)?;
    let shard = Shard {
        index: index as u32,
        count: count as u32,
    };
    let plan = plan(object(field(top, "", "plan")?, "plan")?)?;
    let jobs = jobs(field(top, "", "jobs")?, &plan, shard)?;
    let fnv = string(field(top, "", "content_fnv")?, "content_fnv")?;
    let part = Partial {
        meshsim,
        shard,
        plan,
        jobs,
        content_fnv: fnv,
    };
    let sum = content_fnv(&part.shard, &part.plan, &part.jobs);
    if part.content_fnv != sum {
        return Err(format!(
            "content_fnv: the shard, plan and jobs do not match the checksum written with them \
             ({} written, {sum} read): the file was damaged or edited; rerun the shard",
            clip(&part.content_fnv)
        ));
    }
    Ok(part)
}

fn plan(p: &Map<String, Value>) -> Result<PlanInfo, String> {
    let command = string(field(p, "plan", "command")?, "plan.command")?;
    if !COMMANDS.contains(&command.as_str()) {
        return Err(format!(
            "plan.command: \"{}\"; merge combines the partial results of compare and sweep",
            clip(&command)
        ));
    }
    let list = array(field(p, "plan", "variants")?, "plan.variants")?;
    if list.is_empty() || list.len() > MAX_VARIANTS {
        return Err(format!(
            "plan.variants: {} variants; a plan has 1 to {MAX_VARIANTS}",
            list.len()
        ));
    }
    let variants = list
        .iter()
        .enumerate()
        .map(|(i, v)| variant(v, &format!("plan.variants[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    same_settings(&variants)?;
    let seeds = seeds(field(p, "plan", "seeds")?, variants.len())?;
    let sources_fnv = string(field(p, "plan", "sources_fnv")?, "plan.sources_fnv")?;
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if sources_fnv.len() != 16 || !sources_fnv.chars().all(hex) {
        return Err(format!(
            "plan.sources_fnv: \"{}\"; expected 16 lowercase hex digits",
            clip(&sources_fnv)
        ));
    }
    let baseline = integer(
        field(p, "plan", "baseline")?,
        "plan.baseline",
        0,
        variants.len() as u64 - 1,
    )? as usize;
    Ok(PlanInfo {
        command,
        variants,
        seeds,
        sources_fnv,
        baseline,
    })
}

fn variant(v: &Value, path: &str) -> Result<VariantInfo, String> {
    let m = object(v, path)?;
    let text = |key: &str| string(field(m, path, key)?, &format!("{path}.{key}"));
    let label = text("label")?;
    if label.is_empty() {
        return Err(format!("{path}.label: empty; every variant has a label"));
    }
    let vary = array(field(m, path, "vary")?, &format!("{path}.vary"))?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let at = format!("{path}.vary[{i}]");
            let s = object(s, &at)?;
            Ok(Setting {
                path: string(field(s, &at, "path")?, &format!("{at}.path"))?,
                value: string(field(s, &at, "value")?, &format!("{at}.value"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(VariantInfo {
        label,
        file: text("file")?,
        scenario: text("scenario")?,
        set: strings(field(m, path, "set")?, &format!("{path}.set"))?,
        vary,
    })
}

/// Labels differ (they name columns and JSON keys); every variant has the `--set` list of the
/// first and varies the same paths in the same order (the printers rely on both).
fn same_settings(variants: &[VariantInfo]) -> Result<(), String> {
    let first = &variants[0];
    let paths = |v: &VariantInfo| v.vary.iter().map(|s| s.path.clone()).collect::<Vec<_>>();
    let mut labels = BTreeSet::new();
    for (i, v) in variants.iter().enumerate() {
        if !labels.insert(v.label.as_str()) {
            return Err(format!(
                "plan.variants[{i}].label: \"{}\" is the label of an earlier variant; labels \
                 differ",
                clip(&v.label)
            ));
        }
        if v.set != first.set {
            return Err(format!(
                "plan.variants[{i}].set: differs from plan.variants[0].set; every variant has \
                 the same --set list"
            ));
        }
        if paths(v) != paths(first) {
            return Err(format!(
                "plan.variants[{i}].vary: varies other paths than plan.variants[0].vary"
            ));
        }
    }
    Ok(())
}

/// Consecutive seeds (what `--seed S --seeds N` makes), at least one, within the run cap.
fn seeds(v: &Value, variants: usize) -> Result<Vec<u64>, String> {
    let list = array(v, "plan.seeds")?;
    let runs = list.len().checked_mul(variants);
    if list.is_empty() || runs.is_none_or(|r| r > MAX_RUNS) {
        return Err(format!(
            "plan.seeds: {} seeds × {variants} variants; a plan has at least one seed and at \
             most {MAX_RUNS} runs",
            list.len()
        ));
    }
    let mut seeds: Vec<u64> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let path = format!("plan.seeds[{i}]");
        let seed = integer(s, &path, 0, u64::MAX)?;
        if let Some(&prev) = seeds.last()
            && prev.checked_add(1) != Some(seed)
        {
            return Err(format!(
                "{path}: {seed} after {prev}; the seeds are consecutive (S, S+1, …)"
            ));
        }
        seeds.push(seed);
    }
    Ok(seeds)
}

/// The shard's jobs: exactly its runs of the plan, in index order, each with its metrics.
fn jobs(v: &Value, plan: &PlanInfo, shard: Shard) -> Result<Vec<JobResult>, String> {
    let list = array(v, "jobs")?;
    let want = plan.jobs(shard);
    if list.len() != want.len() {
        return Err(format!(
            "jobs: {} runs, but shard {shard} of this plan has {}",
            list.len(),
            want.len()
        ));
    }
    list.iter()
        .zip(want)
        .enumerate()
        .map(|(k, (j, want))| job(j, &format!("jobs[{k}]"), want))
        .collect()
}

fn job(v: &Value, path: &str, want: Job) -> Result<JobResult, String> {
    let m = object(v, path)?;
    let number = |key: &str| -> Result<u64, String> {
        integer(field(m, path, key)?, &format!("{path}.{key}"), 0, u64::MAX)
    };
    for (key, got, expected) in [
        ("index", number("index")?, want.index as u64),
        ("variant", number("variant")?, want.variant as u64),
        ("seed", number("seed")?, want.seed),
    ] {
        if got != expected {
            return Err(format!(
                "{path}.{key}: {got}, but this run of the shard has {key} {expected}"
            ));
        }
    }
    let flag = field(m, path, "expect_failed")?;
    let expect_failed = flag
        .as_bool()
        .ok_or_else(|| wrong(&format!("{path}.expect_failed"), "true or false", flag))?;
    let at = format!("{path}.metrics");
    let mut metrics = Metrics::default();
    for (key, x) in object(field(m, path, "metrics")?, &at)? {
        let here = format!("{at}.\"{}\"", clip(key));
        if key.is_empty() {
            return Err(format!("{here}: an empty metric name"));
        }
        let value = x
            .as_f64()
            .filter(|x| x.is_finite() && x.abs() <= MAX_METRIC_ABS)
            .ok_or_else(|| wrong(&here, "a number of magnitude at most 2^64", x))?;
        metrics.push(key.clone(), value);
    }
    Ok(JobResult {
        job: want,
        expect_failed,
        metrics,
    })
}
