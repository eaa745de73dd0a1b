//! A guide to `einsum!`, in five chapters. Every code block in it is compiled and run as a test.
//!
//! 1. [The pattern language](patterns), for NumPy and PyTorch users: labels, implicit and explicit
//!    output, `...`, diagonals, broadcasting of extent 1, the output type, and where this crate
//!    differs from `numpy.einsum` and `torch.einsum`.
//! 2. [Errors](errors): what is rejected at compile time, what fails at run time, and how to handle
//!    [`EinsumError`](crate::EinsumError).
//! 3. [Gradients](gradients): the rule that turns the gradient of an einsum into another einsum,
//!    [`einsum_vjp!`](crate::einsum_vjp), and [`Var`](crate::Var) with a complete training loop.
//! 4. [What the macro generates](generated): generated loops and GEMM calls, the run-time
//!    executor, how to read [`einsum_plan!`](crate::einsum_plan) and
//!    [`einsum_path`](crate::einsum_path).
//! 5. [Performance notes](performance): when a GEMM runs, threads, layouts, many operands, and the
//!    cost at compile time.
//!
//! # Glossary
//!
//! - *pattern*: the string, `"ij,jk->ik"`; *term*: one comma-separated part (`ij`), or the output
//!   after `->` (`ik`);
//! - *operand*: an array passed for a term; *label*: a letter (`i`); *extent*: a label's size;
//! - *free* labels appear in the output, *summed* labels do not.
//!
//! This module holds documentation only.

pub mod errors;
pub mod generated;
pub mod gradients;
pub mod patterns;
pub mod performance;
