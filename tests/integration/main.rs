//! meshsim's integration tests, one module per concern.

mod accounting;
mod bad_input;
mod cli;
mod compare;
mod determinism;
mod docs;
mod faults;
mod flows;
mod hunt;
mod limits;
mod loss;
mod memory;
mod messaging;
mod outputs;
mod queueing;
mod resilience;
mod scenarios;
mod support;
mod sweep;
mod trace;
