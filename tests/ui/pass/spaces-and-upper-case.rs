use einsum_runtime::einsum;
use ndarray::Array2;

fn main() {
    let a = Array2::<f64>::from_shape_fn((2, 3), |(i, j)| (i + j) as f64);
    let b = Array2::<f64>::from_shape_fn((3, 2), |(i, j)| (i * j) as f64);
    let spaced: Array2<f64> = einsum!(" i j , j k -> i k ", a, b);
    let upper: Array2<f64> = einsum!("Ij,jK->IK", a, b);
    assert_eq!(spaced, a.dot(&b));
    assert_eq!(upper, a.dot(&b));
}
