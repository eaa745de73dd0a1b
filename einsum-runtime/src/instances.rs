//! The runtime's generic helpers, instantiated here for `f32` and `f64` and the ranks that
//! generated code uses most, in debug builds only.
//!
//! In a build at opt-level 0 or 1 (a `dev` profile), rustc shares generic instances between crates:
//! a caller whose generated kernels call, say, `View::<f64, 2>::lane` links the copy that this
//! crate compiled, instead of compiling its own, when this crate has one. Each `einsum!` call's
//! kernels call dozens of such helpers (views, lanes, allocations, the GEMM entry), and with their
//! own callees in `core`, `alloc` and `ndarray` they were most of the LLVM IR of a debug build of a
//! crate of `einsum!` calls (`docs/benchmarks.md`, section 2). Here they are compiled once, when
//! this crate is. An optimized build shares nothing between crates (it inlines these helpers into
//! the kernels instead), so this module is left out of builds without debug assertions.
//!
//! Nothing calls [`instances`]: naming each helper as a function pointer in a public function is
//! what makes rustc compile, and export, that instance.

use ndarray::{Array, Dim, OwnedRepr};

use crate::exec::{
    bind_fixed, buffer, fixed_shape, gemm, permute, shaped, sum_to, sum_to_scalar, whole, zeros,
};
use crate::kernel::{add, add_plane, mul_add, push, push_mul, Input, Permuted, View, ViewMut};

/// The instances of a view of `$n` slots over a term of `$r` axes, for element type `$t`.
macro_rules! views {
    ($t:ty; $($r:literal $n:literal),*) => {[$(
        View::<'static, $t, $n>::new::<$r> as fn(&'static Input<'static, $t>, _, _) -> _ as usize,
        View::<'static, $t, $n>::new::<$r>
            as fn(&'static Array<$t, Dim<[usize; $r]>>, _, _) -> _ as usize,
        ViewMut::<'static, $t, $n>::new::<OwnedRepr<$t>, Dim<[usize; $r]>, $r>
            as fn(_, _, _) -> _ as usize,
    )*]};
}

/// The instances of rank `$n` (view accessors, allocations, reorderings), for element type `$t`.
macro_rules! ranks {
    ($t:ty; $($n:literal),*) => {[$(
        View::<'static, $t, $n>::lane as fn(_, _, _) -> _ as usize,
        View::<'static, $t, $n>::splat as fn(_, _, _) -> _ as usize,
        View::<'static, $t, $n>::flat as fn(_) -> _ as usize,
        View::<'static, $t, $n>::plane as fn(_, _, _) -> _ as usize,
        ViewMut::<'static, $t, $n>::lane as fn(_, _, _) -> _ as usize,
        ViewMut::<'static, $t, $n>::splat as fn(_, _, _) -> _ as usize,
        ViewMut::<'static, $t, $n>::plane as fn(_, _, _) -> _ as usize,
        zeros::<$t, [usize; $n]> as fn(_, _) -> _ as usize,
        buffer::<$t, $n> as fn(_, _) -> _ as usize,
        shaped::<$t, $n> as fn(_, _) -> _ as usize,
        whole::<$t, Dim<[usize; $n]>, $n> as fn(_, _) -> _ as usize,
        sum_to::<$t, Dim<[usize; $n]>> as fn(_, _, _) -> _ as usize,
        sum_to_scalar::<$t, Dim<[usize; $n]>> as fn(_, _, _) -> _ as usize,
        permute::<$t, $n> as fn(_, _, _) -> _ as usize,
        Permuted::<'static, $t, $n>::new as fn(_, _) -> _ as usize,
        Permuted::<'static, $t, $n>::input as fn(_) -> _ as usize,
    )*]};
}

/// The GEMM entry for result, left and right ranks `$o $a $b`, for element type `$t`.
macro_rules! gemms {
    ($t:ty; $($o:literal $a:literal $b:literal),*) => {[$(
        gemm::<$t, $o, $a, $b> as fn(_, _, _, _, _) -> _ as usize,
    )*]};
}

/// Every instance above, for one element type.
macro_rules! element {
    ($t:ty) => {
        (
            [
                mul_add::<$t> as fn(_, _, _) as usize,
                add::<$t> as fn(_, _) as usize,
                push_mul::<$t> as fn(_, _, _) as usize,
                push::<$t> as fn(_, _) as usize,
                add_plane::<$t> as fn(_, _) as usize,
            ],
            // A view of a term without repeated labels, and of one with a label twice.
            views!($t; 0 0, 1 1, 2 2, 3 3, 4 4, 5 5, 6 6, 2 1, 3 2, 4 3),
            ranks!($t; 0, 1, 2, 3, 4, 5, 6),
            // Matrix, batched and doubly batched products; matrix-vector products.
            gemms!($t; 2 2 2, 3 3 3, 4 4 4, 1 2 1, 1 1 2),
        )
    };
}

/// Names every instance, so that a debug build of this crate compiles and exports it. Never
/// called.
#[allow(clippy::type_complexity)]
pub fn instances() -> impl Sized {
    (
        element!(f32),
        element!(f64),
        [
            bind_fixed::<1> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<2> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<3> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<4> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<5> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<6> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<7> as fn(_, _, _, _, _, _) -> _ as usize,
            bind_fixed::<8> as fn(_, _, _, _, _, _) -> _ as usize,
        ],
        [
            fixed_shape::<0> as fn(_) -> _ as usize,
            fixed_shape::<1> as fn(_) -> _ as usize,
            fixed_shape::<2> as fn(_) -> _ as usize,
            fixed_shape::<3> as fn(_) -> _ as usize,
            fixed_shape::<4> as fn(_) -> _ as usize,
            fixed_shape::<5> as fn(_) -> _ as usize,
            fixed_shape::<6> as fn(_) -> _ as usize,
        ],
    )
}
