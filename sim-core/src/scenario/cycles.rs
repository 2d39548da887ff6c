//! Sync call cycles: an endpoint that (indirectly) calls itself would wait for itself forever,
//! holding a worker at every hop, so such scenarios are rejected.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::ops::Range;

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::Sink;

/// Endpoint ids and their calls. Fixed-key hashing; iteration follows insertion order.
type Graph = DiGraphMap<u32, (), BuildHasherDefault<DefaultHasher>>;

/// One call from endpoint `from` to endpoint `to` (dense endpoint ids), located at `span`.
pub(super) struct CallEdge {
    pub from: u32,
    pub to: u32,
    pub span: Range<usize>,
}

/// Reports every cycle of sync calls, naming its endpoints (`names[id]`), at the first call
/// (in file order) that leaves the cycle's first endpoint.
pub(super) fn check(sink: &mut Sink, edges: &[CallEdge], names: &[String]) {
    let mut graph = Graph::default();
    let mut spans: BTreeMap<(u32, u32), Range<usize>> = BTreeMap::new();
    for e in edges {
        graph.add_edge(e.from, e.to, ());
        spans
            .entry((e.from, e.to))
            .or_insert_with(|| e.span.clone());
    }
    for scc in tarjan_scc(&graph) {
        let Some(cycle) = cycle_in(&graph, &scc) else {
            continue;
        };
        let name = |id: &u32| names.get(*id as usize).map_or("?", String::as_str);
        let text: Vec<&str> = cycle.iter().map(name).collect();
        let first_hop = (cycle[0], cycle.get(1).copied().unwrap_or(cycle[0]));
        let span = spans.get(&first_hop).cloned().unwrap_or(0..0);
        let msg = format!(
            "sync call cycle: {}; a synchronous call chain must not lead back to an endpoint \
             already waiting in it",
            text.join(" -> ")
        );
        sink.error(span, msg);
    }
}

/// A closed path `[a, b, …, a]` through the strongly connected component `scc`, starting at
/// its lowest id, or `None` if the component is a single node without a self-call.
fn cycle_in(graph: &Graph, scc: &[u32]) -> Option<Vec<u32>> {
    let start = *scc.iter().min()?;
    if scc.len() == 1 {
        return graph
            .contains_edge(start, start)
            .then(|| vec![start, start]);
    }
    // Shortest path from `start` back to itself, staying inside the component.
    let mut parent: BTreeMap<u32, u32> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors(node) {
            if next == start {
                // Walk the parents back from `node`, then reverse into call order.
                let mut path = vec![start];
                let mut at = node;
                while at != start {
                    path.push(at);
                    at = *parent.get(&at)?;
                }
                path.push(start);
                path.reverse();
                return Some(path);
            }
            if scc.contains(&next) && !parent.contains_key(&next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycles(edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut g = Graph::default();
        for (a, b) in edges {
            g.add_edge(*a, *b, ());
        }
        let mut out: Vec<Vec<u32>> = tarjan_scc(&g)
            .iter()
            .filter_map(|s| cycle_in(&g, s))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn finds_self_calls_and_longer_cycles_in_call_order() {
        // Goal: cycles are named in the direction calls go, from the lowest endpoint id.
        assert_eq!(cycles(&[(0, 1), (1, 2)]), Vec::<Vec<u32>>::new());
        assert_eq!(cycles(&[(3, 3)]), vec![vec![3, 3]]);
        assert_eq!(cycles(&[(0, 1), (1, 0)]), vec![vec![0, 1, 0]]);
        assert_eq!(cycles(&[(4, 2), (2, 3), (3, 4)]), vec![vec![2, 3, 4, 2]]);
    }
}
