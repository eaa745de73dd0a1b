// A crate that forbids `unsafe` can use every macro on arrays and `Var`s: expansions contain none.
// (ndarray's own `s!` macro allows `unsafe_code`, so this file slices without it.)
#![forbid(unsafe_code)]

use einsum_runtime::{einsum, einsum_vjp, try_einsum, Var};
use ndarray::{Array1, Array2, Array3, Axis};

fn main() {
    let a = Array2::<f64>::ones((3, 4));
    let b = Array2::<f64>::ones((4, 5));
    let w = Array3::<f64>::ones((2, 3, 4));
    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    let t = try_einsum!("ii->", a.dot(&a.t())).unwrap();
    let (z, back) = einsum_vjp!("ij,cij->ij", a, w);
    let (ga, gw) = back(&z);
    let chain: Array2<f64> = einsum!("ij,jk,kl->il", a, b, b.t());
    let batched = einsum!("...ij,...jk->...ik", a, b);
    let x = Var::new(a.clone().into_dyn());
    let loss = einsum!("ij,jk->", x, b);
    loss.backward();
    let v: Array1<f64> = einsum!("i,i->i", ga.row(0), gw.index_axis(Axis(0), 0).row(0));
    assert!(t.into_scalar() > 0.0 && x.grad().is_some() && chain.len() == 12 && c.len() == 15);
    assert_eq!((batched.len(), v.len()), (15, 4));
}
