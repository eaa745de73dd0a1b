//! Where generated code enters the runtime: each operand converted once into a [`Typed`] operand
//! (its element type, rank and kind as type parameters, checked at compile time: rank against the
//! term, element type against operand 0), the type-level choice between an array result and a
//! recorded `Var`, and `einsum_vjp!`'s closure. The kernels the macro writes are passed in as
//! function pointers ([`ForwardFn`], [`GradsFn`], [`BackFn`]): `forward` maps the operands (as
//! [`Input`]s) to the result, `grads` holds, per operand, the function that maps the upstream
//! gradient and the operands to that operand's gradient (for a `Var` node), and `back` maps the
//! upstream gradient and the operands to every operand's gradient (for `einsum_vjp!`'s closure).

use std::marker::PhantomData;

use ndarray::{Array, ArrayBase, ArrayD, Data, Dimension, LinalgScalar};
use ndarray::{Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6, IxDyn};

use crate::autograd::{einsum_var, unwrap_or_panic, Float, Var};
use crate::error::{EinsumError, ErrorKind};
use crate::kernel::Input;

/// An operand as generated code receives it.
pub enum Arg<'a, T> {
    /// An array or view, borrowed.
    View(Input<'a, T>),
    /// A `Var`, whose einsum is recorded.
    Var(&'a Var<T>),
}

impl<T> Clone for Arg<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Arg<'_, T> {}

/// Marks an operand kind: plain arrays, or [`Var`]s (whose einsum is recorded for backward).
pub struct IsArray;
/// See [`IsArray`].
pub struct IsVar;

/// The kind of a whole call: arrays only, or at least one `Var`.
pub trait Join<K> {
    /// The kind of both together.
    type Out;
}
impl Join<IsArray> for IsArray {
    type Out = IsArray;
}
impl Join<IsVar> for IsArray {
    type Out = IsVar;
}
impl<K> Join<K> for IsVar {
    type Out = IsVar;
}

/// What can be an einsum operand: any ndarray array or view, a [`Var`], or a reference to one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an einsum operand",
    label = "expected an ndarray array, view or `Var`",
    note = "operands may be `Array`, `ArrayView`, `ArcArray`, `CowArray`, `Var`, or references to them"
)]
pub trait Operand {
    /// The element type.
    type Elem;
    /// The static dimension type (`IxDyn` for `Var`).
    type Dim: Dimension;
    /// [`IsArray`] or [`IsVar`].
    type Kind;
    /// The operand as generated code receives it.
    fn arg(&self) -> Arg<'_, Self::Elem>;
}

impl<S: Data, D: Dimension> Operand for ArrayBase<S, D> {
    type Elem = S::Elem;
    type Dim = D;
    type Kind = IsArray;
    fn arg(&self) -> Arg<'_, S::Elem> {
        Arg::View(Input::new(self))
    }
}

impl<T: Float> Operand for Var<T> {
    type Elem = T;
    type Dim = IxDyn;
    type Kind = IsVar;
    fn arg(&self) -> Arg<'_, T> {
        Arg::Var(self)
    }
}

impl<X: Operand + ?Sized> Operand for &X {
    type Elem = X::Elem;
    type Dim = X::Dim;
    type Kind = X::Kind;
    fn arg(&self) -> Arg<'_, X::Elem> {
        (**self).arg()
    }
}

impl<X: Operand + ?Sized> Operand for &mut X {
    type Elem = X::Elem;
    type Dim = X::Dim;
    type Kind = X::Kind;
    fn arg(&self) -> Arg<'_, X::Elem> {
        (**self).arg()
    }
}

/// An operand whose type implements [`Operand`], with its element type, dimension type and kind
/// carried as type parameters. Generated code converts each operand once with [`operand`]; if the
/// type is not an operand, that one call is the one error the user sees.
pub struct Typed<'a, T, D, K> {
    arg: Arg<'a, T>,
    marker: PhantomData<(D, K)>,
}

/// Converts an operand once; a type that is not an operand fails here, with one error.
pub fn operand<X: Operand + ?Sized>(x: &X) -> Typed<'_, X::Elem, X::Dim, X::Kind> {
    Typed {
        arg: x.arg(),
        marker: PhantomData,
    }
}

impl<'a, T, D, K> Typed<'a, T, D, K> {
    /// The operand's dimension type, as a value: what `einsum_vjp!` passes to [`vjp`] so that its
    /// closure gives this operand's gradient that type.
    pub fn dim(&self) -> PhantomData<D> {
        PhantomData
    }

    /// The operand's kind, as a value to combine with [`Kind::or`].
    pub fn kind(&self) -> Kind<K> {
        Kind(PhantomData)
    }

