//! Partial results of `--shard I/N`, and `merge`, which puts them back together.

use serde::{Deserialize, Serialize};

use super::{JobResult, PlanInfo, Shard};

/// What one shard writes: the plan it belongs to, which slice it ran, and its jobs' results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// meshsim version: shards of different versions may not agree, so they do not merge.
    pub meshsim: String,
    pub shard: Shard,
    pub plan: PlanInfo,
    /// In job index order.
    pub jobs: Vec<JobResult>,
}

impl Partial {
    pub fn new(plan: &PlanInfo, shard: Shard, jobs: Vec<JobResult>) -> Partial {
        Partial {
            meshsim: env!("CARGO_PKG_VERSION").to_string(),
            shard,
            plan: plan.clone(),
            jobs,
        }
    }
}

/// Combines partials (`(file name, partial)`, in any order) into the plan and every job's
/// result in index order: exactly what the unsharded command computed. Refuses partials of
/// different versions, plans or shard counts, a shard given twice or missing, and a partial
/// whose jobs are not its shard's.
pub fn merge(parts: Vec<(String, Partial)>) -> Result<(PlanInfo, Vec<JobResult>), String> {
    let Some((first_name, first)) = parts.first() else {
        return Err("merge needs at least one partial result".to_string());
    };
    let (plan, count) = (first.plan.clone(), first.shard.count);
    let mut by_shard: Vec<Option<(String, Vec<JobResult>)>> = vec![None; count as usize];
    for (name, part) in parts.iter().cloned() {
        if part.meshsim != first.meshsim {
            return Err(format!(
                "{name}: made by meshsim {}, but {first_name} by meshsim {}; rerun the shards \
                 with one version",
                part.meshsim, first.meshsim
            ));
        }
        let same_but_files = PlanInfo {
            sources_fnv: plan.sources_fnv.clone(),
            ..part.plan.clone()
        } == plan;
        if part.plan.sources_fnv != plan.sources_fnv && same_but_files {
            return Err(format!(
                "{name}: the scenario files changed since {first_name} was made; rerun every \
                 shard on the same files"
            ));
        }
        if part.plan != plan {
            return Err(format!(
                "{name}: a different {} (other files, settings or seeds) than {first_name}",
                part.plan.command
            ));
        }
        if part.shard.count != count {
            return Err(format!(
                "{name}: shard {} but {first_name} is shard {}: every part must come from the \
                 same --shard I/N split",
                part.shard, first.shard
            ));
        }
        let expected: Vec<usize> = plan.jobs(part.shard).iter().map(|j| j.index).collect();
        let got: Vec<usize> = part.jobs.iter().map(|j| j.job.index).collect();
        let jobs_match = got == expected
            && plan
                .jobs(part.shard)
                .iter()
                .zip(&part.jobs)
                .all(|(want, have)| *want == have.job);
        if !jobs_match {
            return Err(format!(
                "{name}: its runs are not those of shard {} (damaged or edited file?)",
                part.shard
            ));
        }
        let slot = &mut by_shard[(part.shard.index - 1) as usize];
        if let Some((other, _)) = slot {
            return Err(format!(
                "{name}: shard {} is also in {other}; give each shard once",
                part.shard
            ));
        }
        *slot = Some((name, part.jobs));
    }
    let missing: Vec<String> = by_shard
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard{} {} of {} {}: merge needs every shard",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            plan.command,
            if count == 1 { "run" } else { "runs" }
        ));
    }
    let mut jobs: Vec<JobResult> = by_shard
        .into_iter()
        .flatten()
        .flat_map(|(_, jobs)| jobs)
        .collect();
    jobs.sort_by_key(|j| j.job.index);
    Ok((plan, jobs))
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
                (n, serde_json::from_str::<Partial>(&text).unwrap())
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
        assert!(err.contains("shard 2/4 is also in"), "{err}");
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
}
