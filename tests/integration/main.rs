//! meshsim's integration tests, one module per concern.

mod bad_input;
mod cli;
mod compare;
mod determinism;
mod faults;
mod flows;
mod hunt;
mod limits;
mod loss;
mod memory;
mod messaging;
mod no_samples;
mod outputs;
mod queueing;
mod resilience;
mod scenarios;
mod support;
mod sweep;
mod trace;
mod what_if;
