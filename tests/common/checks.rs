//! The per-pattern checks that `numeric`, `gradients` and `zero_extents` run on the macros under
//! test: forward results against the reference on every layout, gradients against finite
//! differences, the path (generated code or executor) a pattern takes, and zero-stride operands.

use ndarray::{arr0, Array, ArrayD, ArrayViewD, Dimension};

use super::assert::{assert_close, assert_expected, compare_with_reference, expected, Tol};
use super::elem::{cast, random_array, random_arrays, Elem};
use super::finite_diff::{
    directional_finite_difference, finite_difference, gradient_scale, objective,
};
use super::layouts::{laid_views, lay_out, lay_out_all, layout_names, Layout, ZeroStride, LAYOUTS};
use super::reference::{bind, parse, reference, reference_abs, views};
use super::rng::{seed_of, Rng};
use super::shapes::{big_opts, random_shapes, ShapeOpts};

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

/// A forward einsum under test: operands in, result as a dynamic-rank array.
pub type Fwd<T> = fn(&[ArrayViewD<'_, T>]) -> ArrayD<T>;

/// Runs `f` on random operands drawn with each of `opts`, every operand cycling through all layouts
/// (`rotations` of them per draw), and compares with the reference.
pub fn check_forward_with<T: Elem>(pattern: &str, f: Fwd<T>, opts: &[ShapeOpts], rotations: usize) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of(T::NAME));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        let ops: Vec<ArrayD<T>> = random_arrays(&shapes, &mut rng);
        let want = expected(pattern, &ops);
        for rotation in 0..rotations {
            let laid = lay_out_all(&ops, rotation + trial, &mut rng);
            let got = f(&laid_views(&laid));
            let what = format!(
                "einsum {pattern:?} [{}], trial {trial}, shapes {shapes:?}, layouts {:?}",
                T::NAME,
                layout_names(&laid)
            );
            assert_expected(&what, &got, &want);
        }
    }
}

/// Runs `f` on random operands of the given `shapes` in every layout, compared with the reference:
/// all operands in the same layout, and (with two or more operands) operand `k` shifted by `k`
/// layouts, so that kinds of strides meet across operands. For the kernels that only some extents
/// reach (small products, long lanes, blocked copies), where `check_forward_with`'s random shapes
/// are too small.
pub fn check_shapes<T: Elem>(pattern: &str, f: Fwd<T>, shapes: &[Vec<usize>], rng: &mut Rng) {
    let ops: Vec<ArrayD<T>> = random_arrays(shapes, rng);
    let want = expected(pattern, &ops);
    let shifts: &[usize] = if ops.len() > 1 { &[0, 1] } else { &[0] };
    for rotation in 0..LAYOUTS.len() {
        for &shift in shifts {
            let laid: Vec<_> = ops
                .iter()
                .enumerate()
                .map(|(k, a)| lay_out(a, LAYOUTS[(rotation + k * shift) % LAYOUTS.len()], rng))
                .collect();
            let got = f(&laid_views(&laid));
            let what = format!(
                "einsum {pattern:?} [{}], shapes {shapes:?}, layouts {:?}",
                T::NAME,
                layout_names(&laid)
            );
            assert_expected(&what, &got, &want);
        }
    }
}

/// Checks which path `run` takes for `pattern`: a fixed-rank pattern (no `...`) of at most four
/// operands runs the code the macro generated and never enters the run-time executor; any other
/// pattern does. So a fixed-rank pattern cannot silently fall back to the executor.
pub fn assert_path<R>(pattern: &str, run: impl FnOnce() -> R) -> R {
    let before = einsum_runtime::__private::executor_calls();
    let result = run();
    let entered = einsum_runtime::__private::executor_calls() > before;
    let generated = !pattern.contains("...") && parse(pattern).inputs.len() <= 4;
    assert_eq!(
        entered,
        !generated,
        "einsum {pattern:?}: expected the {} path",
        if generated { "generated" } else { "executor" }
    );
    result
}

/// Small random operands of `pattern`.
pub fn small_operands(pattern: &str) -> Vec<ArrayD<f64>> {
    let mut rng = Rng::new(seed_of(pattern));
    let shapes = random_shapes(pattern, &ShapeOpts::new(1, 3), &mut rng);
    random_arrays(&shapes, &mut rng)
}

