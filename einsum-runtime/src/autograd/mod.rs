//! Reverse-mode automatic differentiation on dynamic-rank arrays.
//!
//! A [`Var`] is a cheap-to-clone handle to a node holding a value, the node's inputs and the closure
//! that maps the node's gradient to its inputs' gradients. Every node gets an id from a counter that
//! only increases, and a node is always created after its inputs, so visiting nodes by decreasing id
//! is a topological order: a node's backward runs only after every node that consumes it has added
//! its contribution. (The breadth-first walk of the blog post this crate starts from is wrong on graphs
//! where one node is reached by paths of different lengths.)
//!
//! Gradients only accumulate: a `Var` used twice receives the sum of both contributions. Backward runs
//! on detached values; higher-order gradients are out of scope.
//!
//! The operations live by kind: `ops/` (elementwise functions, arithmetic, reductions, softmax; see
//! its opening comment), `shape.rs` (reshaping, slicing, joining, broadcasting), `select.rs`
//! (extrema, masks, dropout) and `loss.rs`. Which errors they return, and how their panicking forms
//! report the caller's line, is stated once, in `error.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array, ArrayD, Dimension, IxDyn, LinalgScalar, ScalarOperand};

use crate::entry::{check_gradient_shape, Arg, ForwardFn, GradsFn};
use crate::error::EinsumError;
use crate::kernel::Input;

mod error;
mod grad_mode;
mod gradcheck;
pub mod loss;
mod ops;
pub mod optim;
mod select;
mod shape;

pub(crate) use error::unwrap_or_panic;
pub use error::OpError;
pub use grad_mode::{is_grad_enabled, no_grad};
pub use gradcheck::{gradcheck, GradcheckError, GradcheckReport};
pub use ops::IntoVar;

/// Element types that gradients are computed for: `f32` and `f64`.
///
/// Code generic over the element type of a [`Var`] bounds it by `Float`:
///
/// ```
/// use einsum_runtime::{einsum, Float, Var};
/// use ndarray::array;
///
/// fn squared_norm<T: Float>(x: &Var<T>) -> Var<T> {
///     einsum!("i,i->", x, x)
/// }
/// assert_eq!(squared_norm(&Var::new(array![3.0f32, 4.0])).item(), 25.0);
/// assert_eq!(squared_norm(&Var::new(array![3.0f64, 4.0])).item(), 25.0);
/// ```
pub trait Float:
    LinalgScalar + num_traits::Float + ScalarOperand + fmt::Debug + fmt::Display + Send + Sync
{
    /// The summing part of a gradient's epilogue, for generated code: `r` summed over the axes of
    /// extent 1 in `shape` that were broadcast against a longer extent.
    ///
    /// `f32` and `f64` override it with functions that are not generic, so that this crate compiles
    /// them once and a crate of `einsum!` calls links them instead of compiling the summation
    /// (the runtime's general contraction) again.
    #[doc(hidden)]
    fn sum_broadcast_axes(
        pattern: &'static str,
        r: ArrayD<Self>,
        shape: &[usize],
    ) -> Result<ArrayD<Self>, EinsumError> {
        crate::exec::sum_broadcast_axes(pattern, r, shape)
    }
}

// Written out for each type rather than by a macro: rustc lists these impls in the error for an
// element type without gradients (`tests/ui/operands/vjp-on-integers.rs`), and a macro's impl reads
// there as `impl Float for $t`.
impl Float for f32 {
    fn sum_broadcast_axes(
        pattern: &'static str,
        r: ArrayD<f32>,
        shape: &[usize],
    ) -> Result<ArrayD<f32>, EinsumError> {
        crate::exec::sum_broadcast_axes(pattern, r, shape)
    }
}

impl Float for f64 {
    fn sum_broadcast_axes(
        pattern: &'static str,
        r: ArrayD<f64>,
        shape: &[usize],
    ) -> Result<ArrayD<f64>, EinsumError> {
        crate::exec::sum_broadcast_axes(pattern, r, shape)
    }
}

/// Maps the node's gradient to one gradient per parent (`None` where the parent needs none).
type Backward<T> = Box<dyn Fn(&ArrayD<T>, &[Parent<T>]) -> Vec<Option<ArrayD<T>>>>;

/// A node's value is an immutable, shared array: [`Var::set_data`] swaps in a new `Rc` and never
/// writes into the old one, so every operation recorded earlier keeps the exact values it ran on.
struct Node<T> {
    id: u64,
    value: RefCell<Rc<ArrayD<T>>>,
    grad: RefCell<Option<ArrayD<T>>>,
    requires_grad: bool,
    parents: Vec<Parent<T>>,
    backward: Option<Backward<T>>,
}

