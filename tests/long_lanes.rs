//! Sums, dot products and elementwise products over long lanes: `f32`/`f64` reductions over at
//! least 64 contiguous elements run in `einsum-runtime`'s vector loops (four vector accumulators,
//! then the tail; from 32 KiB on, four streams of two accumulators each) when the CPU has AVX2
//! and FMA (512-bit registers with AVX-512F), and a contiguous elementwise product is one lane. Products that sum nothing (elementwise, broadcast and outer
//! products) over lanes of at least 32 elements with strides 0 or 1 run in 256-bit AVX loops: an
//! unaligned first vector, aligned stores from the row's first 32-byte boundary (four vectors a
//! step, then one), an unaligned last vector: rows of every length, so every alignment of a row's
//! start and every remainder. Lengths on both sides of the threshold and of every accumulator
//! boundary, in every memory layout, against the naive reference of `common::reference`; strided
//! reductions (a trace, a product summed against a transposed operand) at the same lengths.

mod common;

use common::{checks::check_shapes, elem::*, rng::*};
use einsum_runtime::einsum;
use ndarray::{ArrayD, ArrayViewD};

/// Around the thresholds (64 for sums, 32 for products) and the step of four vectors (16 `f64`s and
/// 32 `f32`s in 256-bit registers, 32 and 64 in 512-bit ones), and whole vectors short of it.
const LENGTHS: [usize; 14] = [1, 31, 33, 40, 47, 56, 63, 64, 65, 95, 127, 128, 129, 1000];

fn sum<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("i->", ops[0]).into_dyn()
}

fn dot<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("i,i->", ops[0], ops[1]).into_dyn()
}

fn row_sums<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij->i", ops[0]).into_dyn()
}

fn row_dots<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,ij->i", ops[0], ops[1]).into_dyn()
}

fn products<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("i,i->i", ops[0], ops[1]).into_dyn()
}

fn row_products<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,ij->ij", ops[0], ops[1]).into_dyn()
}

fn outer<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("i,j->ij", ops[0], ops[1]).into_dyn()
}

fn scaled_rows<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,i->ij", ops[0], ops[1]).into_dyn()
}

fn scaled_columns<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("i,ij->ij", ops[0], ops[1]).into_dyn()
}

fn broadcast_rows<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,j->ij", ops[0], ops[1]).into_dyn()
}

fn trace<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ii->", ops[0]).into_dyn()
}

fn crossed_dot<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,ji->", ops[0], ops[1]).into_dyn()
}

fn every_length<T: Elem>(seed: &str) {
    let mut rng = Rng::new(seed_of(seed));
    for n in LENGTHS {
        check_shapes::<T>("i->", sum, &[vec![n]], &mut rng);
        check_shapes::<T>("i,i->", dot, &[vec![n], vec![n]], &mut rng);
        check_shapes::<T>("ij->i", row_sums, &[vec![3, n]], &mut rng);
        check_shapes::<T>("ij,ij->i", row_dots, &[vec![3, n], vec![3, n]], &mut rng);
        check_shapes::<T>("i,i->i", products, &[vec![n], vec![n]], &mut rng);
        check_shapes::<T>(
            "ij,ij->ij",
            row_products,
            &[vec![3, n], vec![3, n]],
            &mut rng,
        );
        // Products that sum nothing, row by row: `a` or `b` a splat (stride 0) or a lane.
        check_shapes::<T>("i,j->ij", outer, &[vec![5], vec![n]], &mut rng);
        check_shapes::<T>("ij,i->ij", scaled_rows, &[vec![5, n], vec![5]], &mut rng);
        check_shapes::<T>("i,ij->ij", scaled_columns, &[vec![5], vec![5, n]], &mut rng);
        check_shapes::<T>("ij,j->ij", broadcast_rows, &[vec![5, n], vec![n]], &mut rng);
        // Strided reductions (four running sums, then the tail).
        if n <= 129 {
            check_shapes::<T>("ii->", trace, &[vec![n, n]], &mut rng);
            check_shapes::<T>("ij,ji->", crossed_dot, &[vec![2, n], vec![n, 2]], &mut rng);
        }
    }
}

