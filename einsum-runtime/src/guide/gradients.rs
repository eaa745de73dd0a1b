//! # Gradients: `einsum_vjp!` and `Var`
//!
//! # The rule: replace, then broadcast
//!
//! An einsum is linear in each operand, so its gradient with respect to one operand is again an
//! einsum. Take `Z = einsum("ij,jk->ik", A, B)` and a scalar loss `L` with upstream gradient
//! `G = dL/dZ` (shaped like `Z`). Then `dL/dA = einsum("ik,jk->ij", G, B)`: `G`, with the output's
//! labels, *replaces* the operand, and the output becomes the operand's labels. That is the whole
//! idea; three details make it exact for every pattern:
//!
//! 1. **Labels only the operand has** (a label summed inside one operand, like `j` in `"ij->i"`)
//!    cannot be produced by the other terms. The gradient einsum's output keeps only the labels the
//!    other terms provide, and the result is then *broadcast* over the missing ones: every `x[i, j]`
//!    gets `G[i]`.
//! 2. **Repeated labels** (`"ii->"`) read a diagonal, so only the diagonal receives gradient: the
//!    result is written on the diagonal, and the rest is zero.
//! 3. **Axes broadcast from extent 1** were read many times, so their gradients are *summed* back to
//!    extent 1.
//!
//! The macros plan these gradient einsums at compile time, next to the forward one. Step 1 is the
//! gradient einsum; steps 2 and 3 and the broadcast are its *epilogue*, which writes the result
//! through the operand's own term. No Jacobian is ever formed.
//!
//! A worked example: `z = einsum("ij,j->i", x, w)` and `L = Σ_i c_i z_i`, so that `G = c`.
//! Replacing `x` by `G` (labels `i`) gives `dL/dx = einsum("i,j->ij", c, w)`, the outer product;
//! replacing `w` gives `dL/dw = einsum("ij,i->j", x, c)`. [`einsum_vjp!`](crate::einsum_vjp)
//! returns the value and a closure `back` that maps `G` to these gradients, one per operand, each
//! shaped like its operand:
//!
//! ```
//! use einsum_runtime::{einsum, einsum_vjp};
//! use ndarray::array;
//!
//! let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let w = array![1.0, 0.0, -1.0];
//! let c = array![2.0, 3.0];
//!
//! let (z, back) = einsum_vjp!("ij,j->i", x, w);
//! assert_eq!(z, array![-2.0, -2.0]);
//! let (gx, gw) = back(&c);
//! assert_eq!(gx, einsum!("i,j->ij", c, w)); // [[2, 0, -2], [3, 0, -3]]
//! assert_eq!(gw, einsum!("ij,i->j", x, c)); // [14, 19, 24]
//! ```
//!
//! The three details, one each:
//!
//! ```
//! use einsum_runtime::einsum_vjp;
//! use ndarray::{arr0, array, Array2};
//!
//! // 1. Row sums, "ij->i": `j` is only in `x`, so each row's gradient is broadcast along it.
//! let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let (gx,) = einsum_vjp!("ij->i", x).1(&array![10.0, 20.0]);
//! assert_eq!(gx, array![[10.0, 10.0, 10.0], [20.0, 20.0, 20.0]]);
//!
//! // 2. The trace, "ii->": the gradient sits on the diagonal only.
//! let m = array![[1.0, 2.0], [3.0, 4.0]];
//! let (gm,) = einsum_vjp!("ii->", m).1(&arr0(5.0));
//! assert_eq!(gm, Array2::eye(2) * 5.0);
//!
//! // 3. `a` has extent 1 along `j` and was broadcast against `b`'s 3: its gradient is summed back.
//! let a = array![[2.0], [3.0]]; // shape (2, 1)
//! let b = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]; // shape (2, 3)
//! let (value, back) = einsum_vjp!("ij,ij->ij", a, b);
//! assert_eq!(value, array![[2.0, 4.0, 6.0], [12.0, 15.0, 18.0]]);
//! let (ga, gb) = back(&Array2::ones((2, 3)));
//! assert_eq!(ga, array![[6.0], [15.0]]); // row sums of `b`, shape (2, 1)
//! assert_eq!(gb, array![[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]);
//! ```
//!
//! [`einsum_plan!`](crate::einsum_plan) shows each operand's gradient einsum and epilogue; see
//! [what the macro generates](super::generated).
//!
//! `back` borrows the operands (nothing is copied), so it cannot outlive them; bind a temporary
//! operand such as `x.t()` with `let` before the call. `back` panics if `G` is not shaped like the
//! value.
//!
//! # `Var`: gradients through a whole computation
//!
//! [`Var`](crate::Var) is a node of a computation graph: a value (an `ArrayD` of `f32` or `f64`)
//! plus how it was made. [`Var::new`](crate::Var::new) makes a leaf whose gradient is tracked (a
//! parameter); [`Var::constant`](crate::Var::constant) one that needs none (data). `einsum!` with at
//! least one `Var` operand returns a `Var` whose backward runs the gradient einsums planned above;
//! array operands mixed in are constants. [`backward`](crate::Var::backward) on a one-element `Var`
//! adds `dL/dleaf` into every tracked leaf's [`grad`](crate::Var::grad).
//!
//! ```
//! use einsum_runtime::{einsum, Var};
//! use ndarray::array;
//!
//! let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]; // data: a plain array
//! let w = Var::new(array![1.0, 0.0, -1.0]);
//! let z = einsum!("ij,j->i", x, w); // a `Var`
//! let loss = (z * array![2.0, 3.0]).sum(); // L = Σ c_i z_i, as above
//! loss.backward();
//! assert_eq!(w.grad().unwrap(), array![14.0, 19.0, 24.0].into_dyn());
//! ```
//!
//! Besides `einsum!`, `Var` has the operations a network needs: arithmetic with numpy broadcasting
//! (`+ - * /` against `Var`s, arrays and scalars), elementwise functions
//! ([`relu`](crate::Var::relu), [`tanh`](crate::Var::tanh), [`exp`](crate::Var::exp), ...),
//! reductions ([`sum`](crate::Var::sum), [`mean_axes`](crate::Var::mean_axes), ...),
//! [`softmax`](crate::Var::softmax) and [`log_softmax`](crate::Var::log_softmax), shape and
//! indexing operations, and masking. [`loss`](crate::loss) has `mse` and `cross_entropy`,
//! [`optim`](crate::optim) has `Sgd` and `Adam`, [`init`](crate::init) draws initial weights from a
//! seeded generator, [`no_grad`](crate::no_grad) evaluates without recording a graph, and
//! [`gradcheck`](crate::gradcheck) compares any function's gradients with finite differences.
//! [`Var::from_op`](crate::Var::from_op) adds your own operations.
//!
//! # A training loop
//!
//! A two-layer perceptron learns XOR, the smallest problem a linear model cannot solve. Each layer
//! is an einsum plus a bias; the loop is the usual one: clear the gradients, build the loss from the
//! parameters, `backward`, `step`. The graph is rebuilt on every step, so each step differentiates
//! at the current parameters.
//!
//! ```
//! use einsum_runtime::rand::{rngs::StdRng, SeedableRng};
//! use einsum_runtime::{einsum, init, loss, no_grad, optim::Adam, Var};
//! use ndarray::{array, Array1, Array2};
//!
//! let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let labels = [0, 1, 1, 0];
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let w1 = Var::new(init::he_normal::<f64, _>(&[2, 8], &mut rng)); // before a ReLU
//! let b1 = Var::new(Array1::<f64>::zeros(8));
//! let w2 = Var::new(init::xavier_uniform::<f64, _>(&[8, 2], &mut rng));
//! let b2 = Var::new(Array1::<f64>::zeros(2));
//! let forward = |x: &Array2<f64>| {
//!     let h = (einsum!("bi,ih->bh", x, w1) + &b1).relu();
//!     einsum!("bh,ho->bo", h, w2) + &b2 // class scores, shape (batch, 2)
//! };
//!
//! let mut opt = Adam::new([&w1, &b1, &w2, &b2], 0.05);
//! let first = loss::cross_entropy(&forward(&x), &labels).item();
//! for _ in 0..200 {
//!     opt.zero_grad();
//!     let l = loss::cross_entropy(&forward(&x), &labels);
//!     l.backward();
//!     opt.step();
//! }
//!
//! // Evaluate without recording a graph.
//! let (last, predicted) = no_grad(|| {
//!     let scores = forward(&x);
//!     (loss::cross_entropy(&scores, &labels).item(), scores.argmax(1))
//! });
//! assert!(last < 0.01 * first);
//! assert_eq!(predicted.iter().copied().collect::<Vec<_>>(), labels);
//! ```
//!
//! The repository's `examples/mlp_classifier.rs` is the same loop at full size: mini-batches of
//! handwritten digits through layers `einsum!("bi,io->bo", h, w) + b`.
//!
//! A few properties of `Var` worth knowing:
//!
//! - Gradients accumulate: a `Var` used twice receives the sum, and a second `backward` adds to the
//!   first. Call [`zero_grad`](crate::optim::Adam::zero_grad) (or [`Var::zero_grad`](crate::Var::zero_grad))
//!   before each backward pass.
//! - A recorded operation keeps the values it ran on: an optimizer step (which calls
//!   [`set_data`](crate::Var::set_data)) does not change what an earlier graph differentiates.
//! - `Var` is single-threaded (`Rc`, not `Send`); build one graph per thread.
//! - Second-order gradients are out of scope: backward runs on plain arrays.
