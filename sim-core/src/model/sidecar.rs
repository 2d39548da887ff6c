//! `[service.NAME.sidecar]`: a service-mesh proxy co-located with every replica of a service.
//!
//! A sidecar is not a service: it has no workers and no queue (a proxy is concurrent), it
//! lives and dies with its replica, and it is modelled as a delay on every message that passes
//! it plus a policy on the calls its replica makes. The crossings, precisely:
//!
//! - every message (request or reply) of a synchronous call pays `overhead` once at each
//!   sidecar it passes: the caller's on the way out and back in, the callee's on the way in
//!   and back out. A call between two services with sidecars crosses 4 times per attempt; a
//!   call into a service with a sidecar from one without (or from a client) crosses 2 times;
//! - the caller's sidecar applies its own `timeout`, `retries` (with `backoff`, `backoff_max`,
//!   `jitter`, `retry_budget`) and `breaker` to every outbound call, beneath the application's
//!   settings on that call: each application attempt becomes up to 1 + `retries` mesh
//!   attempts, and only the last outcome goes back to the application. Mesh retries are new
//!   messages from the caller's sidecar, so each one crosses it again;
//! - calls made `via` a broker, publishes and message deliveries do not pass the sidecar.

use super::{Resilience, ServiceId};
use crate::dist::Dist;
use crate::time::SimDuration;

/// One service's sidecar: its cost per crossing and its policy on outbound calls.
#[derive(Clone, Debug)]
pub struct Sidecar {
    pub service: ServiceId,
    /// Paid by each message at each crossing of this sidecar (`0` when the key is left out).
    pub overhead: Dist,
    /// Per mesh attempt; `None` waits as long as the application's timeout on the call (a
    /// mesh call nobody waits for then ends, even if its message was lost).
    pub timeout: Option<SimDuration>,
    /// Retries and breaker of the mesh; `bulkhead` and `fallback` are always off (a proxy
    /// neither limits nor answers for its application).
    pub resilience: Resilience,
}

/// The name of a sidecar's random stream for its overheads (`sidecar/NAME`); its backoff
/// jitter has its own (`sidecar/NAME/jitter`), so a policy change leaves the delays alone.
pub fn sidecar_stream_name(service: &str) -> String {
    format!("sidecar/{service}")
}
