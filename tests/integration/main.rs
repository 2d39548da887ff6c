//! meshsim's integration tests, one module per concern.

mod bad_input;
mod caps;
mod cli;
mod compare;
mod determinism;
mod faults;
mod flows;
mod footprint;
mod hunt;
mod limits;
mod loss;
mod memory;
mod merge;
mod merge_fuzz;
mod messaging;
mod out_dir;
mod outputs;
mod queueing;
mod resilience;
mod scenarios;
mod shedding;
mod shrink;
mod stdout;
mod support;
mod sweep;
mod trace;
