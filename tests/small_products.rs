//! The small-product kernel (`einsum-runtime`'s register tiles for `f32`/`f64` products of at most
//! 32³ multiply-adds): every size around the tile edges (4 rows, 8 or 16 columns), each operand in
//! every memory layout (so `b` is read in place or copied into a panel, on the stack or the heap;
//! operands in the same layout and in different ones),
//! a destination whose columns are not contiguous (`->ki`), and batches; and GEMM-shaped steps
//! whose result has more than six axes (a dynamic dimension type), forward and gradients. Results
//! are compared with the naive reference einsum of `common::reference`, gradients with finite
//! differences.

mod common;

use common::{
    checks::{check_gradients_directional, check_shapes, same_dim, IntoGradVec},
    elem::*,
    rng::*,
    shapes::ShapeOpts,
};
use einsum_runtime::{einsum, einsum_vjp};
use ndarray::{ArrayD, ArrayViewD};

/// Sizes on both sides of every tile edge, and up to the kernel's limit; with 6 and 14, every width
/// of the last, part vector of a tile row (1 to 7 `f32` lanes, 1 to 3 `f64` lanes) is stored.
const SIDES: [usize; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 16, 17];

fn matmul<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,jk->ik", ops[0], ops[1]).into_dyn()
}

fn matmul_out_transposed<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("ij,jk->ki", ops[0], ops[1]).into_dyn()
}

fn batched<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("bij,bjk->bik", ops[0], ops[1]).into_dyn()
}

fn every_size<T: Elem>(seed: &str) {
    let mut rng = Rng::new(seed_of(seed));
    for m in SIDES {
        for k in SIDES {
            for n in SIDES {
                check_shapes::<T>("ij,jk->ik", matmul, &[vec![m, k], vec![k, n]], &mut rng);
            }
        }
    }
}

#[test]
fn every_size_around_the_tile_edges_f64() {
    every_size::<f64>("small f64");
}

#[test]
fn every_size_around_the_tile_edges_f32() {
    every_size::<f32>("small f32");
}

#[test]
fn destination_with_strided_columns_and_batches() {
    let mut rng = Rng::new(seed_of("small strided"));
    for (m, k, n) in [(4, 5, 8), (5, 9, 17), (8, 16, 16), (3, 4, 5)] {
        check_shapes::<f64>(
            "ij,jk->ki",
            matmul_out_transposed,
            &[vec![m, k], vec![k, n]],
            &mut rng,
        );
        check_shapes::<f32>(
            "ij,jk->ki",
            matmul_out_transposed,
            &[vec![m, k], vec![k, n]],
            &mut rng,
        );
        check_shapes::<f64>(
            "bij,bjk->bik",
            batched,
            &[vec![3, m, k], vec![3, k, n]],
            &mut rng,
        );
        check_shapes::<f32>(
            "bij,bjk->bik",
            batched,
            &[vec![3, m, k], vec![3, k, n]],
            &mut rng,
        );
    }
}

#[test]
fn long_sums_copy_the_panel_to_the_heap() {
    // 256 elements of the panel fit on the stack (`PANEL`): k = 100 with up to 8 (f64) or 16 (f32)
    // columns does not, whenever `b`'s columns are not contiguous.
    let mut rng = Rng::new(seed_of("small heap"));
    for (m, k, n) in [(3, 100, 9), (4, 100, 16), (1, 300, 20)] {
        check_shapes::<f64>("ij,jk->ik", matmul, &[vec![m, k], vec![k, n]], &mut rng);
        check_shapes::<f32>("ij,jk->ik", matmul, &[vec![m, k], vec![k, n]], &mut rng);
    }
}

/// A GEMM-shaped step whose result has eight axes: `abcdefg` (rows) times `h` (columns), summed
/// over `z`.
const RANK8: &str = "abcdefgz,zh->abcdefgh";

fn rank8<T: Elem>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    einsum!("abcdefgz,zh->abcdefgh", ops[0], ops[1]).into_dyn()
}

fn rank8_vjp(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
    let (z, back) = einsum_vjp!("abcdefgz,zh->abcdefgh", ops[0], ops[1]);
    let grads = back(&same_dim(&z, g));
    (z.into_dyn(), grads.into_grad_vec())
}

#[test]
fn gemm_results_of_more_than_six_axes() {
    // 128 rows, 16 columns: a sum of 16 is a small product (the register tiles), of 40 one for the
    // `gemm` crate; the layouts of `check_shapes` make the row group merge or not (packed).
    let mut rng = Rng::new(seed_of(RANK8));
    for z in [16, 40] {
        let shapes = [vec![2, 2, 2, 2, 2, 2, 2, z], vec![z, 16]];
        check_shapes::<f64>(RANK8, rank8, &shapes, &mut rng);
        check_shapes::<f32>(RANK8, rank8, &shapes, &mut rng);
    }
    let opts = [16, 40].map(|z| {
        ShapeOpts::new(2, 2)
            .fixed(&format!("z={z} h=16"))
            .budget(usize::MAX, 0)
    });
    check_gradients_directional(RANK8, rank8_vjp, &opts);
}