    /// The operand as generated code receives it.
    pub fn arg(&self) -> Arg<'a, T> {
        self.arg
    }
}

impl<'a, T, D> Typed<'a, T, D, IsArray> {
    /// Operands of `einsum_vjp!`: arrays only.
    pub fn view(&self) -> Input<'a, T> {
        match &self.arg {
            Arg::View(v) => *v,
            Arg::Var(_) => unreachable!("an operand of kind IsArray is an array"),
        }
    }
}

/// The operands of one call have one element type: operand `OPERAND` (whose elements are `Self`) must
/// have operand 0's, `T`. Generated code converts every operand after the first through this trait,
/// so a mismatch is this one error, naming both types and the operand.
#[diagnostic::on_unimplemented(
    message = "einsum operand {OPERAND} has elements of type `{Self}`, but operand 0 has `{T}`",
    label = "elements of type `{Self}`, where operand 0 has `{T}`",
    note = "all operands of one einsum share one element type; convert one, e.g. with `.mapv(|x| x as {T})`"
)]
pub trait SameElement<T, const OPERAND: usize>: Sized {
    /// The identity, once the types are known to agree.
    fn cast(arg: Arg<'_, Self>) -> Arg<'_, T>;
    /// The identity on views, once the types are known to agree.
    fn cast_view(view: Input<'_, Self>) -> Input<'_, T>;
}

impl<T, const OPERAND: usize> SameElement<T, OPERAND> for T {
    fn cast(arg: Arg<'_, T>) -> Arg<'_, T> {
        arg
    }
    fn cast_view(view: Input<'_, T>) -> Input<'_, T> {
        view
    }
}

impl<T, D, K> Typed<'_, T, D, K> {
    /// Operand `OPERAND`'s [`arg`](Typed::arg), typed like this one's (operand 0's): the element
    /// type is fixed by the receiver, so a different one fails the `SameElement` bound, once.
    pub fn arg_of<'b, X, D2, K2, const OPERAND: usize>(
        &self,
        other: &Typed<'b, X, D2, K2>,
    ) -> Arg<'b, T>
    where
        X: SameElement<T, OPERAND>,
    {
        X::cast(other.arg)
    }

    /// Operand `OPERAND`'s [`view`](Typed::view) (an array), typed like this one's.
    pub fn view_of<'b, X, D2, const OPERAND: usize>(
        &self,
        other: &Typed<'b, X, D2, IsArray>,
    ) -> Input<'b, T>
    where
        X: SameElement<T, OPERAND>,
    {
        X::cast_view(other.view())
    }
}

/// Type-level tag of a call's kind, combined operand by operand with [`Kind::or`].
pub struct Kind<K>(PhantomData<K>);

impl<K> Kind<K> {
    /// The kind of a call with operands of kinds `K` and `K2`.
    pub fn or<K2>(self, _: Kind<K2>) -> Kind<K::Out>
    where
        K: Join<K2>,
    {
        Kind(PhantomData)
    }
}

/// Checks the upstream gradient's shape against the output's.
pub(crate) fn check_gradient_shape(
    pattern: &str,
    expected: &[usize],
    found: &[usize],
) -> Result<(), EinsumError> {
    if expected == found {
        Ok(())
    } else {
        Err(EinsumError::new(
            pattern,
            ErrorKind::GradientShape {
                expected: expected.to_vec(),
                found: found.to_vec(),
            },
        ))
    }
}

/// A generated forward kernel: `forward(known, operands)` is the result and the extents (`E`, a
/// `[usize; L]`, or `()` for the executor, which binds them again). With `known` `None` it binds the
/// extents from the operands' shapes, checking them against each other (the runtime's callers); a
/// gradient kernel that runs the forward code on the upstream gradient and the other operands
/// passes the extents it already has, renamed, and the binding is skipped (the views the kernel
/// builds still check every operand's shape against them).
///
/// The kernels reach the runtime as function pointers rather than as generic closures, so that
/// [`vjp`] and the `Var` node are compiled once per element type, dimension type and operand count
/// in the calling crate, not once per `einsum!` call.
pub type ForwardFn<T, D, E, const N: usize> =
    for<'v> fn(Option<E>, [Input<'v, T>; N]) -> Result<(Array<T, D>, E), EinsumError>;

