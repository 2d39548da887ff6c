//! Dead letters: `dead_letter` names, and the `NAME-dlq` implied by `max_deliveries`,
//! resolved to queues once every queue and topic has been read.
//!
//! A dead letter names a declared queue, or a new name, which creates a queue (role
//! `DeadLetter`, no consumer) on the broker of the first queue or topic naming it, in file
//! order. It must not be its owner itself, a topic, or on another broker than its owner; and
//! no chain of dead letters may lead back to where it started.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{FLOW_PREFIX, Messaging, NO_BROKER, REQUESTS_PREFIX};
use crate::model::{BrokerId, DEFAULT_PREFETCH, DEFAULT_VISIBILITY, Queue, QueueId, QueueRole};
use crate::scenario::Sink;
use crate::scenario::validate::id32;

/// What names a dead letter: the queue or topic (by index) and where.
#[derive(Clone, Copy)]
pub(super) enum Owner {
    Queue(usize),
    Topic(usize),
}

/// A dead letter to resolve once every queue and topic has been read.
pub(super) struct DeadLetterRef {
    pub owner: Owner,
    /// The owner's path, `queue.jobs` or `topic."order.placed"`.
    pub path: String,
    pub name: String,
    pub span: Range<usize>,
    /// Named by `dead_letter` (`true`) or implied by `max_deliveries` (`NAME-dlq`).
    pub explicit: bool,
}

impl Messaging {
    fn owner_broker(&self, owner: Owner) -> BrokerId {
        match owner {
            Owner::Queue(i) => self.queues.get(i).map_or(NO_BROKER, |q| q.broker),
            Owner::Topic(i) => self.topics.get(i).map_or(NO_BROKER, |t| t.broker),
        }
    }

    /// Resolves every dead letter noted so far in file order, creating the undeclared ones,
    /// then checks that no chain of dead letters leads back to where it started. Called once,
    /// after the flows' queues and topics have been added.
    pub(in crate::scenario) fn resolve_dead_letters(&mut self, sink: &mut Sink) {
        let mut refs = std::mem::take(&mut self.dead_letters);
        refs.sort_by_key(|r| r.span.start);
        let mut spans: BTreeMap<usize, Range<usize>> = BTreeMap::new();
        for r in &refs {
            let Some(id) = self.dead_letter(sink, r) else {
                continue;
            };
            match r.owner {
                Owner::Queue(i) => {
                    if let Some(q) = self.queues.get_mut(i) {
                        q.dead_letter = Some(id);
                    }
                    spans.insert(i, r.span.clone());
                }
                Owner::Topic(i) => {
                    if let Some(t) = self.topics.get_mut(i) {
                        t.dead_letter = Some(id);
                    }
                }
            }
        }
        self.check_dead_letter_cycles(sink, &spans);
    }

    /// What is wrong with the dead letter `r` names, if anything.
    fn name_problem(&self, r: &DeadLetterRef) -> Option<String> {
        let name = &r.name;
        if matches!(r.owner, Owner::Queue(i) if self.queues.get(i).is_some_and(|q| &q.name == name))
        {
            Some("names the queue itself; a dead letter must be another queue".to_string())
        } else if self.topics.iter().any(|t| &t.name == name) {
            Some(
                "is a topic; a dead letter is a queue (a declared one, or a new name to create \
                 it)"
                .to_string(),
            )
        } else if name.starts_with(REQUESTS_PREFIX) {
            Some(format!(
                "must not start with \"{REQUESTS_PREFIX}\" (the request queues' prefix)"
            ))
        } else if r.explicit && name.starts_with(FLOW_PREFIX) {
            // Only a flow's own queues imply a dead letter named so.
            Some(format!(
                "must not start with \"{FLOW_PREFIX}\" (the prefix of flows' own queues)"
            ))
        } else if name.is_empty() || name.contains('/') || name.contains("->") || name == "client" {
            Some(
                "is not a usable queue name (it must be non-empty, without '/' or \"->\", and \
                 not \"client\")"
                    .to_string(),
            )
        } else {
            None
        }
    }

    /// The queue `r` names: declared, created earlier, or created now.
    fn dead_letter(&mut self, sink: &mut Sink, r: &DeadLetterRef) -> Option<QueueId> {
        let name = &r.name;
        let said = if r.explicit {
            format!("{}.dead_letter = \"{name}\"", r.path)
        } else {
            format!(
                "{}.max_deliveries without dead_letter dead-letters to \"{name}\", but it",
                r.path
            )
        };
        if let Some(problem) = self.name_problem(r) {
            sink.error(r.span.clone(), format!("{said} {problem}"));
            return None;
        }
        let broker = self.owner_broker(r.owner);
        if let Some(i) = self.queues.iter().position(|q| &q.name == name) {
            let theirs = self.queues[i].broker;
            if theirs != broker && theirs != NO_BROKER && broker != NO_BROKER {
                let msg = format!(
                    "{said} is on broker \"{}\", and {} is on broker \"{}\"; a dead letter must \
                     be on the same broker",
                    self.broker_name(theirs),
                    r.path,
                    self.broker_name(broker)
                );
                sink.error(r.span.clone(), msg);
                return None;
            }
            return Some(QueueId(id32(i)));
        }
        let id = QueueId(id32(self.queues.len()));
        self.queues.push(Queue {
            name: name.clone(),
            broker,
            role: QueueRole::DeadLetter,
            consumer: None,
            prefetch: DEFAULT_PREFETCH,
            visibility: DEFAULT_VISIBILITY,
            max_deliveries: None,
            dead_letter: None,
            keys: None,
        });
        self.consumers.push(None);
        Some(id)
    }

    /// A chain of dead letters that leads back to its start would move a failing message
    /// round for ever; each such cycle is reported once, at its first queue's dead letter.
    fn check_dead_letter_cycles(&self, sink: &mut Sink, spans: &BTreeMap<usize, Range<usize>>) {
        let next = |i: usize| {
            self.queues
                .get(i)
                .and_then(|q| q.dead_letter)
                .map(|d| d.0 as usize)
        };
        for (&start, span) in spans {
            let mut path = vec![start];
            let mut at = next(start);
            while let Some(i) = at {
                if i == start || path.len() > self.queues.len() {
                    break;
                }
                path.push(i);
                at = next(i);
            }
            let closed = at == Some(start);
            if !closed || path.iter().any(|i| *i < start) {
                continue;
            }
            let names: Vec<&str> = path
                .iter()
                .chain([&start])
                .map(|i| self.queues.get(*i).map_or("?", |q| q.name.as_str()))
                .collect();
            let msg = format!(
                "dead-letter cycle: {}; a message that keeps failing would go round for ever",
                names.join(" -> ")
            );
            sink.error(span.clone(), msg);
        }
    }
}
