//! Transposes and permuting copies large enough for `einsum-runtime`'s blocked planes (128 x 128
//! blocks of 8 x 8 tiles, each read along the operand's contiguous side and written along the
//! result's): pure permutations write each element once (`exec::permute`), permutations that also
//! sum a label add plane by plane into zeros (`kernel::add_plane`). Sizes on both sides of the tile
//! and block edges, every memory layout, against the naive reference of `common::reference`. `f32`
//! and `f64` take the tiled planes compiled in the runtime, `i64` the plain blocked loops that other
//! element types are compiled with.

mod common;

use common::{checks::check_shapes, elem::*, rng::*};
use einsum_runtime::einsum;
use ndarray::{ArrayD, ArrayViewD};

const SIDES: [usize; 7] = [3, 4, 8, 9, 16, 129, 260];

fn transpose<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij->ji", ops[0]).into_dyn()
}

fn permute3<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("abc->cab", ops[0]).into_dyn()
}

fn sum_and_transpose<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("aij->ji", ops[0]).into_dyn()
}

fn every_size<T: Elem>(seed: &str) {
    let mut rng = Rng::new(seed_of(seed));
    for m in SIDES {
        for n in SIDES {
            check_shapes::<T>("ij->ji", transpose, &[vec![m, n]], &mut rng);
        }
    }
    for shape in [[2, 9, 17], [3, 8, 8], [2, 130, 12]] {
        check_shapes::<T>("abc->cab", permute3, &[shape.to_vec()], &mut rng);
        check_shapes::<T>("aij->ji", sum_and_transpose, &[shape.to_vec()], &mut rng);
    }
    for shape in [[2, 129, 260], [1, 260, 9]] {
        check_shapes::<T>("aij->ji", sum_and_transpose, &[shape.to_vec()], &mut rng);
    }
}

#[test]
fn transposes_f32() {
    every_size::<f32>("transposes f32");
}

#[test]
fn transposes_f64() {
    every_size::<f64>("transposes f64");
}

#[test]
fn transposes_i64() {
    every_size::<i64>("transposes i64");
}

/// Results of 4 MiB and more are allocated with the advice to back them with huge pages
/// (`kernel::advise_huge_pages`): advice only, so they hold the same values as small ones. A
/// 32 MiB transpose and outer product (the sizes glibc always maps fresh), and a summed
/// transpose, against ndarray.
#[test]
fn results_large_enough_for_huge_pages() {
    use ndarray::{Array1, Array2};
    let a = Array2::from_shape_fn((2048, 2048), |(i, j)| (i * 3 + j * 7) as f64);
    assert_eq!(einsum!("ij->ji", &a), a.t().as_standard_layout());
    let (x, y) = (
        Array1::from_shape_fn(2048, |i| i as f64),
        Array1::from_shape_fn(2048, |j| (j % 5) as f64),
    );
    let outer = Array2::from_shape_fn((2048, 2048), |(i, j)| x[i] * y[j]);
    assert_eq!(einsum!("i,j->ij", &x, &y), outer);
    // A result that the loops accumulate into zeros (8 MiB): the zeroed allocation gets the advice.
    let b = ndarray::Array3::from_shape_fn((2, 1024, 1024), |(k, i, j)| (k + i * 5 + j) as f64);
    let want = b
        .sum_axis(ndarray::Axis(0))
        .t()
        .as_standard_layout()
        .into_owned();
    assert_eq!(einsum!("aij->ji", &b), want);
}