/// The numeric check of one pattern of the table: the path it takes, then f64 (all layouts, with and
/// without size-1 broadcasting), f32, i64, and the large draws in `big`.
pub fn check_forward(pattern: &str, f64s: Fwd<f64>, f32s: Fwd<f32>, i64s: Fwd<i64>, big: &[&str]) {
    let ops = small_operands(pattern);
    assert_path(pattern, || f64s(&views(&ops)));
    let draws = [
        ShapeOpts::new(1, 5),
        ShapeOpts::new(1, 5).broadcast(0.35),
        ShapeOpts::new(2, 5),
        ShapeOpts {
            max_ellipsis: 4,
            ..ShapeOpts::new(1, 4).broadcast(0.6)
        },
    ];
    check_forward_with(pattern, f64s, &draws, LAYOUTS.len());
    check_forward_with(pattern, f32s, &draws[..2], 3);
    check_forward_with(pattern, i64s, &draws[1..3], 2);
    let big = big_opts(big);
    check_forward_with(pattern, f64s, &big, LAYOUTS.len());
    check_forward_with(pattern, f32s, &big, 1);
}

// ---------------------------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------------------------

/// A vjp under test: operands and upstream gradient in, value and one gradient per operand out.
pub type Vjp<T> = fn(&[ArrayViewD<'_, T>], &ArrayD<T>) -> (ArrayD<T>, Vec<ArrayD<T>>);
/// The same through `Var`: operands and upstream gradient in, value and each leaf's `grad()` out.
pub type VarFn = fn(&[ArrayD<f64>], &ArrayD<f64>) -> (ArrayD<f64>, Vec<Option<ArrayD<f64>>>);

/// Turns the tuple that `back(&g)` returns into a vector.
pub trait IntoGradVec<T> {
    fn into_grad_vec(self) -> Vec<ArrayD<T>>;
}

macro_rules! grad_tuples {
    ($(($($x:ident)*))*) => {$(
        impl<T> IntoGradVec<T> for ($(grad_tuples!(@ty $x),)*) {
            #[allow(non_snake_case)]
            fn into_grad_vec(self) -> Vec<ArrayD<T>> {
                let ($($x,)*) = self;
                vec![$($x),*]
            }
        }
    )*};
    (@ty $x:ident) => { ArrayD<T> };
}
grad_tuples! {
    (A)
    (A B)
    (A B C)
    (A B C D)
    (A B C D E)
    (A B C D E F)
    (A B C D E F G)
}

/// `g` with the static dimension type of `like` (for `back`, which takes the value's type).
pub fn same_dim<T: Clone, D: Dimension>(_like: &Array<T, D>, g: &ArrayD<T>) -> Array<T, D> {
    g.clone()
        .into_dimensionality::<D>()
        .expect("upstream gradient has the value's rank")
}

/// Draws for the gradient checks: small extents (finite differences cost a reference per element).
pub fn gradient_draws() -> Vec<ShapeOpts> {
    vec![
        ShapeOpts::new(1, 3).budget(120_000, 3),
        ShapeOpts::new(1, 3).broadcast(0.4).budget(120_000, 3),
        ShapeOpts::new(1, 4).broadcast(0.25).budget(120_000, 3),
    ]
}

/// Checks `einsum_vjp!` in f64 and f32 against central finite differences of the reference, and the
/// `Var` path against the vjp, on the draws `opts` (layouts rotate with the draw).
pub fn check_gradients_with(
    pattern: &str,
    vjp64: Vjp<f64>,
    vjp32: Vjp<f32>,
    var: Option<VarFn>,
    opts: &[ShapeOpts],
) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("gradients"));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        // Values are f32-representable, so the f32 inputs cast to f64 are exactly these.
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out_shape = {
            let s: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
            bind(&parse(pattern), &s).output_shape()
        };
        let g: ArrayD<f64> = random_array(&out_shape, &mut rng);
        let want_z = reference(pattern, &views(&ops));
        let z_scale = reference_abs(pattern, &views(&ops));
        let z_scale: Vec<f64> = z_scale.iter().copied().collect();
        let fd: Vec<ArrayD<f64>> = (0..ops.len())
            .map(|k| finite_difference(pattern, &ops, &g, k))
            .collect();
        let scales: Vec<Vec<f64>> = (0..ops.len())
            .map(|k| {
                gradient_scale(pattern, &ops, &g, k)
                    .iter()
                    .copied()
                    .collect()
            })
            .collect();
        let ctx = |dtype: &str, layouts: &[Layout]| {
            format!("einsum {pattern:?} [{dtype}], trial {trial}, shapes {shapes:?}, G shape {out_shape:?}, layouts {layouts:?}")
        };

        // f64 through einsum_vjp!.
        let laid = lay_out_all(&ops, trial, &mut rng);
        let what = ctx("f64", &layout_names(&laid));
        let (z, grads) = vjp64(&laid_views(&laid), &g);
        assert_close(
            &format!("{what}: value"),
            &z,
            &want_z,
            Tol::new(1e-12, 1e-12).of(&z_scale),
        );
        assert_eq!(grads.len(), ops.len(), "{what}: one gradient per operand");
        for k in 0..ops.len() {
            assert_close(
                &format!("{what}: gradient of operand {k}"),
                &grads[k],
                &fd[k],
                Tol::new(1e-6, 1e-6).of(&scales[k]),
            );
        }

        // f32 through einsum_vjp!, against the same finite differences.
        let ops32: Vec<ArrayD<f32>> = ops.iter().map(|a| cast(&a.view())).collect();
        let g32: ArrayD<f32> = cast(&g.view());
        let laid32 = lay_out_all(&ops32, trial + 3, &mut rng);
        let what32 = ctx("f32", &layout_names(&laid32));
        let (z32, grads32) = vjp32(&laid_views(&laid32), &g32);
        let z32: ArrayD<f64> = cast(&z32.view());
        assert_close(
            &format!("{what32}: value"),
            &z32,
            &want_z,
            f32::TOL.of(&z_scale),
        );
        assert_eq!(
            grads32.len(),
            ops.len(),
            "{what32}: one gradient per operand"
        );
        for k in 0..ops.len() {
            let gk: ArrayD<f64> = cast(&grads32[k].view());
            assert_close(
                &format!("{what32}: gradient of operand {k}"),
                &gk,
                &fd[k],
                Tol::new(1e-6, 1e-3).of(&scales[k]),
            );
        }

        // f64 through Var: the same value and gradients as the vjp.
        if let Some(var) = var {
            let owned: Vec<ArrayD<f64>> = laid.iter().map(|l| l.view().to_owned()).collect();
            let (vz, vgrads) = var(&owned, &g);
            let what = format!("{what}: Var");
            assert_close(
                &format!("{what}: value"),
                &vz,
                &z,
                Tol::new(1e-12, 1e-12).of(&z_scale),
            );
            for (k, vg) in vgrads.iter().enumerate() {
                let vg = vg
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: operand {k} has no gradient"));
                assert_close(
                    &format!("{what}: gradient of operand {k} vs einsum_vjp!"),
                    vg,
                    &grads[k],
                    Tol::new(1e-12, 1e-12).of(&scales[k]),
                );
            }
        }
    }
}

