//! Einsum as a compile-time construct for [`ndarray`], with exact, cheap gradients.
//!
//! `einsum!("ij,jk->ik", a, b)` parses and checks its pattern when your crate compiles, plans the
//! contraction and its gradients, and emits the code that runs them. Malformed patterns are compile
//! errors; operands whose extents disagree are a panic (or an [`EinsumError`] from [`try_einsum!`])
//! that names the label, both operands, their axes and both extents.
//!
//! ```
//! use einsum_runtime::einsum;
//! use ndarray::array;
//!
//! let a = array![[1.0, 2.0], [3.0, 4.0]];
//! let b = array![[5.0, 6.0], [7.0, 8.0]];
//! let c = einsum!("ij,jk->ik", a, b);
//! assert_eq!(c, a.dot(&b));
//! let trace = einsum!("ii->", a);
//! assert_eq!(trace.into_scalar(), 5.0);
//! ```
//!
//! # Where to read on
//!
//! - The [`guide`] explains the pattern language (with the differences from `numpy.einsum` and
//!   `torch.einsum`), the errors at compile and at run time, gradients with [`einsum_vjp!`] and
//!   [`Var`] (with a training loop), what the macros generate and how to read [`einsum_plan!`], and
//!   performance.
//! - The macros: [`einsum!`], [`try_einsum!`], [`einsum_vjp!`], [`einsum_plan!`]; and
//!   [`einsum_path`] for the contraction order of given shapes.
//! - Autograd: [`Var`], [`loss`], [`optim`], [`init`], [`no_grad`], [`gradcheck`].
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]
// `unsafe` lives only in `kernel`, behind safe constructors that check shapes once, and every block
// says why it is sound.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod autograd;
mod contract;
mod entry;
mod error;
mod exec;
pub mod guide;
pub mod init;
#[cfg(debug_assertions)]
mod instances;
#[allow(unsafe_code)] // the one module with `unsafe`; see its opening comment
mod kernel;
mod path;

/// The `rand` crate (0.10) that [`init`] and [`Var::dropout`] take their generators from, re-exported
/// so that `einsum_runtime::rand::rngs::StdRng` always has the version they expect.
///
/// ```
/// use einsum_runtime::rand::{rngs::StdRng, SeedableRng};
///
/// let w = einsum_runtime::init::he_normal::<f64, _>(&[3, 2], &mut StdRng::seed_from_u64(5));
/// assert_eq!(w.shape(), &[3, 2]);
/// ```
pub use rand;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use autograd::{gradcheck, loss, optim, GradcheckError, GradcheckReport, IntoVar, OpError};
pub use autograd::{is_grad_enabled, no_grad, Float, Parent, Var};
pub use error::{AxisRef, EinsumError, ErrorKind};
pub use path::{einsum_path, Path, Step};

/// Evaluates an einsum and returns an owned array (or a [`Var`] when any operand is a `Var`).
///
/// Operands are borrowed: pass `a` or `&a`; arrays, views, `ArcArray`, `CowArray` and `Var` all work,
/// with any strides. Each operand expression is evaluated exactly once.
///
/// ```
/// use einsum_runtime::einsum;
/// use ndarray::{array, Array0, Array2};
///
/// let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let b = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
/// assert_eq!(c, a.dot(&b));
/// let t: Array0<f64> = einsum!("ij,ij->", a, &a);
/// assert_eq!(t.into_scalar(), a.iter().map(|x| x * x).sum::<f64>());
/// let at = einsum!("ij->ji", a.view());
/// assert_eq!(at, a.t());
/// ```
///
/// # Panics
/// If the operands' extents disagree (or a dynamic-rank operand has the wrong rank), with a message
/// naming the pattern, the label, both operands and axes, and both extents; or if the result is too
/// large to allocate. Use [`try_einsum!`] to get these as an [`EinsumError`].
#[doc(inline)]
pub use einsum_macro::einsum;

/// Like [`einsum!`], but returns `Result<_, EinsumError>` instead of panicking on a run-time mismatch.
///
/// ```
/// use einsum_runtime::try_einsum;
/// use ndarray::{Array1, Array2};
///
/// let a = Array2::<f64>::ones((2, 3));
/// let b = Array1::<f64>::ones(3);
/// assert_eq!(try_einsum!("ij,j->i", a, b).unwrap(), Array1::from_elem(2, 3.0));
/// let short = Array1::<f64>::ones(4);
/// assert!(try_einsum!("ij,j->i", a, short).is_err());
/// ```
#[doc(inline)]
pub use einsum_macro::try_einsum;

/// Evaluates an einsum on arrays and returns `(value, back)`, where `back(&g)` maps an upstream
/// gradient `g` (shaped like `value`) to a tuple with one gradient per operand, each shaped like its
/// operand. The gradients are einsums planned at compile time; no Jacobian is formed.
///
/// ```
/// use einsum_runtime::einsum_vjp;
/// use ndarray::{array, Array2};
///
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let b = array![[0.0, 1.0], [1.0, 0.0]];
/// let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
/// assert_eq!(z, a.dot(&b));
/// let g = Array2::ones((2, 2));
/// let (ga, gb) = back(&g);
/// assert_eq!(ga, g.dot(&b.t())); // dZ/dA = G Bᵀ
/// assert_eq!(gb, a.t().dot(&g)); // dZ/dB = Aᵀ G
/// let (gm,) = einsum_vjp!("ii->", a).1(&ndarray::arr0(1.0));
/// assert_eq!(gm, Array2::eye(2));
/// ```
///
/// `back` borrows the operands (as `einsum!` does, nothing is copied), so it cannot outlive them:
/// bind a temporary operand such as `a.t()` or `a.view()` with `let` before the call, or the borrow
/// checker will report that it is dropped while still borrowed. A borrow written in the call, `&a`,
/// is fine: it borrows `a` itself.
///
/// # Panics
/// As [`einsum!`] for the operands; `back` panics if `g`'s shape differs from the value's.
#[doc(inline)]
pub use einsum_macro::einsum_vjp;

/// What the macros generate for a pattern, as a `&'static str`: the labels and their roles, the
/// output, the forward kernel's steps (for three or four operands, every pairwise order with its
/// cost formula; the run time runs the cheapest for the actual extents), which steps may take a GEMM
/// and which run loops, and each operand's gradient: its einsum (the upstream gradient `G` in place
/// of the operand) and its epilogue (labels broadcast, diagonals written, size-1 axes summed). In the
/// spirit of opt_einsum's `contract_path`, but for the code written at compile time; for the order
/// the run-time executor picks for given extents, see [`einsum_path`].
///
/// A malformed pattern is a compile error, as for [`einsum!`].
///
/// ```
/// use einsum_runtime::einsum_plan;
///
/// let plan: &str = einsum_plan!("ij,jk->ik");
/// assert!(plan.contains("j: summed, in operands 0, 1"));
/// assert!(plan.contains("GEMM (batch -, left i, right k, summed j)"));
/// assert!(plan.contains(r#"operand 1 "jk": "ik,ij->jk""#));
/// println!("{plan}");
/// ```
#[doc(inline)]
pub use einsum_macro::einsum_plan;
