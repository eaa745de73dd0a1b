//! The 3x4 times 4x5 product `ij,jk->ik` (f64) in a plain loop, for profilers: `einsum!`, the same
//! i-k-j hand loops as `benches/kernels.rs` (result allocated), ndarray's `dot`, and one call of
//! `einsum_vjp!`'s backward closure. Prints the mean time per call.
//!
//! Run with `cargo run --release --example tiny_loop [-- route calls]` (`route`: `einsum`, `hand`,
//! `dot` or `back`; without arguments, each route three times, 2 000 000 calls each, and the fastest
//! run). Under `perf record` or `valgrind --tool=callgrind`, name one route, e.g.
//! `valgrind --tool=callgrind target/release/examples/tiny_loop einsum 100000`.

use std::hint::black_box;
use std::time::Instant;

use einsum_runtime::{einsum, einsum_vjp};
use ndarray::Array2;

/// `ij,jk->ik` by hand, the loops `benches/kernels.rs` times.
#[path = "common/hand_matmul.rs"]
mod common_hand;
use common_hand::hand_matmul as hand;

#[inline(never)]
fn with_einsum(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    einsum!("ij,jk->ik", a, b)
}

#[inline(never)]
fn with_dot(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.dot(b)
}

/// Nanoseconds per call of `route`, over `calls` calls.
fn run(route: &str, calls: usize) -> f64 {
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (i + j) as f64 / 7.0 - 0.5);
    let b = Array2::from_shape_fn((4, 5), |(i, j)| (i * j) as f64 / 11.0 - 0.5);
    let g = Array2::from_shape_fn((3, 5), |(i, j)| (i * 2 + j) as f64 / 13.0 - 0.5);
    let (_, back) = einsum_vjp!("ij,jk->ik", a, b);
    let start = Instant::now();
    for _ in 0..calls {
        match route {
            "einsum" => drop(black_box(with_einsum(black_box(&a), black_box(&b)))),
            "hand" => drop(black_box(hand(black_box(&a), black_box(&b)))),
            "dot" => drop(black_box(with_dot(black_box(&a), black_box(&b)))),
            "back" => drop(black_box(back(black_box(&g)))),
            other => panic!("unknown route {other:?}: einsum, hand, dot or back"),
        }
    }
    start.elapsed().as_nanos() as f64 / calls.max(1) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [route, calls] => {
            let calls = calls.parse().expect("calls: a number");
            println!("{route}: {:.1} ns per call", run(route, calls));
        }
        [] => {
            for route in ["einsum", "hand", "dot", "back"] {
                let best = (0..3)
                    .map(|_| run(route, 2_000_000))
                    .fold(f64::INFINITY, f64::min);
                println!("{route}: {best:.1} ns per call (fastest of 3 runs)");
            }
        }
        _ => panic!("usage: tiny_loop [route calls]"),
    }
}
