//! Partial results of `--shard I/N`, and `merge`, which puts them back together.

mod reader;

use std::collections::BTreeMap;

use serde::Serialize;

use super::{JobResult, PlanInfo, Shard};

pub use reader::{MAX_METRIC_ABS, read_partial};

/// How many missing shards a refusal lists before "and N more".
const MISSING_LISTED: usize = 5;

/// What one shard writes: the plan it belongs to, which slice it ran, its jobs' results and a
/// checksum of all three. Read back with [`read_partial`], which checks every field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Partial {
    /// meshsim version: shards of different versions may not agree, so they do not merge.
    pub meshsim: String,
    pub shard: Shard,
    pub plan: PlanInfo,
    /// In job index order.
    pub jobs: Vec<JobResult>,
    /// FNV-1a (64 bits, hex) of `shard`, `plan` and `jobs` as compact JSON: a metric deleted
    /// or changed in the file no longer matches, so a damaged partial cannot merge into a
    /// wrong figure.
    pub content_fnv: String,
}

impl Partial {
    pub fn new(plan: &PlanInfo, shard: Shard, jobs: Vec<JobResult>) -> Partial {
        Partial {
            meshsim: env!("CARGO_PKG_VERSION").to_string(),
            shard,
            content_fnv: content_fnv(&shard, plan, &jobs),
            plan: plan.clone(),
            jobs,
        }
    }
}

/// The checksum of a partial's content (see [`Partial::content_fnv`]). Floats print in
/// their shortest round-trip form and are read back exactly (`float_roundtrip`), so the
/// checksum of a file read back is the checksum it was written with.
pub(crate) fn content_fnv(shard: &Shard, plan: &PlanInfo, jobs: &[JobResult]) -> String {
    #[derive(Serialize)]
    struct Content<'a> {
        shard: &'a Shard,
        plan: &'a PlanInfo,
        jobs: &'a [JobResult],
    }
    let bytes = serde_json::to_vec(&Content { shard, plan, jobs }).unwrap_or_default();
    super::fnv_hex(std::iter::once(bytes.as_slice()))
}

/// Combines partials (`(file name, partial)`, in any order) into the plan and every job's
/// result in index order: exactly what the unsharded command computed. Refuses partials of
/// another version than this meshsim, of different plans or shard counts, a shard given twice
/// or missing, and a partial whose jobs are not its shard's. Memory and time follow the jobs
/// given, never the shard count a file claims.
pub fn merge(parts: Vec<(String, Partial)>) -> Result<(PlanInfo, Vec<JobResult>), String> {
    let Some((first_name, first)) = parts.first() else {
        return Err("merge needs at least one partial result".to_string());
    };
    let (plan, count) = (first.plan.clone(), first.shard.count);
    let version = env!("CARGO_PKG_VERSION");
    let mut by_shard: BTreeMap<u32, (String, Vec<JobResult>)> = BTreeMap::new();
    for (name, part) in parts.iter().cloned() {
        if part.meshsim != version {
            return Err(format!(
                "{name}: meshsim: made by meshsim {}, but this is meshsim {version}; merge \
                 with the version that ran the shards",
                reader::clip(&part.meshsim)
            ));
        }
        let same_but_files = PlanInfo {
            sources_fnv: plan.sources_fnv.clone(),
            ..part.plan.clone()
        } == plan;
        if part.plan.sources_fnv != plan.sources_fnv && same_but_files {
            return Err(format!(
                "{name}: plan.sources_fnv: the scenario files changed since {first_name} was \
                 made; rerun every shard on the same files"
            ));
        }
        if part.plan != plan {
            return Err(format!(
                "{name}: plan: a different {} (other files, settings or seeds) than {first_name}",
                reader::clip(&part.plan.command)
            ));
        }
        if part.shard.count != count || part.shard.index == 0 || part.shard.index > count {
            return Err(format!(
                "{name}: shard: {} but {first_name} is shard {}: every part must come from the \
                 same --shard I/N split",
                part.shard, first.shard
            ));
        }
        let expected = plan.jobs(part.shard);
        let jobs_match = expected.len() == part.jobs.len()
            && expected.iter().zip(&part.jobs).all(|(w, h)| *w == h.job);
        if !jobs_match {
            return Err(format!(
                "{name}: jobs: its runs are not those of shard {} (damaged or edited file?)",
                part.shard
            ));
        }
        if let Some((other, _)) = by_shard.get(&part.shard.index) {
            return Err(format!(
                "{name}: shard {}: also in {other}; give each shard once",
                part.shard
            ));
        }
        by_shard.insert(part.shard.index, (name, part.jobs));
    }
    missing_shards(&by_shard, count, &plan.command)?;
    let mut jobs: Vec<JobResult> = by_shard.into_values().flat_map(|(_, jobs)| jobs).collect();
    jobs.sort_by_key(|j| j.job.index);
    Ok((plan, jobs))
}

