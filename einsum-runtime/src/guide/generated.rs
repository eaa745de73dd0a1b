//! # What the macro generates, and how to read `einsum_plan!`
//!
//! Each macro runs four stages at compile time: *parse* the pattern, *check* it (every problem
//! becomes a compile error, and then nothing else is generated), *plan* the contraction and the
//! gradient of every operand, and *emit* the code. What is emitted depends on whether the ranks are
//! known at compile time.
//!
//! # Fixed-rank patterns, up to four operands: generated kernels
//!
//! For a pattern without `...` and with one to four operands, the kernel is written into your code:
//!
//! - Each operand expression is evaluated once and borrowed. Its rank (for fixed dimension types)
//!   and element type are checked by the type system, which is where the compile errors of the
//!   [errors chapter](super::errors) about operands come from.
//! - Each label's extent is read from the operands' shapes into a local integer and checked against
//!   its other occurrences, extent 1 broadcasting. The common case (every label the same extent
//!   wherever it occurs) is one `match` on the shapes in the generated code, a few comparisons; any
//!   other (a broadcast extent of 1, a mismatch) is checked by one runtime call. A mismatch returns
//!   the [`EinsumError`](crate::EinsumError) before any work.
//! - Labels that only one operand has, and the output lacks, are summed first, in a pass over that
//!   operand. A repeated label is one diagonal axis of the operand's view, not a copy.
//! - A pairwise step sorts its labels into four groups, as XLA canonicalizes a dot: *batch* (both
//!   operands and the result), *left* and *right* (one operand and the result) and *summed* (both
//!   operands, not the result). When the left, right and summed groups are all non-empty, the step
//!   has a call to a batched matrix product (GEMM) with this grouping, which the run time takes when
//!   the product is large enough (see [performance](super::performance)); it writes the new result
//!   once, without zeroing it first.
//! - Otherwise, and for small products, the step runs a loop nest written out as `for` loops: the
//!   result's labels outermost (in its row-major order), then the summed labels, and innermost the
//!   label that most tensors have as their last axis. The innermost loop is one call to a lane
//!   primitive of the runtime (a multiply-add or add over a whole lane, bounds checked once per
//!   lane). A step that only transposes (permutes) its operand is one call to the runtime's blocked
//!   copy instead, which writes each element of the new result once; one that also sums runs its
//!   two innermost loops as tiles.
//! - With three or four operands, the best pairwise order depends on the extents, which are only
//!   known at run time. So the macro enumerates every order (3 for three operands, 15 for four),
//!   each with its cost as a formula in the extents, and generates those that can be the cheapest
//!   for some extents: an order that another never costs more than (an outer product formed first,
//!   say) is left out, since the run time would never pick it. The run time evaluates the formulas
//!   and runs the cheapest order.
//! - The gradient of each operand is generated the same way, for its gradient einsum (see
//!   [gradients](super::gradients)), followed by its epilogue. `einsum_vjp!` returns these kernels
//!   in its closure; `einsum!` on [`Var`](crate::Var)s records them as the node's backward.
//! - Often the gradient einsum *is* the forward einsum under other label names: for `ij,jk->ik`,
//!   `a`'s gradient `ik,jk->ij` is a matrix product of `g` and `b` transposed, and `b`'s is one of
//!   `a` transposed and `g`. So are the gradients of batched and chained products, attention
//!   scores, permutations and elementwise products. The macro finds the renaming at compile time
//!   (the roles of the labels must match: which terms have each label, and whether the result
//!   does), and that gradient calls the forward kernel on `g` and the other operands, each with
//!   its axes reordered (no copy: strides only). One kernel serves both directions, GEMM route
//!   included, and a call has one loop nest less per such operand to compile. A gradient of
//!   another form (the matrix-vector product behind an outer product's gradient, a broadcast, a
//!   diagonal) gets its own loop nest.
//!
//! The generated code contains no `unsafe`: a crate with `#![forbid(unsafe_code)]` can use every
//! macro. (The runtime's few `unsafe` blocks sit behind safe, shape-checked constructors.)
//!
//! # `...` patterns and more than four operands: the run-time executor
//!
//! When ranks depend on the operands (`...`) or there are five or more operands, the macro emits the
//! checked plan as constants, and a run-time executor interprets it: it binds ranks and extents,
//! chooses a pairwise order for the actual extents (the order of least flops for up to eight
//! tensors, opt_einsum's greedy order beyond), and runs each step as a strided loop kernel or a
//! GEMM. Gradients take the same route. The pattern is still parsed and checked at compile time.
//!
//! # Reading `einsum_plan!`
//!
//! [`einsum_plan!`](crate::einsum_plan) describes, as a `&'static str`, what the macros generate for
//! a pattern. It is built from the same plans as the code, so it cannot drift from it. For a matrix
//! product it reads, line by line:
//!
//! - a header: the pattern, the operands' terms, the output term and its type (`Array2` here;
//!   `ArrayD` for `...`), and each label's role: free or summed, and which operands have it
//!   (`(diagonal)` marks a repeated label);
//! - `forward (generated code):` and one line per step. `t2 = ij,jk->ik from operand 0 and
//!   operand 1` is a step that creates tensor `t2` (tensors are numbered after the operands); then
//!   how it runs: `GEMM (batch -, left i, right k, summed j)` with the condition under which the GEMM
//!   is taken (`-` marks an empty group; `m`, `n`, `k` are the sizes of the matrices: products of the
//!   extents of the left, right and summed groups), `else loops i, j, lanes over k`: the loop nest,
//!   outermost first, and the label of the innermost lanes;
//! - `gradients (generated code; ...)`: for each operand, its gradient einsum (here `"ik,jk->ij"`
//!   for operand 0: `G`, labelled `ik`, in place of operand 0), its steps (here: the forward code,
//!   run on `G` as operand 0 and operand 1 read as `"kj"`, transposed), and its epilogue.
//!
//! ```
//! use einsum_runtime::einsum_plan;
//!
//! let plan: &str = einsum_plan!("ij,jk->ik");
//! let lines: Vec<&str> = plan.lines().map(str::trim).collect();
//! assert_eq!(
//!     lines[..9],
//!     [
//!         r#"einsum "ij,jk->ik""#,
//!         r#"operands: "ij", "jk""#,
//!         r#"output:   "ik" (Array2)"#,
//!         "labels:",
//!         "i: free, in operand 0",
//!         "j: summed, in operands 0, 1",
//!         "k: free, in operand 1",
//!         "forward (generated code):",
//!         "t2 = ij,jk->ik from operand 0 and operand 1: \
//!          GEMM (batch -, left i, right k, summed j) \
//!          when m = |i|, n = |k|, k = |j| are each at least 8 \
//!          and the elements are f32 or f64, \
//!          else loops i, j, lanes over k",
//!     ]
//! );
//! assert!(lines.contains(
//!     &r#"operand 0 "ij": "ik,jk->ij" (G in place of operand 0, output = its labels that the others provide)"#
//! ));
//! assert!(lines.contains(
//!     &r#"the forward einsum under other names: runs the forward code on G as operand 0, operand 1 read as "kj" as operand 1"#
//! ));
//! assert!(lines.contains(&"epilogue: axes of extent 1 broadcast against a longer extent are summed"));
//! ```
//!
//! With three operands the forward part lists the pairwise orders it generates with their costs, a
//! sum of products of extents (`|j|` is the extent of `j`); the run time picks the cheapest. For a
//! chain of three matrices, order 1 multiplies operands 1 and 2 first and order 2 operands 0 and 1;
//! the third order, an outer product of operands 0 and 2 first, costs `|i|·|j|·|k|·|l|` twice, never
//! less than order 2, so it is not generated:
//!
//! ```
//! use einsum_runtime::einsum_plan;
//!
//! let plan = einsum_plan!("ij,jk,kl->il");
//! let lines: Vec<&str> = plan.lines().map(str::trim).collect();
//! assert!(lines.contains(
//!     &"2 of the 3 pairwise orders (the others never cost less, whatever the extents); the run \
//!       time evaluates each cost for the actual extents and runs the cheapest:"
//! ));
//! assert!(lines.contains(&"order 1: cost |j|·|k|·|l| + |i|·|j|·|l|"));
//! assert!(lines.contains(&"order 2: cost |i|·|j|·|k| + |i|·|k|·|l|"));
//! assert!(!plan.contains("order 3"));
//! ```
//!
//! A diagonal shows in the labels and in the gradient's epilogue; a `...` pattern says that it takes
//! the run-time executor, and lists only the gradient einsums:
//!
//! ```
//! use einsum_runtime::einsum_plan;
//!
//! let diagonal = einsum_plan!("iij,j->i");
//! assert!(diagonal.contains("i: free, in operand 0 (diagonal)"));
//! assert!(diagonal.contains("t2 = ij,j->i from operand 0 and operand 1: loops i, lanes over j"));
//! assert!(diagonal.contains(r#"operand 0 "iij": "i,j->ij""#));
//! assert!(diagonal.contains("epilogue: written on the diagonal of i (zero elsewhere)"));
//!
//! let batched = einsum_plan!("...ij,...jk->...ik");
//! assert!(batched.contains(r#"output:   "...ik" (ArrayD)"#));
//! assert!(batched.contains("forward and gradients: the run-time executor (`...` (ranks known only at run time))"));
//! assert!(batched.contains(r#"operand 0 "...ij": "...ik,...jk->...ij""#));
//! assert!(einsum_plan!("a,a,a,a,a->").contains("the run-time executor (more than 4 operands)"));
//! ```
//!
//! Print a plan with `println!("{}", einsum_plan!("..."))` while you design a pattern. To see the
//! expanded code itself, a tool such as `cargo expand` shows it.
//!
//! # `einsum_path`: the order for given shapes
//!
//! `einsum_plan!` shows every candidate, since it knows no extents. [`einsum_path`](crate::einsum_path)
//! takes the pattern and the operands' shapes at run time and returns the [`Path`](crate::Path) the
//! run-time executor follows, with opt_einsum's costs, in the spirit of numpy's `einsum_path`. Its
//! steps use numpy's linear format: the tensors form a list, and each step removes the tensors at
//! its positions and appends its result. Its `Display` is numpy's table: the naive and optimized
//! flop counts, the speedup, the largest intermediate, and one row per step.
//!
//! ```
//! use einsum_runtime::einsum_path;
//!
//! // A chain whose middle matrices are thin: multiply operands 1 and 2 first.
//! let path = einsum_path("ij,jk,kl->il", &[&[100, 2], &[2, 100], &[100, 3]]).unwrap();
//! let steps: Vec<(&[usize], &str)> = path.steps().iter().map(|s| (s.operands(), s.term())).collect();
//! assert_eq!(steps, [(&[1, 2][..], "jk,kl->jl"), (&[0, 1][..], "ij,jl->il")]);
//! assert_eq!((path.naive_flops(), path.flops()), (180_000.0, 2_400.0));
//!
//! let table = path.to_string();
//! assert!(table.contains("Complete contraction:  ij,jk,kl->il"));
//! assert!(table.contains("Theoretical speedup:  7.500e+01"));
//! println!("{table}");
//! ```
//!
//! `einsum_path` describes the run-time executor. The generated code of a fixed-rank pattern with
//! three or four operands compares its own cost formulas instead, the ones `einsum_plan!` prints.
