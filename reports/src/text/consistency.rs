//! The consistency answer in words, one paragraph per flow, for the text and the Markdown
//! summaries; and the verdict's headline for a flow that ended inconsistent.
//!
//! The words are for a student, not for the engine: "completed", "rolled back cleanly",
//! "ended half-done", "still in progress"; a half-done breakdown names what stayed applied and,
//! after "not", what did not (`inventory/reserve + shipping/ship, not payment/charge: 412`).
//! Duplicate effects and clients told the wrong outcome are mentioned only when they happened.

use crate::json::{FlowReport, Report, step_label};

use super::{ms, thousands};

/// Sets of steps listed in a half-done breakdown before "… N other sets".
const MAX_SETS: usize = 8;

/// One paragraph per flow, in model order.
pub(crate) fn paragraphs(report: &Report) -> Vec<String> {
    report
        .flows
        .iter()
        .map(|(name, f)| paragraph(name, f))
        .collect()
}

/// `place-order: 9.9% of instances inconsistent.` for every flow with an inconsistent
/// instance, in model order.
pub(crate) fn headlines(report: &Report) -> Vec<String> {
    report
        .flows
        .iter()
        .filter(|(_, f)| f.inconsistent > 0)
        .map(|(name, f)| {
            format!(
                "{name}: {} of instances inconsistent.",
                rate(f.inconsistent, f.started)
            )
        })
        .collect()
}

/// What one flow's instances ended as, then what went wrong (only what happened), then the
/// client's latency next to the time the system took to agree.
fn paragraph(name: &str, f: &FlowReport) -> String {
    let head = format!("{name} ({}):", f.style);
    if f.started == 0 {
        return format!("{head} no instance started.");
    }
    let mut first = format!(
        "{head} of {} started, {} completed and {} {} rolled back cleanly",
        thousands(f.started),
        thousands(f.completed),
        thousands(f.compensated),
        was_were(f.compensated)
    );
    if f.inconsistent == 0 {
        first.push_str("; 0 ended half-done");
    }
    if f.pending > 0 {
        first.push_str(&format!(
            "; {} {} still in progress at the end",
            thousands(f.pending),
            was_were(f.pending)
        ));
    }
    let mut sentences = vec![format!("{first}.")];
    if f.inconsistent > 0 {
        sentences.push(half_done(f));
    }
    if f.duplicate_effects > 0 {
        let n = f.duplicate_effects;
        sentences.push(format!(
            "{} {} applied twice (a step that is not idempotent ran again for the same \
             instance).",
            thousands(n),
            if n == 1 { "effect was" } else { "effects were" }
        ));
    }
    if f.client_mismatch > 0 {
        let n = f.client_mismatch;
        sentences.push(format!(
            "{} {} told the wrong outcome: ok for an instance that did not complete, or \
             failed while its effects remain.",
            thousands(n),
            if n == 1 { "client was" } else { "clients were" }
        ));
    }
    sentences.push(timing(f));
    sentences.join(" ")
}

/// `1,187 ended half-done — the system disagrees with itself: A + C, not B: 412; …`.
fn half_done(f: &FlowReport) -> String {
    let lead = format!(
        "{} ended half-done — the system disagrees with itself",
        thousands(f.inconsistent)
    );
    if f.left_applied_masks.is_empty() {
        return format!("{lead}.");
    }
    let labels = f.step_labels();
    let mut sets: Vec<String> = f
        .left_applied_masks
        .iter()
        .take(MAX_SETS)
        .map(|&(mask, n)| format!("{}: {}", applied_phrase(&labels, mask), thousands(n)))
        .collect();
    let rest = &f.left_applied_masks[f.left_applied_masks.len().min(MAX_SETS)..];
    if !rest.is_empty() {
        let n: u64 = rest.iter().map(|&(_, n)| n).sum();
        sets.push(format!("… {} other sets: {}", rest.len(), thousands(n)));
    }
    format!("{lead}: {}.", sets.join("; "))
}

/// `inventory/reserve + shipping/ship, not payment/charge`: the steps left applied, then each
/// step that was not, in step order.
fn applied_phrase(labels: &[String], mask: u32) -> String {
    let steps = labels.len().max(32 - mask.leading_zeros() as usize);
    let (applied, not): (Vec<usize>, Vec<usize>) = (0..steps).partition(|&i| mask & (1 << i) != 0);
    let mut phrase = if applied.is_empty() {
        "nothing applied".to_string()
    } else {
        applied
            .iter()
            .map(|&i| step_label(labels, i))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    for i in not {
        phrase.push_str(&format!(", not {}", step_label(labels, i)));
    }
    phrase
}

/// `Clients waited p50 14.2 ms; the system agreed p50 14.9 ms after the start.`
fn timing(f: &FlowReport) -> String {
    let client = f
        .latency_ms
        .p50
        .map(|p50| format!("clients waited p50 {} ms", ms(p50)));
    let agreed = f
        .consistency_ms
        .p50
        .map(|p50| format!("the system agreed p50 {} ms after the start", ms(p50)));
    let sentence = match (client, agreed) {
        (Some(c), Some(a)) => format!("{c}; {a}."),
        (Some(c), None) => format!("{c}; no instance started after warmup settled."),
        (None, Some(a)) => format!("no client was answered ok; {a}."),
        (None, None) => {
            "no client was answered ok and no instance started after warmup settled.".to_string()
        }
    };
    capitalise(&sentence)
}

/// `part` of `whole` as a percentage with one decimal, never rounded to 0% or 100% when it
/// is neither: `9.9%`, `<0.1%`, `>99.9%`.
fn rate(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    if part == 0 || part == whole {
        return format!("{}%", part * 100 / whole);
    }
    let p = part as f64 * 100.0 / whole as f64;
    if p < 0.05 {
        "<0.1%".to_string()
    } else if p > 99.95 {
        ">99.9%".to_string()
    } else {
        format!("{p:.1}%")
    }
}

fn was_were(n: u64) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a rate is never printed as 0% or 100% unless it is exactly that.
    #[test]
    fn rates_keep_their_side_of_zero_and_one_hundred() {
        assert_eq!(rate(1_187, 12_000), "9.9%");
        assert_eq!(rate(1, 100_000), "<0.1%");
        assert_eq!(rate(99_999, 100_000), ">99.9%");
        assert_eq!(rate(0, 5), "0%");
        assert_eq!(rate(5, 5), "100%");
        assert_eq!(rate(0, 0), "-");
    }

    // Goal: the phrase lists the applied steps, then each missing one after "not", in step
    // order.
    #[test]
    fn applied_phrase_names_what_stayed_and_what_did_not() {
        let labels: Vec<String> = ["inventory/reserve", "payment/charge", "shipping/ship"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            applied_phrase(&labels, 0b101),
            "inventory/reserve + shipping/ship, not payment/charge"
        );
        assert_eq!(
            applied_phrase(&labels, 0b001),
            "inventory/reserve, not payment/charge, not shipping/ship"
        );
    }
}
