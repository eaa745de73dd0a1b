use einsum_runtime::einsum;
use ndarray::{Array0, Array2, ArrayD, Array3};

fn main() {
    let a = Array2::<f64>::from_shape_fn((2, 3), |(i, j)| (i + j) as f64);
    let b = Array2::<f64>::from_shape_fn((3, 4), |(i, j)| (i * j) as f64);
    // The labels that occur once, sorted: `ik`.
    let c: Array2<f64> = einsum!("ij,jk", a, b);
    assert_eq!(c, a.dot(&b));
    // Sorted by character code: `ba` gives `ab`, i.e. the transpose.
    let t: Array2<f64> = einsum!("ba", a);
    assert_eq!(t, a.t());
    // A repeated label occurs twice: the trace.
    let m = Array2::<f64>::eye(3);
    let tr: Array0<f64> = einsum!("ii", m);
    assert_eq!(tr.into_scalar(), 3.0);
    // With an ellipsis, the output is dynamic-rank and starts with the ellipsis dimensions.
    let x = Array3::<f64>::ones((5, 2, 3));
    let y: ArrayD<f64> = einsum!("...ij,jk", x, b);
    assert_eq!(y.shape(), &[5, 2, 4]);
}
