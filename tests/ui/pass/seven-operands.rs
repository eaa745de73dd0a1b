use einsum_runtime::einsum;
use ndarray::{Array1, Array2};

fn main() {
    let m = Array2::<f64>::from_shape_fn((3, 3), |(i, j)| 1.0 + (i + 2 * j) as f64 * 0.25);
    let v = Array1::<f64>::from_shape_fn(3, |i| i as f64 - 1.0);
    let chained: Array1<f64> = einsum!("ab,bc,cd,de,ef,fg,g->a", m, m, m, m, m, m, v);
    let expected = m.dot(&m).dot(&m).dot(&m).dot(&m).dot(&m).dot(&v);
    for (x, y) in chained.iter().zip(&expected) {
        assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0));
    }
}
