// `einsum_plan!` checks its pattern as the other macros do.
fn main() {
    let _ = einsum_runtime::einsum_plan!("ij,jk->iz");
    let _ = einsum_runtime::einsum_plan!("ij,jk->ik", a);
}
