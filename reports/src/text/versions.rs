//! What happened to a service's versions, in the verdict: which were rolled back, and when.

use super::fixed;
use crate::json::Report;

/// `Rolled back: canary of api at 4.90s (its failure ratio passed the bound).`, or `None`
/// when no version was rolled back.
pub(super) fn rollback_sentence(report: &Report) -> Option<String> {
    let rolled: Vec<String> = report
        .services
        .iter()
        .flat_map(|(service, s)| {
            s.versions.iter().filter_map(move |(name, v)| {
                let at = v.rolled_back_at_s?;
                Some(format!("{name} of {service} at {}s", fixed(at, 2)))
            })
        })
        .collect();
    (!rolled.is_empty()).then(|| {
        format!(
            "Rolled back (failure ratio over the bound, weight set to 0): {}.",
            rolled.join("; ")
        )
    })
}
