//! `ij,jk->ik` as one would write it by hand, shared by `examples/tiny_loop.rs` and
//! `benches/kernels.rs` so that both time the same loops.

use ndarray::Array2;

/// i-k-j loops over indexed elements, result allocated.
pub fn hand_matmul(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let ((n, m), p) = (a.dim(), b.ncols());
    let mut c = Array2::zeros((n, p));
    for i in 0..n {
        for k in 0..m {
            let aik = a[[i, k]];
            for j in 0..p {
                c[[i, j]] += aik * b[[k, j]];
            }
        }
    }
    c
}
