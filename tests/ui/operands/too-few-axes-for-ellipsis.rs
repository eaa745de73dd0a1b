use einsum_runtime::einsum;
use ndarray::Array1;

fn main() {
    let a = Array1::<f64>::zeros(2);
    let _ = einsum!("...ij->...", a);
}
