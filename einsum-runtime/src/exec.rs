//! Run-time half of the planner: binds a compile-time [`Spec`] to real shapes (ellipsis ranks, label
//! extents, size-1 broadcasting), chooses the pairwise contraction order from the real extents, and
//! runs each step with the loop kernel or a GEMM.

use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn, LinalgScalar};

use crate::autograd::Float;
use crate::contract::{label_name, GradSpec, Label, Spec, Term, ELLIPSIS};
use crate::error::{AxisRef, EinsumError, ErrorKind};
use crate::kernel::{self, fold_axes, Axis, Input, Matrices, Strided, StridedMut, ViewMut};
use crate::path;

/// Shapes bound to terms: the labels of every axis, and every label's extent.
struct Binding {
    /// Per input, the label of each axis (ellipsis expanded).
    axis_labels: Vec<Vec<Label>>,
    /// Per label id, its extent (`None` for labels no input has).
    extents: Vec<Option<usize>>,
    /// Labels of the longest ellipsis, left to right.
    ellipsis: Vec<Label>,
}

impl Binding {
    fn extent(&self, label: Label) -> usize {
        self.extents[usize::from(label)].expect("einsum-runtime internal error: unbound label")
    }
}

/// Binds `terms` to `shapes` (operand `i` is reported as operand `numbers[i]`), checking ranks and
/// extents.
fn bind(
    pattern: &str,
    terms: &[&Term],
    shapes: &[&[usize]],
    numbers: &[usize],
) -> Result<Binding, EinsumError> {
    let mut ellipsis_ranks = Vec::with_capacity(terms.len());
    for (i, (term, shape)) in terms.iter().zip(shapes).enumerate() {
        let named = term.labels.len();
        let fits = match term.ellipsis {
            Some(_) => shape.len() >= named,
            None => shape.len() == named,
        };
        if !fits {
            return Err(EinsumError::new(
                pattern,
                ErrorKind::RankMismatch {
                    operand: numbers[i],
                    term: term.spelling.to_owned(),
                    expected: named,
                    at_least: term.ellipsis.is_some(),
                    found: shape.len(),
                },
            ));
        }
        ellipsis_ranks.push(shape.len() - named);
    }
    let rank = ellipsis_ranks.iter().copied().max().unwrap_or(0);
    let too_many = usize::from(Label::MAX - ELLIPSIS);
    if rank > too_many {
        return Err(EinsumError::new(
            pattern,
            ErrorKind::TooLarge {
                shape: shapes
                    .iter()
                    .find(|s| s.len() > too_many)
                    .map_or_else(Vec::new, |s| s.to_vec()),
            },
        ));
    }
    let ellipsis: Vec<Label> = (0..rank).map(|d| ELLIPSIS + d as Label).collect();

    // Per label, the axis that fixed its extent: the first one, unless that one has extent 1.
    let mut bound: Vec<Option<AxisRef>> = vec![None; usize::from(ELLIPSIS) + rank];
    let mut axis_labels = Vec::with_capacity(terms.len());
    for (i, (term, shape)) in terms.iter().zip(shapes).enumerate() {
        let labels = expand_term(term, &ellipsis[rank - ellipsis_ranks[i]..]);
        for (axis, (&label, &len)) in labels.iter().zip(shape.iter()).enumerate() {
            let here = AxisRef {
                operand: numbers[i],
                axis,
                extent: len,
            };
            let slot = &mut bound[usize::from(label)];
            match *slot {
                Some(first) if first.extent == len || len == 1 => {}
                Some(first) if first.extent != 1 => {
                    return Err(EinsumError::new(
                        pattern,
                        ErrorKind::ExtentMismatch {
                            label: label_name(label),
                            first,
                            second: here,
                        },
                    ))
                }
                _ => *slot = Some(here),
            }
        }
        axis_labels.push(labels);
    }
    Ok(Binding {
        axis_labels,
        extents: bound.iter().map(|b| b.map(|a| a.extent)).collect(),
        ellipsis,
    })
}

/// The labels of a term's axes, with its `...` replaced by `ellipsis`.
fn expand_term(term: &Term, ellipsis: &[Label]) -> Vec<Label> {
    let mut labels = Vec::with_capacity(term.labels.len() + ellipsis.len());
    let split = term.ellipsis.unwrap_or(term.labels.len());
    labels.extend_from_slice(&term.labels[..split]);
    if term.ellipsis.is_some() {
        labels.extend_from_slice(ellipsis);
    }
    labels.extend_from_slice(&term.labels[split..]);
    labels
}

/// A contiguous row-major tensor whose axes are labelled: intermediates and results.
#[derive(Debug)]
struct Dense<T> {
    data: Vec<T>,
    labels: Vec<Label>,
    dims: Vec<usize>,
}

impl<T: LinalgScalar> Dense<T> {
    /// Zeros with the given labels; fails rather than aborts when the size cannot be allocated.
    fn zeros(labels: Vec<Label>, binding: &Binding, pattern: &str) -> Result<Self, EinsumError> {
        let dims: Vec<usize> = labels.iter().map(|&l| binding.extent(l)).collect();
        let data = alloc_zeros(&dims, pattern)?;
        Ok(Dense { data, labels, dims })
    }

