//! Where one call site sends a request: made with a probability (`p`), to one of weighted
//! targets (`one_of`), and what it calls instead when it fails (`fallback = { to = … }`).
//!
//! Decided per request from the call site's own random stream (`call/SERVICE/ENDPOINT/INDEX`),
//! so adding a `p` to one site leaves every other site's random numbers as they were; a call
//! without these keys has no stream and draws nothing.

/// A call site's draw: whether the call is made and, with `one_of`, which target takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Index of the site's stream among all routed sites (`Model::routes`).
    pub stream: u32,
    /// Probability the call is made at all (1 without `p`).
    pub p: f64,
    /// With `one_of`: every target after the first, as the index of its call among the
    /// endpoint's calls (see `Endpoint::call`), with the cumulative weight share that ends
    /// its slice of [0, 1). The first target is the site's own call, slice [0, `first_share`).
    pub others: Vec<(u16, f64)>,
    /// The first target's share of the weights (1 without `one_of`).
    pub first_share: f64,
}

impl Route {
    /// The call to make for a uniform draw `u` in [0, 1): `None` to skip it, `Some(None)` for
    /// the site's own call, `Some(Some(i))` for another target of `one_of`. One draw decides
    /// both: `u < p` makes the call, and `u / p` (uniform on [0, 1) given that) picks the target.
    pub fn pick(&self, u: f64) -> Option<Option<u16>> {
        if u >= self.p {
            return None;
        }
        let v = u / self.p;
        if v < self.first_share {
            return Some(None);
        }
        let last = self.others.last().map(|&(i, _)| i);
        Some(
            self.others
                .iter()
                .find(|&&(_, end)| v < end)
                .map(|&(i, _)| i)
                .or(last),
        )
    }
}

/// The name of a routed site's random stream.
pub fn route_stream_name(endpoint: &str, index: usize) -> String {
    format!("call/{endpoint}/{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_draw_decides_whether_and_where() {
        // Goal: p skips the top of [0, 1); the rest is split by the weights' shares, the
        // first target first, and a draw at the very top of a share goes to the next target.
        let r = Route {
            stream: 0,
            p: 0.5,
            others: vec![(3, 0.75), (4, 1.0)],
            first_share: 0.5,
        };
        assert_eq!(r.pick(0.6), None);
        assert_eq!(r.pick(0.1), Some(None));
        assert_eq!(r.pick(0.25), Some(Some(3)));
        assert_eq!(r.pick(0.45), Some(Some(4)));
    }
}
