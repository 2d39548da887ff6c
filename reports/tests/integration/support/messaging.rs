//! A hand-built model and run with messaging: broker `kafka` holding a queue `email-jobs`
//! (dead letters to the undeclared `email-dlq`), a topic `order.placed` with two consumer
//! groups, and the request queue of a call made `via` the broker; a `broker-down` and a
//! `duplicate` fault. The counts of every queue and group balance like the engine's:
//! `published + duplicates = acknowledged + dead_lettered + queued + in_flight + lost`.

use sim_core::dist::Dist;
use sim_core::model::{
    Broker, BrokerId, Call, Consumer, Destination, Endpoint, EndpointId, Fault, FaultKind, Group,
    LbPolicy, Link, LinkId, Model, Node, Protocol, Publish, Queue, QueueId, QueueRole, Service,
    ServiceId, Topic, TopicId,
};
use sim_core::results::{
    BrokerStats, ChannelStats, FaultStats, MessageStats, RunResults, TopicStats, WorkloadBucket,
    new_latency_histogram,
};
use sim_core::{SimDuration, SimTime};

use super::{bucket, model, results};

const KAFKA: BrokerId = BrokerId(0);

fn link(from: Node, to: Node) -> Link {
    Link {
        from,
        to,
        latency: Dist::zero(),
        loss: 0.0,
    }
}

fn endpoint(name: &str, service: u32, effect: bool, idempotent: bool) -> Endpoint {
    Endpoint {
        name: name.to_string(),
        service: ServiceId(service),
        work: Dist::Const(SimDuration::from_millis(3)),
        fail: 0.0,
        parallel: false,
        calls: vec![],
        routed: vec![],
        publish: vec![],
        effect,
        idempotent,
        version_of: None,
    }
}

fn service(name: &str, endpoints: &[u32]) -> Service {
    Service {
        name: name.to_string(),
        replicas: 2,
        workers: 4,
        default_keys: Vec::new(),
        queue: Some(64),
        lb: LbPolicy::RoundRobin,
        health_check: None,
        endpoints: endpoints.iter().map(|&e| EndpointId(e)).collect(),
        admission: None,
        versions: Vec::new(),
    }
}

/// The consumer `endpoint` of service `service`, whose deliveries cross link `first` and
/// acks link `first + 1`.
fn consumer(endpoint: u32, first_link: u32) -> Consumer {
    Consumer {
        endpoint: EndpointId(endpoint),
        deliver_link: LinkId(first_link),
        ack_link: LinkId(first_link + 1),
    }
}