    fn axes(&self) -> Vec<Axis> {
        let strides = row_major_strides(&self.dims);
        (self.labels.iter().zip(&self.dims).zip(strides))
            .map(|((&label, &extent), stride)| Axis {
                label,
                extent,
                stride,
            })
            .collect()
    }

    fn strided(&self) -> Strided<'_, T> {
        Strided::from_slice(&self.data, self.axes())
    }

    fn strided_mut(&mut self) -> StridedMut<'_, T> {
        let axes = self.axes();
        StridedMut::from_slice(&mut self.data, axes)
    }
}

/// A zeroed buffer for `dims`, or `TooLarge` if its length overflows or cannot be allocated.
fn alloc_zeros<T: LinalgScalar>(dims: &[usize], pattern: &str) -> Result<Vec<T>, EinsumError> {
    let len = checked_len::<T>(dims, pattern)?;
    kernel::try_zeroed(len).ok_or_else(|| too_large(dims, pattern))
}

/// An empty buffer with room for `dims`' elements, or `TooLarge`.
fn alloc_empty<T>(dims: &[usize], pattern: &str) -> Result<Vec<T>, EinsumError> {
    let len = checked_len::<T>(dims, pattern)?;
    let mut v = kernel::try_empty(len).ok_or_else(|| too_large(dims, pattern))?;
    kernel::advise_huge_pages(&mut v);
    Ok(v)
}

/// The element count of `dims`, if it and its size in bytes fit, and ndarray can hold the shape
/// (the product of its nonzero lengths fits in `isize`, even when a zero length empties it).
fn checked_len<T>(dims: &[usize], pattern: &str) -> Result<usize, EinsumError> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| {
            n.checked_mul(std::mem::size_of::<T>())
                .is_some_and(|b| b <= isize::MAX as usize)
                && kernel::nonzero_len_fits_given(dims, n)
        })
        .ok_or_else(|| too_large(dims, pattern))
}

fn too_large(dims: &[usize], pattern: &str) -> EinsumError {
    EinsumError::new(
        pattern,
        ErrorKind::TooLarge {
            shape: dims.to_vec(),
        },
    )
}

/// An operand of the contraction network: a borrowed input or an owned intermediate.
enum Tensor<'a, T> {
    View(Strided<'a, T>),
    Dense(Dense<T>),
}

impl<T: LinalgScalar> Tensor<'_, T> {
    fn strided(&self) -> Strided<'_, T> {
        match self {
            Tensor::View(v) => v.clone(),
            Tensor::Dense(d) => d.strided(),
        }
    }

    fn labels(&self) -> Vec<Label> {
        match self {
            Tensor::View(v) => v.axes().iter().map(|a| a.label).collect(),
            Tensor::Dense(d) => d.labels.clone(),
        }
    }
}

/// Contracts all `tensors` into a dense tensor with labels `out` (each out label must occur in some
/// tensor). Three or more operands go pairwise in the planner's order, never as one loop nest.
fn contract_network<T: LinalgScalar>(
    mut tensors: Vec<Tensor<'_, T>>,
    out: &[Label],
    binding: &Binding,
    pattern: &str,
) -> Result<Dense<T>, EinsumError> {
    let needed_elsewhere = |tensors: &[Tensor<'_, T>], skip: &[usize]| -> Vec<Label> {
        let mut keep: Vec<Label> = out.to_vec();
        for (i, t) in tensors.iter().enumerate() {
            if !skip.contains(&i) {
                keep.extend(t.labels());
            }
        }
        keep
    };
    // The order comes from the planner (see `path`): first single-operand steps that sum away labels
    // only one operand has, then pairs; each step removes its operands and appends the result.
    let labels: Vec<Vec<Label>> = tensors.iter().map(Tensor::labels).collect();
    let lists: Vec<&[Label]> = labels.iter().map(Vec::as_slice).collect();
    for step in path::plan(&lists, out, |l| binding.extent(l)) {
        let i = step.first;
        let result = match step.second {
            Some(j) => {
                let keep = needed_elsewhere(&tensors, &[i, j]);
                let result = pair(&tensors[i], &tensors[j], &keep, binding, pattern)?;
                tensors.remove(j);
                result
            }
            None if tensors.len() == 1 => unary(&tensors[i], out.to_vec(), binding, pattern)?,
            None => {
                let keep = needed_elsewhere(&tensors, &[i]);
                let mut kept = tensors[i].labels();
                kept.retain(|l| keep.contains(l));
                unary(&tensors[i], kept, binding, pattern)?
            }
        };
        tensors.remove(i);
        tensors.push(Tensor::Dense(result));
    }
    let last = tensors
        .pop()
        .expect("einsum-runtime internal error: no operands");
    match last {
        Tensor::Dense(d) if d.labels == out => Ok(d),
        other => unary(&other, out.to_vec(), binding, pattern),
    }
}

