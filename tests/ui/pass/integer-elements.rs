use einsum_runtime::einsum;
use ndarray::{array, Array1};

fn main() {
    let a = array![[1_i64, 2], [3, 4]];
    let v = array![5_i64, 6];
    let av: Array1<i64> = einsum!("ij,j->i", a, v);
    assert_eq!(av, a.dot(&v));
    let b = array![[1_u8, 2], [3, 4]];
    assert_eq!(einsum!("ii->", b).into_scalar(), 5);
}
