//! Times a 6-site matrix-product-state inner product ⟨A|B⟩ written as one 12-operand `einsum!` call
//! against the same work as explicit pairwise `einsum!` calls along the chain, and checks that both
//! give the same number.
//!
//! Run with `cargo run --release --example mps_timing [-- d D]` (physical extent `d`, bond extent
//! `D`; default sweeps a few). Prints the median and minimum of several runs of each route, in
//! microseconds. `-- d D route reps` runs only route 0 (one call) or 1 (pairwise) `reps` times, for
//! a profiler such as `valgrind --tool=callgrind`.

use std::hint::black_box;
use std::time::Instant;

use einsum_runtime::einsum;
use ndarray::{Array, Array2, Array3, Dimension};

/// A deterministic array of the given shape with entries in [-1, 1).
fn filled<D: Dimension>(shape: D, seed: u64) -> Array<f64, D> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array::from_shape_simple_fn(shape, || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    })
}

/// One open-boundary MPS of 6 sites: ends `[d, D]` and `[D, d]`, middles `[D, d, D]`.
struct Mps {
    first: Array2<f64>,
    middle: [Array3<f64>; 4],
    last: Array2<f64>,
}

impl Mps {
    fn new(d: usize, bond: usize, seed: u64) -> Self {
        Mps {
            first: filled(Array2::<f64>::zeros((d, bond)).raw_dim(), seed),
            middle: std::array::from_fn(|i| {
                filled(
                    Array3::<f64>::zeros((bond, d, bond)).raw_dim(),
                    seed + 1 + i as u64,
                )
            }),
            last: filled(Array2::<f64>::zeros((bond, d)).raw_dim(), seed + 9),
        }
    }
}

/// ⟨A|B⟩ as one einsum: physical labels `pqrstu`, bra bonds `abcde`, ket bonds `ABCDE`.
fn one_call(a: &Mps, b: &Mps) -> f64 {
    let [a2, a3, a4, a5] = &a.middle;
    let [b2, b3, b4, b5] = &b.middle;
    einsum!(
        "pa,aqb,brc,csd,dte,eu,pA,AqB,BrC,CsD,DtE,Eu->",
        a.first,
        a2,
        a3,
        a4,
        a5,
        a.last,
        b.first,
        b2,
        b3,
        b4,
        b5,
        b.last
    )
    .into_scalar()
}

/// ⟨A|B⟩ as pairwise calls along the chain: the environment absorbs a bra tensor, then a ket tensor.
fn pairwise(a: &Mps, b: &Mps) -> f64 {
    let mut env = einsum!("pa,pA->aA", a.first, b.first);
    for (x, y) in a.middle.iter().zip(&b.middle) {
        let half = einsum!("aA,aqb->Aqb", env, x);
        env = einsum!("Aqb,AqB->bB", half, y);
    }
    let half = einsum!("aA,au->Au", env, a.last);
    einsum!("Au,Au->", half, b.last).into_scalar()
}

/// The mean time of `reps` calls, in microseconds.
fn time_us(reps: usize, f: &mut impl FnMut() -> f64) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        black_box(f());
    }
    start.elapsed().as_secs_f64() * 1e6 / reps as f64
}

/// Median and minimum over `runs` runs of each route, the runs of the two routes interleaved so
/// that a busy machine slows both alike.
fn compare(
    runs: usize,
    reps: usize,
    mut f: impl FnMut() -> f64,
    mut g: impl FnMut() -> f64,
) -> [(f64, f64); 2] {
    let (mut tf, mut tg) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        tf.push(time_us(reps, &mut f));
        tg.push(time_us(reps, &mut g));
    }
    [tf, tg].map(|mut t| {
        t.sort_by(f64::total_cmp);
        (t[runs / 2], t[0])
    })
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are extents"))
        .collect();
    let sizes = match args.as_slice() {
        // `d D route reps`: only run one route (0: one call, 1: pairwise), for profilers.
        [d, bond, route, reps] => {
            let (a, b) = (Mps::new(*d, *bond, 1), Mps::new(*d, *bond, 100));
            let f = if *route == 0 { one_call } else { pairwise };
            for _ in 0..*reps {
                black_box(f(&a, &b));
            }
            return;
        }
        [d, bond] => vec![(*d, *bond)],
        _ => vec![(2, 16), (2, 32), (4, 32), (2, 64), (16, 8)],
    };
    println!(
        "{:>3} {:>4} {:>22} {:>22} {:>7}",
        "d", "D", "one call µs (median/min)", "pairwise µs (median/min)", "ratio"
    );
    for (d, bond) in sizes {
        let (a, b) = (Mps::new(d, bond, 1), Mps::new(d, bond, 100));
        let (x, y) = (one_call(&a, &b), pairwise(&a, &b));
        assert!(
            (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
            "routes disagree: {x} vs {y}"
        );
        let reps = (2_000_000 / (d * bond * bond * bond)).clamp(3, 2000);
        let [one, two] = compare(21, reps, || one_call(&a, &b), || pairwise(&a, &b));
        println!(
            "{d:>3} {bond:>4} {:>13.1} / {:>7.1} {:>14.1} / {:>7.1} {:>7.2}",
            one.0,
            one.1,
            two.0,
            two.1,
            one.0 / two.0
        );
    }
}
