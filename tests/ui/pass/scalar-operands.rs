use einsum_runtime::einsum;
use ndarray::{arr0, Array0, Array2};

fn main() {
    let x = arr0(3.0_f64);
    let y = arr0(4.0_f64);
    let p: Array0<f64> = einsum!(",->", x, y);
    assert_eq!(p.into_scalar(), 12.0);
    let a = Array2::<f64>::ones((2, 2));
    let scaled: Array2<f64> = einsum!(",ij->ij", x, a);
    assert_eq!(scaled, Array2::from_elem((2, 2), 3.0));
    let only: Array0<f64> = einsum!("", x);
    assert_eq!(only.into_scalar(), 3.0);
}
