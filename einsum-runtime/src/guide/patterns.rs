//! # The pattern language, for NumPy and PyTorch users
//!
//! If you have written `np.einsum("ij,jk->ik", a, b)` or `torch.einsum("ij,jk->ik", a, b)`, you
//! already know the language: [`einsum!`](crate::einsum) takes the same strings, with the same
//! meaning. What changes is *when* the string is read: while your crate compiles. The last section
//! lists the differences that follow from that, and a few others.
//!
//! # Labels and terms
//!
//! A pattern has one term per operand, separated by commas, then optionally `->` and the output
//! term, for any number of operands. Each letter of a term names one axis of its operand, in order.
//! Labels are `a-z` and `A-Z` (case-sensitive, so 52 in all). Spaces around labels, commas and the
//! arrow are ignored.
//!
//! A label that appears in the output is *free*: it indexes the result. A label that does not is
//! *summed*: the products of the operands' elements are added up over it.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{array, Array1, Array2};
//!
//! let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let b = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
//! let v = array![1.0, 1.0, 2.0];
//!
//! assert_eq!(einsum!("ij,jk->ik", a, b), a.dot(&b)); // matrix product
//! assert_eq!(einsum!("ij,j->i", a, v), a.dot(&v)); // matrix-vector product
//! assert_eq!(einsum!("ij->ji", a), a.t()); // transpose
//! assert_eq!(einsum!("ij->i", a), array![6.0, 15.0]); // row sums
//! assert_eq!(einsum!("i,i->", v, v).into_scalar(), 6.0); // dot product
//! let outer: Array2<f64> = einsum!("i,j->ij", v, v);
//! assert_eq!(outer[[2, 1]], 2.0);
//! let spaced: Array1<f64> = einsum!(" ij , j -> i ", a, v); // spaces are ignored
//! assert_eq!(spaced, a.dot(&v));
//! ```
//!
//! # Implicit output
//!
//! Without `->`, the output is numpy's implicit one: the labels that occur exactly once in the
//! whole pattern, sorted by character code (so upper case before lower case), after the `...`
//! dimensions if any term has them. `"ij,jk"` means `"ij,jk->ik"`; `"ba"` means `"ba->ab"`, a
//! transpose; `"ii"` means `"ii->"`, a trace.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::array;
//!
//! let a = array![[1.0, 2.0], [3.0, 4.0]];
//! assert_eq!(einsum!("ij,jk", a, a), a.dot(&a));
//! assert_eq!(einsum!("ba", a), a.t());
//! assert_eq!(einsum!("bA", a), a.t()); // `A` sorts before `b`
//! assert_eq!(einsum!("ii", a).into_scalar(), 5.0);
//! ```
//!
//! # Scalars are 0-d arrays
//!
//! An empty output (`"ij->"`, or an implicit output with no label left) gives a 0-d array,
//! `Array0<T>`, as `torch.einsum` gives a 0-d tensor; take the number out with
//! [`into_scalar`](ndarray::ArrayBase::into_scalar). A term with no labels takes a 0-d array as its
//! operand, so `",ij->ij"` scales a matrix.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{arr0, array, Array0};
//!
//! let a = array![[1.0, 2.0], [3.0, 4.0]];
//! let total: Array0<f64> = einsum!("ij->", a);
//! assert_eq!(total.into_scalar(), 10.0);
//! assert_eq!(einsum!(",ij->ij", arr0(2.0), a), &a * 2.0);
//! ```
//!
//! # Diagonals
//!
//! A label repeated within one term walks the diagonal of those axes, which must then have the same
//! extent: `"ii->i"` is the diagonal, `"ii->"` the trace, `"iij,jk->ik"` multiplies the diagonal
//! slices of a 3-d array by a matrix.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{array, s, Array3, ArrayView1};
//!
//! let a = array![[1.0, 2.0], [3.0, 4.0]];
//! assert_eq!(einsum!("ii->i", a), array![1.0, 4.0]);
//! assert_eq!(einsum!("ii->", a).into_scalar(), 5.0);
//! let t = Array3::from_shape_fn((2, 2, 2), |(i, j, k)| (4 * i + 2 * j + k) as f64);
//! let d = einsum!("iij,jk->ik", t, a); // row i is t[i, i, :] · a
//! let t11: ArrayView1<f64> = t.slice(s![1, 1, ..]);
//! assert_eq!(d.row(1), t11.dot(&a));
//! ```
//!
//! # Ellipsis
//!
//! `...`, at most once per term, stands for any number of further axes (zero or more). As in numpy,
//! the `...` dimensions of the operands are aligned from the right and broadcast against each other.
//! An output with `...` keeps them; an explicit output without `...` sums them. Patterns with `...`
//! have a rank known only at run time, so their result is an [`ArrayD`](ndarray::ArrayD).
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{Array, ArrayD, IxDyn};
//!
//! // A batch of (2, 1) stacks of 3x4 matrices times a batch of 5 matrices of 4x6:
//! // the `...` dimensions (2, 1) and (5,) broadcast to (2, 5).
//! let a = Array::<f64, _>::ones((2, 1, 3, 4));
//! let b = Array::<f64, _>::ones((5, 4, 6));
//! let c: ArrayD<f64> = einsum!("...ij,...jk->...ik", a, b);
//! assert_eq!(c.shape(), &[2, 5, 3, 6]);
//! assert_eq!(c[IxDyn(&[1, 4, 2, 5])], 4.0);
//!
//! // Without `...` in the output, the `...` dimensions are summed.
//! let x = Array::<f64, _>::ones((2, 3, 4));
//! let s = einsum!("...i->i", x);
//! assert_eq!(s.shape(), &[4]);
//! assert!(s.iter().all(|&v| v == 6.0));
//! ```
//!
//! # Broadcasting of extent 1
//!
//! Every occurrence of a label must have the same extent, except that an axis of extent 1
//! broadcasts against any other extent, as in numpy and PyTorch. This holds for `...` dimensions and
//! for named labels alike.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::array;
//!
//! let row = array![[1.0, 2.0, 3.0]]; // shape (1, 3)
//! let m = array![[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]; // shape (2, 3)
//! // `i` is 1 in `row` and 2 in `m`: `row` is read as if repeated along `i`.
//! assert_eq!(einsum!("ij,ij->ij", row, m), array![[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]);
//! ```
//!
//! # Operands
//!
//! Operands are *borrowed*, never consumed: pass `a` or `&a`. Anything that is an ndarray array of
//! the right element type works: `Array`, `ArrayView`, `ArcArray`, `CowArray` and references to them,
//! with any strides (transposed, sliced, stepped, negative, broadcast), and [`Var`](crate::Var) (then
//! the result is a `Var` that records the operation; see [gradients](super::gradients)). Each
//! operand expression is evaluated exactly once.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{array, s, ArcArray, CowArray};
//!
//! let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let b = einsum!("ij->ji", a); // `a` is borrowed ...
//! assert_eq!(b, a.t()); // ... and still usable
//! let stepped = a.slice(s![.., ..;2]); // a strided view
//! assert_eq!(einsum!("ij->i", stepped), array![4.0, 10.0]);
//! let shared: ArcArray<f64, _> = a.to_shared();
//! let cow = CowArray::from(a.view());
//! assert_eq!(einsum!("ij,ij->", shared, &cow).into_scalar(), 91.0);
//! let mut evaluations = 0;
//! let v = array![1.0, 2.0];
//! let _ = einsum!("i,i->", { evaluations += 1; &v }, v);
//! assert_eq!(evaluations, 1);
//! ```
//!
//! # The output type
//!
//! The result is a new array in standard (row-major) layout, whatever the operands' layouts. Its
//! type comes from the pattern: `Array<T, Ix0>` to `Array<T, Ix6>` when the output has up to six
//! labels and no `...`, and [`ArrayD<T>`](ndarray::ArrayD) when it has `...` or more than six labels
//! (ndarray's fixed dimension types stop at six).
//!
//! Operands with fixed dimension types (`Ix2`, ...) have their rank checked at compile time against
//! their term. An operand of dynamic rank (`IxDyn`) is checked when the call runs, and the result
//! still has the rank the pattern gives it.
//!
//! Element types: `einsum!` and `try_einsum!` take any [`LinalgScalar`](ndarray::LinalgScalar)
//! (floats and integers); gradients ([`einsum_vjp!`](crate::einsum_vjp), [`Var`](crate::Var)) need
//! `f32` or `f64` (the [`Float`](crate::Float) trait). All operands of one call must have the same
//! element type.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::{Array, Array0, Array2, ArrayD, IxDyn};
//!
//! let a = Array2::<i64>::ones((2, 3));
//! let t: Array2<i64> = einsum!("ij->ji", a); // integers work
//! assert!(t.is_standard_layout()); // a new row-major array, not a view
//! let sum: Array0<i64> = einsum!("ij->", a);
//! assert_eq!(sum.into_scalar(), 6);
//!
//! let d = ArrayD::<f64>::ones(IxDyn(&[2, 3])); // dynamic rank: checked at run time
//! let dt: Array2<f64> = einsum!("ij->ji", d);
//! assert_eq!(dt.shape(), &[3, 2]);
//!
//! let big = Array::<f64, _>::ones(IxDyn(&[1, 2, 1, 2, 1, 2, 1]));
//! let seven: ArrayD<f64> = einsum!("abcdefg->gfedcba", big); // more than six labels
//! assert_eq!(seven.shape(), &[1, 2, 1, 2, 1, 2, 1]);
//! ```
//!
//! # Where this crate differs, and why
//!
//! - **The pattern is checked when your crate compiles.** It must be a string literal, and a
//!   malformed pattern, a wrong number of operands, an operand of the wrong (fixed) rank or of a
//!   different element type are compile errors (see [errors](super::errors)). numpy and PyTorch
//!   find these when the call runs. The price: the pattern cannot be built at run time. (Only
//!   [`einsum_path`](crate::einsum_path), which plans but does not compute, parses a pattern at run
//!   time.) Nor is numpy's other calling convention, operands interleaved with lists of axis numbers,
//!   accepted.
//! - **One element type per call.** numpy promotes mixed types (an integer array times a float
//!   array gives floats); here `f32` with `f64` is a compile error that names both types and the
//!   operand. Convert one explicitly, e.g. with `.mapv(|x| x as f64)`. Silent promotion would hide
//!   a copy and a change of precision.
//! - **Scalars are 0-d arrays**, as in PyTorch; numpy returns a NumPy scalar instead. A 0-d array
//!   keeps the result type uniform: every call returns an array of the rank its pattern gives.
//! - **The result type has the pattern's rank**: `Array2` for `"ij,jk->ik"`, checked by the type
//!   system, and `ArrayD` only where the rank depends on the operands (`...`) or exceeds six.
//! - **Operands are borrowed and the result is always new and row-major.** Nothing is copied on the
//!   way in: strided operands are read in place.
//! - **A repeated label broadcasts extent 1 too.** `"ii->i"` on an operand of shape (1, n) reads
//!   row 0, the same rule as for labels in different operands; numpy rejects this.
//! - **There is no `optimize=` switch.** With three or more operands the contraction is always done
//!   pairwise, in the cheapest order for the actual extents (numpy contracts everything in one
//!   loop nest unless asked to optimize). See [what the macro generates](super::generated).
//! - **Gradients come with it**: every pattern's gradients are planned at compile time
//!   ([gradients](super::gradients)).
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::array;
//!
//! let r = array![[1.0, 2.0, 3.0]]; // shape (1, 3)
//! assert_eq!(einsum!("ii->i", r), array![1.0, 2.0, 3.0]); // `i` is 1 and 3: row 0 broadcasts
//! ```