/// A generated gradient kernel of one operand: `grad(&extents, &g, &operands, &mut slot)` puts
/// into `slot`, and returns there, the operand's gradient, shaped like it, from the upstream
/// gradient `g` (whose shape the caller has checked) and the operands. It panics, with the error's
/// message, if the gradient cannot be allocated.
///
/// Only references on purpose: an optimized, non-incremental build of a library records in its
/// metadata the parameter attributes that rustc deduces from each function's optimized MIR, and
/// skips that (never optimizing the function) when every parameter and the result are passed
/// directly. A call of `einsum!` on arrays never runs its gradient kernels, so with this signature
/// the compiler only type-checks and borrow-checks them (`docs/benchmarks.md`, section 2).
pub type GradFn<T, E, const N: usize> = for<'o, 'a, 'g, 'v> fn(
    &'a E,
    &'a Input<'g, T>,
    &'a [Input<'v, T>; N],
    &'o mut Option<ArrayD<T>>,
) -> &'o mut ArrayD<T>;

/// Every operand's [`GradFn`], by operand: what a `Var` node calls, for the operands that need a
/// gradient.
pub type GradsFn<T, E, const N: usize> = [GradFn<T, E, N>; N];

/// A generated backward kernel: `back(extents, g, operands)` is every operand's gradient, as a tuple
/// `G` whose arrays have static dimension types where the terms' ranks are fixed (so that
/// `einsum_vjp!`'s closure hands them on without a round trip through `ArrayD`). What
/// `einsum_vjp!`'s closure calls. The macro writes it as a closure that calls each operand's
/// gradient function in turn; those panic with the error's message where an allocation fails (the
/// closure that `einsum_vjp!` returns would panic on it anyway), so that no `Result` passes
/// between them.
pub type BackFn<T, E, G, const N: usize> = for<'g, 'v> fn(E, Input<'g, T>, [Input<'v, T>; N]) -> G;

/// The last step of `einsum!`/`try_einsum!`: arrays give an array, any `Var` gives a `Var`. A trait
/// (rather than inherent methods per kind) so that a call whose kind is unknown, because an operand
/// is not an operand at all, adds no second error to the one that says so.
///
/// `forward` is the generated forward kernel. `grads` returns the generated gradient kernels: only a
/// `Var` result calls it, so for a call on arrays the gradient kernels are never named as values, and
/// so never compiled to machine code (nor, by their signature, optimized: see `GradFn`).
pub trait Finish<T, D, const N: usize> {
    /// An `Array<T, D>` for arrays, a `Var<T>` when any operand is a `Var`.
    type Output;

    /// Runs the einsum; an extent mismatch is an `Err`.
    fn try_finish<E: Copy + 'static>(
        self,
        pattern: &'static str,
        args: [Arg<'_, T>; N],
        forward: ForwardFn<T, D, E, N>,
        grads: impl FnOnce() -> GradsFn<T, E, N>,
    ) -> Result<Self::Output, EinsumError>;

    /// Runs the einsum; an extent mismatch panics, reporting the caller's line.
    ///
    /// `#[inline]`, as [`vjp`] is: one small instance per call, compiled in the caller's codegen
    /// unit only.
    #[track_caller]
    #[inline]
    fn finish<E: Copy + 'static>(
        self,
        pattern: &'static str,
        args: [Arg<'_, T>; N],
        forward: ForwardFn<T, D, E, N>,
        grads: impl FnOnce() -> GradsFn<T, E, N>,
    ) -> Self::Output
    where
        Self: Sized,
    {
        unwrap_or_panic(self.try_finish(pattern, args, forward, grads))
    }
}

impl<T: LinalgScalar, D: Dimension, const N: usize> Finish<T, D, N> for Kind<IsArray> {
    type Output = Array<T, D>;

    #[inline]
    fn try_finish<E: Copy + 'static>(
        self,
        _pattern: &'static str,
        args: [Arg<'_, T>; N],
        forward: ForwardFn<T, D, E, N>,
        _grads: impl FnOnce() -> GradsFn<T, E, N>,
    ) -> Result<Array<T, D>, EinsumError> {
        forward(None, array_inputs(args)).map(|(value, _)| value)
    }
}

impl<T: Float, D: Dimension, const N: usize> Finish<T, D, N> for Kind<IsVar> {
    type Output = Var<T>;

    #[inline]
    fn try_finish<E: Copy + 'static>(
        self,
        pattern: &'static str,
        args: [Arg<'_, T>; N],
        forward: ForwardFn<T, D, E, N>,
        grads: impl FnOnce() -> GradsFn<T, E, N>,
    ) -> Result<Var<T>, EinsumError> {
        einsum_var(pattern, args, forward, grads())
    }
}

