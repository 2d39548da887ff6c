//! `[service.NAME.sidecar]`: `overhead` (a distribution, paid per crossing; default 0) and the
//! mesh's policy on outbound calls: `timeout`, `retries`, `backoff`, `backoff_max`, `jitter`,
//! `retry_budget`, `breaker`, read exactly as a call's (same ranges, same messages), so the
//! two layers cannot differ in what a key means.

use super::Sink;
use super::raw::RawFile;
use super::resilience::read_resilience;
use super::validate::{id32, read_timeout};
use super::values::seg;
use crate::dist::Dist;
use crate::model::{ServiceId, Sidecar};

/// Every service's sidecar, in service order.
pub(super) fn read_sidecars(sink: &mut Sink, raw: &RawFile) -> Vec<Sidecar> {
    let mut out = Vec::new();
    for (i, (key, s)) in raw.service.0.iter().enumerate() {
        let Some(sidecar) = &s.sidecar else { continue };
        let c = sidecar.get_ref();
        let path = format!("service.{}.sidecar", seg(key.get_ref()));
        let overhead = sink
            .dist(&c.overhead, &format!("{path}.overhead"))
            .unwrap_or_else(Dist::zero);
        let timeout = read_timeout(sink, &c.timeout, &format!("{path}.timeout"));
        let resilience = read_resilience(sink, c.into(), &path);
        out.push(Sidecar {
            service: ServiceId(id32(i)),
            overhead,
            timeout,
            resilience,
        });
    }
    out
}