/// `out[labels] = Σ t` over t's other labels (and broadcast over labels t lacks).
fn unary<T: LinalgScalar>(
    t: &Tensor<'_, T>,
    labels: Vec<Label>,
    binding: &Binding,
    pattern: &str,
) -> Result<Dense<T>, EinsumError> {
    let mut out = Dense::zeros(labels, binding, pattern)?;
    kernel::contract(&mut out.strided_mut(), &t.strided(), None);
    Ok(out)
}

/// Contracts two tensors, keeping their labels that are in `keep`.
fn pair<T: LinalgScalar>(
    a: &Tensor<'_, T>,
    b: &Tensor<'_, T>,
    keep: &[Label],
    binding: &Binding,
    pattern: &str,
) -> Result<Dense<T>, EinsumError> {
    let (la, lb) = (a.labels(), b.labels());
    let batch: Vec<Label> = la
        .iter()
        .filter(|l| lb.contains(l) && keep.contains(l))
        .copied()
        .collect();
    let left: Vec<Label> = la
        .iter()
        .filter(|l| !lb.contains(l) && keep.contains(l))
        .copied()
        .collect();
    let right: Vec<Label> = lb
        .iter()
        .filter(|l| !la.contains(l) && keep.contains(l))
        .copied()
        .collect();
    let summed: Vec<Label> = la
        .iter()
        .filter(|l| lb.contains(l) && !keep.contains(l))
        .copied()
        .collect();
    let out_labels: Vec<Label> = batch.iter().chain(&left).chain(&right).copied().collect();

    let side = |labels: &[Label]| labels.iter().map(|&l| binding.extent(l)).product::<usize>();
    let (m, n, k) = (side(&left), side(&right), side(&summed));
    if !kernel::gemm_pays::<T>(m, n, k) {
        // The loop kernel writes any order: take `keep`'s, which is the output's order on the last
        // step, so that no permuting copy follows.
        let mut ordered: Vec<Label> = Vec::with_capacity(out_labels.len());
        for &l in keep {
            if out_labels.contains(&l) && !ordered.contains(&l) {
                ordered.push(l);
            }
        }
        let mut out = Dense::zeros(ordered, binding, pattern)?;
        kernel::contract(&mut out.strided_mut(), &a.strided(), Some(&b.strided()));
        return Ok(out);
    }
    let (mut packed_a, mut packed_b) = (None, None);
    let ma = matrices(a, [&batch, &left, &summed], &mut packed_a, binding, pattern)?;
    let mb = matrices(
        b,
        [&batch, &summed, &right],
        &mut packed_b,
        binding,
        pattern,
    )?;
    let mut out = Dense::zeros(out_labels, binding, pattern)?;
    kernel::matmul_dense(&ma, &mb, &mut out.data);
    Ok(out)
}

/// `t` as `[batch, rows, cols]` matrices: in place when its layout allows, else packed into `packed`
/// in that order first (which also sums labels only `t` has).
fn matrices<'t, T: LinalgScalar>(
    t: &'t Tensor<'_, T>,
    [batch, rows, cols]: [&[Label]; 3],
    packed: &'t mut Option<Dense<T>>,
    binding: &Binding,
    pattern: &str,
) -> Result<Matrices<'t, T>, EinsumError> {
    if let Some(m) = t.strided().as_matrices(batch, rows, cols) {
        return Ok(m);
    }
    let dense = packed.insert(unary(t, [batch, rows, cols].concat(), binding, pattern)?);
    Ok(dense
        .strided()
        .as_matrices(batch, rows, cols)
        .expect("einsum-runtime internal error: a packed operand is a batch of matrices"))
}

fn strided_inputs<'a, T>(views: &[ArrayViewD<'a, T>], binding: &Binding) -> Vec<Tensor<'a, T>> {
    views
        .iter()
        .zip(&binding.axis_labels)
        .map(|(v, labels)| Tensor::View(Strided::from_view(v, labels, |l| binding.extent(l))))
        .collect()
}

fn into_array<T>(dense: Dense<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(&dense.dims), dense.data)
        .expect("einsum-runtime internal error: output length")
}

