//! The default that bites: a service declared only through its endpoint runs on 1 replica ×
//! 1 worker. When such a service is saturated or refuses work, the report says so where the
//! reader looks first, naming the keys to set — a first scenario that comes out "0.0% ok"
//! must not leave its author guessing.

use super::{pct, thousands};
use crate::json::Report;

/// Utilization from which a service counts as saturated.
const SATURATED: f64 = 0.95;

/// One line per service left at the default of one worker (`workers` not set; `replicas` may
/// be unset too) that was saturated or rejected requests, naming the keys to set. A service
/// whose `workers` the author chose is sized on purpose — a lesson's single overloaded server
/// is the point, not a slip — so it gets no warning for its one default replica.
pub fn capacity_warnings(report: &Report) -> Vec<String> {
    report
        .services
        .iter()
        .filter(|(_, s)| s.default_keys.contains(&"workers"))
        .filter(|(_, s)| s.utilization >= SATURATED || s.rejected > 0)
        .map(|(name, s)| {
            let keys: Vec<String> = s
                .default_keys
                .iter()
                .map(|k| format!("service.{name}.{k}"))
                .collect();
            let why = if s.rejected > 0 {
                format!(
                    "{} busy, {} of {} arrivals rejected",
                    pct_of(s.utilization),
                    thousands(s.rejected),
                    thousands(s.arrivals)
                )
            } else {
                format!("{} busy", pct_of(s.utilization))
            };
            format!(
                "warning: service {name} is saturated ({why}) on {} replica(s) x {} worker(s), \
                 the default for {} not set; set {}",
                s.replicas,
                s.workers,
                s.default_keys.join(" and "),
                keys.join(" and ")
            )
        })
        .collect()
}

/// A utilization as a percentage, `100%`.
fn pct_of(utilization: f64) -> String {
    pct((utilization * 1000.0).round() as u64, 1000)
}