/// Around the length from which `f32`/`f64` sums and dot products read four streams (256 steps of
/// four vectors: 4096 `f64`s or 8192 `f32`s in 256-bit registers, twice that in 512-bit ones),
/// with rests that are whole steps, whole vectors or neither, and lanes several blocks long.
const STREAMED: [usize; 9] = [4095, 4096, 4097, 8191, 8192, 8229, 16_384, 16_411, 70_001];

fn streamed_lengths<T: Elem>(seed: &str) {
    let mut rng = Rng::new(seed_of(seed));
    for n in STREAMED {
        check_shapes::<T>("i->", sum, &[vec![n]], &mut rng);
        check_shapes::<T>("i,i->", dot, &[vec![n], vec![n]], &mut rng);
        check_shapes::<T>("ij->i", row_sums, &[vec![2, n]], &mut rng);
    }
}

#[test]
fn streamed_lanes_f64() {
    streamed_lengths::<f64>("streamed lanes f64");
}

#[test]
fn streamed_lanes_f32() {
    streamed_lengths::<f32>("streamed lanes f32");
}

#[test]
fn long_lanes_f64() {
    every_length::<f64>("long lanes f64");
}

#[test]
fn long_lanes_f32() {
    every_length::<f32>("long lanes f32");
}

#[test]
fn long_lanes_i64() {
    every_length::<i64>("long lanes i64");
}

/// A long `f32` sum is pairwise: `ij->` over a contiguous 2048² array is one lane of 4 Mi
/// elements, read as four streams (its quarters) summed in blocks of 1024 per stream (2048 in
/// 512-bit registers) whose sums are added in halves,
/// so it stays within two ulps of the exact sum (the sum of the row sums, rounded twice, within
/// four). (A running sum per vector lane, which is what `BLOCK_STEPS = 1 << 40` in
/// `einsum-runtime/src/kernel.rs` gives, was 8e-4 off here: near 13 million, an `f32` has no
/// fraction left to add `100.3`'s.)
#[test]
fn long_f32_sums_are_pairwise() {
    let n = 2048;
    let a = ndarray::Array2::from_shape_fn((n, n), |(i, j)| {
        100.3 + ((i * n + j) * 7919 % 1000) as f32 * 1e-4
    });
    let exact: f64 = a.iter().map(|&x| f64::from(x)).sum();
    let relative = |got: f32| ((f64::from(got) - exact) / exact).abs();
    let ones = ndarray::Array2::<f32>::ones((n, n));
    // Two ulps for one pairwise sum; the sum of the row sums rounds twice (each row sum within two
    // ulps of its row, then their sum within two ulps of the sum of the rounded rows), so four.
    // On an AVX2 machine it was 3.2 ulps off, on an AVX-512 one under two.
    let ulps = |n: f64| n * f64::from(f32::EPSILON);
    let cases = [
        (
            "ij->",
            relative(einsum!("ij->", &a).into_scalar()),
            ulps(2.0),
        ),
        (
            "ij,ij-> with ones",
            relative(einsum!("ij,ij->", &a, &ones).into_scalar()),
            ulps(2.0),
        ),
        (
            "ij->i, then i->",
            relative(einsum!("i->", &einsum!("ij->i", &a)).into_scalar()),
            ulps(4.0),
        ),
    ];
    for (what, err, bound) in cases {
        assert!(err <= bound, "{what}: relative error {err:e}");
    }
    // Each row sum on its own: a row is one contiguous lane, summed in vector registers (running
    // down the columns instead added each element to a running sum: 7.7e-7 off here).
    let rows = einsum!("ij->i", &a);
    for (i, row) in a.outer_iter().enumerate() {
        let exact: f64 = row.iter().map(|&x| f64::from(x)).sum();
        let err = ((f64::from(rows[i]) - exact) / exact).abs();
        assert!(
            err <= 2.0 * f64::from(f32::EPSILON),
            "row {i} of ij->i: relative error {err:e}"
        );
    }
}