/// [`model`] with 1 s buckets and messaging:
/// - gateway/checkout also calls pricing/quote via kafka (request queue
///   `requests:pricing/quote`);
/// - order/place publishes to `order.placed` (groups `inventory` -> inventory/reserve, `notify`
///   -> email/notify) and sends to `email-jobs` (consumer email/send, 3 deliveries, then
///   `email-dlq`, which nobody reads);
/// - kafka is down from 20 s for 5 s; `order.placed` duplicates deliveries (rate 0.1) from
///   30 s for 10 s.
pub fn model_with_messaging() -> Model {
    let mut m = model();
    m.name = "orders-async".to_string();
    m.bucket = SimDuration::from_secs(1);
    m.expects.clear();
    // Services 2.. and endpoints 2..: inventory/reserve, email/send, email/notify,
    // pricing/quote.
    m.services.push(service("inventory", &[2]));
    m.services.push(service("email", &[3, 4]));
    m.services.push(service("pricing", &[5]));
    m.endpoints.push(endpoint("reserve", 2, true, false));
    m.endpoints.push(endpoint("send", 3, true, true));
    m.endpoints.push(endpoint("notify", 3, false, true));
    m.endpoints.push(endpoint("quote", 4, false, false));
    // Links 4..: each service to and from the broker.
    let broker = Node::Broker(KAFKA);
    for s in [1, 2, 3, 4, 0] {
        m.links.push(link(broker, Node::Service(ServiceId(s))));
        m.links.push(link(Node::Service(ServiceId(s)), broker));
    }
    // order (links 4, 5) publishes and sends; the broker acks on the way back.
    m.endpoints[1].publish = vec![
        Publish {
            to: Destination::Topic(TopicId(0)),
            link: LinkId(5),
            ack_link: LinkId(4),
        },
        Publish {
            to: Destination::Queue(QueueId(0)),
            link: LinkId(5),
            ack_link: LinkId(4),
        },
    ];
    m.endpoints[0].calls.push(Call {
        to: EndpointId(5),
        link: LinkId(13),
        reply_link: LinkId(12),
        protocol: Protocol::None,
        timeout: Some(SimDuration::from_secs(2)),
        resilience: Default::default(),
        via: Some(QueueId(2)),
        route: None,
        fallback_call: None,
    });
    m.brokers = vec![Broker {
        name: "kafka".to_string(),
        latency: Dist::exp(SimDuration::from_millis(1)),
        capacity_per_s: Some(50_000.0),
        durable: true,
        publish_timeout: SimDuration::from_secs(5),
    }];
    let queue = |name: &str, role, consumer| Queue {
        name: name.to_string(),
        broker: KAFKA,
        role,
        consumer,
        prefetch: 1,
        visibility: SimDuration::from_secs(30),
        max_deliveries: None,
        dead_letter: None,
        keys: None,
    };
    let mut email_jobs = queue("email-jobs", QueueRole::Declared, Some(consumer(3, 8)));
    email_jobs.max_deliveries = Some(3);
    email_jobs.dead_letter = Some(QueueId(1));
    m.queues = vec![
        email_jobs,
        queue("email-dlq", QueueRole::DeadLetter, None),
        queue(
            "requests:pricing/quote",
            QueueRole::Requests,
            Some(consumer(5, 10)),
        ),
    ];
    m.topics = vec![Topic {
        name: "order.placed".to_string(),
        broker: KAFKA,
        partitions: 6,
        keys: Some(100),
        groups: vec![
            Group {
                name: "inventory".to_string(),
                consumer: consumer(2, 6),
            },
            Group {
                name: "notify".to_string(),
                consumer: consumer(4, 8),
            },
        ],
        visibility: SimDuration::from_secs(30),
        max_deliveries: None,
        dead_letter: None,
    }];
    m.faults = vec![
        Fault {
            kind: FaultKind::BrokerDown { broker: KAFKA },
            at: SimDuration::from_secs(20),
            duration: Some(SimDuration::from_secs(5)),
            target: "kafka".to_string(),
        },
        Fault {
            kind: FaultKind::Duplicate {
                to: Destination::Topic(TopicId(0)),
                rate: 0.1,
            },
            at: SimDuration::from_secs(30),
            duration: Some(SimDuration::from_secs(10)),
            target: "order.placed".to_string(),
        },
    ];
    m
}

/// Counts of one queue or group; everything not given is 0.
#[derive(Default)]
pub struct Counts {
    pub published: u64,
    pub redelivered: u64,
    pub duplicates: u64,
    pub acknowledged: u64,
    pub dead_lettered: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub lost: u64,
    pub deduplicated: u64,
    pub duplicate_effects: u64,
    pub out_of_order: u64,
}

/// A queue or group with `counts`, lag spread evenly from 1 ms to `lag_max_ms` over the
/// acknowledged copies (wait a tenth of it), and a depth of `depth` per bucket that rises to
/// `depth_peak` while the broker is down (20–25 s) and drains after it.
pub fn channel(
    name: &str,
    consumer: Option<&str>,
    c: Counts,
    lag_max_ms: u64,
    (depth, depth_peak): (f64, f64),
) -> ChannelStats {
    let mut lag = new_latency_histogram();
    let mut wait = new_latency_histogram();
    for i in 1..=c.acknowledged.min(1_000) {
        let ns = lag_max_ms * 1_000_000 * i / c.acknowledged.min(1_000);
        lag.record(ns).unwrap();
        wait.record(ns / 10).unwrap();
    }
    let depth_buckets: Vec<f64> = (0..60)
        .map(|s| match s {
            0..10 => 0.0,
            20..25 => depth_peak * (s - 19) as f64 / 5.0,
            25..30 => depth_peak * (30 - s) as f64 / 5.0,
            _ => depth,
        })
        .collect();
    let mean_depth = depth_buckets[10..].iter().sum::<f64>() / 50.0;
    let max_depth = depth_buckets.iter().fold(0.0f64, |a, &b| a.max(b)).ceil() as u64;
    ChannelStats {
        name: name.to_string(),
        consumer: consumer.map(str::to_string),
        published: c.published,
        delivered: c.published - c.queued + c.redelivered + c.duplicates,
        redelivered: c.redelivered,
        duplicates: c.duplicates,
        acknowledged: c.acknowledged,
        dead_lettered: c.dead_lettered,
        queued: c.queued,
        in_flight: c.in_flight,
        lost: c.lost,
        deduplicated: c.deduplicated,
        duplicate_effects: c.duplicate_effects,
        out_of_order: c.out_of_order,
        lag,
        wait,
        mean_depth,
        max_depth,
        depth_buckets,
    }
}

