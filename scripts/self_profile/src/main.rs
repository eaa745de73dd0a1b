//! Sums the self time of rustc's queries from a `-Zself-profile` run, by query or by query and item.
//!
//! ```sh
//! cd target/compile-probe && touch probe2_vjp/src/lib.rs
//! RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 cargo rustc -q -p probe2_vjp -- \
//!     -Zself-profile=/tmp/prof -Zself-profile-events=default,query-keys
//! cargo run --release --manifest-path scripts/self_profile/Cargo.toml -- \
//!     /tmp/prof/probe2_vjp-<pid> kernels
//! ```
//!
//! The second argument picks the report:
//! - `queries`: self time and count per query label, largest first;
//! - `items QUERY`: self time per item of one query (`typeck`, `mir_borrowck`, ...);
//! - `events LABEL...`: each event of those labels, with its thread, start and duration (to see how
//!   the codegen units share the threads: `events LLVM_module_optimize LLVM_lto_optimize`);
//! - `window FROM_MS TO_MS`: self time per label of the events that start in that stretch of the
//!   build (milliseconds after its first event, as `events` prints them);
//! - `kernels`: the self time of `typeck` and `mir_borrowck` for the items that the macros generate,
//!   in the probes of `scripts/compile_time.py`: forward kernels, gradient functions and the call
//!   sites (`pNN` for `einsum!`, `vNN` for `einsum_vjp!`), as docs/benchmarks.md, section 2, sums
//!   them.
//!
//! Self time: an event's duration less that of the events nested in it on the same thread.

use std::collections::HashMap;
use std::path::Path;

use analyzeme::{ProfilingData, Timestamp};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: self-profile-summary PROFILE (queries | items QUERY | kernels | events LABEL... | window FROM_MS TO_MS)";
    let profile = args.get(1).expect(usage);
    let data = ProfilingData::new(Path::new(profile)).expect("a -Zself-profile file stem");
    let times = self_times(&data);
    match args.get(2).map(String::as_str) {
        Some("queries") => {
            let mut by_label: HashMap<&str, (u128, u64)> = HashMap::new();
            for ((label, _), &(t, n)) in &times {
                let e = by_label.entry(label).or_default();
                e.0 += t;
                e.1 += n;
            }
            print_sorted(by_label.into_iter().map(|(k, v)| (k.to_owned(), v)));
        }
        Some("items") => {
            let query = args.get(3).expect(usage);
            print_sorted(
                times
                    .iter()
                    .filter(|((label, _), _)| label == query)
                    .map(|((_, item), &v)| (item.clone(), v)),
            );
        }
        Some("kernels") => {
            let mut by_kind: HashMap<String, (u128, u64)> = HashMap::new();
            for ((label, item), &(t, n)) in &times {
                if label != "typeck" && label != "mir_borrowck" {
                    continue;
                }
                if let Some(kind) = kind(item) {
                    let e = by_kind.entry(format!("{label} {kind}")).or_default();
                    e.0 += t;
                    e.1 += n;
                }
            }
            print_sorted(by_kind.into_iter());
        }
        Some("window") => {
            let ms = |i: usize| -> u128 {
                let v: f64 = args.get(i).expect(usage).parse().expect("milliseconds");
                (v * 1e6) as u128
            };
            print_window(&data, ms(3), ms(4));
        }
        Some("events") => {
            let labels: Vec<&str> = args[3..].iter().map(String::as_str).collect();
            print_events(&data, &labels);
        }
        _ => panic!("{usage}"),
    }
}

/// Every event whose label is in `labels`: its thread, start (ms from the first event of any label)
/// and duration, in order of start.
fn print_events(data: &ProfilingData, labels: &[&str]) {
    let mut rows = Vec::new();
    let mut first = u128::MAX;
    for event in data.iter_full() {
        let Some((start, end)) = interval(&event) else {
            continue;
        };
        first = first.min(start);
        if labels.contains(&&*event.label) {
            let detail = event.additional_data.join(",");
            rows.push((start, end, event.thread_id, event.label.to_string(), detail));
        }
    }
    rows.sort();
    for (start, end, thread, label, detail) in &rows {
        let ms = |t: u128| (t - first) as f64 / 1e6;
        println!(
            "thread {thread:3} {:9.1} ms +{:8.1} ms {label} {detail}",
            ms(*start),
            (end - start) as f64 / 1e6
        );
    }
}

