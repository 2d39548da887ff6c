//! Tests of the printers, one module per concern. Results and models are built by hand, so
//! these tests do not depend on the parser or the engine.

mod expect;
mod flows;
mod graph;
mod json;
mod messaging;
mod outputs;
mod snapshots;
mod support;
mod text;
