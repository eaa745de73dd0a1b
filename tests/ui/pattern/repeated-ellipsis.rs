use einsum_runtime::einsum;
use ndarray::Array3;

fn main() {
    let a = Array3::<f64>::zeros((2, 2, 2));
    let _ = einsum!("...i...->i", a);
}