/// A run of [`model_with_messaging`]: 12,000 messages published (5,000 to `order.placed`,
/// 4,000 to `email-jobs`, 3,000 pricing requests), 40 publishes refused while kafka was down,
/// 12 emails dead-lettered, duplicates in both groups (applied twice by inventory, which is
/// not idempotent), 7 inventory messages out of order; lag worst at
/// `order.placed/inventory`.
pub fn results_with_messaging() -> RunResults {
    let mut r = results();
    r.scenario = "orders-async".to_string();
    r.bucket = SimDuration::from_secs(1);
    r.workloads[0].buckets = (0..61u64)
        .map(|s| match s {
            10..60 => bucket(200, 0, 0, 100),
            _ => WorkloadBucket::default(),
        })
        .collect();
    let email_jobs = Counts {
        published: 4_000,
        redelivered: 30,
        acknowledged: 3_985,
        dead_lettered: 12,
        queued: 2,
        in_flight: 1,
        ..Counts::default()
    };
    let email_dlq = Counts {
        published: 12,
        queued: 12,
        ..Counts::default()
    };
    let requests = Counts {
        published: 3_000,
        acknowledged: 3_000,
        ..Counts::default()
    };
    let inventory = Counts {
        published: 5_000,
        duplicates: 50,
        acknowledged: 5_050,
        duplicate_effects: 50,
        out_of_order: 7,
        ..Counts::default()
    };
    let notify = Counts {
        published: 5_000,
        duplicates: 45,
        acknowledged: 5_040,
        queued: 3,
        in_flight: 2,
        deduplicated: 45,
        ..Counts::default()
    };
    let queues = vec![
        channel(
            "email-jobs",
            Some("email/send"),
            email_jobs,
            50,
            (1.5, 40.0),
        ),
        channel("email-dlq", None, email_dlq, 0, (12.0, 12.0)),
        channel(
            "requests:pricing/quote",
            Some("pricing/quote"),
            requests,
            4,
            (0.5, 0.0),
        ),
    ];
    let groups = vec![
        channel(
            "inventory",
            Some("inventory/reserve"),
            inventory,
            120,
            (2.0, 250.0),
        ),
        channel("notify", Some("email/notify"), notify, 30, (1.0, 90.0)),
    ];
    let delivered = queues.iter().chain(&groups).map(|c| c.delivered).sum();
    r.messages = MessageStats {
        brokers: vec![BrokerStats {
            name: "kafka".to_string(),
            published: 12_000,
            publish_failed: 40,
            delivered,
            lost: 0,
            utilization: Some(0.0057),
            capacity_per_s: Some(50_000.0),
        }],
        queues,
        topics: vec![TopicStats {
            name: "order.placed".to_string(),
            published: 5_000,
            partitions: 6,
            groups,
        }],
    };
    r.faults = vec![
        FaultStats {
            kind: "broker-down".to_string(),
            target: "kafka".to_string(),
            at: SimDuration::from_secs(20),
            duration: Some(SimDuration::from_secs(5)),
            affected: 40,
            crashes: 0,
        },
        FaultStats {
            kind: "duplicate".to_string(),
            target: "order.placed".to_string(),
            at: SimDuration::from_secs(30),
            duration: Some(SimDuration::from_secs(10)),
            affected: 95,
            crashes: 0,
        },
    ];
    r.sim_time = SimTime(60_500_000_000);
    r
}
