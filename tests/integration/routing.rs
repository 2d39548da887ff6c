//! Where a request goes (issue #13) through the command line: the cache-aside lesson is
//! deterministic, and `graph` and `trace` show draws, weights and fallback calls.

use crate::support::meshsim;

#[test]
fn cache_aside_same_seed_same_bytes() {
    // Goal: a scenario whose calls draw (p) and fall back to other calls prints the same JSON
    // bytes on every run with the same seed, and other bytes with another seed.
    let file = "scenarios/cache-aside.toml";
    let a = meshsim(&["run", file, "--json", "--seed", "5"]);
    let b = meshsim(&["run", file, "--json", "--seed", "5"]);
    let c = meshsim(&["run", file, "--json", "--seed", "6"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "same seed, different bytes");
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn graph_labels_p_weights_and_fallbacks() {
    // Goal: `graph` draws a p call with its probability, each one_of target as an edge with
    // its share of the weights, and a fallback call as a dashed edge.
    let dir = crate::support::scratch_dir("routing-graph");
    let file = dir.join("s.toml");
    std::fs::write(
        &file,
        r#"
[scenario]
name = "g"
duration = "1s"
[workload.w]
endpoint = "front/get"
rate = 1
[service.front.endpoint.get]
calls = [
  { to = "db/get", p = 0.1 },
  { one_of = [{ to = "a/x", weight = 3 }, { to = "b/x", weight = 1 }] },
  { to = "a/x", fallback = { to = "b/x", timeout = "1s" } },
]
[service.db.endpoint.get]
[service.a.endpoint.x]
[service.b.endpoint.x]
"#,
    )
    .unwrap();
    let out = meshsim(&["graph", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.contains(r"db/get, none, no timeout\np 0.1"), "{dot}");
    assert!(
        dot.contains(r"a/x, none, no timeout\nweight 75.0%"),
        "{dot}"
    );
    assert!(
        dot.contains(r"b/x, none, no timeout\nweight 25.0%"),
        "{dot}"
    );
    assert!(
        dot.contains(r#"get fallback ->\nb/x, none, timeout 1s", style=dashed"#),
        "{dot}"
    );
}

#[test]
fn trace_shows_the_target_a_request_drew_and_its_fallback() {
    // Goal: a failed naive read of the lesson shows its failed cache call, then the fallback
    // call to the database in its place, named as a fallback.
    let out = meshsim(&["trace", "scenarios/cache-aside.toml", "--failed", "--text"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let cache = text.find("front-naive/get -> cache-naive/get -> error");
    let db = text.find("front-naive/get -> db-naive/get (fallback) -> rejected");
    assert!(cache.is_some() && db.is_some() && cache < db, "{text}");
}
