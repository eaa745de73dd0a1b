//! `ij,ij->ij` on two 256x256 `f64` matrices, `einsum!` against ndarray's `&a * &b`, measured in
//! one process: 200 rounds, each timing a block of 50 `einsum!` calls and then a block of 50
//! `&a * &b` calls. Prints the median and fastest time per call of each, and the median over the
//! rounds of the per-round ratio `einsum! / &a * &b` (below 1: `einsum!` is faster). Pairing the
//! blocks in time cancels most of a shared machine's drift, which moves separate criterion runs of
//! this memory-bound product by ±15 %.
//!
//! Run with `cargo run --release --example paired_hadamard [-- side]` (`side` defaults to 256).

use std::hint::black_box;
use std::time::Instant;

use einsum_runtime::einsum;
use ndarray::Array2;

const ROUNDS: usize = 200;
const CALLS: usize = 50;

/// The mean time per call, in nanoseconds, of `CALLS` calls of `f`.
fn block<R>(mut f: impl FnMut() -> R) -> f64 {
    let t = Instant::now();
    for _ in 0..CALLS {
        black_box(f());
    }
    t.elapsed().as_nanos() as f64 / CALLS as f64
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().expect("the side is a positive integer"),
        None => 256,
    };
    let a = Array2::from_shape_fn((n, n), |(i, j)| (i * 7 + j) as f64 * 0.01);
    let b = Array2::from_shape_fn((n, n), |(i, j)| (i + j * 3) as f64 * 0.02);
    assert_eq!(einsum!("ij,ij->ij", &a, &b), &a * &b);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(block(|| einsum!("ij,ij->ij", black_box(&a), black_box(&b))));
        theirs.push(block(|| black_box(&a) * black_box(&b)));
    }
    let mut ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(x, y)| x / y).collect();
    let ratio = median(&mut ratios);
    let (om, tm) = (median(&mut ours), median(&mut theirs));
    println!(
        "{n}x{n} f64, {ROUNDS} rounds of {CALLS} calls: einsum! median {:.1} µs (fastest {:.1}), \
         &a * &b median {:.1} µs (fastest {:.1}); median ratio einsum! / &a * &b = {ratio:.3}",
        om / 1e3,
        ours[0] / 1e3,
        tm / 1e3,
        theirs[0] / 1e3,
    );
}