/// Refuses a set of shards with gaps, listing the first few missing ones.
fn missing_shards<T>(seen: &BTreeMap<u32, T>, count: u32, command: &str) -> Result<(), String> {
    let missing = count as usize - seen.len();
    if missing == 0 {
        return Ok(());
    }
    let listed: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .take(MISSING_LISTED)
        .map(|i| format!("{i}/{count}"))
        .collect();
    let more = if missing > listed.len() {
        format!(" and {} more", missing - listed.len())
    } else {
        String::new()
    };
    Err(format!(
        "missing shard{} {}{more} of {} {}: merge needs every shard",
        if missing == 1 { "" } else { "s" },
        listed.join(", "),
        reader::clip(command),
        if count == 1 { "run" } else { "runs" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::many::{Metrics, VariantInfo};

    fn plan() -> PlanInfo {
        PlanInfo {
            command: "compare".into(),
            variants: ["a", "b"]
                .iter()
                .map(|l| VariantInfo {
                    label: l.to_string(),
                    file: format!("{l}.toml"),
                    scenario: l.to_string(),
                    set: vec![],
                    vary: vec![],
                })
                .collect(),
            seeds: vec![1, 2, 3],
            sources_fnv: "0123456789abcdef".into(),
            baseline: 0,
        }
    }

    fn part(plan: &PlanInfo, shard: Shard) -> (String, Partial) {
        let jobs = plan
            .jobs(shard)
            .into_iter()
            .map(|job| {
                let mut metrics = Metrics::default();
                metrics.push("x".into(), job.index as f64 / 7.0);
                JobResult {
                    job,
                    expect_failed: false,
                    metrics,
                }
            })
            .collect();
        (format!("part{shard}"), Partial::new(plan, shard, jobs))
    }

    // Goal: shards merged in any order give the unsharded job list, and survive JSON.
    #[test]
    fn shards_merge_back_in_index_order() {
        let p = plan();
        let whole = part(&p, Shard::ALL).1.jobs;
        let mut parts: Vec<_> = (1..=4)
            .rev()
            .map(|i| part(&p, Shard { index: i, count: 4 }))
            .map(|(n, part)| {
                let text = serde_json::to_string(&part).unwrap();
                (n.clone(), read_partial(&n, &text).unwrap())
            })
            .collect();
        let (info, jobs) = merge(parts.clone()).unwrap();
        assert_eq!(info, p);
        assert_eq!(jobs, whole);
        parts.pop();
        let err = merge(parts.clone()).unwrap_err();
        assert!(err.contains("missing shard 1/4"), "{err}");
        parts.push(part(&p, Shard { index: 2, count: 4 }));
        let err = merge(parts).unwrap_err();
        assert!(err.contains("shard 2/4: also in"), "{err}");
    }

    // Goal: parts of different plans or splits do not merge.
    #[test]
    fn mismatched_parts_are_refused() {
        let p = plan();
        let mut q = plan();
        q.seeds = vec![1, 2];
        let err = merge(vec![
            part(&p, Shard { index: 1, count: 2 }),
            part(&q, Shard { index: 2, count: 2 }),
        ])
        .unwrap_err();
        assert!(err.contains("a different compare"), "{err}");
        let mut edited = plan();
        edited.sources_fnv = "fedcba9876543210".into();
        let err = merge(vec![
            part(&p, Shard { index: 1, count: 2 }),
            part(&edited, Shard { index: 2, count: 2 }),
        ])
        .unwrap_err();
        assert!(err.contains("scenario files changed"), "{err}");
        let err = merge(vec![
            part(&p, Shard { index: 1, count: 2 }),
            part(&p, Shard { index: 2, count: 3 }),
        ])
        .unwrap_err();
        assert!(err.contains("same --shard I/N split"), "{err}");
    }

    // Goal: a shard count far above the jobs (2^32-1, as a hand edit made it) costs nothing:
    // no slot per shard is allocated, and the refusal lists five missing shards, then a count.
    #[test]
    fn huge_shard_counts_give_a_short_refusal() {
        let mut p = plan();
        p.variants.truncate(1);
        p.seeds.truncate(1);
        for count in [10_000_000, u32::MAX] {
            let err = merge(vec![part(&p, Shard { index: 1, count })]).unwrap_err();
            let more = count as u64 - 6;
            assert!(
                err.starts_with(&format!(
                    "missing shards 2/{count}, 3/{count}, 4/{count}, 5/{count}, 6/{count} and \
                     {more} more of compare runs"
                )),
                "{err}"
            );
            assert!(err.len() < 200, "{err}");
        }
    }

    // Goal: what the reader refuses before any merge: a partial whose checksum no longer
    // matches (a metric edited), and one of another meshsim version.
    #[test]
    fn edited_or_foreign_partials_are_refused() {
        let p = plan();
        let (name, good) = part(&p, Shard { index: 1, count: 2 });
        let text = serde_json::to_string(&good).unwrap();
        assert_eq!(read_partial(&name, &text).unwrap(), good);
        let edited = text.replacen(":0.0", ":0.5", 1);
        assert_ne!(edited, text);
        let err = read_partial(&name, &edited).unwrap_err();
        assert!(err.starts_with("part1/2: content_fnv: "), "{err}");
        let mut foreign = good.clone();
        foreign.meshsim = "0.0.1".into();
        let err = merge(vec![(name, foreign)]).unwrap_err();
        assert!(err.contains("meshsim: made by meshsim 0.0.1"), "{err}");
    }
}