/// Directional finite differences for large operands: `<grad_k, D>` against
/// `(f(x_k + hD) - f(x_k - hD)) / 2h` for a few random directions `D`.
pub fn check_gradients_directional(pattern: &str, vjp64: Vjp<f64>, opts: &[ShapeOpts]) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("directional"));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out_shape = reference(pattern, &views(&ops)).shape().to_vec();
        let g: ArrayD<f64> = random_array(&out_shape, &mut rng);
        let laid = lay_out_all(&ops, trial, &mut rng);
        let (_, grads) = vjp64(&laid_views(&laid), &g);
        let abs_ops: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
        let scale = objective(pattern, &views(&abs_ops), &g.mapv(f64::abs));
        for k in 0..ops.len() {
            assert_eq!(
                grads[k].shape(),
                ops[k].shape(),
                "{pattern}: gradient shape"
            );
            for _ in 0..2 {
                let d: ArrayD<f64> = random_array(ops[k].shape(), &mut rng);
                let fd = directional_finite_difference(pattern, &ops, &g, k, &d);
                let got: f64 = grads[k].iter().zip(d.iter()).map(|(a, b)| a * b).sum();
                assert_close(
                    &format!(
                        "einsum {pattern:?} trial {trial} shapes {shapes:?} layouts {:?}: directional derivative of operand {k} (vjp against finite differences)",
                        layout_names(&laid)
                    ),
                    &arr0(got),
                    &arr0(fd),
                    // The rounding of the differences grows with the objective's scale.
                    Tol::new(1e-6 + 1e-9 * scale, 1e-6),
                );
            }
        }
    }
}

/// `f` on zero-stride views against the reference on the same logical arrays; with `vjp`, also the
/// gradients (shaped like the broadcast views) against finite differences.
pub fn check_zero_strides(pattern: &str, f: Fwd<f64>, vjp: Option<Vjp<f64>>) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("zero strides"));
    for _ in 0..3 {
        let ops = ZeroStride::new(pattern, &mut rng);
        let logical = ops.logical();
        let what = format!(
            "einsum {pattern:?} on zero-stride views of shapes {:?}",
            ops.shapes
        );
        compare_with_reference(&what, pattern, &f(&ops.views()), &logical);
        if let Some(vjp) = vjp {
            let out = reference(pattern, &views(&logical));
            let g: ArrayD<f64> = random_array(out.shape(), &mut rng);
            let (_, grads) = vjp(&ops.views(), &g);
            for (k, gk) in grads.iter().enumerate() {
                let fd = finite_difference(pattern, &logical, &g, k);
                let scale = gradient_scale(pattern, &logical, &g, k);
                let scale: Vec<f64> = scale.iter().copied().collect();
                assert_close(
                    &format!("{what}: gradient of operand {k}"),
                    gk,
                    &fd,
                    Tol::new(1e-6, 1e-6).of(&scale),
                );
            }
        }
    }
}