/// Self time per label of the events that start between `from` and `to` (ns after the first event),
/// on any thread: what rustc did in that stretch of a build (for example the part of
/// `generate_crate_metadata` before the monomorphization collector).
fn print_window(data: &ProfilingData, from: u128, to: u128) {
    let mut first = u128::MAX;
    for event in data.iter_full() {
        if let Timestamp::Interval { start, .. } = event
            .payload
            .timestamp()
            .unwrap_or(Timestamp::Instant(std::time::UNIX_EPOCH))
        {
            first = first.min(
                start
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos(),
            );
        }
    }
    let times = self_times_in(data, |start| (first + from..first + to).contains(&start));
    let mut by_label: HashMap<String, (u128, u64)> = HashMap::new();
    for ((label, _), (t, n)) in times {
        let e = by_label.entry(label).or_default();
        e.0 += t;
        e.1 += n;
    }
    print_sorted(by_label.into_iter());
}

/// An event's start and end, in ns since the epoch; `None` for an instant event.
fn interval(event: &analyzeme::Event<'_>) -> Option<(u128, u128)> {
    let ns = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    match event.payload.timestamp()? {
        Timestamp::Interval { start, end } => Some((ns(start), ns(end))),
        _ => None,
    }
}

/// Self time (ns) and count per (query label, item).
fn self_times(data: &ProfilingData) -> HashMap<(String, String), (u128, u64)> {
    self_times_in(data, |_| true)
}

/// [`self_times`] of the events whose start (ns since the epoch) `keep` accepts.
fn self_times_in(
    data: &ProfilingData,
    keep: impl Fn(u128) -> bool,
) -> HashMap<(String, String), (u128, u64)> {
    let mut by_thread: HashMap<u32, Vec<(u128, u128, (String, String))>> = HashMap::new();
    for event in data.iter_full() {
        let Some((start, end)) = interval(&event) else {
            continue;
        };
        if !keep(start) {
            continue;
        }
        let key = (event.label.to_string(), event.additional_data.join(","));
        by_thread
            .entry(event.thread_id)
            .or_default()
            .push((start, end, key));
    }
    let mut times: HashMap<(String, String), (u128, u64)> = HashMap::new();
    for mut events in by_thread.into_values() {
        // Outer events first; an event nests in the one below it on the stack while it ends first.
        events.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut stack: Vec<(u128, u128, (String, String), u128)> = Vec::new();
        let mut close = |stack: &mut Vec<(u128, u128, (String, String), u128)>, until: u128| {
            while stack.last().is_some_and(|top| top.1 <= until) {
                let (start, end, key, nested) = stack.pop().expect("not empty");
                let e = times.entry(key).or_default();
                e.0 += (end - start).saturating_sub(nested);
                e.1 += 1;
                if let Some(parent) = stack.last_mut() {
                    parent.3 += end - start;
                }
            }
        };
        for (start, end, key) in events {
            close(&mut stack, start);
            stack.push((start, end, key, 0));
        }
        close(&mut stack, u128::MAX);
    }
    times
}

/// The class of a generated item of the probes, or `None` for other items.
fn kind(item: &str) -> Option<String> {
    let call = item.split("::").find(|p| {
        p.len() == 3
            && (p.starts_with('p') || p.starts_with('v'))
            && p[1..].bytes().all(|b| b.is_ascii_digit())
    })?;
    let macro_name = if call.starts_with('p') {
        "einsum!"
    } else {
        "einsum_vjp!"
    };
    let what = if item.ends_with("__einsum_forward") {
        "forward kernels"
    } else if item
        .rsplit("::")
        .next()
        .is_some_and(|last| last.starts_with("__einsum_grad"))
    {
        "gradient functions"
    } else if item.ends_with(call) {
        "call sites"
    } else {
        return None;
    };
    Some(format!("{macro_name} {what}"))
}

fn print_sorted(rows: impl Iterator<Item = (String, (u128, u64))>) {
    let mut rows: Vec<_> = rows.collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0));
    for (key, (t, n)) in rows {
        println!("{:10.1} ms {n:7} {key}", t as f64 / 1e6);
    }
}
