//! Lossy links: a lost request or a lost reply both end in the caller's timeout.

use crate::support::run;
use sim_core::results::Cause;

const LOSSY_HOP: &str = r#"
[scenario]
name = "lossy-hop"
duration = "1000s"
drain = "5s"

[network]
latency = "exp(1ms)"

[network.link."front->back"]
loss = 0.1          # each way: the request and, separately, the reply

[workload.load]
endpoint = "front/handle"
rate = 200

[service.front]
workers = 64

[service.front.endpoint.handle]
work = "100us"
calls = [{ to = "back/work", timeout = "200ms" }]

[service.back]
workers = 64

[service.back.endpoint.work]
work = "exp(1ms)"
"#;

#[test]
fn ten_percent_loss_each_way_gives_081_success_all_timeouts() {
    // Goal: P(ok) = P(request arrives) * P(reply arrives) = 0.9 * 0.9 = 0.81 within one
    // percentage point over 200,000 requests, and every failure is a timeout.
    let r = run(LOSSY_HOP, 5);
    let w = &r.workloads[0];
    let p_ok = w.ok as f64 / w.sent as f64;
    println!("sent {} ok {} p_ok {p_ok:.4}", w.sent, w.ok);
    assert!(w.sent > 190_000);
    assert!((p_ok - 0.81).abs() < 0.01, "P(ok) = {p_ok}");
    assert_eq!(
        w.failed.total(),
        w.failed.get(Cause::Timeout),
        "all failures are timeouts"
    );
    assert_eq!(
        w.sent,
        w.ok + w.failed.total(),
        "every request accounted for"
    );
    assert_eq!(
        r.calls.timeouts,
        w.failed.total(),
        "one call timeout per failed request"
    );
    // The back end saw only the requests that survived the first crossing.
    let back = r.endpoints.iter().find(|e| e.name == "back/work").unwrap();
    let arrived = back.arrivals as f64 / w.sent as f64;
    assert!(
        (arrived - 0.9).abs() < 0.01,
        "fraction of requests reaching back: {arrived}"
    );
}