/// The operands of a call whose operands are all arrays. Apart from the closures that take them, so
/// that it is compiled once per element type and operand count, not once per call.
fn array_inputs<T, const N: usize>(args: [Arg<'_, T>; N]) -> [Input<'_, T>; N] {
    args.map(|a| match a {
        Arg::View(v) => v,
        Arg::Var(_) => unreachable!("a call of kind IsArray has no Var operand"),
    })
}

/// `einsum_vjp!`: the value and a closure mapping the upstream gradient to every operand's gradient,
/// each with its operand's dimension type: `back` gives them as the tuple `G` (static dimension types
/// where the terms' ranks are fixed), and the closure converts them with [`IntoDims`] to the
/// dimension types that `dims` (one [`Typed::dim`] per operand) names.
///
/// `#[inline]`: each call has its own instance (the closure types differ), a few lines long. Without
/// the hint rustc put all of a crate's instances into one codegen unit and exported them, and the
/// optimizer compiled each twice: there, and again where ThinLTO imported it into its caller's unit
/// to inline it. With the hint each is compiled once, in its caller's unit.
#[allow(clippy::type_complexity)] // the closure's type is the point of this function
#[track_caller]
#[inline]
pub fn vjp<'a, T, D, E, G, M, const N: usize>(
    pattern: &'static str,
    operands: [Input<'a, T>; N],
    forward: ForwardFn<T, D, E, N>,
    back: BackFn<T, E, G, N>,
    _dims: M,
) -> (Array<T, D>, impl Fn(&Array<T, D>) -> G::Out + 'a)
where
    T: Float,
    D: Dimension + 'a,
    E: Copy + 'a,
    G: IntoDims<M> + 'a,
{
    let (value, extents) = unwrap_or_panic(forward(None, operands));
    let dim = value.raw_dim();
    let back = move |g: &Array<T, D>| backward(pattern, &dim, extents, g, operands, back);
    (value, back)
}

/// The body of the closure that [`vjp`] returns, out of line: it depends only on the types, so
/// calls whose element type, dimension types, extents and operand count agree share one copy,
/// rather than each `einsum_vjp!` call inlining its own.
#[inline(never)]
fn backward<T, D, E, G, M, const N: usize>(
    pattern: &'static str,
    dim: &D,
    extents: E,
    g: &Array<T, D>,
    operands: [Input<'_, T>; N],
    back: BackFn<T, E, G, N>,
) -> G::Out
where
    T: Float,
    D: Dimension,
    G: IntoDims<M>,
{
    // `D`'s comparison: a few integer compares for a static rank.
    if g.raw_dim() != *dim {
        unwrap_or_panic(check_gradient_shape(pattern, dim.slice(), g.shape()));
    }
    back(extents, Input::new(g), operands).into_dims()
}

/// Gives a gradient its operand's dimension type (from the static type of its term's rank, or from
/// `IxDyn`); a move when the two are the same type.
pub fn into_dim_of<T, G: Dimension, D: Dimension, K>(
    g: Array<T, G>,
    _: &Typed<'_, T, D, K>,
) -> Array<T, D> {
    into_dim(g)
}

fn into_dim<T, G: Dimension, D: Dimension>(g: Array<T, G>) -> Array<T, D> {
    g.into_dimensionality::<D>()
        .expect("einsum-runtime internal error: a gradient has its operand's rank")
}

/// The gradients of an `einsum_vjp!` call, a tuple of arrays, converted to the dimension types that
/// `M` names: a tuple of `PhantomData<D>`, one per operand (see [`Typed::dim`]). Implemented for
/// tuples of up to twelve arrays; the macro converts more with [`into_dim_of`], in a closure of its
/// own. One conversion generic over the tuple, rather than a closure per call, is less for the
/// compiler to check in every expansion (docs/benchmarks.md, section 2).
pub trait IntoDims<M> {
    /// The gradients with their operands' dimension types.
    type Out;
    /// Converts each gradient (a move where the dimension type is already the operand's).
    fn into_dims(self) -> Self::Out;
}

macro_rules! into_dims {
    ($($g:ident $d:ident $i:tt),+) => {
        impl<T, $($g: Dimension, $d: Dimension),+> IntoDims<($(PhantomData<$d>,)+)>
            for ($(Array<T, $g>,)+)
        {
            type Out = ($(Array<T, $d>,)+);
            fn into_dims(self) -> Self::Out {
                ($(into_dim::<T, $g, $d>(self.$i),)+)
            }
        }
    };
}

into_dims!(G0 D0 0);
into_dims!(G0 D0 0, G1 D1 1);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6, G7 D7 7);
into_dims!(G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6, G7 D7 7, G8 D8 8);
into_dims!(
    G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6, G7 D7 7, G8 D8 8, G9 D9 9
);
into_dims!(
    G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6, G7 D7 7, G8 D8 8, G9 D9 9,
    G10 D10 10
);
into_dims!(
    G0 D0 0, G1 D1 1, G2 D2 2, G3 D3 3, G4 D4 4, G5 D5 5, G6 D6 6, G7 D7 7, G8 D8 8, G9 D9 9,
    G10 D10 10, G11 D11 11
);

/// The gradients of an `einsum_vjp!` call with more operands than [`IntoDims`] takes: handed on as
/// they are, for the macro to convert one by one.
pub struct AsIs;

impl<G> IntoDims<AsIs> for G {
    type Out = G;
    fn into_dims(self) -> G {
        self
    }
}

/// The number of axes `A` of a dimension type, and whether it is static ([`Static`]) or only known at
/// run time ([`Dynamic`], for `IxDyn`, whose `A` is a placeholder). The rank checks infer `A` from
/// the one impl for the operand's dimension type, so that their message can name it.
pub trait Axes<const A: usize> {
    /// [`Static`] or [`Dynamic`].
    type Kind;
}

/// The rank of a fixed-rank dimension type (`Ix0` to `Ix6`).
pub struct Static;
/// The rank of `IxDyn`: checked at run time instead.
pub struct Dynamic;

impl Axes<0> for Ix0 {
    type Kind = Static;
}
impl Axes<1> for Ix1 {
    type Kind = Static;
}
impl Axes<2> for Ix2 {
    type Kind = Static;
}
impl Axes<3> for Ix3 {
    type Kind = Static;
}
impl Axes<4> for Ix4 {
    type Kind = Static;
}
impl Axes<5> for Ix5 {
    type Kind = Static;
}
impl Axes<6> for Ix6 {
    type Kind = Static;
}
impl Axes<0> for IxDyn {
    type Kind = Dynamic;
}

/// Operand `OPERAND`, with `A` axes, fits a term of `N` labels (no `...`): `A == N`, or the rank is
/// [`Dynamic`].
#[diagnostic::on_unimplemented(
    message = "einsum operand {OPERAND} has {A} axes, but its term has {N} labels",
    label = "{A} axes, where the term has {N} labels",
    note = "the n-th operand's rank must equal the n-th term's label count (or be `IxDyn`, checked at run time)"
)]
pub trait FitsTerm<const OPERAND: usize, const A: usize, const N: usize> {}
#[diagnostic::do_not_recommend]
impl<const OPERAND: usize, const N: usize> FitsTerm<OPERAND, N, N> for Static {}
#[diagnostic::do_not_recommend]
impl<const OPERAND: usize, const A: usize, const N: usize> FitsTerm<OPERAND, A, N> for Dynamic {}

