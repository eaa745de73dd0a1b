use einsum_runtime::einsum;
use ndarray::Array2;

fn main() {
    let a = Array2::<f64>::zeros((2, 2));
    let _ = einsum!("ij->i,j", a);
}