/// The forward einsum of `inputs` with `output` over `views`.
pub(crate) fn forward<T: LinalgScalar>(
    pattern: &str,
    inputs: &[Term],
    output: &Term,
    views: &[ArrayViewD<'_, T>],
) -> Result<ArrayD<T>, EinsumError> {
    let terms: Vec<&Term> = inputs.iter().collect();
    let shapes: Vec<&[usize]> = views.iter().map(|v| v.shape()).collect();
    let numbers: Vec<usize> = (0..views.len()).collect();
    let binding = bind(pattern, &terms, &shapes, &numbers)?;
    let out = expand_term(output, &binding.ellipsis);
    let tensors = strided_inputs(views, &binding);
    contract_network(tensors, &out, &binding, pattern).map(into_array)
}

/// The gradient of one operand (shaped `target_shape`) from the upstream gradient `g` and the other
/// operands, following `spec` (see `GradSpec`). The caller has checked `g`'s shape.
pub(crate) fn gradient<T: LinalgScalar>(
    pattern: &str,
    spec: &GradSpec,
    g: &ArrayViewD<'_, T>,
    others: &[ArrayViewD<'_, T>],
    target_shape: &[usize],
) -> Result<ArrayD<T>, EinsumError> {
    let mut terms: Vec<&Term> = spec.inputs.iter().collect();
    terms.push(&spec.target);
    let mut shapes: Vec<&[usize]> = vec![g.shape()];
    shapes.extend(others.iter().map(|v| v.shape()));
    shapes.push(target_shape);
    // Operand numbers as the user sees them: `G` is reported as the output, i.e. one past the inputs.
    let mut numbers = vec![spec.sources.len() + 1];
    numbers.extend_from_slice(spec.sources);
    numbers.push(spec.target_operand());
    let binding = bind(pattern, &terms, &shapes, &numbers)?;

    // The target's own ellipsis dimensions, restricted (like its labels) to what the inputs provide.
    let target_labels = binding.axis_labels.last().expect("target is bound last");
    let target_ellipsis: Vec<Label> = target_labels
        .iter()
        .filter(|&&l| l >= ELLIPSIS)
        .copied()
        .collect();
    let provided = |l: &Label| {
        binding.axis_labels[..terms.len() - 1]
            .iter()
            .any(|ls| ls.contains(l))
    };
    let mut out = expand_term(&spec.output, &target_ellipsis);
    out.retain(provided);

    let mut views: Vec<ArrayViewD<'_, T>> = vec![g.view()];
    views.extend(others.iter().map(|v| v.view()));
    let tensors = strided_inputs(&views, &binding);
    let reduced = contract_network(tensors, &out, &binding, pattern)?;

    // Epilogue: accumulate through the operand's own term: broadcasts over its private labels, writes
    // only the diagonal of repeated labels and sums axes broadcast from extent 1.
    let mut grad = alloc_zeros::<T>(target_shape, pattern)?;
    let strides = row_major_strides(target_shape);
    let axes = fold_axes(target_shape, &strides, target_labels, |l| binding.extent(l));
    kernel::contract(
        &mut StridedMut::from_slice(&mut grad, axes),
        &reduced.strided(),
        None,
    );
    Ok(ArrayD::from_shape_vec(IxDyn(target_shape), grad)
        .expect("einsum-runtime internal error: gradient length"))
}

fn row_major_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    kernel::fill_row_major_strides(shape, &mut strides);
    strides
}

// ---------------------------------------------------------------------------------------------------
// What generated code calls besides the kernels: extent binding for fixed-rank patterns, the result's
// allocation, and the executor's entry points for the patterns the macro leaves to it.

/// Binds the extents of `L` labels from fixed-rank operands: axis `a` of operand `k` carries label
/// `axes[k][a]` (an index into `names`), and `terms[k]` is that operand's term as written. Checks
/// ranks, then extents in operand and axis order (an extent of 1 broadcasts), with the same errors as
/// the executor.
///
/// Generated code calls it only where its own inline check fails: when an extent of 1 broadcasts
/// against a longer one, or on an error (`emit::bind` in the macro crate). So the check runs out of
/// line, in `bind_extents`, on slices: compiled once, in this crate, rather than once per label
/// count in every codegen unit of every crate that calls `einsum!` (docs/benchmarks.md, section 2,
/// "Extent binding out of line").
///
/// `known` extents are returned as they are, unchecked: a gradient kernel that calls the forward
/// kernel passes those it has (see the runtime's `ForwardFn`).
#[inline]
pub fn bind_fixed<const L: usize>(
    known: Option<[usize; L]>,
    pattern: &'static str,
    names: [char; L],
    terms: &[&str],
    axes: &[&[usize]],
    shapes: &[&[usize]],
) -> Result<[usize; L], EinsumError> {
    if let Some(extents) = known {
        return Ok(extents);
    }
    let mut extents = [1; L];
    bind_extents(pattern, &names, terms, axes, shapes, &mut extents)?;
    Ok(extents)
}

/// [`bind_fixed`]'s check, in order: every operand's rank, then the extents in operand and axis
/// order (an extent of 1 broadcasts), stopping at the first disagreement to describe it. `extents`
/// comes in as ones (a label bound only to axes of extent 1, or to none, has extent 1).
#[inline(never)]
fn bind_extents(
    pattern: &'static str,
    names: &[char],
    terms: &[&str],
    axes: &[&[usize]],
    shapes: &[&[usize]],
    extents: &mut [usize],
) -> Result<(), EinsumError> {
    for (operand, ((term, axes), shape)) in terms.iter().zip(axes).zip(shapes).enumerate() {
        if axes.len() != shape.len() {
            return Err(EinsumError::new(
                pattern,
                ErrorKind::RankMismatch {
                    operand,
                    term: (*term).to_owned(),
                    expected: axes.len(),
                    at_least: false,
                    found: shape.len(),
                },
            ));
        }
    }
    let all_axes = axes;
    for (operand, (axes, shape)) in all_axes.iter().zip(shapes).enumerate() {
        for (axis, (&label, &extent)) in axes.iter().zip(shape.iter()).enumerate() {
            if extent == 1 || extents[label] == extent {
                continue;
            }
            if extents[label] == 1 {
                extents[label] = extent;
                continue;
            }
            return Err(EinsumError::new(
                pattern,
                ErrorKind::ExtentMismatch {
                    label: names[label].to_string(),
                    first: first_binding(all_axes, shapes, label),
                    second: AxisRef {
                        operand,
                        axis,
                        extent,
                    },
                },
            ));
        }
    }
    Ok(())
}

/// The axis that bound `label`'s extent: the first, in operand and axis order, whose extent is not 1.
#[cold]
fn first_binding(axes: &[&[usize]], shapes: &[&[usize]], label: usize) -> AxisRef {
    axes.iter()
        .zip(shapes)
        .enumerate()
        .flat_map(|(operand, (axes, shape))| {
            axes.iter()
                .zip(shape.iter())
                .enumerate()
                .filter(move |&(_, (&l, &extent))| l == label && extent != 1)
                .map(move |(axis, (_, &extent))| AxisRef {
                    operand,
                    axis,
                    extent,
                })
        })
        .next()
        .expect("einsum-runtime internal error: a bound label has an axis")
}

/// A zeroed array of `shape`, or `TooLarge` if it cannot be allocated.
#[inline(never)]
pub fn zeros<T: LinalgScalar, Sh: ndarray::IntoDimension>(
    pattern: &'static str,
    shape: Sh,
) -> Result<ndarray::Array<T, Sh::Dim>, EinsumError> {
    let dim = shape.into_dimension();
    let data = alloc_zeros::<T>(dim.slice(), pattern)?;
    Ok(kernel::row_major(dim, data))
}

thread_local! {
    static EXECUTOR_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many times this thread entered the run-time executor (forward or gradient): lets the tests
/// check that fixed-rank patterns run the code the macro generated.
pub fn executor_calls() -> u64 {
    EXECUTOR_CALLS.with(std::cell::Cell::get)
}

fn count_executor_call() {
    EXECUTOR_CALLS.with(|c| c.set(c.get() + 1));
}

/// The run-time executor as generated code calls it: `(&Exec::of(&inputs)).run_forward(..)` (and
/// `run_gradient`) with both [`Precompiled`] and [`Generic`] in scope. For `f32` and `f64` method
/// resolution picks [`Precompiled`], whose executor was compiled once, in this crate; other element
/// types (and element types that are still generic where the macro is called) autoref to
/// [`Generic`], whose executor is compiled in the calling crate. Without this choice every crate that
/// calls `einsum!` with a `...` pattern would compile the whole executor again, about a second of a
/// release build.
pub struct Exec<T>(std::marker::PhantomData<T>);

impl<T> Exec<T> {
    /// The executor for the element type of `inputs`.
    #[inline]
    pub fn of<const N: usize>(_: &[Input<'_, T>; N]) -> Self {
        Exec(std::marker::PhantomData)
    }
}

/// The executor compiled in this crate, for `f32` and `f64` (see [`Exec`]).
pub trait Precompiled<T> {
    /// The forward einsum, with the output's static dimension type (and no extents for the
    /// gradient: the executor binds them again).
    fn run_forward<D: Dimension, const N: usize>(
        &self,
        spec: &Spec,
        inputs: [Input<'_, T>; N],
    ) -> Result<(ndarray::Array<T, D>, ()), EinsumError>;

    /// The gradient of one operand: `g` is the upstream gradient (already checked against the
    /// output's shape) and `inputs` are all the operands.
    fn run_gradient<const N: usize>(
        &self,
        spec: &Spec,
        grad: &GradSpec,
        extents: (),
        g: Input<'_, T>,
        inputs: [Input<'_, T>; N],
    ) -> Result<ArrayD<T>, EinsumError>;
}

/// The executor compiled in the calling crate, for any element type (see [`Exec`]).
pub trait Generic<T> {
    /// As [`Precompiled::run_forward`].
    fn run_forward<D: Dimension, const N: usize>(
        &self,
        spec: &Spec,
        inputs: [Input<'_, T>; N],
    ) -> Result<(ndarray::Array<T, D>, ()), EinsumError>;

    /// As [`Precompiled::run_gradient`].
    fn run_gradient<const N: usize>(
        &self,
        spec: &Spec,
        grad: &GradSpec,
        extents: (),
        g: Input<'_, T>,
        inputs: [Input<'_, T>; N],
    ) -> Result<ArrayD<T>, EinsumError>;
}

macro_rules! precompiled {
    ($($t:ty => $forward:ident, $gradient:ident;)*) => {$(
        impl Precompiled<$t> for Exec<$t> {
            #[inline]
            fn run_forward<D: Dimension, const N: usize>(
                &self,
                spec: &Spec,
                inputs: [Input<'_, $t>; N],
            ) -> Result<(ndarray::Array<$t, D>, ()), EinsumError> {
                $forward(spec, &inputs).map(|a| (fixed_rank(a), ()))
            }

            #[inline]
            fn run_gradient<const N: usize>(
                &self,
                spec: &Spec,
                grad: &GradSpec,
                (): (),
                g: Input<'_, $t>,
                inputs: [Input<'_, $t>; N],
            ) -> Result<ArrayD<$t>, EinsumError> {
                $gradient(spec, grad, g, &inputs)
            }
        }

        #[doc = concat!("The executor's forward einsum for `", stringify!($t), "`, compiled here.")]
        #[inline(never)]
        fn $forward(spec: &Spec, inputs: &[Input<'_, $t>]) -> Result<ArrayD<$t>, EinsumError> {
            run_forward_dyn(spec, inputs)
        }

        #[doc = concat!("The executor's gradient for `", stringify!($t), "`, compiled here.")]
        #[inline(never)]
        fn $gradient(
            spec: &Spec,
            grad: &GradSpec,
            g: Input<'_, $t>,
            inputs: &[Input<'_, $t>],
        ) -> Result<ArrayD<$t>, EinsumError> {
            run_gradient_dyn(spec, grad, g, inputs)
        }
    )*};
}

precompiled! {
    f32 => forward_f32, gradient_f32;
    f64 => forward_f64, gradient_f64;
}

impl<T: LinalgScalar> Generic<T> for &Exec<T> {
    fn run_forward<D: Dimension, const N: usize>(
        &self,
        spec: &Spec,
        inputs: [Input<'_, T>; N],
    ) -> Result<(ndarray::Array<T, D>, ()), EinsumError> {
        run_forward_dyn(spec, &inputs).map(|a| (fixed_rank(a), ()))
    }

    fn run_gradient<const N: usize>(
        &self,
        spec: &Spec,
        grad: &GradSpec,
        (): (),
        g: Input<'_, T>,
        inputs: [Input<'_, T>; N],
    ) -> Result<ArrayD<T>, EinsumError> {
        run_gradient_dyn(spec, grad, g, &inputs)
    }
}

/// The executor's result with the output's static dimension type.
fn fixed_rank<T, D: Dimension>(a: ArrayD<T>) -> ndarray::Array<T, D> {
    a.into_dimensionality::<D>()
        .expect("einsum-runtime internal error: the planned rank is the computed rank")
}

fn run_forward_dyn<T: LinalgScalar>(
    spec: &Spec,
    inputs: &[Input<'_, T>],
) -> Result<ArrayD<T>, EinsumError> {
    count_executor_call();
    let views: Vec<ArrayViewD<'_, T>> = inputs.iter().map(Input::view).collect();
    forward(spec.pattern, spec.inputs, &spec.output, &views)
}

fn run_gradient_dyn<T: LinalgScalar>(
    spec: &Spec,
    grad: &GradSpec,
    g: Input<'_, T>,
    inputs: &[Input<'_, T>],
) -> Result<ArrayD<T>, EinsumError> {
    count_executor_call();
    let others: Vec<ArrayViewD<'_, T>> = grad.sources.iter().map(|&i| inputs[i].view()).collect();
    let target = inputs[grad.target_operand()].shape();
    gradient(spec.pattern, grad, &g.view(), &others, target)
}

/// An empty buffer with room for the elements of `shape`: the result of a generated step that sums
/// nothing, whose loop nest appends every element once, in row-major order (see
/// [`push_mul`](crate::kernel::push_mul)), so that the result is written once instead of zeroed, then
/// read and written again. [`shaped`] makes it an array. `TooLarge` if it cannot be allocated.
#[inline]
pub fn buffer<T, const R: usize>(
    pattern: &'static str,
    shape: [usize; R],
) -> Result<Vec<T>, EinsumError> {
    alloc_empty(&shape, pattern)
}

/// `data`, which the generated loops filled from [`buffer`], as a row-major array of `shape` (fixed
/// rank `R` up to 6).
///
/// # Panics
/// If `data` does not hold exactly the shape's element count (an internal error of the generated
/// loops).
#[inline(never)]
pub fn shaped<T, const R: usize>(
    shape: [usize; R],
    data: Vec<T>,
) -> ndarray::Array<T, ndarray::Dim<[usize; R]>>
where
    [usize; R]: ndarray::IntoDimension<Dim = ndarray::Dim<[usize; R]>>,
    ndarray::Dim<[usize; R]>: Dimension,
{
    kernel::row_major(ndarray::IntoDimension::into_dimension(shape), data)
}

/// The new row-major array of a GEMM-shaped step (extents `dims`, its type from [`StepDim`]), as
/// [`Product::Written`]: `a · b` with the static `groups` of the generated code, written once by the
/// runtime's GEMM route, without zeroing it first. When the route does not take the step (too small
/// for a GEMM to pay, or an element type other than `f32` and `f64`), the same allocation zeroed, as
/// [`Product::Zeroed`], for the generated loops to add into. `TooLarge` if it cannot be allocated.
///
/// Out of line, with the GEMM route's entry inlined into it: compiled once per element type, result
/// dimension type and ranks in the calling crate, not once per generated step. Inlined into every
/// step, it made the 3x4 times 4x5 product of `examples/tiny_loop.rs` about 120 of its 1 500
/// instructions cheaper (callgrind), while the 50 `einsum!` and 50 `einsum_vjp!` patterns of
/// `scripts/compile_time.py` added 12.7 s to a release rebuild on the 2-core machine of those
/// results, against 8.7 s now (with the two smaller changes of that commit; `docs/benchmarks.md`,
/// section 2, "Results on f3d8b07"). Handing back the zeroed result, rather than `None` for the
/// step to allocate its own, leaves one fallible call fewer in every generated GEMM-shaped step.
///
/// # Panics
/// If `groups` does not fit the views' ranks, or the views and `dims` disagree on a side of the
/// product (internal errors of the generated code).
#[inline(never)]
pub fn gemm<T: LinalgScalar, const NO: usize, const NA: usize, const NB: usize>(
    pattern: &'static str,
    dims: [usize; NO],
    a: &kernel::View<'_, T, NA>,
    b: &kernel::View<'_, T, NB>,
    groups: &kernel::Gemm<'_>,
) -> Result<Product<StepArray<T, NO>>, EinsumError>
where
    [usize; NO]: StepDim,
{
    let dim = dims.into_step_dim();
    if !kernel::gemm_takes::<T>() {
        return Ok(Product::Zeroed(kernel::row_major(
            dim,
            alloc_zeros(&dims, pattern)?,
        )));
    }
    let mut buf = alloc_empty::<T>(&dims, pattern)?;
    if kernel::gemm(&mut buf, dims, a, b, *groups) {
        return Ok(Product::Written(kernel::row_major(dim, buf)));
    }
    // `alloc_empty` made room for every element (their count fits, so the product does not
    // overflow); zeroing them there costs less than a second allocation.
    buf.resize(dims.iter().product(), T::zero());
    Ok(Product::Zeroed(kernel::row_major(dim, buf)))
}

/// The dimension type of a generated step's new array, from its extents: ndarray's static
/// `Dim<[usize; N]>` up to rank 6 (what ndarray's `IntoDimension` gives for arrays), `IxDyn` above
/// (up to 52, the most labels a pattern has). Lets [`gemm`] take the extents once, as an array,
/// where it took the shape beside them: two copies of the same small array, built from scalars at
/// every call, stalled the 3x4 times 4x5 product on store forwarding.
pub trait StepDim {
    /// `Dim<[usize; N]>` or `IxDyn`.
    type Dim: Dimension;
    /// The extents as that dimension.
    fn into_step_dim(self) -> Self::Dim;
}

macro_rules! step_dim {
    (static $($n:literal)*) => {$(
        impl StepDim for [usize; $n] {
            type Dim = ndarray::Dim<[usize; $n]>;
            #[inline]
            fn into_step_dim(self) -> Self::Dim {
                ndarray::Dim(self)
            }
        }
    )*};
    (dynamic $($n:literal)*) => {$(
        impl StepDim for [usize; $n] {
            type Dim = ndarray::IxDyn;
            #[inline]
            fn into_step_dim(self) -> Self::Dim {
                ndarray::IxDyn(&self)
            }
        }
    )*};
}
step_dim!(static 0 1 2 3 4 5 6);
step_dim!(dynamic 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34
    35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52);

/// The new array of a generated step of rank `N` (see [`StepDim`]).
pub type StepArray<T, const N: usize> = ndarray::Array<T, <[usize; N] as StepDim>::Dim>;

/// The result of a GEMM-shaped step, from [`gemm`].
pub enum Product<A> {
    /// Written by the runtime's GEMM route: the step's result.
    Written(A),
    /// Zeros, because the route did not take the step: the generated loops add the product into it.
    Zeroed(A),
}

/// The new row-major array of `x` with its slots in `order` (slot `order[j]` as axis `j`): what a
/// generated step that only permutes its one input (a transpose, and its tiled copies in general)
/// runs, writing each element once, in the blocked walk of the transposing planes, instead of adding
/// into zeros. `TooLarge` if it cannot be allocated.
///
/// # Panics
/// If `order` is not a permutation of the slots (an internal error of the generated code).
#[inline(never)]
pub fn permute<T: LinalgScalar, const N: usize>(
    pattern: &'static str,
    x: &kernel::View<'_, T, N>,
    order: [usize; N],
) -> Result<ndarray::Array<T, ndarray::Dim<[usize; N]>>, EinsumError>
where
    [usize; N]: ndarray::IntoDimension<Dim = ndarray::Dim<[usize; N]>>,
    ndarray::Dim<[usize; N]>: Dimension,
{
    let dims = x.permuted_dims(order);
    let mut data = alloc_empty(&dims, pattern)?;
    kernel::push_permuted(&mut data, x, order);
    Ok(kernel::row_major(
        ndarray::IntoDimension::into_dimension(dims),
        data,
    ))
}

/// A writable view of `a`, a new row-major array of `shape` (from [`zeros`]), one slot per axis:
/// the destination of a generated step's loops. Out of line (as are [`zeros`] and [`bind_fixed`]'s
/// body): compiled once per element type and rank, not once per `einsum!` call.
#[inline(never)]
pub fn whole<T, D: Dimension, const R: usize>(
    a: &mut ndarray::Array<T, D>,
    shape: [usize; R],
) -> ViewMut<'_, T, R> {
    let slots: [usize; R] = std::array::from_fn(|s| s);
    ViewMut::new(a, slots, shape)
}

/// The epilogue of a gradient whose einsum already has its operand's labels, in order: leaves `r`
/// as it is when the operand has its shape, else replaces it with `r` summed over the operand's axes
/// of extent 1 that were broadcast against a longer extent. For `einsum_vjp!`'s gradients, whose
/// element type has gradients: the summing is [`Float::sum_broadcast_axes`], which `f32` and `f64`
/// have compiled in this crate. `einsum!`'s gradient functions, which a call on arrays of any
/// `LinalgScalar` type names (though only a `Var` runs them), take [`sum_to_scalar`].
///
/// Always inlined (its summing path is not), and in place: `r` was built an instant before, field
/// by field, and handing it through a call, or out of a `Result`, copied it in pairs of fields whose
/// loads waited on those stores (store-forwarding stalls, the hottest instructions of a tiny
/// backward pass under `perf annotate`).
#[inline(always)]
pub fn sum_to<T: Float, D: Dimension>(
    pattern: &'static str,
    r: &mut ndarray::Array<T, D>,
    shape: &[usize],
) -> Result<(), EinsumError> {
    sum_to_with(pattern, r, shape, T::sum_broadcast_axes)
}

/// [`sum_to`] for any element type: the summing is this crate's generic code, compiled by the
/// calling crate (when it runs `einsum!`'s gradients, on `Var`s).
#[inline(always)]
pub fn sum_to_scalar<T: LinalgScalar, D: Dimension>(
    pattern: &'static str,
    r: &mut ndarray::Array<T, D>,
    shape: &[usize],
) -> Result<(), EinsumError> {
    sum_to_with(pattern, r, shape, sum_broadcast_axes::<T>)
}

/// [`sum_to`] and [`sum_to_scalar`], with their summing function `sum`: nothing to do when `r` has
/// the operand's shape (compared element by element, so the rank is a constant when `D` is static).
#[inline(always)]
fn sum_to_with<T: LinalgScalar, D: Dimension>(
    pattern: &'static str,
    r: &mut ndarray::Array<T, D>,
    shape: &[usize],
    sum: SumFn<T>,
) -> Result<(), EinsumError> {
    let dims = r.shape();
    if dims.len() == shape.len() && dims.iter().zip(shape).all(|(a, b)| a == b) {
        return Ok(());
    }
    sum_to_shape(pattern, r, shape, sum)
}

/// The summing function of [`sum_to`] and [`sum_to_scalar`].
type SumFn<T> = fn(&'static str, ArrayD<T>, &[usize]) -> Result<ArrayD<T>, EinsumError>;

/// [`sum_to`] when `r` does not have the operand's shape: out of line, once per element type and
/// dimension type.
#[inline(never)]
fn sum_to_shape<T: LinalgScalar, D: Dimension>(
    pattern: &'static str,
    r: &mut ndarray::Array<T, D>,
    shape: &[usize],
    sum: SumFn<T>,
) -> Result<(), EinsumError> {
    let empty = D::zeros(r.ndim());
    let taken = std::mem::replace(r, kernel::row_major(empty, Vec::new()));
    let summed = sum(pattern, taken.into_dyn(), shape)?;
    *r = summed
        .into_dimensionality::<D>()
        .expect("einsum-runtime internal error: a gradient keeps its rank");
    Ok(())
}

/// An operand's shape as a fixed-rank shape: the zeroed gradient of a term of `R` labels, whose
/// operand the generated code has checked to have `R` axes.
///
/// # Panics
/// If `shape` does not have `R` axes (an internal error of the generated code).
#[inline]
pub fn fixed_shape<const R: usize>(shape: &[usize]) -> [usize; R] {
    shape
        .try_into()
        .expect("einsum-runtime internal error: an operand has its term's rank")
}

/// The part of [`sum_to`] and [`sum_to_scalar`] that sums: generic only in the element type. `sum_to`
/// reaches it through [`Float::sum_broadcast_axes`], so that its `f32` and `f64` copies are compiled
/// in this crate; `sum_to_scalar` calls it directly, compiled by the calling crate.
#[inline(never)]
pub(crate) fn sum_broadcast_axes<T: LinalgScalar>(
    pattern: &'static str,
    r: ArrayD<T>,
    shape: &[usize],
) -> Result<ArrayD<T>, EinsumError> {
    let labels: Vec<Label> = (0..shape.len())
        .map(|a| Label::try_from(a).expect("einsum-runtime internal error: rank fits a label"))
        .collect();
    let extents = r.shape().to_vec();
    let source = Strided::from_view(&r.view(), &labels, |l| extents[usize::from(l)]);
    let mut grad = alloc_zeros::<T>(shape, pattern)?;
    let axes = fold_axes(shape, &row_major_strides(shape), &labels, |l| {
        extents[usize::from(l)]
    });
    kernel::contract(&mut StridedMut::from_slice(&mut grad, axes), &source, None);
    Ok(ArrayD::from_shape_vec(IxDyn(shape), grad)
        .expect("einsum-runtime internal error: gradient length"))
}