/// An input of a recorded operation, as its backward closure sees it: the value the input had when
/// the operation ran (not its value now: an optimizer may have replaced it since), and whether
/// gradients flow into it.
///
/// ```
/// use einsum_runtime::Var;
/// use ndarray::{array, ArrayD};
///
/// // A custom op, `y = 3 x`, written with `Var::from_op`.
/// let x = Var::new(array![1.0, 2.0].into_dyn());
/// let y = Var::from_op(x.data().mapv(|v| 3.0 * v), vec![x.clone()], |g, parents| {
///     assert_eq!(parents[0].data(), &array![1.0, 2.0].into_dyn()); // the recorded value
///     vec![parents[0].requires_grad().then(|| g.mapv(|g| 3.0 * g))]
/// });
/// x.set_data(array![10.0, 20.0].into_dyn()); // does not change what `y` recorded
/// y.sum().backward();
/// assert_eq!(x.grad().unwrap(), ArrayD::from_elem(ndarray::IxDyn(&[2]), 3.0));
/// ```
pub struct Parent<T> {
    var: Var<T>,
    value: Rc<ArrayD<T>>,
}

impl<T: Float> Parent<T> {
    /// The input's value when the operation was recorded.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// // y = x², whose backward reads the recorded x.
    /// let x = Var::new(array![3.0]);
    /// let y = Var::from_op(x.data().mapv(|v| v * v), vec![x.clone()], |g, parents| {
    ///     vec![Some(g * &parents[0].data().mapv(|v| 2.0 * v))]
    /// });
    /// y.backward();
    /// assert_eq!(x.grad().unwrap(), array![6.0].into_dyn());
    /// ```
    pub fn data(&self) -> &ArrayD<T> {
        &self.value
    }

    /// Whether gradients flow into this input. A backward closure may skip the gradients of inputs
    /// that need none.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let (a, c) = (Var::new(array![2.0]), Var::constant(array![5.0]));
    /// let flags = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = flags.clone();
    /// let y = Var::from_op(array![10.0].into_dyn(), vec![a.clone(), c], move |g, parents| {
    ///     seen.borrow_mut().extend(parents.iter().map(|p| p.requires_grad()));
    ///     parents.iter().map(|p| p.requires_grad().then(|| g.clone())).collect()
    /// });
    /// y.backward();
    /// assert_eq!(*flags.borrow(), [true, false]);
    /// ```
    pub fn requires_grad(&self) -> bool {
        self.var.requires_grad()
    }
}

/// A value in a computation graph that records how it was made, so that [`Var::backward`] can compute
/// the gradient of a scalar with respect to every leaf made by [`Var::new`].
///
/// `Var` is a reference-counted handle: `clone` is cheap and shares the node.
///
/// `Var` is single-threaded: it is built on `Rc` and `RefCell`, so it is neither `Send` nor `Sync`,
/// and a graph lives on the thread that built it (as does the [`no_grad`](crate::no_grad) flag). To
/// use several threads, send the arrays (`(*v.data()).clone()`) and build a graph on each thread.
///
/// [`softmax`](Var::softmax) of a lane whose entries are all `-inf` (a fully masked row) is a lane of
/// `NaN`, as in PyTorch.
///
/// ```compile_fail
/// fn send<S: Send>(_: S) {}
/// send(einsum_runtime::Var::new(ndarray::array![1.0]));
/// ```
///
/// ```
/// use einsum_runtime::{einsum, Var};
/// use ndarray::array;
///
/// let x = Var::new(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
/// let w = Var::new(array![[0.5], [-1.0]].into_dyn());
/// let loss = einsum!("ik->", einsum!("ij,jk->ik", x, w));
/// loss.backward();
/// // d loss / d w_j = sum_i x_ij
/// assert_eq!(w.grad().unwrap(), array![[4.0], [6.0]].into_dyn());
/// ```
pub struct Var<T = f64>(Rc<Node<T>>);

impl<T> Clone for Var<T> {
    fn clone(&self) -> Self {
        Var(Rc::clone(&self.0))
    }
}

