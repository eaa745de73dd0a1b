use einsum_runtime::einsum;
use ndarray::{s, ArcArray2, Array2, CowArray, Ix2};

fn main() {
    let a = Array2::<f64>::from_shape_fn((4, 4), |(i, j)| (i * 4 + j) as f64);
    let expected = a.dot(&a);
    let by_ref: Array2<f64> = einsum!("ij,jk->ik", &a, &a);
    let by_view: Array2<f64> = einsum!("ij,jk->ik", a.view(), a.view());
    let arc: ArcArray2<f64> = a.to_shared();
    let by_arc: Array2<f64> = einsum!("ij,jk->ik", arc, &arc);
    let cow: CowArray<'_, f64, Ix2> = CowArray::from(a.view());
    let by_cow: Array2<f64> = einsum!("ij,jk->ik", cow, a);
    let view = a.view();
    let by_ref_view: Array2<f64> = einsum!("ij,jk->ik", &view, &&a);
    for c in [by_ref, by_view, by_arc, by_cow, by_ref_view] {
        assert_eq!(c, expected);
    }
    // Strided views, and operands that are expressions (each evaluated once).
    let stepped: Array2<f64> = einsum!("ij->ij", a.slice(s![..;2, ..;-1]));
    assert_eq!(stepped, a.slice(s![..;2, ..;-1]));
    // Operands are borrowed, never moved: `a` is still usable.
    assert_eq!(a.len(), 16);
}
