use ndarray::Array2;

fn main() {
    let a = Array2::<i32>::zeros((2, 2));
    let _ = einsum_runtime::einsum_vjp!("ij->", a);
}