impl<T: Float> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("id", &self.0.id)
            .field("value", &*self.0.value.borrow())
            .field("requires_grad", &self.0.requires_grad)
            .finish()
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<T: Float> Var<T> {
    fn make(
        value: ArrayD<T>,
        requires_grad: bool,
        parents: Vec<Parent<T>>,
        backward: Option<Backward<T>>,
    ) -> Self {
        Var(Rc::new(Node {
            id: next_id(),
            value: RefCell::new(Rc::new(value)),
            grad: RefCell::new(None),
            requires_grad,
            parents,
            backward,
        }))
    }

    /// A leaf whose gradient is tracked: after `backward`, [`grad`](Var::grad) holds it. Any owned
    /// array works, of any dimension: it is stored with a dynamic number of axes
    /// ([`into_dyn`](ndarray::ArrayBase::into_dyn)), which moves it without copying the elements.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::{array, Array2, ArrayD};
    ///
    /// let v = Var::new(array![1.0, 2.0]);
    /// let m = Var::new(Array2::<f32>::zeros((2, 3)));
    /// let d = Var::new(array![[1.0]].into_dyn()); // an `ArrayD` works too
    /// assert_eq!((v.shape(), m.shape(), d.shape()), (vec![2], vec![2, 3], vec![1, 1]));
    /// let data: std::rc::Rc<ArrayD<f64>> = v.data();
    /// assert_eq!(*data, array![1.0, 2.0].into_dyn());
    /// ```
    pub fn new<D: Dimension>(value: Array<T, D>) -> Self {
        Self::make(value.into_dyn(), true, Vec::new(), None)
    }

    /// A leaf that needs no gradient: operations on it record nothing for it. Like [`Var::new`], it
    /// takes an owned array of any dimension.
    ///
    /// ```
    /// use einsum_runtime::{einsum, Var};
    /// use ndarray::array;
    ///
    /// let c = Var::constant(array![1.0, 2.0].into_dyn());
    /// let x = Var::new(array![3.0, 4.0].into_dyn());
    /// einsum!("i,i->", c, x).backward();
    /// assert!(c.grad().is_none());
    /// assert_eq!(x.grad().unwrap(), array![1.0, 2.0].into_dyn());
    /// ```
    pub fn constant<D: Dimension>(value: Array<T, D>) -> Self {
        Self::make(value.into_dyn(), false, Vec::new(), None)
    }

    /// A new node computed from `parents`. `backward` receives this node's gradient and the parents,
    /// each with the value it had now, when the node is recorded (see [`Parent`]), and returns one
    /// gradient per parent (it may return `None` for parents that need none). If no parent needs a
    /// gradient, or inside [`no_grad`](crate::no_grad), nothing is recorded and the result is a
    /// constant.
    ///
    /// This is how new differentiable operations are written; see also [`Parent`].
    ///
    /// ```
    /// use einsum_runtime::{gradcheck, Var};
    /// use ndarray::{array, ArrayD};
    ///
    /// // softplus(x) = ln(1 + e^x), with derivative sigmoid(x).
    /// fn softplus(x: &Var<f64>) -> Var<f64> {
    ///     let value = x.data().mapv(|v| v.exp().ln_1p());
    ///     Var::from_op(value, vec![x.clone()], |g: &ArrayD<f64>, parents| {
    ///         let sigmoid = parents[0].data().mapv(|v| 1.0 / (1.0 + (-v).exp()));
    ///         vec![Some(g * &sigmoid)]
    ///     })
    /// }
    /// let report = gradcheck(|v| softplus(&v[0]).sum(), &[array![-1.0, 0.5].into_dyn()], 1e-6, 1e-6);
    /// assert!(report.is_ok());
    /// ```
    pub fn from_op(
        value: ArrayD<T>,
        parents: Vec<Var<T>>,
        backward: impl Fn(&ArrayD<T>, &[Parent<T>]) -> Vec<Option<ArrayD<T>>> + 'static,
    ) -> Self {
        if grad_mode::is_grad_enabled() && parents.iter().any(Var::requires_grad) {
            let parents = parents
                .into_iter()
                .map(|var| Parent {
                    value: var.data(),
                    var,
                })
                .collect();
            Self::make(value, true, parents, Some(Box::new(backward)))
        } else {
            Self::constant(value)
        }
    }

    /// Whether an operation on this `Var` alone would be recorded: it needs a gradient and recording
    /// is on (outside [`no_grad`](crate::no_grad)). Ops that keep a copy of their output for the
    /// backward pass check this first, to make the copy only when it will be used.
    pub(crate) fn records(&self) -> bool {
        self.requires_grad() && grad_mode::is_grad_enabled()
    }

    /// The same value, cut from the graph: nothing flows back through the result.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![3.0]);
    /// let y = (&x * &x.detach()).sum(); // the detached factor counts as a constant
    /// y.backward();
    /// assert_eq!(x.grad().unwrap(), array![3.0].into_dyn()); // not 2x = 6
    /// assert!(!x.detach().requires_grad());
    /// ```
    pub fn detach(&self) -> Self {
        Self::constant(self.data().as_ref().clone())
    }

    /// The value: a shared, immutable array (`Rc` derefs to it). Holding it is always safe: it is
    /// never written in place, so it neither blocks [`set_data`](Var::set_data) nor changes under you.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let w = Var::new(array![1.0, 2.0]);
    /// let before = w.data();
    /// w.set_data(array![5.0, 6.0].into_dyn());
    /// assert_eq!(*before, array![1.0, 2.0].into_dyn()); // still the old value
    /// assert_eq!(w.data()[[1]], 6.0);
    /// let owned: ndarray::ArrayD<f64> = (*w.data()).clone(); // an owned copy
    /// assert_eq!(owned.len(), 2);
    /// ```
    pub fn data(&self) -> Rc<ArrayD<T>> {
        Rc::clone(&self.0.value.borrow())
    }

    /// Replaces the value (optimizers use this). Operations recorded before keep the value they ran
    /// on, so a backward pass through a graph built earlier computes the gradient at the old values,
    /// exactly as the forward pass did; build a new graph to differentiate at the new value.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let w = Var::new(array![1.0, 2.0].into_dyn());
    /// let y = (&w * &w).sum();
    /// w.set_data(array![10.0, 20.0].into_dyn());
    /// y.backward();
    /// assert_eq!(w.grad().unwrap(), array![2.0, 4.0].into_dyn()); // 2w at the forward's w
    /// ```
    pub fn set_data(&self, value: ArrayD<T>) {
        *self.0.value.borrow_mut() = Rc::new(value);
    }

    /// The value's shape.
    ///
    /// ```
    /// let v = einsum_runtime::Var::new(ndarray::Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(v.shape(), [2, 3]);
    /// ```
    pub fn shape(&self) -> Vec<usize> {
        self.data().shape().to_vec()
    }

    /// The value of a one-element `Var` (a loss, say), whatever its number of axes.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0, 3.0].into_dyn());
    /// assert_eq!(x.sum().item(), 6.0);
    /// ```
    ///
    /// # Panics
    /// If the value does not have exactly one element.
    #[track_caller]
    pub fn item(&self) -> T {
        let data = self.data();
        assert!(
            data.len() == 1,
            "item() needs a value with exactly one element, but this one has shape {:?}",
            data.shape()
        );
        *data.iter().next().expect("one element")
    }

    /// The accumulated gradient of a leaf made by [`Var::new`], or `None` before any backward pass
    /// reached it (and always for intermediate nodes and constants).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0]);
    /// assert!(x.grad().is_none());
    /// let y = &x * 3.0;
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![3.0, 3.0].into_dyn());
    /// assert!(y.grad().is_none()); // an intermediate node keeps no gradient
    /// ```
    pub fn grad(&self) -> Option<ArrayD<T>> {
        self.0.grad.borrow().clone()
    }

    /// Clears the accumulated gradient.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0]);
    /// x.sum().backward();
    /// x.sum().backward(); // gradients accumulate
    /// assert_eq!(x.grad().unwrap(), array![2.0].into_dyn());
    /// x.zero_grad();
    /// assert!(x.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        *self.0.grad.borrow_mut() = None;
    }

    /// Whether gradients flow into this node: true for [`Var::new`] leaves and for results of
    /// operations recorded on them, false for constants.
    ///
    /// ```
    /// use einsum_runtime::{no_grad, Var};
    /// use ndarray::array;
    ///
    /// let w = Var::new(array![1.0]);
    /// let c = Var::constant(array![2.0]);
    /// assert!(w.requires_grad() && !c.requires_grad());
    /// assert!((&w * &c).requires_grad());
    /// assert!(!(&c * 2.0).requires_grad());
    /// assert!(!no_grad(|| &w * &c).requires_grad());
    /// ```
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// Back-propagates from this node, which must hold exactly one element, seeding its gradient with 1,
    /// and adds the gradients into every leaf that tracks one.
    ///
    /// ```
    /// use einsum_runtime::{einsum, Var};
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0, 3.0]);
    /// let loss = einsum!("i,i->", x, x); // a 0-d value: one element
    /// loss.backward();
    /// assert_eq!(x.grad().unwrap(), array![2.0, 4.0, 6.0].into_dyn()); // 2x
    /// ```
    ///
    /// # Panics
    /// If the value has more than one element; use [`backward_with`](Var::backward_with) then.
    #[track_caller]
    pub fn backward(&self) {
        let shape = self.shape();
        assert!(
            shape.iter().product::<usize>() == 1,
            "backward() needs a value with exactly one element, but this one has shape {shape:?}; use backward_with(gradient)"
        );
        self.backward_with(ArrayD::from_elem(IxDyn(&shape), T::one()));
    }

    /// Back-propagates the upstream gradient `g` (shaped like this node's value).
    ///
    /// ```
    /// use einsum_runtime::{einsum, Var};
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![[1.0, 2.0], [3.0, 4.0]]);
    /// let rows = einsum!("ij->i", a); // shape (2,): not a scalar
    /// rows.backward_with(array![1.0, 10.0]);
    /// assert_eq!(a.grad().unwrap(), array![[1.0, 1.0], [10.0, 10.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `g`'s shape differs from the value's.
    #[track_caller]
    pub fn backward_with<D: Dimension>(&self, g: ndarray::Array<T, D>) {
        let g = g.into_dyn();
        let shape = self.shape();
        assert!(
            g.shape() == shape.as_slice(),
            "backward_with: the gradient has shape {:?} but the value has shape {shape:?}",
            g.shape()
        );
        if !self.requires_grad() {
            return;
        }
        // Nodes that need a gradient, by decreasing id: a topological order (see the module docs).
        let mut order: Vec<Var<T>> = Vec::new();
        let mut seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let mut stack = vec![self.clone()];
        while let Some(v) = stack.pop() {
            if v.requires_grad() && seen.insert(v.0.id) {
                stack.extend(v.0.parents.iter().map(|p| p.var.clone()));
                order.push(v);
            }
        }
        order.sort_by_key(|v| std::cmp::Reverse(v.0.id));

        let mut pending: HashMap<u64, ArrayD<T>> = HashMap::new();
        pending.insert(self.0.id, g);
        for node in order {
            let Some(grad) = pending.remove(&node.0.id) else {
                continue; // reached only through branches that contributed nothing
            };
            match &node.0.backward {
                None => accumulate(&mut node.0.grad.borrow_mut(), grad),
                Some(backward) => {
                    let parent_grads = backward(&grad, &node.0.parents);
                    assert!(
                        parent_grads.len() == node.0.parents.len(),
                        "a backward closure returned {} gradients for {} inputs",
                        parent_grads.len(),
                        node.0.parents.len()
                    );
                    for (parent, pg) in node.0.parents.iter().zip(parent_grads) {
                        if let (true, Some(pg)) = (parent.requires_grad(), pg) {
                            assert!(
                                pg.shape() == parent.data().shape(),
                                "a backward closure returned a gradient of shape {:?} for an input of shape {:?}",
                                pg.shape(),
                                parent.data().shape()
                            );
                            let id = parent.var.0.id;
                            let mut slot = pending.remove(&id);
                            accumulate(&mut slot, pg);
                            pending.insert(id, slot.expect("just accumulated"));
                        }
                    }
                }
            }
        }
    }
}

