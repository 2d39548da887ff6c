//! meshsim's engine: virtual time, seeded randomness, the event kernel, the model of
//! services, links and workloads, and the scenario parser that builds it.
//!
//! sim-core reads no files and knows no terminal: it turns scenario text into a [`Model`]
//! and a model plus a seed into [`RunResults`].

pub mod dist;
pub mod engine;
pub mod kernel;
pub mod model;
pub mod rate;
pub mod results;
pub mod rng;
pub mod scenario;
pub mod time;
pub mod trace;

pub use engine::{Progress, RunError, run, run_with_progress, trace};
pub use model::Model;
pub use results::RunResults;
pub use scenario::{
    Diagnostic, Diagnostics, NoSideFiles, Override, SideFiles, closest, parse_scenario,
    parse_scenario_with,
};
pub use time::{SimDuration, SimTime};
