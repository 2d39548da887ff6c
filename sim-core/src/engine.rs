//! Runs a model: the World and its event loop. (Being written.)

use std::fmt;

use crate::model::Model;
use crate::results::RunResults;

/// Why a run stopped before its end: a budget from [`crate::model::Limits`] was hit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// More events than `scenario.max_events`.
    TooManyEvents { limit: u64, at_s: String },
    /// More requests and calls in flight than `scenario.max_in_flight`.
    TooManyInFlight { limit: u32, at_s: String },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::TooManyEvents { limit, at_s } => write!(
                f,
                "run stopped at t={at_s}: it handled {limit} events, the limit \
                 scenario.max_events; raise it with --set scenario.max_events=N if the run is \
                 meant to be this long"
            ),
            RunError::TooManyInFlight { limit, at_s } => write!(
                f,
                "run stopped at t={at_s}: {limit} requests and calls were in flight at once, \
                 the limit scenario.max_in_flight; the system is overloaded (arrivals outpace \
                 service, or retries amplify load). Raise it with --set \
                 scenario.max_in_flight=N if that is intended"
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs `model` with master seed `seed` to the end of its drain period.
pub fn run(model: &Model, seed: u64) -> Result<RunResults, RunError> {
    let _ = (model, seed);
    todo!("engine")
}