/// `slot += g`, where an empty slot counts as zero.
fn accumulate<T: Float>(slot: &mut Option<ArrayD<T>>, g: ArrayD<T>) {
    match slot {
        Some(acc) => acc.zip_mut_with(&g, |a, &b| *a = *a + b),
        None => *slot = Some(g),
    }
}

/// An einsum on `Var` (and array) operands: array operands are copied in as constants; the backward
/// closure runs the generated gradient kernel `grads` of each operand that needs a gradient, on the
/// values the forward pass ran on.
pub(crate) fn einsum_var<T: Float, D: Dimension, E: Copy + 'static, const N: usize>(
    pattern: &'static str,
    args: [Arg<'_, T>; N],
    forward: ForwardFn<T, D, E, N>,
    grads: GradsFn<T, E, N>,
) -> Result<Var<T>, EinsumError> {
    // Every operand becomes a Var (arrays as constants) so that backward can read all values alike.
    let operands: [Var<T>; N] = args.map(|a| match a {
        Arg::Var(v) => v.clone(),
        Arg::View(view) => Var::constant(view.view().to_owned()),
    });
    let (value, extents) = {
        let values: [Rc<ArrayD<T>>; N] = std::array::from_fn(|k| operands[k].data());
        forward(None, std::array::from_fn(|k| Input::new(&*values[k])))?
    };
    let value = value.into_dyn();
    let shape = value.shape().to_vec();
    Ok(Var::from_op(value, operands.into(), move |g, parents| {
        unwrap_or_panic(check_gradient_shape(pattern, &shape, g.shape()));
        (0..N)
            .map(|k| {
                parents[k].requires_grad().then(|| {
                    let inputs = std::array::from_fn(|i| Input::new(parents[i].data()));
                    let mut slot = None;
                    grads[k](&extents, &Input::new(g), &inputs, &mut slot);
                    slot.expect("a gradient kernel fills its slot")
                })
            })
            .collect()
    }))
}
