use einsum_runtime::einsum;

fn main() {
    let a = vec![1.0_f64, 2.0];
    let _ = einsum!("i->", a);
}
