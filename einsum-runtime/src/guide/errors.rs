//! # Errors, at compile time and at run time
//!
//! Everything the pattern alone decides is checked when your crate compiles; what depends on the
//! operands' extents (and the ranks of dynamic-rank operands) is checked when the call runs, before
//! any arithmetic.
//!
//! # At compile time
//!
//! A malformed pattern is a compile error on the pattern literal. The message repeats the pattern
//! with a caret under the culprit. For `einsum!("ij,j!->ik", a, a)`:
//! "invalid character `!` in einsum pattern: labels are `a-z` and `A-Z`", with the caret under
//! the `!`.
//!
//! ```compile_fail
//! use einsum_runtime::einsum;
//! let a = ndarray::Array2::<f64>::zeros((2, 2));
//! let _ = einsum!("ij,j!->ik", a, a);
//! ```
//!
//! The other pattern errors work the same way: a lone `-` or `>` or a second `->`; dots that are
//! not exactly `...`, or `...` twice in a term; an output label that no operand has ("label `z`
//! appears in the output but in no operand"), or one repeated in the output ("label `i` appears
//! more than once in the output"); a pattern that is not a string literal.
//!
//! ```compile_fail
//! use einsum_runtime::einsum;
//! let a = ndarray::Array2::<f64>::zeros((2, 2));
//! let _ = einsum!("ij,jk->iz", a, a);
//! ```
//!
//! The number of operands must equal the number of terms. An extra operand is reported on that
//! operand ("einsum pattern `ij,jk->ik` has 2 terms but 3 operands were given: this operand has no
//! term"), a missing one on the last argument.
//!
//! ```compile_fail
//! use einsum_runtime::einsum;
//! let a = ndarray::Array2::<f64>::zeros((2, 2));
//! let _ = einsum!("ij,jk->ik", a, a, a);
//! ```
//!
//! Operands are checked by their types, and the error points at the operand expression. An operand
//! of fixed rank must have as many axes as its term has labels ("einsum operand 1 has 3 axes, but
//! its term has 2 labels"); with `...`, at least that many ("einsum operand 0 has 1 axes, but its
//! term has 2 labels besides `...`"). A value that is not an array at all (a `Vec<f64>`) is one
//! error, "`Vec<f64>` cannot be an einsum operand", with the types that can be.
//!
//! ```compile_fail
//! use einsum_runtime::einsum;
//! let a = ndarray::Array2::<f64>::zeros((2, 2));
//! let b = ndarray::Array3::<f64>::zeros((2, 2, 2));
//! let _ = einsum!("ij,jk->ik", a, b);
//! ```
//!
//! All operands share operand 0's element type ("einsum operand 1 has elements of type `f32`, but
//! operand 0 has `f64`", with the hint to convert one with `.mapv(|x| x as f64)`).
//!
//! ```compile_fail
//! use einsum_runtime::einsum;
//! let a = ndarray::Array2::<f64>::zeros((2, 2));
//! let b = ndarray::Array2::<f32>::zeros((2, 2));
//! let _ = einsum!("ij,jk->ik", a, b);
//! ```
//!
//! Gradients need floats: [`einsum_vjp!`](crate::einsum_vjp) on `i32` arrays fails with "the trait
//! bound `i32: einsum_runtime::Float` is not satisfied".
//!
//! ```compile_fail
//! let a = ndarray::Array2::<i32>::zeros((2, 2));
//! let _ = einsum_runtime::einsum_vjp!("ij->", a);
//! ```
//!
//! Each of these messages is pinned by a test in the repository's `tests/ui/`.
//!
//! # At run time
//!
//! Two things are only known when the call runs: the extents, and the rank of a dynamic-rank
//! (`IxDyn`) operand. [`einsum!`](crate::einsum) panics when they do not fit the pattern, at the
//! line of the call, with a message that names the pattern, the label, both operands with their
//! axes, and both extents:
//!
//! ```should_panic
//! use einsum_runtime::einsum;
//! use ndarray::Array2;
//!
//! let a = Array2::<f64>::zeros((2, 4));
//! let b = Array2::<f64>::zeros((3, 5));
//! // panics: einsum "ij,jk->ik": label 'j' has extent 4 in operand 0 (axis 1) but 3 in operand 1 (axis 0)
//! let _ = einsum!("ij,jk->ik", a, b);
//! ```
//!
//! [`try_einsum!`](crate::try_einsum) returns the same failure as an
//! [`EinsumError`](crate::EinsumError) instead. Its [`kind`](crate::EinsumError::kind) is an
//! [`ErrorKind`](crate::ErrorKind) to match on (marked `#[non_exhaustive]`, so a match needs a `_`
//! arm); an [`AxisRef`](crate::AxisRef) says which operand, which axis and what extent.
//!
//! ```
//! use einsum_runtime::{try_einsum, AxisRef, ErrorKind};
//! use ndarray::{Array2, ArrayD, IxDyn};
//!
//! let a = Array2::<f64>::zeros((2, 4));
//! let b = Array2::<f64>::zeros((3, 5));
//! let err = try_einsum!("ij,jk->ik", a, b).unwrap_err();
//! assert_eq!(err.pattern(), "ij,jk->ik");
//! match err.kind() {
//!     ErrorKind::ExtentMismatch { label, first, second } => {
//!         assert_eq!(label, "j");
//!         assert_eq!(*first, AxisRef { operand: 0, axis: 1, extent: 4 });
//!         assert_eq!(*second, AxisRef { operand: 1, axis: 0, extent: 3 });
//!     }
//!     other => panic!("unexpected error: {other:?}"),
//! }
//! assert_eq!(
//!     err.to_string(),
//!     "einsum \"ij,jk->ik\": label 'j' has extent 4 in operand 0 (axis 1) but 3 in operand 1 (axis 0)"
//! );
//!
//! // A dynamic-rank operand with the wrong number of axes.
//! let v = ArrayD::<f64>::zeros(IxDyn(&[3]));
//! let err = try_einsum!("ij->", v).unwrap_err();
//! assert!(matches!(
//!     err.kind(),
//!     ErrorKind::RankMismatch { operand: 0, expected: 2, found: 1, .. }
//! ));
//! assert_eq!(err.to_string(), "einsum \"ij->\": operand 0 has 1 axes but its term \"ij\" needs 2");
//!
//! // `EinsumError` is a `std::error::Error`, so `?` converts it into a boxed error.
//! fn product(a: &Array2<f64>, b: &Array2<f64>) -> Result<Array2<f64>, Box<dyn std::error::Error>> {
//!     Ok(try_einsum!("ij,jk->ik", a, b)?)
//! }
//! assert!(product(&a, &b).is_err());
//! ```
//!
//! The other kinds: [`TooLarge`](crate::ErrorKind::TooLarge) when the result (or an intermediate)
//! has more elements than can be counted or allocated, which is an error rather than an abort;
//! [`GradientShape`](crate::ErrorKind::GradientShape) when an upstream gradient is not shaped like
//! the output; [`InvalidPattern`](crate::ErrorKind::InvalidPattern) and
//! [`OperandCount`](crate::ErrorKind::OperandCount) from [`einsum_path`](crate::einsum_path), which
//! reads its pattern at run time.
//!
//! ```
//! use einsum_runtime::{einsum_path, ErrorKind};
//!
//! let err = einsum_path("ij,jk->ik", &[&[2, 3]]).unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::OperandCount { expected: 2, found: 1 });
//! let err = einsum_path("i1->", &[&[2]]).unwrap_err();
//! assert!(matches!(err.kind(), ErrorKind::InvalidPattern { .. }));
//! ```
//!
//! On [`Var`](crate::Var) operands `einsum!` panics the same way, and `try_einsum!` returns
//! `Result<Var<T>, EinsumError>`. The other operations of `Var` (reshape, slicing, softmax, ...)
//! panic at the caller's line too, and each has a `try_` form returning an
//! [`OpError`](crate::OpError):
//!
//! ```
//! use einsum_runtime::Var;
//! use ndarray::array;
//!
//! let x = Var::new(array![1.0, 2.0, 3.0]);
//! let err = x.try_reshape(&[2, 2]).unwrap_err();
//! println!("{err}");
//! assert!(x.try_reshape(&[3, 1]).is_ok());
//! ```
