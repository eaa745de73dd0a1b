use einsum_runtime::einsum;
use ndarray::Array1;

fn main() {
    let _: Array1<f64> = einsum!();
}
