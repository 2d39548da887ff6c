//! The broker's view of its consumer replicas: which slot takes the next message.
//!
//! The broker sees a crash at once (the consumer's connection drops), not through health
//! checks. Which slots can take a message is kept indexed (`Channel::open` per queue,
//! `Brokers::up` per service reading a topic partition), updated when a slot's unacked count
//! or its replica's state changes, so a dispatch never scans the consumer replicas.

use super::World;

impl<'m> World<'m> {
    /// A message that arrives while every consumer replica is down waits for them: the crash
    /// that took them down counts it among what it hit.
    pub(super) fn blame_consumer_crash(&mut self, service: crate::model::ServiceId) {
        let s = service.0 as usize;
        if self.balancers[s].crashed == self.model.services[s].replicas {
            let first = self.replica_base[s] as usize;
            self.affected[self.replicas[first].down_by as usize] += 1;
        }
    }

    /// A consumer slot with room: for a partition, the first replica that is up from the
    /// partition's own (one message at a time); for a queue, the next replica round-robin
    /// with fewer than `cap` unacked copies.
    pub(super) fn free_slot(&mut self, ch: u32, service: usize) -> Option<(u32, u32)> {
        let base = self.replica_base[service];
        let n = self.model.services[service].replicas;
        let c = &mut self.brokers.channels[ch as usize];
        if let Some(p) = c.partition {
            if c.unacked[0] > 0 {
                return None;
            }
            let up = self.brokers.up[service]
                .as_ref()
                .expect("kept for partitions");
            return up.next_cyclic(p % n).map(|i| (0, base + i));
        }
        let found = c.open.next_cyclic(c.next)?;
        c.next = (found + 1) % n;
        Some((found, base + found))
    }

    /// Slot `slot` of channel `ch` changed (its unacked count or its replica): whether it
    /// has room now.
    pub(super) fn slot_changed(&mut self, ch: u32, slot: u32) {
        let c = &mut self.brokers.channels[ch as usize];
        let Some(consumer) = c.consumer else { return };
        if c.partition.is_some() {
            return;
        }
        let r = self.replica_base[consumer.service.0 as usize] + slot;
        let open = self.replicas[r as usize].serves() && c.unacked[slot as usize] < c.cap;
        c.open.set(slot, open);
    }

    /// Replica `r` crashed or restarted: the channels its service consumes learn it.
    pub(super) fn consumer_changed(&mut self, r: usize) {
        let s = self.replicas[r].service.0 as usize;
        let i = r as u32 - self.replica_base[s];
        if let Some(up) = &mut self.brokers.up[s] {
            up.set(i, self.replicas[r].serves());
        }
        for k in 0..self.brokers.consumed[s].len() {
            let ch = self.brokers.consumed[s][k];
            self.slot_changed(ch, i);
        }
    }

    /// Replica `r` is back: its service's channels may dispatch again.
    pub(super) fn consumer_back(&mut self, r: usize) {
        self.consumer_changed(r);
        let s = self.replicas[r].service.0 as usize;
        for k in 0..self.brokers.consumed[s].len() {
            let ch = self.brokers.consumed[s][k];
            self.dispatch(ch);
        }
    }
}