/// Operand `OPERAND`, with `A` axes, fits a term of `N` labels and a `...`: `A >= N`, or the rank
/// is [`Dynamic`].
#[diagnostic::on_unimplemented(
    message = "einsum operand {OPERAND} has {A} axes, but its term has {N} labels besides `...`",
    label = "{A} axes, where the term needs at least {N}",
    note = "`...` stands for zero or more axes; the labels beside it need one axis each"
)]
pub trait FitsEllipsisTerm<const OPERAND: usize, const A: usize, const N: usize> {}
#[diagnostic::do_not_recommend]
impl<const OPERAND: usize, const A: usize, const N: usize> FitsEllipsisTerm<OPERAND, A, N>
    for Dynamic
{
}
macro_rules! at_least {
    ($($a:literal: $($n:literal)*;)*) => {$($(
        #[diagnostic::do_not_recommend]
        impl<const OPERAND: usize> FitsEllipsisTerm<OPERAND, $a, $n> for Static {}
    )*)*};
}
at_least! {
    0: 0;
    1: 0 1;
    2: 0 1 2;
    3: 0 1 2 3;
    4: 0 1 2 3 4;
    5: 0 1 2 3 4 5;
    6: 0 1 2 3 4 5 6;
}

/// Compiles only if operand `OPERAND`'s static rank is its term's label count `N` (or dynamic).
pub fn rank<T, D, K, const A: usize, const N: usize, const OPERAND: usize>(_: &Typed<'_, T, D, K>)
where
    D: Axes<A>,
    D::Kind: FitsTerm<OPERAND, A, N>,
{
}

/// Compiles only if operand `OPERAND`'s static rank is at least its term's label count `N` besides
/// `...` (or dynamic).
pub fn rank_at_least<T, D, K, const A: usize, const N: usize, const OPERAND: usize>(
    _: &Typed<'_, T, D, K>,
) where
    D: Axes<A>,
    D::Kind: FitsEllipsisTerm<OPERAND, A, N>,
{
}
