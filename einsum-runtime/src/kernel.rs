//! The hot loops, and the only module with `unsafe`.
//!
//! Operands are *strided tensors*: a base pointer and, per distinct label, an extent and a stride (in
//! elements). A label repeated in one operand (a diagonal) is one axis whose stride is the sum of the
//! repeated axes' strides; an axis of length 1 broadcast against a longer extent has stride 0.
//!
//! Safety rests on two constructors that check once: [`Strided::from_view`] (every index tuple within
//! the extents maps to an element of the ndarray view) and [`Strided::from_slice`] /
//! [`StridedMut::from_slice`] (every such tuple maps inside the slice). [`contract`] then checks that
//! all tensors agree on each label's extent, and only then runs the loops.

use std::marker::PhantomData;

use ndarray::linalg::general_mat_mul;
use ndarray::{
    ArrayBase, ArrayView2, ArrayViewD, ArrayViewMut2, Data, DataMut, Dimension, LinalgScalar,
    ShapeBuilder,
};

use crate::contract::Label;

/// One axis of a strided tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Axis {
    pub label: Label,
    pub extent: usize,
    pub stride: isize,
}

/// Folds per-axis `(length, stride)` pairs labelled by `labels` into one [`Axis`] per distinct label.
///
/// An axis whose length is the label's extent contributes its stride; an axis of length 1 (broadcast)
/// contributes 0. Any other length is an internal error: the executor checked extents before.
pub(crate) fn fold_axes(
    shape: &[usize],
    strides: &[isize],
    labels: &[Label],
    extent_of: impl Fn(Label) -> usize,
) -> Vec<Axis> {
    assert!(
        shape.len() == labels.len() && strides.len() == labels.len(),
        "einsum-runtime internal error: {} labels for {} axes",
        labels.len(),
        shape.len()
    );
    let mut axes: Vec<Axis> = Vec::with_capacity(labels.len());
    for ((&len, &stride), &label) in shape.iter().zip(strides).zip(labels) {
        let extent = extent_of(label);
        assert!(
            len == extent || len == 1,
            "einsum-runtime internal error: axis of length {len} for label {label} of extent {extent}"
        );
        let stride = if len == extent { stride } else { 0 };
        match axes.iter_mut().find(|a| a.label == label) {
            Some(axis) => axis.stride += stride,
            None => axes.push(Axis {
                label,
                extent,
                stride,
            }),
        }
    }
    axes
}

/// The offsets (inclusive, relative to the base pointer) that a tensor's memory covers. Only debug
/// builds use it, to assert every inner loop's first and last offset before running it.
#[derive(Debug, Clone, Copy)]
struct Reach {
    lo: isize,
    hi: isize,
}

impl Reach {
    fn of_axes(shape: &[usize], strides: &[isize]) -> Self {
        let (mut lo, mut hi) = (0isize, 0isize);
        for (&len, &stride) in shape.iter().zip(strides) {
            let span = (len.saturating_sub(1) as isize).saturating_mul(stride);
            if span < 0 {
                lo = lo.saturating_add(span);
            } else {
                hi = hi.saturating_add(span);
            }
        }
        Reach { lo, hi }
    }

    fn of_slice(len: usize) -> Self {
        Reach {
            lo: 0,
            hi: len as isize - 1,
        }
    }

    /// Whether offsets `start + i * stride` for `i < n` (n > 0) all lie in the reach.
    fn holds(self, start: isize, stride: isize, n: usize) -> bool {
        let end = start + stride * (n as isize - 1);
        self.lo <= start.min(end) && start.max(end) <= self.hi
    }
}

/// A read-only strided tensor borrowed for `'a`.
#[derive(Debug, Clone)]
pub(crate) struct Strided<'a, T> {
    ptr: *const T,
    reach: Reach,
    axes: Vec<Axis>,
    life: PhantomData<&'a [T]>,
}

impl<'a, T> Strided<'a, T> {
    /// Views `view`, whose axes carry `labels`, with repeated labels folded into diagonals and length-1
    /// axes broadcast to their label's extent.
    pub fn from_view(
        view: &ArrayViewD<'a, T>,
        labels: &[Label],
        extent_of: impl Fn(Label) -> usize,
    ) -> Self {
        let axes = fold_axes(view.shape(), view.strides(), labels, extent_of);
        // Every index tuple of `axes` is an index tuple of `view` (a folded axis indexes all its source
        // axes with the same in-range value; a broadcast axis indexes a length-1 axis with 0), and
        // ndarray guarantees that every in-range index tuple of a view addresses one of its elements.
        Strided {
            ptr: view.as_ptr(),
            reach: Reach::of_axes(view.shape(), view.strides()),
            axes,
            life: PhantomData,
        }
    }

    /// Views `data` through `axes`; panics unless every index tuple lands inside `data`.
    pub fn from_slice(data: &'a [T], axes: Vec<Axis>) -> Self {
        check_in_bounds(data.len(), &axes);
        Strided {
            ptr: data.as_ptr(),
            reach: Reach::of_slice(data.len()),
            axes,
            life: PhantomData,
        }
    }

    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// This tensor as `batch` matrices of `rows × cols` without copying, when every one of its labels
    /// is in exactly one group, each group merges into a single axis (its labels are laid out
    /// row-major in memory), and the merged strides are non-negative (as ndarray views require).
    pub fn as_matrices(
        &self,
        batch: &[Label],
        rows: &[Label],
        cols: &[Label],
    ) -> Option<Matrices<'a, T>> {
        if self.axes.len() != batch.len() + rows.len() + cols.len() {
            return None;
        }
        let groups = [
            merge(&self.axes, batch)?,
            merge(&self.axes, rows)?,
            merge(&self.axes, cols)?,
        ];
        if groups.iter().any(|g| g.stride < 0) {
            return None;
        }
        Some(Matrices {
            ptr: self.ptr,
            batch: groups[0],
            rows: groups[1],
            cols: groups[2],
            life: PhantomData,
        })
    }
}

/// `labels` (all axes of one tensor) merged into one axis, if their strides allow it.
fn merge(axes: &[Axis], labels: &[Label]) -> Option<Merged> {
    let mut merged = Merged {
        extent: 1,
        stride: 0,
    };
    // Walk from the innermost label outwards; extent-1 axes never move the pointer and are skipped.
    for &label in labels.iter().rev() {
        let axis = axes.iter().find(|a| a.label == label)?;
        if axis.extent == 1 {
            continue;
        }
        if merged.extent == 1 {
            merged.stride = axis.stride;
        } else if axis.stride != merged.stride.checked_mul(merged.extent as isize)? {
            return None;
        }
        merged.extent *= axis.extent;
    }
    Some(merged)
}

/// One merged group of axes.
#[derive(Debug, Clone, Copy)]
struct Merged {
    extent: usize,
    stride: isize,
}

/// A strided tensor seen as a batch of matrices (see [`Strided::as_matrices`]).
pub(crate) struct Matrices<'a, T> {
    ptr: *const T,
    batch: Merged,
    rows: Merged,
    cols: Merged,
    life: PhantomData<&'a [T]>,
}

/// A writable strided tensor: the destination of [`contract`]. Axes may alias (a diagonal, or stride
/// 0): the kernel only ever adds into an element, so aliasing sums, which is what gradients need.
#[derive(Debug)]
pub(crate) struct StridedMut<'a, T> {
    ptr: *mut T,
    reach: Reach,
    axes: Vec<Axis>,
    life: PhantomData<&'a mut [T]>,
}

impl<'a, T> StridedMut<'a, T> {
    /// Views `data` through `axes`; panics unless every index tuple lands inside `data`.
    pub fn from_slice(data: &'a mut [T], axes: Vec<Axis>) -> Self {
        check_in_bounds(data.len(), &axes);
        StridedMut {
            reach: Reach::of_slice(data.len()),
            ptr: data.as_mut_ptr(),
            axes,
            life: PhantomData,
        }
    }
}

/// Panics unless every index tuple of `axes` (strides must be non-negative) addresses an element of a
/// slice of length `len`.
fn check_in_bounds(len: usize, axes: &[Axis]) {
    if axes.iter().any(|a| a.extent == 0) {
        return; // no index tuple exists
    }
    let mut last: usize = 0;
    for axis in axes {
        let stride = usize::try_from(axis.stride)
            .expect("einsum-runtime internal error: negative stride on a slice-backed tensor");
        last = (axis.extent - 1)
            .checked_mul(stride)
            .and_then(|d| last.checked_add(d))
            .expect("einsum-runtime internal error: strided tensor overflows usize");
    }
    assert!(
        last < len,
        "einsum-runtime internal error: strided tensor reaches element {last} of a slice of {len}"
    );
}

/// One loop of the nest: its trip count and the stride it moves each tensor by.
#[derive(Debug, Clone, Copy)]
struct Loop {
    extent: usize,
    out: isize,
    a: isize,
    b: isize,
}

/// `out[l_out] += Σ a[l_a] · b[l_b]` over every label not in `out`, for all labels of the three
/// tensors. A label missing from an input is broadcast over (stride 0); a label missing from `out` is
/// summed. With `b = None` it is `out += Σ a`: a reduction, a transpose, a diagonal or a broadcast.
///
/// Panics (an internal error) if the tensors disagree on a label's extent or repeat a label.
pub(crate) fn contract<T: LinalgScalar>(
    out: &mut StridedMut<'_, T>,
    a: &Strided<'_, T>,
    b: Option<&Strided<'_, T>>,
) {
    let mut loops: Vec<(Label, Loop, [bool; 3])> = Vec::new();
    let mut add = |axes: &[Axis], slot: usize| {
        for axis in axes {
            let (entry, seen) = match loops.iter_mut().find(|(l, _, _)| *l == axis.label) {
                Some((_, entry, seen)) => {
                    assert!(
                        entry.extent == axis.extent,
                        "einsum-runtime internal error: label {} has extents {} and {}",
                        axis.label,
                        entry.extent,
                        axis.extent
                    );
                    (entry, seen)
                }
                None => {
                    let fresh = Loop {
                        extent: axis.extent,
                        out: 0,
                        a: 0,
                        b: 0,
                    };
                    loops.push((axis.label, fresh, [false; 3]));
                    let (_, entry, seen) = loops.last_mut().expect("just pushed");
                    (entry, seen)
                }
            };
            assert!(
                !seen[slot],
                "einsum-runtime internal error: label {} repeated in one tensor",
                axis.label
            );
            seen[slot] = true;
            let stride = match slot {
                0 => &mut entry.out,
                1 => &mut entry.a,
                _ => &mut entry.b,
            };
            *stride = axis.stride;
        }
    };
    add(&out.axes, 0);
    add(&a.axes, 1);
    if let Some(b) = b {
        add(&b.axes, 2);
    }
    let mut loops: Vec<Loop> = loops.into_iter().map(|(_, l, _)| l).collect();
    if loops.iter().any(|l| l.extent == 0) {
        return; // an empty sum adds nothing
    }
    loops.retain(|l| l.extent > 1);
    // Outer loops take big strides, the innermost loop the smallest: it then walks memory with unit
    // stride whenever some label allows it.
    loops.sort_by_key(|l| {
        std::cmp::Reverse(l.out.unsigned_abs() + l.a.unsigned_abs() + l.b.unsigned_abs())
    });
    // SAFETY: `out`, `a` and `b` were built by `Strided::from_view`/`from_slice` and
    // `StridedMut::from_slice`, which guarantee that every index tuple within their axes' extents
    // addresses one of their elements. The loops above carry exactly those axes (each label once per
    // tensor, with the extent every tensor agreed on, and stride 0 in a tensor that lacks the label),
    // so every offset `run` forms is such an index tuple. `out` borrows its buffer mutably, so it
    // cannot overlap `a` or `b`, which are shared borrows.
    unsafe {
        match b {
            Some(b) => run::<T, true>(&loops, [out.reach, a.reach, b.reach], out.ptr, a.ptr, b.ptr),
            None => run::<T, false>(&loops, [out.reach, a.reach, a.reach], out.ptr, a.ptr, a.ptr),
        }
    }
}

/// Runs the loop nest `loops` (outermost first), multiplying by `b` only when `TWO`.
///
/// # Safety
/// Every offset `Σ i_k · stride_k` with `i_k < extent_k` must address a valid element of the tensor
/// that the stride belongs to, and `out` must not overlap `a` or `b`.
unsafe fn run<T: LinalgScalar, const TWO: bool>(
    loops: &[Loop],
    reach: [Reach; 3],
    out: *mut T,
    a: *const T,
    b: *const T,
) {
    const SCALAR: Loop = Loop {
        extent: 1,
        out: 0,
        a: 0,
        b: 0,
    };
    let (inner, outer) = loops
        .split_last()
        .map_or((SCALAR, &[][..]), |(i, o)| (*i, o));
    let mut index = vec![0usize; outer.len()];
    let (mut off_out, mut off_a, mut off_b) = (0isize, 0isize, 0isize);
    loop {
        debug_assert!(
            reach[0].holds(off_out, inner.out, inner.extent)
                && reach[1].holds(off_a, inner.a, inner.extent)
                && (!TWO || reach[2].holds(off_b, inner.b, inner.extent)),
            "einsum-runtime internal error: kernel offset out of bounds"
        );
        // SAFETY: the offsets are those of the current outer index tuple (kept in step with `index`
        // below), so the inner loop's tuples are valid by this function's contract.
        unsafe {
            inner_loop::<T, TWO>(inner, out.offset(off_out), a.offset(off_a), b.offset(off_b));
        }
        // Advance the odometer: bump the innermost outer loop, carrying into the ones outside it.
        let mut depth = outer.len();
        loop {
            if depth == 0 {
                return;
            }
            depth -= 1;
            let l = outer[depth];
            index[depth] += 1;
            off_out += l.out;
            off_a += l.a;
            off_b += l.b;
            if index[depth] < l.extent {
                break;
            }
            let n = l.extent as isize;
            off_out -= l.out * n;
            off_a -= l.a * n;
            off_b -= l.b * n;
            index[depth] = 0;
        }
    }
}

/// The innermost loop, specialised for unit and zero strides so that it vectorizes.
///
/// # Safety
/// As for [`run`], for offsets `i · stride` with `i < l.extent` from the given pointers (a stride of
/// 0 reads or writes one element `l.extent` times).
#[inline(always)]
unsafe fn inner_loop<T: LinalgScalar, const TWO: bool>(
    l: Loop,
    out: *mut T,
    a: *const T,
    b: *const T,
) {
    let n = l.extent;
    debug_assert!(n > 0);
    let lb = if TWO { l.b } else { 0 };
    if l.out == 0 {
        // A reduction into one element.
        // SAFETY: by the contract, `i · stride` addresses a valid element of each input for every
        // `i < n` (a unit-stride input `n` elements from its pointer, a stride-0 input one element),
        // and `term` is only called with such `i`; `b` is read only when `TWO`.
        let sum = unsafe {
            match (l.a, lb) {
                (1, 1) if TWO => slice_dot(
                    std::slice::from_raw_parts(a, n),
                    std::slice::from_raw_parts(b, n),
                ),
                (1, 0) if TWO => slice_sum(std::slice::from_raw_parts(a, n)) * *b,
                (0, 1) if TWO => *a * slice_sum(std::slice::from_raw_parts(b, n)),
                (1, _) if !TWO => slice_sum(std::slice::from_raw_parts(a, n)),
                _ => {
                    // Four running sums, so that the additions of a strided reduction (a trace, a
                    // sum down a column) overlap instead of waiting for each other.
                    let term = |i: usize| {
                        let i = i as isize;
                        let x = *a.offset(i * l.a);
                        if TWO {
                            x * *b.offset(i * l.b)
                        } else {
                            x
                        }
                    };
                    let mut acc = [T::zero(); 4];
                    let whole = n - n % 4;
                    for i in (0..whole).step_by(4) {
                        for (k, acc) in acc.iter_mut().enumerate() {
                            *acc = *acc + term(i + k);
                        }
                    }
                    (whole..n).fold((acc[0] + acc[1]) + (acc[2] + acc[3]), |s, i| s + term(i))
                }
            }
        };
        // SAFETY: offset 0 of `out` is valid by the contract.
        unsafe { *out = *out + sum };
        return;
    }
    if l.out == 1 && (l.a == 0 || l.a == 1) && (lb == 0 || lb == 1) {
        // SAFETY: `out[0..n]` is valid by the contract and does not overlap the inputs; each input has
        // unit stride (then `[0..n]` is valid) or stride 0 (then element 0 is). `b` is read only when
        // `TWO`.
        unsafe {
            let out = std::slice::from_raw_parts_mut(out, n);
            let (xa, xb) = (*a, if TWO { *b } else { T::one() });
            match (l.a, lb) {
                (1, 1) => {
                    let (a, b) = (
                        std::slice::from_raw_parts(a, n),
                        std::slice::from_raw_parts(b, n),
                    );
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = *o + x * y;
                    }
                }
                (1, _) if !TWO => {
                    for (o, &x) in out.iter_mut().zip(std::slice::from_raw_parts(a, n)) {
                        *o = *o + x;
                    }
                }
                (1, _) => {
                    for (o, &x) in out.iter_mut().zip(std::slice::from_raw_parts(a, n)) {
                        *o = *o + x * xb;
                    }
                }
                (_, 1) => {
                    for (o, &y) in out.iter_mut().zip(std::slice::from_raw_parts(b, n)) {
                        *o = *o + xa * y;
                    }
                }
                _ => {
                    let v = xa * xb;
                    for o in out.iter_mut() {
                        *o = *o + v;
                    }
                }
            }
        }
        return;
    }
    for i in 0..n as isize {
        // SAFETY: `i < n`, so these are valid offsets by the contract; `b` is read only when `TWO`.
        unsafe {
            let x = *a.offset(i * l.a);
            let p = out.offset(i * l.out);
            *p = *p + if TWO { x * *b.offset(i * l.b) } else { x };
        }
    }
}

/// Steps (of four vectors) that [`wide_sum`] and [`wide_dot`] accumulate in one block before
/// they sum longer lanes pairwise: 2048 `f32`s or 1024 `f64`s in 256-bit registers, twice that in
/// 512-bit ones.
const BLOCK_STEPS: usize = 64;

/// Lanes of at least this many steps (of four vectors) are read as four streams, one from each
/// quarter of the lane, in lock-step: 32 KiB and more (64 KiB in 512-bit registers). One
/// sequential stream leaves the memory system idle between the prefetcher's requests; four
/// far-apart streams keep four sets of requests in flight (`docs/benchmarks.md`, "Four streams, and products split into bands across threads").
const STREAM_STEPS: usize = 256;

/// Lanes at least this long reduce in [`wide_sum`] / [`wide_dot`] (when the element type is `f32` or
/// `f64` and the CPU has AVX2 and FMA): below it the dispatch costs more than it saves.
const WIDE_LANE: usize = 64;

/// Lanes longer than this are summed in halves (pairwise) by [`slice_sum`] and [`slice_dot`] when
/// the vector loops do not take them.
const PAIRWISE: usize = 2048;

/// Eight independent accumulators, so that the reduction pipelines (and vectorizes for integers);
/// long `f32`/`f64` lanes go to [`wide_dot`], other lanes longer than [`PAIRWISE`] are split in
/// halves.
fn slice_dot<T: LinalgScalar>(a: &[T], b: &[T]) -> T {
    if a.len() >= WIDE_LANE {
        if let Some(s) = wide_dot(a, b) {
            return s;
        }
    }
    if a.len() > PAIRWISE {
        let h = a.len() / 2;
        return slice_dot(&a[..h], &b[..h]) + slice_dot(&a[h..], &b[h..]);
    }
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::zero(), |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] = acc[k] + x[k] * y[k];
        }
    }
    acc.iter().fold(tail, |s, &x| s + x)
}

/// As [`slice_dot`], for a sum; long `f32`/`f64` lanes go to [`wide_sum`].
fn slice_sum<T: LinalgScalar>(a: &[T]) -> T {
    if a.len() >= WIDE_LANE {
        if let Some(s) = wide_sum(a) {
            return s;
        }
    }
    if a.len() > PAIRWISE {
        let h = a.len() / 2;
        return slice_sum(&a[..h]) + slice_sum(&a[h..]);
    }
    let mut acc = [T::zero(); 8];
    let chunks = a.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(T::zero(), |s, &x| s + x);
    for x in chunks {
        for k in 0..8 {
            acc[k] = acc[k] + x[k];
        }
    }
    acc.iter().fold(tail, |s, &x| s + x)
}

/// `a` as a slice of `U`, when `U` is `T`.
fn slice_as<T: 'static, U: 'static>(a: &[T]) -> Option<&[U]> {
    // SAFETY: `U` is `T` (checked), so the slice is unchanged.
    same_type::<T, U>().then(|| unsafe { std::slice::from_raw_parts(a.as_ptr().cast(), a.len()) })
}

/// `v` as a `T`, when `T` is `U`.
fn value_as<U: 'static, T: 'static>(v: U) -> T {
    assert!(
        same_type::<T, U>(),
        "einsum-runtime internal error: a value of another type"
    );
    // SAFETY: `T` is `U` (asserted), so this reads the value as its own type.
    unsafe { std::mem::transmute_copy(&v) }
}

/// `Σ a[i]` in vector registers when `T` is `f32` or `f64` and the CPU has AVX2 and FMA (512-bit
/// registers where it also has AVX-512F, with the feature `avx512`); `None` otherwise. The bodies
/// are compiled once, in this crate.
fn wide_sum<T: 'static>(a: &[T]) -> Option<T> {
    if !avx2_fma() {
        return None;
    }
    if let Some(a) = slice_as::<T, f64>(a) {
        return Some(value_as(sum_f64(a)));
    }
    slice_as::<T, f32>(a).map(|a| value_as(sum_f32(a)))
}

/// `Σ a[i] · b[i]`, as [`wide_sum`].
fn wide_dot<T: 'static>(a: &[T], b: &[T]) -> Option<T> {
    if !avx2_fma() || a.len() != b.len() {
        return None;
    }
    if let (Some(a), Some(b)) = (slice_as::<T, f64>(a), slice_as::<T, f64>(b)) {
        return Some(value_as(dot_f64(a, b)));
    }
    match (slice_as::<T, f32>(a), slice_as::<T, f32>(b)) {
        (Some(a), Some(b)) => Some(value_as(dot_f32(a, b))),
        _ => None,
    }
}

/// Whether the CPU has AVX-512F (cached by the standard library after the first question).
#[cfg(target_arch = "x86_64")]
fn avx512f() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The sum and dot product of one element type in the vector registers of one instruction set: a
/// module `$isa` with `sum` and `dot`, compiled with `$feature` enabled.
///
/// With 512-bit registers the same loop keeps twice the bytes in flight per step (the A/B of the
/// `sum-2048` and `inner-2048` workloads is in `docs/benchmarks.md`, "Memory-bound rows on
/// 27a486d").
macro_rules! vector_reductions {
    ($isa:ident, $feature:literal, $t:ty, $vec:ty, $lanes:literal, $zero:ident, $load:ident,
     $add:ident, $fmadd:ident, $store:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $isa {
            use super::{BLOCK_STEPS, STREAM_STEPS};
            use std::arch::x86_64::*;

            /// Elements per step: four vectors.
            const STEP: usize = 4 * $lanes;

            /// The vector sum of `a`, whose length is a multiple of [`STEP`]: four vector
            /// accumulators (so that four additions are in flight) over a block of at most
            /// [`BLOCK_STEPS`] steps, and longer lanes split in halves, each summed so, and added
            /// (pairwise summation: an element meets partial sums of at most a block, then
            /// `log2(len / block)` additions, instead of one running sum per vector lane over the
            /// whole lane).
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`.
            #[target_feature(enable = $feature)]
            unsafe fn sum_vec(a: &[$t]) -> $vec {
                if a.len() > BLOCK_STEPS * STEP {
                    let half = a.len() / STEP / 2 * STEP;
                    // SAFETY: the same CPU features; both halves are multiples of `STEP` long.
                    return unsafe { $add(sum_vec(&a[..half]), sum_vec(&a[half..])) };
                }
                let mut acc = [$zero(); 4];
                for c in a.chunks_exact(STEP) {
                    for (k, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: `c` holds `STEP` elements, so `k · lanes .. (k + 1) · lanes` are
                        // in it.
                        *acc = $add(*acc, unsafe { $load(c.as_ptr().add(k * $lanes)) });
                    }
                }
                $add($add(acc[0], acc[1]), $add(acc[2], acc[3]))
            }

            /// As [`sum_vec`], for `Σ a[i] · b[i]` with fused multiply-adds.
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`; `a` and `b` have the same length, a
            /// multiple of [`STEP`].
            #[target_feature(enable = $feature)]
            unsafe fn dot_vec(a: &[$t], b: &[$t]) -> $vec {
                if a.len() > BLOCK_STEPS * STEP {
                    let half = a.len() / STEP / 2 * STEP;
                    // SAFETY: the same CPU features; the halves of `a` and `b` have equal lengths,
                    // multiples of `STEP`.
                    return unsafe {
                        $add(
                            dot_vec(&a[..half], &b[..half]),
                            dot_vec(&a[half..], &b[half..]),
                        )
                    };
                }
                let mut acc = [$zero(); 4];
                for (x, y) in a.chunks_exact(STEP).zip(b.chunks_exact(STEP)) {
                    for (k, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: `x` and `y` hold `STEP` elements each, so this vector is in both.
                        *acc = unsafe {
                            $fmadd(
                                $load(x.as_ptr().add(k * $lanes)),
                                $load(y.as_ptr().add(k * $lanes)),
                                *acc,
                            )
                        };
                    }
                }
                $add($add(acc[0], acc[1]), $add(acc[2], acc[3]))
            }

            /// Elements of one stream that [`sum_streams`] and [`dot_streams`] accumulate in one
            /// block: as many per vector lane as [`sum_vec`]'s blocks give each (two accumulators
            /// per stream instead of four).
            const STREAM_BLOCK: usize = BLOCK_STEPS * STEP / 2;

            /// Elements per step of one stream: two vectors.
            const PAIR: usize = 2 * $lanes;

            /// The four parts of `a[..4 · q]`, each `q` long.
            fn quarters(a: &[$t], q: usize) -> [&[$t]; 4] {
                [&a[..q], &a[q..2 * q], &a[2 * q..3 * q], &a[3 * q..4 * q]]
            }

            /// The vector sum of four parts of equal length, a multiple of [`PAIR`], read in
            /// lock-step (four streams, two accumulators each), pairwise as in [`sum_vec`]: longer
            /// parts are split in halves, each half of all four summed so, and added.
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`.
            #[target_feature(enable = $feature)]
            unsafe fn sum_streams(parts: [&[$t]; 4]) -> $vec {
                let len = parts[0].len();
                if len > STREAM_BLOCK {
                    let half = len / PAIR / 2 * PAIR;
                    // SAFETY: the same CPU features; the halves are equally long, multiples of
                    // `PAIR`.
                    return unsafe {
                        $add(
                            sum_streams(parts.map(|p| &p[..half])),
                            sum_streams(parts.map(|p| &p[half..])),
                        )
                    };
                }
                assert!(
                    parts.iter().all(|p| p.len() == len) && len % PAIR == 0,
                    "einsum-runtime internal error: streams of unequal lengths"
                );
                let mut acc = [[$zero(); 2]; 4];
                let mut p = 0;
                while p < len {
                    for (acc, part) in acc.iter_mut().zip(parts) {
                        // SAFETY: `p + PAIR <= len`, the length of every part (asserted above).
                        unsafe {
                            acc[0] = $add(acc[0], $load(part.as_ptr().add(p)));
                            acc[1] = $add(acc[1], $load(part.as_ptr().add(p + $lanes)));
                        }
                    }
                    p += PAIR;
                }
                let pair = acc.map(|a| $add(a[0], a[1]));
                $add($add(pair[0], pair[1]), $add(pair[2], pair[3]))
            }

            /// As [`sum_streams`], for `Σ a[i] · b[i]` with fused multiply-adds: four streams of
            /// each operand.
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`.
            #[target_feature(enable = $feature)]
            unsafe fn dot_streams(a: [&[$t]; 4], b: [&[$t]; 4]) -> $vec {
                let len = a[0].len();
                if len > STREAM_BLOCK {
                    let half = len / PAIR / 2 * PAIR;
                    // SAFETY: the same CPU features; the halves are equally long, multiples of
                    // `PAIR`.
                    return unsafe {
                        $add(
                            dot_streams(a.map(|p| &p[..half]), b.map(|p| &p[..half])),
                            dot_streams(a.map(|p| &p[half..]), b.map(|p| &p[half..])),
                        )
                    };
                }
                assert!(
                    a.iter().chain(&b).all(|p| p.len() == len) && len % PAIR == 0,
                    "einsum-runtime internal error: streams of unequal lengths"
                );
                let mut acc = [[$zero(); 2]; 4];
                let mut p = 0;
                while p < len {
                    for (acc, (x, y)) in acc.iter_mut().zip(a.iter().zip(&b)) {
                        // SAFETY: `p + PAIR <= len`, the length of every part (asserted above).
                        unsafe {
                            let (x, y) = (x.as_ptr().add(p), y.as_ptr().add(p));
                            acc[0] = $fmadd($load(x), $load(y), acc[0]);
                            acc[1] = $fmadd($load(x.add($lanes)), $load(y.add($lanes)), acc[1]);
                        }
                    }
                    p += PAIR;
                }
                let pair = acc.map(|a| $add(a[0], a[1]));
                $add($add(pair[0], pair[1]), $add(pair[2], pair[3]))
            }

            /// The sum of `a`: the vector sum over the whole steps (of four streams when the lane
            /// is long, see [`STREAM_STEPS`]), then the tail.
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn sum(a: &[$t]) -> $t {
                let n = a.len() - a.len() % STEP;
                let v = if n >= STREAM_STEPS * STEP {
                    let q = n / 4 / PAIR * PAIR;
                    // SAFETY: the same CPU features; the quarters are `q` long, a multiple of
                    // `PAIR`, and `4 · q` and `n` are multiples of `STEP`, so the rest is too.
                    unsafe { $add(sum_streams(quarters(a, q)), sum_vec(&a[4 * q..n])) }
                } else {
                    // SAFETY: the same CPU features, on a multiple of `STEP`.
                    unsafe { sum_vec(&a[..n]) }
                };
                let mut lanes = [0.0; $lanes];
                // SAFETY: `lanes` holds one vector's elements.
                unsafe { $store(lanes.as_mut_ptr(), v) };
                lanes.iter().sum::<$t>() + a[n..].iter().sum::<$t>()
            }

            /// The dot product of `a` and `b`: the vector dot product over the whole steps, then
            /// the tail.
            ///
            /// # Safety
            /// The CPU has the instruction set of `$feature`; `a` and `b` have the same length.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn dot(a: &[$t], b: &[$t]) -> $t {
                let n = a.len() - a.len() % STEP;
                let v = if n >= STREAM_STEPS * STEP {
                    let q = n / 4 / PAIR * PAIR;
                    // SAFETY: the same CPU features, on equal lengths (this function's contract):
                    // quarters `q` long, a multiple of `PAIR`, and a rest that is a multiple of
                    // `STEP` (as `4 · q` and `n` are).
                    unsafe {
                        $add(
                            dot_streams(quarters(a, q), quarters(b, q)),
                            dot_vec(&a[4 * q..n], &b[4 * q..n]),
                        )
                    }
                } else {
                    // SAFETY: the same CPU features, on equal lengths, a multiple of `STEP`.
                    unsafe { dot_vec(&a[..n], &b[..n]) }
                };
                let mut lanes = [0.0; $lanes];
                // SAFETY: `lanes` holds one vector's elements.
                unsafe { $store(lanes.as_mut_ptr(), v) };
                let tail: $t = a[n..].iter().zip(&b[n..]).map(|(x, y)| x * y).sum();
                lanes.iter().sum::<$t>() + tail
            }
        }
    };
}

vector_reductions!(
    avx2_f64,
    "avx2,fma",
    f64,
    __m256d,
    4,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_add_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd
);
vector_reductions!(
    avx2_f32,
    "avx2,fma",
    f32,
    __m256,
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_add_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);
vector_reductions!(
    avx512_f64,
    "avx512f",
    f64,
    __m512d,
    8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_add_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd
);
vector_reductions!(
    avx512_f32,
    "avx512f",
    f32,
    __m512,
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_add_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps
);

/// The entries of [`wide_sum`] and [`wide_dot`] for one element type: the 512-bit loops where the
/// CPU has AVX-512F (and the crate's feature `avx512` is on, as by default), the 256-bit ones
/// otherwise.
macro_rules! wide_entries {
    ($t:ty, $sum:ident, $dot:ident, $avx2:ident, $avx512:ident) => {
        /// The sum of `a` (see [`wide_sum`]); only called after `avx2_fma()` held.
        #[inline(never)]
        fn $sum(a: &[$t]) -> $t {
            #[cfg(target_arch = "x86_64")]
            {
                if cfg!(feature = "avx512") && avx512f() {
                    // SAFETY: the CPU has AVX-512F (just asked).
                    return unsafe { $avx512::sum(a) };
                }
                // SAFETY: the CPU has AVX2 and FMA (the callers' check).
                unsafe { $avx2::sum(a) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!(
                "einsum-runtime internal error: AVX2 outside x86-64 ({})",
                a.len()
            )
        }

        /// The dot product of `a` and `b`, of equal lengths (see [`wide_dot`]); only called after
        /// `avx2_fma()` held.
        #[inline(never)]
        fn $dot(a: &[$t], b: &[$t]) -> $t {
            assert_eq!(
                a.len(),
                b.len(),
                "einsum-runtime internal error: a dot product of unequal lanes"
            );
            #[cfg(target_arch = "x86_64")]
            {
                if cfg!(feature = "avx512") && avx512f() {
                    // SAFETY: the CPU has AVX-512F (just asked); the lengths are equal (asserted).
                    return unsafe { $avx512::dot(a, b) };
                }
                // SAFETY: the CPU has AVX2 and FMA (the callers' check); equal lengths (asserted).
                unsafe { $avx2::dot(a, b) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!(
                "einsum-runtime internal error: AVX2 outside x86-64 ({})",
                a.len()
            )
        }
    };
}

wide_entries!(f64, sum_f64, dot_f64, avx2_f64, avx512_f64);
wide_entries!(f32, sum_f32, dot_f32, avx2_f32, avx512_f32);

// ---------------------------------------------------------------------------------------------------
// Typed views and lanes: what the code that the macro generates runs on.
//
// Generated code knows each operand's distinct labels at compile time, so it sees an operand as a
// `View<T, N>`: `N` slots (one per distinct label, in the order the term first names them), each with
// an extent and a stride. The constructor checks the operand's shape once; after that, generated loops
// ask for whole lanes by index tuple, `lane` checks the tuple (N comparisons per lane, not per
// element), and the lane primitives run the innermost loop with unit-stride fast paths.

/// An operand seen through its term: slot `s` has extent `dims[s]` and stride `strides[s]`.
///
/// Invariant: for every index tuple `idx` with `idx[s] < dims[s]`, the offset `Σ idx[s] · strides[s]`
/// from `ptr` addresses an element borrowed for `'a` (established by [`View::new`]).
#[derive(Debug, Clone, Copy)]
pub struct View<'a, T, const N: usize> {
    ptr: *const T,
    dims: [usize; N],
    strides: [isize; N],
    life: PhantomData<&'a [T]>,
}

/// The writable counterpart of [`View`]: the destination of a generated loop nest. Two index tuples
/// may address the same element (a stride-0 slot broadcast from extent 1): the primitives only ever
/// add into an element, so such aliasing sums, which is what gradients of broadcast axes need.
#[derive(Debug)]
pub struct ViewMut<'a, T, const N: usize> {
    ptr: *mut T,
    dims: [usize; N],
    strides: [isize; N],
    life: PhantomData<&'a mut [T]>,
}

/// Folds an array's axes into slots: axis `a` goes to slot `slots[a]`, and `folded[s]` receives the
/// stride of slot `s` (whose extent is `dims[s]`). Axes sharing a slot (a repeated label) add their
/// strides (a diagonal); an axis of length 1 under a longer slot is broadcast (stride 0). Panics (an
/// internal error: generated code binds extents before it builds views) when an axis' length is
/// neither its slot's extent nor 1.
///
/// Not generic, like everything here that the typed views only pass slices to: it is compiled once,
/// in this crate, rather than once per rank in every crate that calls `einsum!`. (Inlined, it made
/// a 3x4 times 4x5 product 12 ns faster and 50 `einsum!` calls 0.8 s slower to build in release:
/// `scripts/compile_time.py --profiles release --runs 5`.)
#[inline(never)]
fn fold_slots(
    shape: &[usize],
    strides: &[isize],
    slots: &[usize],
    dims: &[usize],
    folded: &mut [isize],
) {
    assert!(
        shape.len() == slots.len(),
        "einsum-runtime internal error: an operand of {} axes viewed through {}",
        shape.len(),
        slots.len()
    );
    for ((&len, &stride), &slot) in shape.iter().zip(strides).zip(slots) {
        assert!(
            len == dims[slot] || len == 1,
            "einsum-runtime internal error: axis of length {len} in a slot of extent {}",
            dims[slot]
        );
        if len == dims[slot] && len > 1 {
            folded[slot] += stride;
        }
    }
}

/// [`fold_slots`], with the common case inline: one slot per axis, in order, and no axis
/// broadcast, a few compares of constants (`slots`) and of the shape against `dims`. (Copied whole,
/// the strides also move as one vector: strides stored one by one and then read as a pair stall
/// the load that copies the view: a store-forwarding stall, which `perf annotate` showed as the
/// hottest instructions of a tiny product's generated function.)
#[inline(always)]
fn fold<const R: usize, const N: usize>(
    shape: &[usize],
    steps: &[isize],
    slots: &[usize; R],
    dims: &[usize; N],
) -> ([isize; N], [usize; N]) {
    let in_order = R == N && (0..R).all(|a| slots[a] == a);
    // Axis by axis, with a branch each: `dims` was just stored one extent at a time, and a
    // vectorized compare (what `shape == dims` becomes) would load it whole and stall.
    let same = shape.len() == N && (0..N).all(|a| shape[a] == dims[a]);
    if let (true, Ok(strides), Ok(shape)) = (
        in_order && same,
        <[isize; N]>::try_from(steps),
        <[usize; N]>::try_from(shape),
    ) {
        // The array's own strides, copied whole (an axis of extent 1 is only ever indexed with 0,
        // so its stride does not matter, where `fold_slots` writes 0), and its own shape, equal to
        // `dims` (just compared) but stored whole, long ago: the same stall again, avoided.
        return (strides, shape);
    }
    let mut folded = [0; N];
    fold_slots(shape, steps, slots, dims, &mut folded);
    (folded, *dims)
}

/// The offset of `index` (all but `skip` checked against `dims`).
#[inline(always)]
#[track_caller]
fn offset<const N: usize>(
    dims: &[usize; N],
    strides: &[isize; N],
    index: &[usize; N],
    skip: Option<usize>,
) -> isize {
    let mut off = 0isize;
    for s in 0..N {
        if Some(s) == skip {
            continue;
        }
        if index[s] >= dims[s] {
            index_out_of_range(index[s], dims[s], s);
        }
        off += index[s] as isize * strides[s];
    }
    off
}

// The panics of the checks that the generated loops inline at every lane: out of line and cold, so
// that each check is a compare and a branch in the caller (less code for every `einsum!` call to
// compile, and none of it on the hot path).

#[cold]
#[inline(never)]
#[track_caller]
fn index_out_of_range(index: usize, dim: usize, slot: usize) -> ! {
    panic!("einsum-runtime internal error: index {index} out of range {dim} in slot {slot}")
}

/// The offset of `index` with 0 in the two slots `axes` (checked distinct), the others checked
/// against `dims`.
#[inline(always)]
#[track_caller]
fn plane_offset<const N: usize>(
    dims: &[usize; N],
    strides: &[isize; N],
    index: &[usize; N],
    axes: [usize; 2],
) -> isize {
    if axes[0] == axes[1] || axes[0] >= N || axes[1] >= N {
        plane_of_one_slot();
    }
    let mut off = 0isize;
    for s in 0..N {
        if s == axes[0] || s == axes[1] {
            continue;
        }
        if index[s] >= dims[s] {
            index_out_of_range(index[s], dims[s], s);
        }
        off += index[s] as isize * strides[s];
    }
    off
}

#[cold]
#[inline(never)]
#[track_caller]
fn plane_of_one_slot() -> ! {
    panic!("einsum-runtime internal error: a plane needs two distinct slots")
}

/// An operand as the generated code receives it: a borrowed ndarray array of any storage and
/// dimension type, with its shape, strides and first element read once, so that passing it on copies
/// no shape (an `ArrayViewD` would build two `IxDyn`s per operand and call) and reading them is no
/// call. Made only from an array, so its shape, strides and pointer are ndarray's, or by
/// [`Permuted`] from such an input, which keeps the invariant that matters: every index tuple
/// within its shape addresses an element of the array.
pub struct Input<'a, T> {
    /// `None` for a [`Permuted`] input, which only generated kernels take.
    array: Option<&'a dyn Source<T>>,
    dims: &'a [usize],
    steps: &'a [isize],
    first: *const T,
}

impl<T> Clone for Input<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Input<'_, T> {}

/// What [`Input`] keeps of an array, to make a view of it for the run-time executor. Private:
/// implemented only for ndarray's `ArrayBase`.
trait Source<T> {
    fn dyn_view(&self) -> ArrayViewD<'_, T>;
}

impl<S: Data, D: Dimension> Source<S::Elem> for ArrayBase<S, D> {
    fn dyn_view(&self) -> ArrayViewD<'_, S::Elem> {
        self.view().into_dyn()
    }
}

impl<'a, T> Input<'a, T> {
    /// The array, borrowed.
    #[inline]
    pub fn new<S: Data<Elem = T>, D: Dimension>(array: &'a ArrayBase<S, D>) -> Self {
        Input {
            array: Some(array),
            dims: array.shape(),
            steps: array.strides(),
            first: array.as_ptr(),
        }
    }

    /// The array's shape.
    #[inline]
    pub fn shape(&self) -> &'a [usize] {
        self.dims
    }

    /// The array as a dynamic-rank view (for the run-time executor).
    ///
    /// # Panics
    /// For the input of a [`Permuted`] (an internal error: only generated kernels take those, and
    /// they read it through [`View`]s).
    pub fn view(&self) -> ArrayViewD<'a, T> {
        self.array
            .expect("einsum-runtime internal error: a reordered operand has no array view")
            .dyn_view()
    }
}

/// An [`Input`] with its axes reordered: what a gradient that is the forward einsum under other
/// names passes to the forward kernel (`g` and the other operands, each through the forward term it
/// fills). Axis `a` of [`input`](Permuted::input) is axis `axes[a]` of the operand. Axes of length
/// 1 stay so: the gradient passes the forward kernel its extents, and the kernel's views broadcast
/// them.
pub struct Permuted<'a, T, const R: usize> {
    dims: [usize; R],
    steps: [isize; R],
    first: *const T,
    life: PhantomData<Input<'a, T>>,
}

impl<'a, T, const R: usize> Permuted<'a, T, R> {
    /// `of`'s axes `axes` (a permutation of its axes) as axes `0..R`.
    ///
    /// Inline, with its panics out of line: `axes` is a constant of the generated code, so what
    /// remains of the checks is a compare per axis (a tiny product's backward calls this once per
    /// reordered operand, and out of line the call showed in `perf` of that backward).
    ///
    /// # Panics
    /// If `of` does not have `R` axes or `axes` is not a permutation of `0..R` (internal errors of
    /// the generated code).
    #[inline]
    #[track_caller]
    pub fn new(of: Input<'a, T>, axes: [usize; R]) -> Self {
        if of.dims.len() != R {
            not_a_reordering(of.dims.len(), R);
        }
        let (mut dims, mut steps) = ([0; R], [0; R]);
        let mut seen = [false; R];
        for a in 0..R {
            let axis = axes[a];
            if axis >= R || seen[axis] {
                not_a_reordering(of.dims.len(), R);
            }
            seen[axis] = true;
            dims[a] = of.dims[axis];
            steps[a] = of.steps[axis];
        }
        Permuted {
            dims,
            steps,
            first: of.first,
            life: PhantomData,
        }
    }

    /// The reordered operand, for the forward kernel.
    #[inline]
    pub fn input(&self) -> Input<'_, T> {
        // Every in-range index tuple of this input is, with its entries reordered by `axes`, an
        // in-range index tuple of the operand, at the same offset from its first element: the
        // invariant `Input` keeps (see its docs).
        Input {
            array: None,
            dims: &self.dims,
            steps: &self.steps,
            first: self.first,
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn not_a_reordering(rank: usize, axes: usize) -> ! {
    panic!("einsum-runtime internal error: {axes} axes are not a reordering of an operand's {rank}")
}

impl<'a, S: Data, D: Dimension> From<&'a ArrayBase<S, D>> for Input<'a, S::Elem> {
    #[inline]
    fn from(array: &'a ArrayBase<S, D>) -> Self {
        Input::new(array)
    }
}

impl<'a, T> From<&Input<'a, T>> for Input<'a, T> {
    #[inline]
    fn from(input: &Input<'a, T>) -> Self {
        *input
    }
}

impl<'a, T, const N: usize> View<'a, T, N> {
    /// `array` (an array or an [`Input`]) through its term's slots (see [`fold_slots`]); `dims` are
    /// the slots' extents.
    pub fn new<const R: usize>(
        array: impl Into<Input<'a, T>>,
        slots: [usize; R],
        dims: [usize; N],
    ) -> Self
    where
        T: 'a,
    {
        let array = array.into();
        let (strides, dims) = fold(array.dims, array.steps, &slots, &dims);
        // Every index tuple of the slots is an index tuple of `array` (a folded slot indexes all its
        // axes with the same in-range value, a broadcast axis is indexed with 0), and ndarray
        // guarantees that every in-range index tuple of an array addresses one of its elements
        // (`Input`s are made only from ndarray arrays, or from those by `Permuted`, which keeps
        // that).
        View {
            ptr: array.first,
            dims,
            strides,
            life: PhantomData,
        }
    }

    /// The extents of the slots `order` (slot `order[j]` as axis `j`).
    pub(crate) fn permuted_dims(&self, order: [usize; N]) -> [usize; N] {
        order.map(|o| self.dims[o])
    }

    /// The lane along slot `axis` through `index` (whose `axis` entry is ignored).
    ///
    /// This and the other lane and plane accessors are `#[inline]`, not `#[inline(always)]`: an
    /// optimized build inlines them all the same (the optimized LLVM IR of the vjp probe of
    /// `scripts/compile_time.py` is the same size within 0.2 %), while a debug build calls them
    /// instead of copying their checks into every generated loop (that probe's debug LLVM IR: 313k
    /// lines with them always inlined, 203k without; `scripts/ir_lines.py`).
    ///
    /// # Panics
    /// If another entry of `index` is out of range (an internal error of the generated loops).
    #[inline]
    #[track_caller]
    pub fn lane(&self, index: [usize; N], axis: usize) -> Lane<'a, T> {
        let off = offset(&self.dims, &self.strides, &index, Some(axis));
        Lane {
            // SAFETY: `offset` checked every other entry of `index`, so `off` is the offset of the
            // index tuple with 0 in slot `axis`: an element by the type's invariant (or, when
            // `dims[axis] == 0`, a position the lane of length 0 never reads).
            ptr: self.ptr.wrapping_offset(off),
            len: self.dims[axis],
            stride: self.strides[axis],
            life: PhantomData,
        }
    }

    /// All of the view as one lane of stride 1, when its slots are contiguous in row-major order
    /// (an array in standard layout, seen through its own axes): a step that visits the view's
    /// elements in that order runs one lane instead of a loop of them. `None` for any other layout.
    #[inline]
    pub fn flat(&self) -> Option<Lane<'a, T>> {
        let mut len = 1usize;
        for s in (0..N).rev() {
            if self.dims[s] != 1 && self.strides[s] != len as isize {
                return None;
            }
            len = len.checked_mul(self.dims[s])?;
        }
        Some(Lane {
            // SAFETY: row-major contiguous, the view's index tuples are exactly the offsets
            // `0 .. len` (all of them elements by the type's invariant), each once.
            ptr: self.ptr,
            len,
            stride: 1,
            life: PhantomData,
        })
    }

    /// The element at `index`, repeated `len` times (a lane of stride 0): how a tensor that lacks the
    /// innermost loop's label takes part in it.
    #[inline]
    #[track_caller]
    pub fn splat(&self, index: [usize; N], len: usize) -> Lane<'a, T> {
        let off = offset(&self.dims, &self.strides, &index, None);
        Lane {
            ptr: self.ptr.wrapping_offset(off),
            len,
            stride: 0,
            life: PhantomData,
        }
    }

    /// The plane along slots `axes` through `index` (whose `axes` entries are ignored): the two
    /// innermost loops of a tiled step (see [`add_plane`]).
    ///
    /// # Panics
    /// If the two slots are the same or another entry of `index` is out of range (an internal error
    /// of the generated loops).
    #[inline]
    #[track_caller]
    pub fn plane(&self, index: [usize; N], axes: [usize; 2]) -> Plane<'a, T> {
        let off = plane_offset(&self.dims, &self.strides, &index, axes);
        Plane {
            // SAFETY: `plane_offset` checked every entry of `index` but the plane's two (distinct)
            // slots, so `off` is the offset of the index tuple with 0 there: an element by the type's
            // invariant (or, when a plane's side is 0, a position it never reads).
            ptr: self.ptr.wrapping_offset(off),
            dims: axes.map(|a| self.dims[a]),
            strides: axes.map(|a| self.strides[a]),
            life: PhantomData,
        }
    }
}

impl<'a, T, const N: usize> ViewMut<'a, T, N> {
    /// `array` through its term's slots (see [`fold_slots`]); `dims` are the slots' extents.
    pub fn new<S, D, const R: usize>(
        array: &'a mut ArrayBase<S, D>,
        slots: [usize; R],
        dims: [usize; N],
    ) -> Self
    where
        S: DataMut<Elem = T>,
        D: Dimension,
    {
        let (strides, dims) = fold(array.shape(), array.strides(), &slots, &dims);
        // As for `View::new`; the array is borrowed mutably, so nothing else reads or writes it.
        ViewMut {
            ptr: array.as_mut_ptr(),
            dims,
            strides,
            life: PhantomData,
        }
    }

    /// The writable lane along slot `axis` through `index` (whose `axis` entry is ignored).
    ///
    /// # Panics
    /// If another entry of `index` is out of range (an internal error of the generated loops).
    #[inline]
    #[track_caller]
    pub fn lane(&mut self, index: [usize; N], axis: usize) -> LaneMut<'_, T> {
        let off = offset(&self.dims, &self.strides, &index, Some(axis));
        LaneMut {
            ptr: self.ptr.wrapping_offset(off),
            len: self.dims[axis],
            stride: self.strides[axis],
            life: PhantomData,
        }
    }

    /// The element at `index`, as a lane of stride 0 and length `len`: the destination of a reduction
    /// (every step adds into the same element).
    #[inline]
    #[track_caller]
    pub fn splat(&mut self, index: [usize; N], len: usize) -> LaneMut<'_, T> {
        let off = offset(&self.dims, &self.strides, &index, None);
        LaneMut {
            ptr: self.ptr.wrapping_offset(off),
            len,
            stride: 0,
            life: PhantomData,
        }
    }

    /// The writable plane along slots `axes` through `index` (see [`View::plane`]).
    ///
    /// # Panics
    /// As for [`View::plane`].
    #[inline]
    #[track_caller]
    pub fn plane(&mut self, index: [usize; N], axes: [usize; 2]) -> PlaneMut<'_, T> {
        let off = plane_offset(&self.dims, &self.strides, &index, axes);
        PlaneMut {
            ptr: self.ptr.wrapping_offset(off),
            dims: axes.map(|a| self.dims[a]),
            strides: axes.map(|a| self.strides[a]),
            life: PhantomData,
        }
    }
}

/// `len` elements `ptr[i · stride]`, read-only. Made only by [`View::lane`], [`View::splat`] and
/// [`View::flat`], so every `i < len` addresses an element borrowed for `'a`.
#[derive(Debug, Clone, Copy)]
pub struct Lane<'a, T> {
    ptr: *const T,
    len: usize,
    stride: isize,
    life: PhantomData<&'a [T]>,
}

impl<'a, T: 'static> Lane<'a, T> {
    /// This lane as a lane of `U`, which must be `T` itself (checked): for the entries compiled
    /// once per element type.
    fn retype<U: 'static>(self) -> Lane<'a, U> {
        assert!(
            same_type::<T, U>(),
            "einsum-runtime internal error: a lane retyped to another element type"
        );
        Lane {
            ptr: self.ptr.cast(),
            len: self.len,
            stride: self.stride,
            life: PhantomData,
        }
    }
}

/// `len` elements `ptr[i · stride]`, writable (stride 0: one element, added into `len` times). Made
/// only by [`ViewMut::lane`] and [`ViewMut::splat`], which borrow the view mutably.
#[derive(Debug)]
pub struct LaneMut<'a, T> {
    ptr: *mut T,
    len: usize,
    stride: isize,
    life: PhantomData<&'a mut [T]>,
}

/// `dims[0] × dims[1]` elements `ptr[p · strides[0] + q · strides[1]]`, read-only. Made only by
/// [`View::plane`], so every such `(p, q)` addresses an element borrowed for `'a`.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a, T> {
    ptr: *const T,
    dims: [usize; 2],
    strides: [isize; 2],
    life: PhantomData<&'a [T]>,
}

/// The writable counterpart of [`Plane`], made only by [`ViewMut::plane`]. Two `(p, q)` may address
/// the same element (a stride-0 slot); [`add_plane`] only adds into elements, so that sums.
#[derive(Debug)]
pub struct PlaneMut<'a, T> {
    ptr: *mut T,
    dims: [usize; 2],
    strides: [isize; 2],
    life: PhantomData<&'a mut [T]>,
}

/// Sides of the square blocks [`add_plane`] walks: both operands' lines of a block stay in L1 and
/// their pages in the TLB while it is read across. Measured on 2048 x 2048 transposes (`cargo
/// bench --bench workloads -- transpose`); see `docs/benchmarks.md`.
const PLANE_BLOCK: usize = 128;

/// Sides of the tiles inside a block: each is read along `a`'s contiguous side into registers and
/// written along `out`'s.
const PLANE_TILE: usize = 8;

/// `out[p, q] += a[p, q]` over the plane: a tiled step's two innermost loops (a transpose, or any
/// permuting copy whose operand and result are contiguous along different labels), walked in blocks
/// and tiles so that neither side's reads or writes cross the memory with a long stride.
///
/// # Panics
/// If the planes' sides differ (an internal error of the generated loops).
pub fn add_plane<T: LinalgScalar>(out: PlaneMut<'_, T>, a: Plane<'_, T>) {
    assert!(
        out.dims == a.dims,
        "einsum-runtime internal error: planes of sides {:?} and {:?}",
        out.dims,
        a.dims
    );
    // SAFETY: both planes come from views (their invariant: every `(p, q)` below `dims` is an
    // element), with the same sides; `out` is borrowed mutably from the destination, which no input
    // view overlaps.
    unsafe { planes::<T, true>(out.ptr, out.strides, a.ptr, a.strides, out.dims) }
}

/// The body of [`add_plane`] (`ADD`: `out += a`) and of [`push_permuted`] (`out = a`, into memory
/// that is not initialized yet): [`plane_blocks`] for `f32` and `f64`, through its instances
/// compiled in this crate ([`plane_blocks_f32`], [`plane_blocks_f64`]), and [`plane_loops`] for
/// other element types.
///
/// Generic, `plane_blocks` would be compiled again in every crate whose `einsum!` calls permute:
/// its sixteen read and write paths are about 22 KB of machine code, the largest function (after the
/// probe's own `run_all`) that the 50 `einsum!` calls of `scripts/compile_time.py` made their crate
/// compile (`docs/benchmarks.md`, section 2).
///
/// # Safety
/// As [`plane_blocks`].
#[inline(always)]
unsafe fn planes<T: LinalgScalar, const ADD: bool>(
    out: *mut T,
    os: [isize; 2],
    a: *const T,
    as_: [isize; 2],
    dims: [usize; 2],
) {
    if same_type::<T, f64>() {
        // SAFETY: `T` is `f64`, so the casts keep the element type; the rest is this function's
        // contract.
        return unsafe { plane_blocks_f64(out.cast(), os, a.cast(), as_, dims, ADD) };
    }
    if same_type::<T, f32>() {
        // SAFETY: as above, for `f32`.
        return unsafe { plane_blocks_f32(out.cast(), os, a.cast(), as_, dims, ADD) };
    }
    // SAFETY: this function's contract.
    unsafe { plane_loops::<T, ADD>(out, os, a, as_, dims) }
}

/// Defines `$name`, [`plane_blocks`] for `$t`: not generic, so compiled once, here.
macro_rules! plane_blocks_of {
    ($name:ident, $t:ty) => {
        /// [`plane_blocks`] for one element type, compiled once, here (`add`: `ADD`).
        ///
        /// # Safety
        /// As [`plane_blocks`].
        #[inline(never)]
        unsafe fn $name(
            out: *mut $t,
            os: [isize; 2],
            a: *const $t,
            as_: [isize; 2],
            dims: [usize; 2],
            add: bool,
        ) {
            #[cfg(target_arch = "x86_64")]
            if !add && as_[0] == 1 && os[1] == 1 && avx2() {
                // SAFETY: the CPU has AVX2 (just checked); the strides are the ones that function
                // takes, and the rest is this function's contract.
                return unsafe { plane_transpose::<$t>(out, os[0], a, as_[1], dims) };
            }
            // SAFETY: this function's contract.
            unsafe {
                if add {
                    plane_blocks::<$t, true>(out, os, a, as_, dims)
                } else {
                    plane_blocks::<$t, false>(out, os, a, as_, dims)
                }
            }
        }
    };
}

/// Whether the CPU has AVX2 (cached by the standard library after the first question).
#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// The plain transpose of [`plane_blocks`], with AVX2: `out[p, q] = a[p, q]`, where `a` is
/// contiguous along `p` (`a + q · a_q + p`) and `out` along `q` (`out + p · out_p + q`), written
/// into memory that may not be initialized. The same walk in blocks and 8 × 8 tiles, but each whole
/// tile moves as four 4 × 4 blocks transposed in vector registers ([`Small::transpose4`]): compiled
/// for the baseline x86-64 (SSE2), the generic tile moved its elements one at a time through the
/// stack. Tiles cut by an edge of the plane take a plain double loop.
///
/// # Safety
/// The CPU has AVX2; every `(p, q)` below `dims` addresses an element of `a` at `q · a_q + p` and a
/// writable one of `out` (none of `a`'s) at `p · out_p + q`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn plane_transpose<T: Small>(
    out: *mut T,
    out_p: isize,
    a: *const T,
    a_q: isize,
    [np, nq]: [usize; 2],
) {
    let src = |p: usize, q: usize| a.wrapping_offset(q as isize * a_q + p as isize);
    let dst = |p: usize, q: usize| out.wrapping_offset(p as isize * out_p + q as isize);
    blocks([np, nq], |ps, qs| {
        for pt in ps.clone().step_by(PLANE_TILE) {
            let pl = PLANE_TILE.min(ps.end - pt);
            for qt in qs.clone().step_by(PLANE_TILE) {
                let ql = PLANE_TILE.min(qs.end - qt);
                if pl < PLANE_TILE || ql < PLANE_TILE {
                    for p in pt..pt + pl {
                        for q in qt..qt + ql {
                            // SAFETY: `p < np` and `q < nq`: elements by this function's contract.
                            unsafe { dst(p, q).write(*src(p, q)) };
                        }
                    }
                    continue;
                }
                for (bp, bq) in [(0, 0), (0, 4), (4, 0), (4, 4)] {
                    let (p, q) = (pt + bp, qt + bq);
                    // SAFETY: the CPU has AVX2; the block's rows `p .. p + 4` and columns
                    // `q .. q + 4` lie inside the whole tile, so below `dims`: four contiguous
                    // elements of `a` from each `src(p, q + c)` and four writable ones of `out`
                    // from each `dst(p + r, q)`, by this function's contract.
                    unsafe {
                        T::transpose4(
                            std::array::from_fn(|c| src(p, q + c)),
                            std::array::from_fn(|r| dst(p + r, q)),
                        )
                    };
                }
            }
        }
    });
}

plane_blocks_of!(plane_blocks_f64, f64);
plane_blocks_of!(plane_blocks_f32, f32);

/// [`plane_blocks`] for other element types, which are compiled in the calling crate: the same
/// walk in blocks, each block a plain double loop along `a`'s contiguous side (no tiles in
/// registers), so that it stays small.
///
/// # Safety
/// As [`plane_blocks`].
#[inline(never)]
unsafe fn plane_loops<T: LinalgScalar, const ADD: bool>(
    out: *mut T,
    os: [isize; 2],
    a: *const T,
    as_: [isize; 2],
    [np, nq]: [usize; 2],
) {
    let read_q = as_[1].unsigned_abs() <= as_[0].unsigned_abs();
    blocks([np, nq], |ps, qs| {
        let each = |p: usize, q: usize| {
            // SAFETY: `p < np` and `q < nq` (`blocks`), so both offsets are elements' by this
            // function's contract.
            unsafe { put::<T, ADD>(out.offset(at(os, p, q)), *a.offset(at(as_, p, q))) }
        };
        if read_q {
            ps.for_each(|p| qs.clone().for_each(|q| each(p, q)));
        } else {
            qs.for_each(|q| ps.clone().for_each(|p| each(p, q)));
        }
    });
}

/// Calls `f` with the rows and columns of each [`PLANE_BLOCK`]-square block of a `[np, nq]` plane.
#[inline(always)]
fn blocks([np, nq]: [usize; 2], mut f: impl FnMut(std::ops::Range<usize>, std::ops::Range<usize>)) {
    for p0 in (0..np).step_by(PLANE_BLOCK) {
        for q0 in (0..nq).step_by(PLANE_BLOCK) {
            f(
                p0..(p0 + PLANE_BLOCK).min(np),
                q0..(q0 + PLANE_BLOCK).min(nq),
            );
        }
    }
}

/// The offset of `(p, q)` under `strides`.
#[inline(always)]
fn at(strides: [isize; 2], p: usize, q: usize) -> isize {
    p as isize * strides[0] + q as isize * strides[1]
}

/// The blocked and tiled walk of [`planes`] (the path of `f32` and `f64`).
///
/// # Safety
/// Every `(p, q)` below `dims` addresses an element of `out` (writable, none of `a`'s, initialized
/// if `ADD`) and of `a` at `p · strides[0] + q · strides[1]`.
#[inline(always)]
unsafe fn plane_blocks<T: LinalgScalar, const ADD: bool>(
    out: *mut T,
    os: [isize; 2],
    a: *const T,
    as_: [isize; 2],
    [np, nq]: [usize; 2],
) {
    // Read `a` along its contiguous side (the smaller stride) and write `out` along its own.
    let read_q = as_[1].unsigned_abs() <= as_[0].unsigned_abs();
    let write_q = os[1].unsigned_abs() <= os[0].unsigned_abs();
    blocks([np, nq], |ps, qs| {
        let (p0, pe, q0, qe) = (ps.start, ps.end, qs.start, qs.end);
        for pt in (p0..pe).step_by(PLANE_TILE) {
            let pl = PLANE_TILE.min(pe - pt);
            for qt in (q0..qe).step_by(PLANE_TILE) {
                let ql = PLANE_TILE.min(qe - qt);
                let mut tile = [[T::zero(); PLANE_TILE]; PLANE_TILE];
                // SAFETY (the four loops): `pt + pp < np` and `qt + qq < nq`, so every offset is
                // that of an element by this function's contract.
                if read_q && as_[1] == 1 && ql == PLANE_TILE {
                    for (pp, row) in tile.iter_mut().enumerate().take(pl) {
                        // SAFETY: see above; the row's elements are contiguous.
                        *row = unsafe {
                            a.offset(at(as_, pt + pp, qt))
                                .cast::<[T; PLANE_TILE]>()
                                .read_unaligned()
                        };
                    }
                } else if read_q {
                    for (pp, row) in tile.iter_mut().enumerate().take(pl) {
                        for (qq, t) in row.iter_mut().enumerate().take(ql) {
                            // SAFETY: see above.
                            *t = unsafe { *a.offset(at(as_, pt + pp, qt + qq)) };
                        }
                    }
                } else if as_[0] == 1 && pl == PLANE_TILE {
                    // Whole columns of the tile, contiguous in `a`, transposed in registers.
                    let mut cols = [[T::zero(); PLANE_TILE]; PLANE_TILE];
                    for (qq, col) in cols.iter_mut().enumerate().take(ql) {
                        // SAFETY: see above; the column's elements are contiguous.
                        *col = unsafe {
                            a.offset(at(as_, pt, qt + qq))
                                .cast::<[T; PLANE_TILE]>()
                                .read_unaligned()
                        };
                    }
                    for (pp, row) in tile.iter_mut().enumerate() {
                        for (qq, t) in row.iter_mut().enumerate() {
                            *t = cols[qq][pp];
                        }
                    }
                } else {
                    for qq in 0..ql {
                        for (pp, row) in tile.iter_mut().enumerate().take(pl) {
                            // SAFETY: see above.
                            row[qq] = unsafe { *a.offset(at(as_, pt + pp, qt + qq)) };
                        }
                    }
                }
                if write_q && !ADD && os[1] == 1 && ql == PLANE_TILE {
                    for (pp, row) in tile.iter().enumerate().take(pl) {
                        // SAFETY: see above; the row's elements are contiguous in `out`, and
                        // written, not read (`!ADD`).
                        unsafe {
                            out.offset(at(os, pt + pp, qt))
                                .cast::<[T; PLANE_TILE]>()
                                .write_unaligned(*row)
                        };
                    }
                } else if write_q {
                    for (pp, row) in tile.iter().enumerate().take(pl) {
                        for (qq, &t) in row.iter().enumerate().take(ql) {
                            // SAFETY: see above.
                            unsafe { put::<T, ADD>(out.offset(at(os, pt + pp, qt + qq)), t) };
                        }
                    }
                } else if os[0] == 1 && pl == PLANE_TILE {
                    for qq in 0..ql {
                        // SAFETY: see above; the column's elements are contiguous in `out`.
                        let o = unsafe { out.offset(at(os, pt, qt + qq)) };
                        for (pp, row) in tile.iter().enumerate() {
                            // SAFETY: see above.
                            unsafe { put::<T, ADD>(o.add(pp), row[qq]) };
                        }
                    }
                } else {
                    for qq in 0..ql {
                        for (pp, row) in tile.iter().enumerate().take(pl) {
                            // SAFETY: see above.
                            unsafe { put::<T, ADD>(out.offset(at(os, pt + pp, qt + qq)), row[qq]) };
                        }
                    }
                }
            }
        }
    });
}

/// `*o += v` if `ADD`, else `*o = v` into memory that may not be initialized.
///
/// # Safety
/// `o` is valid for writes, and initialized if `ADD`.
#[inline(always)]
unsafe fn put<T: LinalgScalar, const ADD: bool>(o: *mut T, v: T) {
    // SAFETY: this function's contract.
    unsafe {
        if ADD {
            *o = *o + v;
        } else {
            o.write(v);
        }
    }
}

/// Appends to `out` the elements of `x` with its slots in `order` (slot `order[j]` as axis `j`),
/// row-major: a permuting copy (a transpose) written once, walked in blocks like [`add_plane`]'s.
/// What a generated step that only permutes its one input runs, instead of adding into zeros.
///
/// # Panics
/// If `order` is not a permutation of the slots (an internal error of the generated code), or the
/// element count overflows.
pub(crate) fn push_permuted<T: LinalgScalar, const N: usize>(
    out: &mut Vec<T>,
    x: &View<'_, T, N>,
    order: [usize; N],
) {
    let mut seen = [false; N];
    for &o in &order {
        assert!(
            o < N && !std::mem::replace(&mut seen[o], true),
            "einsum-runtime internal error: a permutation that is not one"
        );
    }
    let dims = order.map(|o| x.dims[o]);
    let strides = order.map(|o| x.strides[o]);
    // SAFETY: `dims` and `strides` are the view's slots in another order, so every index tuple below
    // `dims` addresses an element of the view (its invariant).
    unsafe { push_strided(out, x.ptr, &dims, &strides) }
}

/// The body of [`push_permuted`], generic only in the element type.
///
/// # Safety
/// Every index tuple below `dims` addresses an element at `Σ idx[s] · strides[s]` from `ptr`.
#[inline(never)]
unsafe fn push_strided<T: LinalgScalar>(
    out: &mut Vec<T>,
    ptr: *const T,
    dims: &[usize],
    strides: &[isize],
) {
    let len = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .expect("einsum-runtime internal error: a permuted copy's length overflows");
    out.reserve_exact(len);
    let n = dims.len();
    if len == 0 {
        return;
    }
    let base = out.as_mut_ptr().wrapping_add(out.len());
    if n < 2 {
        for i in 0..len {
            let off = if n == 1 { i as isize * strides[0] } else { 0 };
            // SAFETY: `i` is below the only extent (or 0 for no axis), so `off` is an element's by
            // this function's contract; `base + i` is within the capacity just reserved.
            unsafe { base.add(i).write(*ptr.offset(off)) };
        }
    } else {
        let outer = &dims[..n - 2];
        let (np, nq) = (dims[n - 2], dims[n - 1]);
        let plane = [strides[n - 2], strides[n - 1]];
        let mut index = vec![0usize; outer.len()];
        let (mut off, mut written) = (0isize, 0usize);
        'planes: loop {
            // SAFETY: `index` is below `outer` (the odometer below), so `off` is the offset of an
            // index tuple whose last two entries the plane walks below `(np, nq)`: elements by this
            // function's contract. The plane's output is `np · nq` elements from `written`, within
            // the `len` reserved, written once (the tuples are visited once, in row-major order).
            unsafe {
                planes::<T, false>(
                    base.add(written),
                    [nq as isize, 1],
                    ptr.offset(off),
                    plane,
                    [np, nq],
                )
            };
            written += np * nq;
            let mut d = outer.len();
            loop {
                if d == 0 {
                    break 'planes;
                }
                d -= 1;
                index[d] += 1;
                off += strides[d];
                if index[d] < outer[d] {
                    break;
                }
                off -= strides[d] * outer[d] as isize;
                index[d] = 0;
            }
        }
        debug_assert_eq!(written, len);
    }
    // SAFETY: the `len` elements from the old length were all written above.
    unsafe { out.set_len(out.len() + len) };
}

/// `out[i] += a[i] · b[i]` for every `i` of the lanes: the innermost loop of a generated pairwise
/// step. A stride-0 `out` is a dot product (eight accumulators on unit strides); unit strides take
/// slice loops that vectorize.
///
/// Not `#[inline]`, like the other lane and plane primitives that generated loops call ([`add`],
/// [`push_mul`], [`push`], [`add_plane`]): an `#[inline]` generic function is copied into every
/// codegen unit of the calling crate that uses it, and the generated kernels spread over sixteen
/// units (`__private::shard`), so each of these 1-2 KB bodies would be compiled up to sixteen times.
/// Without the hint it is compiled once per element type in the calling crate, and the optimizer
/// still inlines it where that pays (ThinLTO imports across units).
///
/// # Panics
/// If the lanes' lengths differ (an internal error of the generated loops).
pub fn mul_add<T: LinalgScalar>(out: LaneMut<'_, T>, a: Lane<'_, T>, b: Lane<'_, T>) {
    assert!(
        out.len == a.len && a.len == b.len,
        "einsum-runtime internal error: lanes of lengths {}, {} and {}",
        out.len,
        a.len,
        b.len
    );
    if out.len == 0 {
        return;
    }
    let l = Loop {
        extent: out.len,
        out: out.stride,
        a: a.stride,
        b: b.stride,
    };
    // SAFETY: each lane's constructor guarantees `ptr[i · stride]` is a valid element for `i < len`,
    // and all three lengths are `l.extent`. `out` comes from a mutable borrow of its view, so it does
    // not overlap `a` or `b`, which come from shared borrows.
    unsafe { inner_loop::<T, true>(l, out.ptr, a.ptr, b.ptr) }
}

/// `out[i] += a[i]` for every `i` of the lanes: the innermost loop of a generated single-operand step
/// (a copy, transpose, diagonal, broadcast or sum).
///
/// # Panics
/// If the lanes' lengths differ (an internal error of the generated loops).
pub fn add<T: LinalgScalar>(out: LaneMut<'_, T>, a: Lane<'_, T>) {
    assert!(
        out.len == a.len,
        "einsum-runtime internal error: lanes of lengths {} and {}",
        out.len,
        a.len
    );
    if out.len == 0 {
        return;
    }
    let l = Loop {
        extent: out.len,
        out: out.stride,
        a: a.stride,
        b: 0,
    };
    // SAFETY: as in `mul_add`; `b` is never read when `TWO` is false.
    unsafe { inner_loop::<T, false>(l, out.ptr, a.ptr, a.ptr) }
}

/// Appends `a[i] * b[i]` for every `i` of the lanes to `out`: the innermost loop of a generated
/// pairwise step that sums nothing (an elementwise, broadcast or outer product), whose result is
/// written once, in row-major order, instead of accumulated into zeros.
///
/// # Panics
/// If the lanes' lengths differ (an internal error of the generated loops).
pub fn push_mul<T: LinalgScalar>(out: &mut Vec<T>, a: Lane<'_, T>, b: Lane<'_, T>) {
    assert!(
        a.len == b.len,
        "einsum-runtime internal error: lanes of lengths {} and {}",
        a.len,
        b.len
    );
    let n = a.len;
    if n == 0 {
        return;
    }
    if n >= WIDE_PUSH_FROM && wide_push_mul(out, a, b) {
        return;
    }
    // SAFETY: each lane's constructor guarantees `ptr[i · stride]` is a valid element for `i < len`
    // (with stride 1, `[0..len]` is; with stride 0, element 0 is), and both lengths are `n`. The
    // lanes are shared borrows of their views, and `out` is a `Vec` the lanes cannot point into.
    unsafe {
        match (a.stride, b.stride) {
            (1, 1) => {
                let (x, y) = (
                    std::slice::from_raw_parts(a.ptr, n),
                    std::slice::from_raw_parts(b.ptr, n),
                );
                out.extend(x.iter().zip(y).map(|(&x, &y)| x * y));
            }
            (1, 0) => {
                let y = *b.ptr;
                out.extend(std::slice::from_raw_parts(a.ptr, n).iter().map(|&x| x * y));
            }
            (0, 1) => {
                let x = *a.ptr;
                out.extend(std::slice::from_raw_parts(b.ptr, n).iter().map(|&y| x * y));
            }
            (sa, sb) => {
                out.extend((0..n as isize).map(|i| *a.ptr.offset(i * sa) * *b.ptr.offset(i * sb)))
            }
        }
    }
}

/// How far ahead of its stores [`wide_push_mul`] prefetches the result's cache lines, in bytes.
///
/// Why: a result row is only stored into, and a store that misses the cache waits for its line;
/// asked for ahead, the line is there when the store comes. On the Zen 3 machine of
/// `docs/benchmarks.md`, the 16 MiB `f32` outer product of `benches/workloads.rs` took 0.83x its
/// time with the lines prefetched 2 KiB ahead (median of ten alternated rounds; section 0, "Outer
/// products: the result's lines prefetched"), where 1 KiB had given 0.79x of none and 2 KiB 0.90x
/// of 1 KiB, and 4 KiB 0.96x of 2 KiB with a range of 0.77-1.15 (six rounds each).
const PREFETCH_AHEAD: usize = 2048;

/// Lanes from this many elements on go to [`wide_push_mul`]; shorter ones stay in `push_mul`'s
/// plain loops, where a call and the alignment head would cost more than they save.
const WIDE_PUSH_FROM: usize = 32;

/// [`push_mul`] for `f32` and `f64` lanes whose strides are 0 or 1, on an x86-64 CPU with AVX:
/// 256-bit products stored 32-byte aligned (`push_mul_entry`). Returns false, having done nothing,
/// for any other lane, type or CPU.
///
/// Why: the generic loops compile to 128-bit SSE stores (the crate targets baseline x86-64), and a
/// result row that the allocator places 16 bytes past a 32-byte boundary (as glibc does) would split
/// every other unaligned 256-bit store across two cache lines. With aligned 256-bit stores the
/// 16 MiB `f32` outer product of `benches/workloads.rs` took 0.86x its time, and the 256 x 256
/// Hadamard product of `benches/kernels.rs` 0.89x, on the AMD EPYC machine of `docs/benchmarks.md`
/// (section 0, "Outer products with aligned 256-bit stores").
#[inline]
fn wide_push_mul<T: 'static>(out: &mut Vec<T>, a: Lane<'_, T>, b: Lane<'_, T>) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if !(matches!(a.stride, 0 | 1) && matches!(b.stride, 0 | 1) && avx()) {
            return false;
        }
        let any: &mut dyn std::any::Any = out;
        if let Some(out) = any.downcast_mut::<Vec<f64>>() {
            push_mul_f64(out, a.retype(), b.retype());
            return true;
        }
        if let Some(out) = any.downcast_mut::<Vec<f32>>() {
            push_mul_f32(out, a.retype(), b.retype());
            return true;
        }
    }
    let _ = (out, a, b);
    false
}

/// Whether the CPU has AVX (cached by the standard library after the first question).
#[cfg(target_arch = "x86_64")]
fn avx() -> bool {
    std::arch::is_x86_feature_detected!("avx")
}

/// The entry of [`wide_push_mul`] for one element type, `$name`: appends the products of two lanes
/// with 256-bit AVX vectors.
///
/// After the assertions, the whole row runs in one function compiled with AVX. The first vector of
/// the row is stored unaligned (it covers the elements before the row's first 32-byte boundary);
/// from there, four aligned vectors per step, each step prefetching the lines [`PREFETCH_AHEAD`]
/// bytes on; the last vector of the row is stored unaligned again, ending at the row's end. Those
/// two may write some elements a second time, with the same value.
/// Against a loop with scalar products at both ends and two vectors a step, reached through one
/// more call, the 16 MiB `f32` outer product of `benches/workloads.rs` took 0.97x its time (median
/// of ten alternated rounds; `docs/benchmarks.md`, section 0, "Outer products: one AVX function
/// per row").
macro_rules! push_mul_entry {
    ($t:ty, $name:ident, $lanes:literal, $set1:ident, $loadu:ident, $mul:ident, $store:ident, $storeu:ident) => {
        /// [`wide_push_mul`] for one element type (see `push_mul_entry`).
        ///
        /// # Panics
        /// Unless the lanes have the same length, at least two vectors, strides 0 or 1, and the
        /// CPU has AVX: `push_mul` and `wide_push_mul` send only such lanes (of at least
        /// `WIDE_PUSH_FROM` elements); checked again so that this is safe whoever calls it (the
        /// standard library caches the CPU's answer).
        #[cfg(target_arch = "x86_64")]
        #[inline(never)]
        fn $name(out: &mut Vec<$t>, a: Lane<'_, $t>, b: Lane<'_, $t>) {
            let n = a.len;
            assert!(
                n == b.len
                    && n >= 2 * $lanes
                    && matches!(a.stride, 0 | 1)
                    && matches!(b.stride, 0 | 1)
                    && avx(),
                "einsum-runtime internal error: a wide product of lanes {n} and {}",
                b.len
            );
            out.reserve(n);
            // SAFETY: the CPU has AVX, the lanes have the same length of at least two vectors and
            // strides 0 or 1 (all asserted), and `reserve` made room for `n` more elements.
            unsafe { $name::run(out, a, b) }
        }

        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::Lane;
            use std::arch::x86_64::*;

            /// Appends `a[i] · b[i]` for `i < n` to `out` (see `push_mul_entry`).
            ///
            /// # Safety
            /// The CPU has AVX; the lanes have the same length `n`, at least two vectors, and
            /// strides 0 or 1 (each lane's constructor made its elements readable); `out` has
            /// room for `n` more elements. The lanes, shared borrows of their views, cannot point
            /// into `out`, which the caller borrows mutably.
            #[target_feature(enable = "avx")]
            pub(super) unsafe fn run(out: &mut Vec<$t>, a: Lane<'_, $t>, b: Lane<'_, $t>) {
                let n = a.len;
                let len = out.len();
                // SAFETY: `out` has room for `n` elements after `len` (the caller's promise).
                let dst = unsafe { out.as_mut_ptr().add(len) };
                // Elements from `head` on start on 32-byte boundaries; the first vector, stored
                // unaligned, covers those before (`head < $lanes`: `dst` is aligned to its type).
                let head = (32 - dst as usize % 32) % 32 / std::mem::size_of::<$t>();
                // The vector loops for one pair of strides, each without a branch on them: `$a`
                // and `$b` give their operand's vector at `i`.
                macro_rules! vectors {
                    ($a:expr, $b:expr) => {{
                        let (va, vb) = ($a, $b);
                        // SAFETY: `dst[..$lanes]` is inside the room the caller promised
                        // (`n >= $lanes`); the store is unaligned.
                        unsafe { $storeu(dst, $mul(va(0), vb(0))) };
                        let mut i = head;
                        while i + 4 * $lanes <= n {
                            // The two cache lines that this step stores into, `PREFETCH_AHEAD`
                            // bytes on: asked for now, they are in the cache when stored into
                            // (past the row's end, they are the next row's, or nothing: a prefetch
                            // never faults, and `wrapping_add` makes no claim on the address).
                            let ahead = (dst as *const i8).wrapping_add(
                                i * std::mem::size_of::<$t>() + super::PREFETCH_AHEAD,
                            );
                            _mm_prefetch::<_MM_HINT_T0>(ahead);
                            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
                            let w = $mul(va(i), vb(i));
                            let x = $mul(va(i + $lanes), vb(i + $lanes));
                            let y = $mul(va(i + 2 * $lanes), vb(i + 2 * $lanes));
                            let z = $mul(va(i + 3 * $lanes), vb(i + 3 * $lanes));
                            // SAFETY: `dst[i..i + 4 · $lanes]` is inside the promised room
                            // (`i + 4 · $lanes <= n`), and `dst + i` is 32-byte aligned: `head`
                            // is the first such element, and `i` moves by whole vectors.
                            unsafe {
                                $store(dst.add(i), w);
                                $store(dst.add(i + $lanes), x);
                                $store(dst.add(i + 2 * $lanes), y);
                                $store(dst.add(i + 3 * $lanes), z);
                            }
                            i += 4 * $lanes;
                        }
                        while i + $lanes <= n {
                            // SAFETY: as in the loop above, for one vector.
                            unsafe { $store(dst.add(i), $mul(va(i), vb(i))) };
                            i += $lanes;
                        }
                        if i < n {
                            let last = n - $lanes;
                            // SAFETY: `dst[n - $lanes..n]` is inside the promised room; the
                            // store is unaligned.
                            unsafe { $storeu(dst.add(last), $mul(va(last), vb(last))) };
                        }
                    }};
                }
                // A stride-1 lane's vector at `i`; every call above has `i + $lanes <= n`.
                let row = |p: *const $t| {
                    move |i: usize| {
                        // SAFETY: `p[i..i + $lanes]` are elements of a lane of `n` elements with
                        // stride 1 (the caller's promise), as `i + $lanes <= n`.
                        unsafe { $loadu(p.add(i)) }
                    }
                };
                // SAFETY: `n > 0`, so each lane's first element is readable (the caller's
                // promise); the vectors below use it only for a lane of stride 0.
                let (x, y) = unsafe { ($set1(*a.ptr), $set1(*b.ptr)) };
                match (a.stride, b.stride) {
                    (0, 0) => vectors!(move |_: usize| x, move |_: usize| y),
                    (0, _) => vectors!(move |_: usize| x, row(b.ptr)),
                    (_, 0) => vectors!(row(a.ptr), move |_: usize| y),
                    _ => vectors!(row(a.ptr), row(b.ptr)),
                }
                // SAFETY: the loops above wrote `dst[..n]`, the `n` elements after `len`.
                unsafe { out.set_len(len + n) };
            }
        }
    };
}

push_mul_entry!(
    f64,
    push_mul_f64,
    4,
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_mul_pd,
    _mm256_store_pd,
    _mm256_storeu_pd
);
push_mul_entry!(
    f32,
    push_mul_f32,
    8,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_mul_ps,
    _mm256_store_ps,
    _mm256_storeu_ps
);

/// Appends `a[i]` for every `i` of the lane to `out`: the innermost loop of a generated
/// single-operand step that sums nothing (a copy, diagonal or broadcast in row-major order).
pub fn push<T: LinalgScalar>(out: &mut Vec<T>, a: Lane<'_, T>) {
    let n = a.len;
    if n == 0 {
        return;
    }
    // SAFETY: as in `push_mul`.
    unsafe {
        match a.stride {
            1 => out.extend_from_slice(std::slice::from_raw_parts(a.ptr, n)),
            s => out.extend((0..n as isize).map(|i| *a.ptr.offset(i * s))),
        }
    }
}

/// How a pairwise step's three tensors are seen as batches of matrices: for each, its slots grouped
/// as `[batch, rows, cols]` (`a`: batch, left, summed; `b`: batch, summed, right; `out`: batch,
/// left, right), with the labels of a group in the same order in every tensor that has it. Made by
/// [`Gemm::new`], which checks the grouping; generated code makes it in a `const` block, so the
/// check runs at compile time.
#[derive(Debug, Clone, Copy)]
pub struct Gemm<'s> {
    a: [&'s [usize]; 3],
    b: [&'s [usize]; 3],
    out: [&'s [usize]; 3],
    ranks: [usize; 3],
}

impl<'s> Gemm<'s> {
    /// The grouping of `a`'s `[batch, left, summed]` slots, `b`'s `[batch, summed, right]` and
    /// `out`'s `[batch, left, right]`, for tensors of `ranks` (`a`, `b`, `out`) slots.
    ///
    /// # Panics
    /// Unless each tensor's three groups together name each of its slots exactly once (at most 64).
    pub const fn new(
        ranks: [usize; 3],
        a: [&'s [usize]; 3],
        b: [&'s [usize]; 3],
        out: [&'s [usize]; 3],
    ) -> Self {
        assert!(
            partitions(a, ranks[0]) && partitions(b, ranks[1]) && partitions(out, ranks[2]),
            "einsum-runtime internal error: a GEMM grouping does not partition the slots"
        );
        Gemm { a, b, out, ranks }
    }
}

/// Whether `groups` name each slot below `rank` (at most 64) exactly once.
const fn partitions(groups: [&[usize]; 3], rank: usize) -> bool {
    if rank > 64 {
        return false;
    }
    let (mut seen, mut count, mut g) = (0u64, 0, 0);
    while g < 3 {
        let mut i = 0;
        while i < groups[g].len() {
            let s = groups[g][i];
            if s >= rank || seen & (1 << s) != 0 {
                return false;
            }
            seen |= 1 << s;
            count += 1;
            i += 1;
        }
        g += 1;
    }
    count == rank
}

/// A typed view with its rank erased: what the GEMM route works on, so that it is compiled once per
/// element type in this crate (see [`gemm`]) instead of once per rank combination in every crate that
/// calls `einsum!`.
///
/// Invariant (from the [`View`] it was taken from, or the buffer [`gemm`] writes): every index tuple
/// below `dims` addresses, at `Σ idx[s] · strides[s]` from `ptr`, an element that stays borrowed
/// (mutably, for a `*mut` pointer, whose elements may not be initialized yet) while this lives.
#[derive(Clone, Copy)]
struct Slots<'v, P> {
    ptr: P,
    dims: &'v [usize],
    strides: &'v [isize],
}

impl<'v, T: 'static> Slots<'v, *const T> {
    /// The same slots as elements of type `U`, when `U` is `T`.
    fn retype<U: 'static>(self) -> Option<Slots<'v, *const U>> {
        same_type::<T, U>().then(|| Slots {
            ptr: self.ptr.cast(),
            dims: self.dims,
            strides: self.strides,
        })
    }
}

impl<'v, T: 'static> Slots<'v, *mut T> {
    /// The same slots as elements of type `U`, when `U` is `T`.
    fn retype<U: 'static>(self) -> Option<Slots<'v, *mut U>> {
        same_type::<T, U>().then(|| Slots {
            ptr: self.ptr.cast(),
            dims: self.dims,
            strides: self.strides,
        })
    }
}

fn same_type<T: 'static, U: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()
}

/// Merges `slots` of a view into one axis, if their strides are row-major in that order (slots of
/// extent 1 never move and are skipped).
#[inline(always)]
fn merge_slots(dims: &[usize], strides: &[isize], slots: &[usize]) -> Option<Merged> {
    let mut merged = Merged {
        extent: 1,
        stride: 0,
    };
    // A group of one slot (every group of a plain matrix product) merges as it is: about 3 % off
    // the 3x4 times 4x5 product of `examples/tiny_loop.rs` (runs alternated with and without).
    if let &[s] = slots {
        if dims[s] != 1 {
            merged = Merged {
                extent: dims[s],
                stride: strides[s],
            };
        }
        return Some(merged);
    }
    for &s in slots.iter().rev() {
        if dims[s] == 1 {
            continue;
        }
        if merged.extent == 1 {
            merged.stride = strides[s];
        } else if strides[s] != merged.stride.checked_mul(merged.extent as isize)? {
            return None;
        }
        merged.extent *= dims[s];
    }
    Some(merged)
}

/// The three groups of a view, merged, when each merges with a non-negative stride. Inlined: only
/// the GEMM route calls it, which is compiled once per element type, in this crate.
#[inline(always)]
fn merge_groups<P>(v: &Slots<'_, P>, groups: [&[usize]; 3]) -> Option<[Merged; 3]> {
    let merged = [
        merge_slots(v.dims, v.strides, groups[0])?,
        merge_slots(v.dims, v.strides, groups[1])?,
        merge_slots(v.dims, v.strides, groups[2])?,
    ];
    merged.iter().all(|m| m.stride >= 0).then_some(merged)
}

/// The groups of `a`, `b` and `out` merged (see [`merge_groups`]), the destination's only when its
/// rows and columns address distinct elements.
type Merges = [Option<[Merged; 3]>; 3];

/// [`Merges`] of a product's three tensors. `Gemm::new` checked that the groups partition the
/// ranks, and `gemm` that those are the views' ranks.
#[inline(always)]
fn merges<T>(
    out: &Slots<'_, *mut T>,
    a: &Slots<'_, *const T>,
    b: &Slots<'_, *const T>,
    groups: Gemm<'_>,
) -> Merges {
    [
        merge_groups(a, groups.a),
        merge_groups(b, groups.b),
        merge_groups(out, groups.out).filter(|[_, r, c]| disjoint(*r, *c)),
    ]
}

/// Copies a view into a fresh row-major buffer whose axes are `order` (all of the view's slots).
fn pack<T: Copy>(v: &Slots<'_, *const T>, order: &[usize]) -> Vec<T> {
    let len: usize = order.iter().map(|&s| v.dims[s]).product();
    let mut data = Vec::with_capacity(len);
    if len == 0 {
        return data;
    }
    let mut index = vec![0usize; v.dims.len()];
    let mut off = 0isize;
    loop {
        // SAFETY: `index` stays below `dims` in every slot (the odometer below), so `off` is the offset
        // of an index tuple of the view: an element by the invariant of `Slots`.
        data.push(unsafe { *v.ptr.offset(off) });
        let mut depth = order.len();
        loop {
            if depth == 0 {
                return data;
            }
            depth -= 1;
            let s = order[depth];
            index[s] += 1;
            off += v.strides[s];
            if index[s] < v.dims[s] {
                break;
            }
            off -= v.strides[s] * v.dims[s] as isize;
            index[s] = 0;
        }
    }
}

/// The groups of a buffer packed row-major in `[batch, rows, cols]` group order.
fn row_major_groups(dims: &[usize], groups: [&[usize]; 3]) -> [Merged; 3] {
    let extent = |g: &[usize]| g.iter().map(|&s| dims[s]).product::<usize>();
    let (rows, cols) = (extent(groups[1]), extent(groups[2]));
    [
        Merged {
            extent: extent(groups[0]),
            stride: (rows * cols) as isize,
        },
        Merged {
            extent: rows,
            stride: cols as isize,
        },
        Merged {
            extent: cols,
            stride: 1,
        },
    ]
}

/// Whether a matrix with these rows and columns addresses every `(i, j)` at a different element.
fn disjoint(rows: Merged, cols: Merged) -> bool {
    let (r, c) = (rows.extent as isize, cols.extent as isize);
    (r <= 1 || rows.stride > 0)
        && (c <= 1 || cols.stride > 0)
        && (r <= 1 || c <= 1 || rows.stride >= c * cols.stride || cols.stride >= r * rows.stride)
}

/// Whether a pairwise step of `m × k` times `k × n` matrices (times the batch) is worth a GEMM call
/// rather than loops. The `gemm` crate (f32, f64) has kernels for small matrices and wins from
/// 8 × 8 × 8 on; ndarray's fallback for other element types pays only from about 32³ multiply-adds.
pub(crate) fn gemm_pays<T: 'static>(m: usize, n: usize, k: usize) -> bool {
    use std::any::TypeId;
    const MIN_SIDE: usize = 8;
    let is = |id| TypeId::of::<T>() == id;
    let min_work = if is(TypeId::of::<f64>()) || is(TypeId::of::<f32>()) {
        0.0
    } else {
        32.0 * 32.0 * 32.0
    };
    m >= MIN_SIDE
        && n >= MIN_SIDE
        && k >= MIN_SIDE
        && (m as f64) * (n as f64) * (k as f64) >= min_work
}

/// Products of at most this many multiply-adds (one matrix of the batch) run in [`small_matmul`]
/// rather than the `gemm` crate, whose dispatch costs more than the arithmetic at these sizes
/// (`cargo bench --bench kernels -- "matmul 16x16"`; see `docs/benchmarks.md`).
const SMALL_WORK: usize = 32 * 32 * 32;

/// Whether an `m × k` times `k × n` product of `T`s runs in [`small_matmul`]: `f32` or `f64`, on an
/// x86-64 CPU with AVX2 and FMA (`std` checks once per process), and small. A single output column
/// with a long sum is a dot product, which the generated loops (several accumulators) take faster.
pub(crate) fn small_pays<T: 'static>(m: usize, n: usize, k: usize) -> bool {
    use std::any::TypeId;
    let float =
        TypeId::of::<T>() == TypeId::of::<f64>() || TypeId::of::<T>() == TypeId::of::<f32>();
    float && m.saturating_mul(n).saturating_mul(k) <= SMALL_WORK && (n > 1 || k <= 64) && avx2_fma()
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_fma() -> bool {
    false
}

/// Results of at most this many elements, with a sum of at most a tile row, are computed as dot
/// products by [`Small::dots`] when `b`'s columns are not contiguous but its rows are.
const DOTS_UP_TO: usize = 64;

/// Elements of the panel [`small_matmul`] keeps on the stack.
const PANEL: usize = 256;

/// Rows of one register tile of [`small_matmul`] (which names the four row pointers).
const MR: usize = 4;
const _: () = assert!(MR == 4);

/// An element type of [`small_matmul`], with its register tile.
trait Small: Copy {
    /// `out[r · ors + col] = Σ_p rows[r][p · acs] · b[p · brs + col]` for `r < mr`, `col < nr`: one
    /// register tile, summed over the whole of `k` before it is stored. Only the first `nr` columns
    /// of `b` are read (masked loads) and of `out` written (whole vectors, then the last one's
    /// first lanes by halves: masked stores are microcoded on AMD's cores).
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA (see [`small_pays`]); `mr <= MR`, `nr <= NR`; those offsets of
    /// `rows[r]` (`r < MR`, `p < k`), of `b` (`p < k`, `col < nr`) and of `out` (`r < mr`,
    /// `col < nr`) are elements, `out`'s writable, distinct and not overlapping the others.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)] // three matrices with their strides, and the tile's width
    unsafe fn tile<const NR: usize>(
        k: usize,
        rows: [*const Self; MR],
        acs: isize,
        b: *const Self,
        brs: isize,
        size: (usize, usize),
        out: *mut Self,
        ors: isize,
    );

    /// `dst[q][c] = src[c][q]` for `c, q < 4`: a 4 × 4 block transposed, from four rows of four
    /// contiguous elements into four rows of four contiguous elements, in vector registers.
    ///
    /// # Safety
    /// The CPU has AVX2 (see [`small_pays`]); `src[c].add(q)` are elements and `dst[q].add(c)`
    /// writable elements (`c, q < 4`), the destination's distinct and not overlapping the source.
    #[cfg(target_arch = "x86_64")]
    unsafe fn transpose4(src: [*const Self; 4], dst: [*mut Self; 4]);

    /// `c[i · crs + j · ccs] = Σ_p a[i · ars + p] · b[j · bcs + p]` for `i < m`, `j < n`, `p < k`:
    /// each element one dot product of a row of `a` and a column of `b`, both contiguous over the
    /// sum, loaded with masks (`k <= NR`) and summed across the vector at the end.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA (see [`small_pays`]); `k <= NR`; those offsets of `a`, `b` (for
    /// `p < k`) and `c` are elements, `c`'s writable, distinct and not overlapping the others.
    #[cfg(target_arch = "x86_64")]
    unsafe fn dots<const NR: usize>(
        mnk: (usize, usize, usize),
        a: (*const Self, isize),
        b: (*const Self, isize),
        c: (*mut Self, isize, isize),
    );
}

/// `Small` for one element type: its tile of `MR` rows of two vectors (`NR = 2 · half` columns).
/// `$lanes` is `NR` all-ones lanes then `NR` zeros: the mask of the first `nr` of `NR` columns
/// starts at lane `NR - nr`.
macro_rules! small_tile {
    ($t:ty, $nr:literal, $half:literal, $lanes:ident, $zero:ident, $broadcast:ident, $fmadd:ident,
     $load:ident, $maskload:ident, $store:ident, $store_part:ident, $transpose4:ident,
     $mul:ident, $hsum:ident) => {
        impl Small for $t {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn dots<const NR: usize>(
                (m, n, k): (usize, usize, usize),
                (a, ars): (*const $t, isize),
                (b, bcs): (*const $t, isize),
                (c, crs, ccs): (*mut $t, isize, isize),
            ) {
                use std::arch::x86_64::*;
                assert!(
                    NR == $nr && k <= NR,
                    "einsum-runtime internal error: a dot product longer than a tile row"
                );
                let mask = first_lanes(&$lanes, k);
                // SAFETY: `p < k` of a row of `a` or a column of `b` whose index is below `m` or
                // `n`: elements by this function's contract (masked-out lanes are not accessed).
                let load = |v: *const $t| unsafe {
                    [
                        $maskload(v, mask[0]),
                        $maskload(v.wrapping_add($half), mask[1]),
                    ]
                };
                for i in 0..m as isize {
                    let x = load(a.wrapping_offset(i * ars));
                    for j in 0..n as isize {
                        let y = load(b.wrapping_offset(j * bcs));
                        let d = $hsum($fmadd(x[1], y[1], $mul(x[0], y[0])));
                        // SAFETY: `(i, j)` below `(m, n)`: an element of `c` by this function's
                        // contract.
                        unsafe { *c.offset(i * crs + j * ccs) = d };
                    }
                }
            }

            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn transpose4(src: [*const $t; 4], dst: [*mut $t; 4]) {
                // SAFETY: this function's contract.
                unsafe { $transpose4(src, dst) }
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn tile<const NR: usize>(
                k: usize,
                rows: [*const $t; MR],
                acs: isize,
                b: *const $t,
                brs: isize,
                (mr, nr): (usize, usize),
                out: *mut $t,
                ors: isize,
            ) {
                use std::arch::x86_64::*;
                assert!(
                    NR == $nr && nr <= NR && mr <= MR,
                    concat!(
                        "einsum-runtime internal error: a ",
                        stringify!($t),
                        " tile is ",
                        stringify!($nr),
                        " wide"
                    )
                );
                let mut acc = [[$zero(); 2]; MR];
                let mut step = |y: [_; 2], p: isize| {
                    for (acc, a) in acc.iter_mut().zip(rows) {
                        // SAFETY: `p < k` and `r < MR`: an element by this function's contract.
                        let x = $broadcast(unsafe { &*a.offset(p * acs) });
                        acc[0] = $fmadd(x, y[0], acc[0]);
                        acc[1] = $fmadd(x, y[1], acc[1]);
                    }
                };
                if nr == NR {
                    for p in 0..k as isize {
                        // SAFETY: `p < k` and the `NR` columns are elements by this function's
                        // contract.
                        let y = unsafe {
                            let row = b.offset(p * brs);
                            [$load(row), $load(row.add($half))]
                        };
                        step(y, p);
                    }
                } else {
                    let mask = first_lanes(&$lanes, nr);
                    for p in 0..k as isize {
                        // SAFETY: `p < k`; the masks load only the first `nr` columns, elements by
                        // this function's contract (masked-out lanes are not accessed).
                        let y = unsafe {
                            let row = b.offset(p * brs);
                            [
                                $maskload(row, mask[0]),
                                $maskload(row.wrapping_add($half), mask[1]),
                            ]
                        };
                        step(y, p);
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(mr) {
                    // SAFETY: row `r < mr` of `out`, its first `nr` columns: elements by this
                    // function's contract.
                    unsafe {
                        let row = out.offset(r as isize * ors);
                        if nr == NR {
                            $store(row, acc[0]);
                            $store(row.add($half), acc[1]);
                        } else if nr > $half {
                            $store(row, acc[0]);
                            $store_part(row.add($half), acc[1], nr - $half);
                        } else {
                            $store_part(row, acc[0], nr);
                        }
                    }
                }
            }
        }
    };
}

/// The lanes of the masks of the `f64` tiles (see [`small_tile!`]).
static LANES_F64: [i64; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
/// The lanes of the masks of the `f32` tiles.
static LANES_F32: [i32; 32] = [
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0,
];

small_tile!(
    f64,
    8,
    4,
    LANES_F64,
    _mm256_setzero_pd,
    _mm256_broadcast_sd,
    _mm256_fmadd_pd,
    _mm256_loadu_pd,
    _mm256_maskload_pd,
    _mm256_storeu_pd,
    store_part_f64,
    transpose4_f64,
    _mm256_mul_pd,
    hsum_f64
);
small_tile!(
    f32,
    16,
    8,
    LANES_F32,
    _mm256_setzero_ps,
    _mm256_broadcast_ss,
    _mm256_fmadd_ps,
    _mm256_loadu_ps,
    _mm256_maskload_ps,
    _mm256_storeu_ps,
    store_part_f32,
    transpose4_f32,
    _mm256_mul_ps,
    hsum_f32
);

/// The masks of the first `n` lanes of a tile row's two vectors, from `lanes` (`NR` all-ones lanes
/// then `NR` zeros, each vector `NR / 2` lanes of 32 bytes in all): its lanes `NR - n .. 2 · NR - n`.
///
/// # Panics
/// If `n` is above `NR`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn first_lanes<L, const LANES: usize>(
    lanes: &[L; LANES],
    n: usize,
) -> [std::arch::x86_64::__m256i; 2] {
    use std::arch::x86_64::*;
    let nr = LANES / 2;
    assert!(
        n <= nr && std::mem::size_of::<L>() * nr == 64,
        "einsum-runtime internal error: a mask wider than a tile row"
    );
    let from = lanes[nr - n..].as_ptr();
    // SAFETY: lanes `nr - n .. 2 · nr - n` of the `2 · nr`, 32 bytes for each half (checked above),
    // so both unaligned loads stay inside `lanes`.
    unsafe {
        [
            _mm256_loadu_si256(from.cast()),
            _mm256_loadu_si256(from.add(nr / 2).cast()),
        ]
    }
}

/// The sum of the four lanes of `v`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn hsum_f64(v: std::arch::x86_64::__m256d) -> f64 {
    use std::arch::x86_64::*;
    let pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)))
}

/// The sum of the eight lanes of `v`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn hsum_f32(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps::<1>(two, two)))
}

/// Stores the first `w` lanes of `v` at `p` (`w <= 4`): halves, then a single lane.
///
/// # Safety
/// The CPU has AVX2; `p.add(l)` is a writable element for every `l < w`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_part_f64(p: *mut f64, v: std::arch::x86_64::__m256d, w: usize) {
    use std::arch::x86_64::*;
    let low = _mm256_castpd256_pd128(v);
    // SAFETY: each store writes lanes below `w`, elements by this function's contract.
    unsafe {
        match w {
            0 => {}
            1 => _mm_store_sd(p, low),
            2 => _mm_storeu_pd(p, low),
            3 => {
                _mm_storeu_pd(p, low);
                _mm_store_sd(p.add(2), _mm256_extractf128_pd::<1>(v));
            }
            _ => _mm256_storeu_pd(p, v),
        }
    }
}

/// Stores the first `w` lanes of `v` at `p` (`w <= 8`): halves, quarters, then a single lane.
///
/// # Safety
/// The CPU has AVX2; `p.add(l)` is a writable element for every `l < w`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_part_f32(p: *mut f32, v: std::arch::x86_64::__m256, w: usize) {
    use std::arch::x86_64::*;
    if w >= 8 {
        // SAFETY: eight lanes below `w`, elements by this function's contract.
        return unsafe { _mm256_storeu_ps(p, v) };
    }
    let (mut p, mut w, mut x) = (p, w, _mm256_castps256_ps128(v));
    if w >= 4 {
        // SAFETY: lanes 0..4, below `w`.
        unsafe { _mm_storeu_ps(p, x) };
        (p, w, x) = (p.wrapping_add(4), w - 4, _mm256_extractf128_ps::<1>(v));
    }
    if w >= 2 {
        // SAFETY: the next two lanes, below `w` (an unaligned 64-bit store: two `f32`s need not be
        // aligned as an `f64`).
        unsafe { _mm_storeu_si64(p.cast(), _mm_castps_si128(x)) };
        (p, w, x) = (p.wrapping_add(2), w - 2, _mm_movehl_ps(x, x));
    }
    if w == 1 {
        // SAFETY: the next lane, below `w`.
        unsafe { _mm_store_ss(p, x) };
    }
}

/// [`Small::transpose4`] for `f64`: four 256-bit rows, pairs interleaved within 128-bit halves, then
/// the halves exchanged.
///
/// # Safety
/// As for [`Small::transpose4`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose4_f64(src: [*const f64; 4], dst: [*mut f64; 4]) {
    use std::arch::x86_64::*;
    // SAFETY: four elements from each `src[c]` and to each `dst[q]`, by this function's contract.
    unsafe {
        let (r0, r1) = (_mm256_loadu_pd(src[0]), _mm256_loadu_pd(src[1]));
        let (r2, r3) = (_mm256_loadu_pd(src[2]), _mm256_loadu_pd(src[3]));
        let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
        _mm256_storeu_pd(dst[0], _mm256_permute2f128_pd::<0x20>(t0, t2));
        _mm256_storeu_pd(dst[1], _mm256_permute2f128_pd::<0x20>(t1, t3));
        _mm256_storeu_pd(dst[2], _mm256_permute2f128_pd::<0x31>(t0, t2));
        _mm256_storeu_pd(dst[3], _mm256_permute2f128_pd::<0x31>(t1, t3));
    }
}

/// [`Small::transpose4`] for `f32`: four 128-bit rows, interleaved, then their halves paired.
///
/// # Safety
/// As for [`Small::transpose4`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose4_f32(src: [*const f32; 4], dst: [*mut f32; 4]) {
    use std::arch::x86_64::*;
    // SAFETY: four elements from each `src[c]` and to each `dst[q]`, by this function's contract.
    unsafe {
        let (r0, r1) = (_mm_loadu_ps(src[0]), _mm_loadu_ps(src[1]));
        let (r2, r3) = (_mm_loadu_ps(src[2]), _mm_loadu_ps(src[3]));
        let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
        let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
        _mm_storeu_ps(dst[0], _mm_movelh_ps(t0, t1));
        _mm_storeu_ps(dst[1], _mm_movehl_ps(t1, t0));
        _mm_storeu_ps(dst[2], _mm_movelh_ps(t2, t3));
        _mm_storeu_ps(dst[3], _mm_movehl_ps(t3, t2));
    }
}

/// [`small_matmul`] for `T`, which is `f32` or `f64`.
///
/// # Safety
/// As for [`small_matmul`].
#[inline(always)]
#[allow(clippy::too_many_arguments)] // three matrices, each a pointer and its groups
unsafe fn small_typed<T: 'static>(
    dims: (usize, usize, usize),
    a: *const T,
    ga: [Merged; 3],
    b: *const T,
    gb: [Merged; 3],
    c: *mut T,
    gc: [Merged; 3],
) {
    use std::any::TypeId;
    // The kernel stores whole tile rows when the result's columns are contiguous. When its rows are
    // instead (a gradient such as `gᵀ · a` written into a row-major `[j, k]`), compute the transpose,
    // `cᵀ = bᵀ · aᵀ`: the same elements, with contiguous columns.
    let t = |g: [Merged; 3]| [g[0], g[2], g[1]];
    let (dims, a, ga, b, gb, gc) = if gc[2].stride != 1 && gc[1].stride == 1 {
        ((dims.1, dims.0, dims.2), b, t(gb), a, t(ga), t(gc))
    } else {
        (dims, a, ga, b, gb, gc)
    };
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<T>() == TypeId::of::<f64>() {
        // SAFETY: `T` is `f64`, so the casts keep the element type; the rest is this function's
        // contract.
        return unsafe { small_matmul::<f64, 8>(dims, a.cast(), ga, b.cast(), gb, c.cast(), gc) };
    }
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: as above, for `f32`.
        return unsafe { small_matmul::<f32, 16>(dims, a.cast(), ga, b.cast(), gb, c.cast(), gc) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (dims, a, ga, b, gb, c, gc);
    unreachable!("einsum-runtime internal error: a small product of another element type");
}

/// `c = a · b` for a small product (see [`small_pays`]), overwriting `c`: tiles of `MR × NR`
/// elements in vector registers, one block of `NR` columns at a time ([`small_block`]). A `b` whose
/// columns are not contiguous is copied, block by block, into a contiguous panel first
/// ([`small_packed`]).
///
/// # Safety
/// [`small_pays`] holds for the sizes and `T`, and as for [`matmul`]: every `(i, j)` below the
/// extents addresses an element of its matrix, `c`'s elements are distinct and do not overlap `a`
/// or `b`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn small_matmul<T: Small, const NR: usize>(
    (m, n, k): (usize, usize, usize),
    a: *const T,
    ga: [Merged; 3],
    b: *const T,
    gb: [Merged; 3],
    c: *mut T,
    gc: [Merged; 3],
) {
    let a = (a, ga[1].stride, ga[2].stride);
    let (brs, bcs) = (gb[1].stride, gb[2].stride);
    let c = (c, gc[1].stride, gc[2].stride);
    if bcs != 1 && n > 1 {
        // A product `g · bᵀ` (a gradient's) whose sum fits one tile row and whose result is a few
        // elements: dot products of contiguous rows, not worth copying `bᵀ` into a panel.
        if brs == 1 && a.2 == 1 && k <= NR && m * n <= DOTS_UP_TO {
            // SAFETY: this function's contract: rows of `a` and columns of `b` are contiguous over
            // the sum (checked just above).
            return unsafe { T::dots::<NR>((m, n, k), (a.0, a.1), (b, bcs), c) };
        }
        // SAFETY: this function's contract.
        return unsafe { small_packed::<T, NR>((m, n, k), a, (b, brs, bcs), c) };
    }
    let mut j0 = 0;
    while j0 < n {
        let nr = NR.min(n - j0);
        // SAFETY: columns `j0 .. j0 + nr` of `b` and `c`, below `n`: by this function's contract,
        // elements of a `b` with contiguous columns (or a single one) and of `c`.
        unsafe {
            small_block::<T, NR>(
                (m, nr, k),
                a,
                (b.wrapping_offset(j0 as isize * bcs), brs),
                (c.0.wrapping_offset(j0 as isize * c.2), c.1, c.2),
            )
        };
        j0 += NR;
    }
}

/// [`small_matmul`] for a `b` whose columns are not contiguous (the gradient `g · bᵀ` brings most
/// products here): each block of `NR` columns is copied, column by column, into a contiguous panel,
/// on the stack when it fits, else on the heap. Out of line, so that the common case does not carry
/// this one's setup.
///
/// # Safety
/// As for [`small_matmul`] (`b` as pointer, row and column strides).
#[cfg(target_arch = "x86_64")]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_packed<T: Small, const NR: usize>(
    (m, n, k): (usize, usize, usize),
    a: (*const T, isize, isize),
    (b, brs, bcs): (*const T, isize, isize),
    c: (*mut T, isize, isize),
) {
    let mut stack = [std::mem::MaybeUninit::<T>::uninit(); PANEL];
    let mut heap: Vec<T> = Vec::new();
    let mut j0 = 0;
    while j0 < n {
        let nr = NR.min(n - j0);
        let b = b.wrapping_offset(j0 as isize * bcs);
        let panel: *mut T = if k * nr <= PANEL {
            stack.as_mut_ptr().cast()
        } else {
            heap.clear();
            heap.reserve_exact(k * nr);
            heap.as_mut_ptr()
        };
        // When `b`'s columns are contiguous (the gradient `g · bᵀ` of a row-major `b`), blocks of
        // 4 columns × 4 rows are transposed in registers; the rest, column by column.
        let (cols4, rows4) = if brs == 1 {
            (nr / 4 * 4, k / 4 * 4)
        } else {
            (0, 0)
        };
        let mut col = 0;
        while col < cols4 {
            let mut p = 0;
            while p < rows4 {
                let at = |c: usize| b.wrapping_offset((col + c) as isize * bcs + p as isize);
                let to = |q: usize| panel.wrapping_add((p + q) * nr + col);
                // SAFETY: rows `p + q < k` and columns `j0 + col + c < n` of `b` (`c, q < 4`), a
                // column's rows contiguous (`brs == 1`): elements by this function's contract; the
                // panel's `(p + q) · nr + col + c < k · nr`, within its room (`PANEL` elements on
                // the stack, `k · nr` reserved on the heap); `small_pays` checked the CPU.
                unsafe {
                    T::transpose4([at(0), at(1), at(2), at(3)], [to(0), to(1), to(2), to(3)])
                };
                p += 4;
            }
            col += 4;
        }
        // Column by column, what the blocks left (nothing when they covered the block): the last
        // rows of the first `cols4` columns, then every row of the others. `b`'s columns are
        // contiguous, or at least shorter strides than its rows, in the gradient `g · bᵀ`.
        let copy = |p: usize, col: usize| {
            // SAFETY: `p < k` and column `j0 + col < n` of `b`: an element by this function's
            // contract; `p · nr + col < k · nr`, within the panel's room (`PANEL` elements on the
            // stack, `k · nr` reserved on the heap).
            unsafe {
                panel
                    .add(p * nr + col)
                    .write(*b.offset(p as isize * brs + col as isize * bcs))
            };
        };
        if rows4 < k {
            for col in 0..cols4 {
                (rows4..k).for_each(|p| copy(p, col));
            }
        }
        for col in cols4..nr {
            (0..k).for_each(|p| copy(p, col));
        }
        // SAFETY: the tiles read rows `p < k`, columns `col < nr` of the panel, the elements just
        // written; columns `j0 .. j0 + nr` of `c` are elements by this function's contract.
        unsafe {
            small_block::<T, NR>(
                (m, nr, k),
                a,
                (panel.cast_const(), nr as isize),
                (c.0.wrapping_offset(j0 as isize * c.2), c.1, c.2),
            )
        };
        j0 += NR;
    }
}

/// One block of at most `NR` columns of [`small_matmul`]: `c = a · b` for `nr` columns of `b` with
/// contiguous columns (pointer and row stride), tile by tile of `MR` rows. The last block's missing
/// columns are masked out, the last tile's missing rows repeat the last row and are not stored, and
/// a tile with missing columns (or a `c` whose columns are not contiguous) is written through a
/// buffer.
///
/// # Safety
/// The CPU has AVX2 and FMA; `nr <= NR`; every `(i, p)` below `(m, k)` of `a`, `(p, j)` below
/// `(k, nr)` of `b` and `(i, j)` below `(m, nr)` of `c` addresses an element, `c`'s distinct and not
/// overlapping the others.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn small_block<T: Small, const NR: usize>(
    (m, nr, k): (usize, usize, usize),
    (a, ars, acs): (*const T, isize, isize),
    (b, brs): (*const T, isize),
    (c, crs, ccs): (*mut T, isize, isize),
) {
    // SAFETY (every access below): rows below `m`, columns below `nr` and `p < k` wherever an
    // element of `a`, `b` or `c` is addressed (the tiles' rows past `m` repeat row `m - 1` and are
    // not stored, their columns past `nr` are masked out of the loads and neither stored nor
    // copied out of the buffer), so each offset is an element's by this function's contract.
    let mut i0 = 0;
    while i0 < m {
        let mr = MR.min(m - i0);
        let row = |r: usize| a.wrapping_offset((i0 + r.min(mr - 1)) as isize * ars);
        let rows = [row(0), row(1), row(2), row(3)];
        let c = c.wrapping_offset(i0 as isize * crs);
        if ccs == 1 {
            // SAFETY: see above; `small_pays` checked the CPU.
            unsafe { T::tile::<NR>(k, rows, acs, b, brs, (mr, nr), c, crs) };
        } else {
            let mut tile = [[std::mem::MaybeUninit::<T>::uninit(); NR]; MR];
            let out: *mut T = tile.as_mut_ptr().cast();
            // SAFETY: see above; the buffer holds `MR` rows of `NR`, of which the tile writes the
            // first `nr` columns of the first `mr` rows, which are the ones read below.
            unsafe { T::tile::<NR>(k, rows, acs, b, brs, (mr, nr), out, NR as isize) };
            for r in 0..mr {
                for col in 0..nr {
                    // SAFETY: see above; row `r < mr` of the buffer was written.
                    unsafe {
                        *c.offset(r as isize * crs + col as isize * ccs) = *out.add(r * NR + col)
                    };
                }
            }
        }
        i0 += MR;
    }
}

/// `a · b` as a batch of matrix products with the static grouping `groups` (every slot of each
/// tensor in exactly one of its groups), written into `buf` as the row-major array of extents
/// `dims` (the result's slots), if the element type is `f32` or `f64` and the product is one this
/// route takes; returns whether it ran. When it ran, `buf` holds every element of the result; when
/// not, `buf` is untouched and the caller runs its loops into zeros.
///
/// The result is written once, never read: `buf` comes in empty, with room for the result, so
/// nothing is zeroed first (see `matmul` for why the products overwrite rather than add). Small
/// products whose groups all merge (up to 32³ multiply-adds per matrix, on x86-64 with AVX2 and
/// FMA) run in this crate's register-tiled kernel, larger ones in the `gemm` crate. Operands whose
/// groups merge are read in place (transposed or sliced matrices included), others are packed
/// once. The result is written in place when its groups merge into matrices, else through a packed
/// product. Products too small for either, or small ones whose groups do not merge, take the loops.
///
/// Only this shim is generic: the work is done by `gemm_f32` or `gemm_f64`, compiled once in
/// this crate. Other element types take the loops: a GEMM route for them would have to be generic,
/// and so compiled again by every crate that calls `einsum!` (for `f64` too, as dead code).
///
/// # Panics
/// If `groups` is not a grouping for tensors of these ranks, if `buf` is not empty with room for
/// `dims`' elements, or if the views and `dims` disagree on a side of the product (internal errors
/// of the generated code).
#[inline(always)]
pub fn gemm<T: LinalgScalar, const NO: usize, const NA: usize, const NB: usize>(
    buf: &mut Vec<T>,
    dims: [usize; NO],
    a: &View<'_, T, NA>,
    b: &View<'_, T, NB>,
    groups: Gemm<'_>,
) -> bool {
    assert!(
        groups.ranks == [NA, NB, NO],
        "einsum-runtime internal error: a GEMM grouping for tensors of other ranks"
    );
    let len = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert!(
        buf.is_empty() && len.is_some_and(|len| len <= buf.capacity()),
        "einsum-runtime internal error: a GEMM result without room for its extents"
    );
    let strides = row_major_strides(dims);
    let out = Slots {
        ptr: buf.as_mut_ptr(),
        dims: &dims,
        strides: &strides,
    };
    let a = Slots {
        ptr: a.ptr,
        dims: &a.dims,
        strides: &a.strides,
    };
    let b = Slots {
        ptr: b.ptr,
        dims: &b.dims,
        strides: &b.strides,
    };
    // The groups are merged in `gemm_f64`/`gemm_f32`, compiled once here, rather than in this
    // generic function, which every calling crate compiles once per element type and ranks.
    let ran = if let (Some(out), Some(a), Some(b)) = (out.retype(), a.retype(), b.retype()) {
        gemm_f64(out, a, b, groups)
    } else if let (Some(out), Some(a), Some(b)) = (out.retype(), a.retype(), b.retype()) {
        gemm_f32(out, a, b, groups)
    } else {
        false
    };
    if ran {
        // SAFETY: the route ran, so it wrote every element of the row-major result of `dims`
        // (`gemm_slots`' contract), which are the first `len` elements of the buffer's room.
        unsafe { buf.set_len(len.unwrap_or(0)) };
    }
    ran
}

/// Whether [`gemm`] can take products of `T`: `f32` and `f64`, the types of the `gemm` crate and of
/// the small-product kernel.
pub(crate) fn gemm_takes<T: 'static>() -> bool {
    same_type::<T, f64>() || same_type::<T, f32>()
}

/// The row-major strides of `dims`, as an array.
#[inline(always)]
fn row_major_strides<const R: usize>(dims: [usize; R]) -> [isize; R] {
    let mut strides = [0isize; R];
    fill_row_major_strides(&dims, &mut strides);
    strides
}

/// Writes the row-major strides of `dims` into `strides` (of the same length): the one definition
/// behind the executor's dense tensors and the GEMM route's fresh results.
#[inline(always)]
pub(crate) fn fill_row_major_strides(dims: &[usize], strides: &mut [isize]) {
    let mut step = 1isize;
    for (s, &d) in strides.iter_mut().zip(dims).rev() {
        *s = step;
        step = step.wrapping_mul(d as isize);
    }
}

/// [`gemm`] for `f64`.
#[inline(never)]
fn gemm_f64(
    out: Slots<'_, *mut f64>,
    a: Slots<'_, *const f64>,
    b: Slots<'_, *const f64>,
    groups: Gemm<'_>,
) -> bool {
    gemm_slots(out, a, b, groups, &merges(&out, &a, &b, groups))
}

/// [`gemm`] for `f32`.
#[inline(never)]
fn gemm_f32(
    out: Slots<'_, *mut f32>,
    a: Slots<'_, *const f32>,
    b: Slots<'_, *const f32>,
    groups: Gemm<'_>,
) -> bool {
    gemm_slots(out, a, b, groups, &merges(&out, &a, &b, groups))
}

/// The body of [`gemm`], for `f32` and `f64`. `out` is a row-major buffer of its `dims`, which may
/// not be initialized: when this returns true it has written each of its elements (once, or zeroed
/// them and added once), when false none.
fn gemm_slots<T: LinalgScalar>(
    out: Slots<'_, *mut T>,
    a: Slots<'_, *const T>,
    b: Slots<'_, *const T>,
    groups: Gemm<'_>,
    &[merged_a, merged_b, merged_out]: &Merges,
) -> bool {
    // The sides from the merged groups when they merge (a merged group's extent is the product of
    // its slots' extents), else from the slots.
    let side = |dims: &[usize], group: &[usize]| group.iter().map(|&s| dims[s]).product::<usize>();
    let (m, n, k) = match (merged_a, merged_b) {
        (Some(ga), Some(gb)) => (ga[1].extent, gb[2].extent, ga[2].extent),
        _ => (
            side(a.dims, groups.a[1]),
            side(b.dims, groups.b[2]),
            side(a.dims, groups.a[2]),
        ),
    };
    let small = small_pays::<T>(m, n, k);
    if !small && !gemm_pays::<T>(m, n, k) {
        return false;
    }
    if small {
        if let (Some(ga), Some(gb), Some(go)) = (merged_a, merged_b, merged_out) {
            same_sides(ga, gb, go);
            // Distinct matrices of `out` must not share elements, as `matmul_batch` checks.
            if go[0].extent <= 1 || go[0].stride > span(go) {
                for t in 0..go[0].extent as isize {
                    let at = |p: *const T, g: [Merged; 3]| p.wrapping_offset(t * g[0].stride);
                    // SAFETY: as for `matmul_batch` below (the same groups, merged in place), for
                    // matrix `t` of the batch, which is below the batch extent; the destination's
                    // matrices are disjoint (checked just above).
                    unsafe {
                        small_typed(
                            (m, n, k),
                            at(a.ptr, ga),
                            ga,
                            at(b.ptr, gb),
                            gb,
                            out.ptr.wrapping_offset(t * go[0].stride),
                            go,
                        );
                    }
                }
                return true;
            }
        }
        if !gemm_pays::<T>(m, n, k) {
            return false;
        }
    }
    let packed_a;
    let (pa, ga) = match merged_a {
        Some(m) => (a.ptr, m),
        None => {
            packed_a = pack(&a, &groups.a.concat());
            (packed_a.as_ptr(), row_major_groups(a.dims, groups.a))
        }
    };
    let packed_b;
    let (pb, gb) = match merged_b {
        Some(m) => (b.ptr, m),
        None => {
            packed_b = pack(&b, &groups.b.concat());
            (packed_b.as_ptr(), row_major_groups(b.dims, groups.b))
        }
    };
    let Some(go) = merged_out else {
        // Multiply into a row-major [batch, rows, cols] buffer, then add it in through the
        // destination's own layout.
        let dims = [ga[0].extent, ga[1].extent, gb[2].extent];
        let mut tmp = vec![T::zero(); dims.iter().product()];
        let strides = [(dims[1] * dims[2]) as isize, dims[2] as isize, 1];
        // The buffer is row-major with exactly these extents, so every index tuple below them is
        // one of its elements, borrowed mutably until the product is added in.
        let tv = Slots {
            ptr: tmp.as_mut_ptr(),
            dims: &dims,
            strides: &strides,
        };
        let three = Gemm::new(
            [groups.ranks[0], groups.ranks[1], 3],
            groups.a,
            groups.b,
            [&[0], &[1], &[2]],
        );
        gemm_slots(tv, a, b, three, &merges(&tv, &a, &b, three));
        write_packed(&out, &tmp, &groups.out.concat());
        return true;
    };
    same_sides(ga, gb, go);
    // SAFETY: each tensor's three merged groups cover all of its slots, so every `(t, i, j)` below
    // the group extents (the same in every tensor: `same_sides`) is an index tuple of the view (or
    // of its packed copy): a valid element, the
    // packed copies living to the end of this function. The destination's rows and columns address
    // distinct elements (`disjoint`), and it comes from a mutable borrow, so it does not overlap the
    // operands.
    unsafe {
        matmul_batch(
            Mats {
                ptr: pa,
                groups: ga,
            },
            Mats {
                ptr: pb,
                groups: gb,
            },
            Mats {
                ptr: out.ptr,
                groups: go,
            },
        );
    }
    true
}

/// Checks that the three tensors of a product agree on its sides: the batch, `m` (rows of `a` and
/// the destination), `n` (columns of `b` and the destination) and `k` (columns of `a`, rows of `b`).
/// The views come from one binding of the extents, so this holds unless the caller is not the
/// generated code; the products read every tensor with the destination's and `a`'s sides.
fn same_sides(a: [Merged; 3], b: [Merged; 3], out: [Merged; 3]) {
    assert!(
        a[0].extent == out[0].extent
            && b[0].extent == out[0].extent
            && a[1].extent == out[1].extent
            && b[2].extent == out[2].extent
            && a[2].extent == b[1].extent,
        "einsum-runtime internal error: the tensors of a product disagree on its sides"
    );
}

/// The offset of a matrix's last element from its first (non-negative strides).
fn span(g: [Merged; 3]) -> isize {
    (g[1].extent.saturating_sub(1) as isize) * g[1].stride
        + (g[2].extent.saturating_sub(1) as isize) * g[2].stride
}

/// A batch of matrices in memory: a base pointer and the `[batch, rows, cols]` groups.
#[derive(Debug, Clone, Copy)]
struct Mats<P> {
    ptr: P,
    groups: [Merged; 3],
}

/// A pointer that may cross to another thread: the batch of matrix products below hands each thread
/// matrices that no other thread touches.
#[derive(Clone, Copy)]
struct Shared<P>(P);
// SAFETY: `matmul_batch` sends these only to run products on disjoint destination matrices (checked
// there) while the caller keeps every operand borrowed; reads of the shared operands do not race.
unsafe impl<P> Send for Shared<P> {}
// SAFETY: as for `Send`.
unsafe impl<P> Sync for Shared<P> {}

/// The shortest band of rows (or columns) that one thread takes of a product split across threads.
const MIN_PART: usize = 32;

/// A product on several threads whose sum is at least this many times longer than its longer side
/// is split along the sum rather than into bands.
const LONG_SUM: usize = 8;

/// Products this large (multiply-adds, whole batch) use every rayon thread; smaller ones stay on the
/// calling thread and never touch the pool.
const PARALLEL_WORK: f64 = (1u64 << 21) as f64;

/// `c[t] = a[t] · b[t]` (`c` zeroed by the caller) for every matrix `t` of the batch: the `gemm`
/// crate for `f32` and `f64`,
/// ndarray's `general_mat_mul` for other element types. Large batches of small products split the
/// batch across rayon's threads; large single products let `gemm` use them.
///
/// # Safety
/// Every `(t, i, j)` within the groups' extents must address a valid element of its tensor (`a` is
/// `batch × m × k`, `b` is `batch × k × n`, `c` is `batch × m × n`), strides must be non-negative,
/// the elements of one matrix of `c` must be distinct, and `c` must not overlap `a` or `b`.
unsafe fn matmul_batch<T: LinalgScalar>(a: Mats<*const T>, b: Mats<*const T>, c: Mats<*mut T>) {
    let batch = c.groups[0].extent;
    let (m, n, k) = (c.groups[1].extent, c.groups[2].extent, a.groups[2].extent);
    let work = batch as f64 * m as f64 * n as f64 * k as f64;
    let threads = if work >= PARALLEL_WORK {
        rayon::current_num_threads()
    } else {
        1
    };
    // Distinct matrices of `c` never overlap when the batch stride steps over a whole matrix.
    let separate = batch <= 1 || c.groups[0].stride > span(c.groups);
    let (a, b, c) = (Shared(a), Shared(b), Shared(c));
    let one = move |t: usize, parallelism: gemm::Parallelism| {
        let (a, b, c) = (a, b, c);
        let t = t as isize;
        // SAFETY: `t` is below the batch extent, so the matrices at these offsets are valid by this
        // function's contract.
        unsafe {
            matmul(
                (m, n, k),
                a.0.ptr.offset(t * a.0.groups[0].stride),
                a.0.groups,
                b.0.ptr.offset(t * b.0.groups[0].stride),
                b.0.groups,
                c.0.ptr.offset(t * c.0.groups[0].stride),
                c.0.groups,
                parallelism,
            );
        }
    };
    // The side (rows when there are at least as many as columns) that a product split across
    // threads divides, and its parts' length.
    let rows = m >= n;
    let side = if rows { m } else { n };
    let parts = threads.min(side / MIN_PART);
    if threads > 1 && batch >= threads && separate {
        use rayon::prelude::*;
        (0..batch)
            .into_par_iter()
            .for_each(|t| one(t, gemm::Parallelism::None));
    } else if threads > 1 && k >= LONG_SUM * m.max(n) {
        // A product whose sum is much longer than its sides (`abc,bcd->ad`): each thread sums a
        // part of `k`, the first into `c`, the others into buffers of their own that are then
        // added into `c`. Bands of rows would each read the whole of `b`.
        use rayon::prelude::*;
        let len = k.div_ceil(threads);
        let parts = k.div_ceil(len);
        let mut partial = vec![T::zero(); (parts - 1) * m * n];
        // Each buffer is one row-major `m × n` matrix.
        let dense = dense_groups(1, m, n);
        let buffers = Shared(partial.as_mut_ptr());
        for t in 0..batch {
            (0..parts).into_par_iter().for_each(|p| {
                let (a, b, c, buffers) = (a, b, c, buffers);
                let t = t as isize;
                let from = p * len;
                let width = len.min(k - from);
                let (mut ga, mut gb) = (a.0.groups, b.0.groups);
                (ga[2].extent, gb[1].extent) = (width, width);
                let (dst, gc) = if p == 0 {
                    (
                        c.0.ptr.wrapping_offset(t * c.0.groups[0].stride),
                        c.0.groups,
                    )
                } else {
                    (buffers.0.wrapping_add((p - 1) * m * n), dense)
                };
                // SAFETY: `t` is below the batch extent and `from .. from + width` below `k`, so
                // the columns of `a` and rows of `b` of this part are elements of the whole
                // matrices, valid by this function's contract; part 0 writes matrix `t` of `c`,
                // each other part its own `m × n` buffer of `partial`, so no two threads write
                // the same element, and the buffers do not overlap the operands.
                unsafe {
                    matmul(
                        (m, n, width),
                        a.0.ptr
                            .offset(t * a.0.groups[0].stride + from as isize * ga[2].stride),
                        ga,
                        b.0.ptr
                            .offset(t * b.0.groups[0].stride + from as isize * gb[1].stride),
                        gb,
                        dst,
                        gc,
                        gemm::Parallelism::None,
                    );
                }
            });
            let dst = c.0.ptr.wrapping_offset(t as isize * c.0.groups[0].stride);
            let (rs, cs) = (c.0.groups[1].stride, c.0.groups[2].stride);
            for part in partial.chunks_exact(m * n) {
                for (i, row) in part.chunks_exact(n).enumerate() {
                    for (j, &x) in row.iter().enumerate() {
                        // SAFETY: `(i, j)` below `(m, n)` of matrix `t` of `c`: an element by
                        // this function's contract, written by part 0 above.
                        unsafe {
                            let e = dst.offset(i as isize * rs + j as isize * cs);
                            *e = *e + x;
                        }
                    }
                }
            }
        }
    } else if parts > 1 {
        // One large product (or fewer than one per thread): each thread takes a band of rows (or
        // columns) of `c` with the matching band of `a` (or `b`), one single-threaded `gemm` call
        // each. Measured against `gemm`'s own threads in `docs/benchmarks.md`, "Four streams, and
        // products split into bands across threads".
        use rayon::prelude::*;
        let len = side.div_ceil(parts);
        let band = move |t: usize, p: usize| {
            let (a, b, c) = (a, b, c);
            let (t, from) = (t as isize, (p * len) as isize);
            let width = len.min(side - p * len);
            // A band: `width` of the side's extent, from index `from`.
            let cut = |g: [Merged; 3], slot: usize| {
                let mut g = g;
                g[slot].extent = width;
                (from * g[slot].stride, g)
            };
            let ((da, ga), (db, gb), (dc, gc)) = if rows {
                (cut(a.0.groups, 1), (0, b.0.groups), cut(c.0.groups, 1))
            } else {
                ((0, a.0.groups), cut(b.0.groups, 2), cut(c.0.groups, 2))
            };
            let dims = if rows { (width, n, k) } else { (m, width, k) };
            // SAFETY: `t` is below the batch extent and the band `from .. from + width` below the
            // side's extent, so every element of these matrices is one of the whole matrices',
            // valid by this function's contract; the bands of `c` are disjoint rows (or columns) of
            // one matrix, whose elements are distinct, so no two threads write the same element.
            unsafe {
                matmul(
                    dims,
                    a.0.ptr.offset(t * a.0.groups[0].stride + da),
                    ga,
                    b.0.ptr.offset(t * b.0.groups[0].stride + db),
                    gb,
                    c.0.ptr.offset(t * c.0.groups[0].stride + dc),
                    gc,
                    gemm::Parallelism::None,
                );
            }
        };
        for t in 0..batch {
            (0..parts).into_par_iter().for_each(|p| band(t, p));
        }
    } else {
        let parallelism = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        (0..batch).for_each(|t| one(t, parallelism));
    }
}

/// One product `c = a · b` of `m × k` and `k × n` matrices, over `c`'s old contents, which every
/// caller has just zeroed. Overwriting rather than adding (`read_dst = false` for `gemm`) matters:
/// reading the destination back made the `gemm` crate's f64 kernels up to 2.6x slower on the
/// batched, attention and chain workloads (`cargo bench --bench workloads`).
///
/// # Safety
/// As for [`matmul_batch`], for one matrix of each.
#[allow(clippy::too_many_arguments)] // three matrices, each a pointer and its groups
unsafe fn matmul<T: LinalgScalar>(
    (m, n, k): (usize, usize, usize),
    a: *const T,
    ga: [Merged; 3],
    b: *const T,
    gb: [Merged; 3],
    c: *mut T,
    gc: [Merged; 3],
    parallelism: gemm::Parallelism,
) {
    use std::any::TypeId;
    let is = |id| TypeId::of::<T>() == id;
    if small_pays::<T>(m, n, k) {
        // SAFETY: `small_pays` holds; the matrices are valid by this function's contract.
        unsafe { small_typed((m, n, k), a, ga, b, gb, c, gc) };
        return;
    }
    if is(TypeId::of::<f64>()) || is(TypeId::of::<f32>()) {
        // SAFETY: the matrices are valid by this function's contract and `T` is `f32` or `f64`, the
        // types `gemm` supports. Without `read_dst` and with beta = 1 it computes `c = a · b`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c,
                gc[2].stride,
                gc[1].stride,
                false,
                a,
                ga[2].stride,
                ga[1].stride,
                b,
                gb[2].stride,
                gb[1].stride,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                parallelism,
            );
        }
        return;
    }
    let view = |g: [Merged; 3]| {
        (g[1].extent, g[2].extent).strides((g[1].stride as usize, g[2].stride as usize))
    };
    // SAFETY: the matrices are valid by this function's contract, with non-negative strides as
    // `from_shape_ptr` requires; `c`'s elements are distinct, so the mutable view has no aliases.
    unsafe {
        let a2 = ArrayView2::from_shape_ptr(view(ga), a);
        let b2 = ArrayView2::from_shape_ptr(view(gb), b);
        let mut c2 = ArrayViewMut2::from_shape_ptr(view(gc), c);
        general_mat_mul(T::one(), &a2, &b2, T::zero(), &mut c2);
    }
}

/// The groups of a row-major `batch × m × n` array.
fn dense_groups(batch: usize, m: usize, n: usize) -> [Merged; 3] {
    let group = |extent: usize, stride: usize| Merged {
        extent,
        stride: stride as isize,
    };
    [group(batch, m * n), group(m, n), group(n, 1)]
}

/// `out = a · b` for the executor into a zeroed `out`, which holds the row-major `batch × m × n`
/// products.
///
/// # Panics
/// If the shapes disagree (an internal error).
pub(crate) fn matmul_dense<T: LinalgScalar>(
    a: &Matrices<'_, T>,
    b: &Matrices<'_, T>,
    out: &mut [T],
) {
    let (batch, m, n) = (a.batch.extent, a.rows.extent, b.cols.extent);
    assert!(
        b.batch.extent == batch && a.cols.extent == b.rows.extent && out.len() == batch * m * n,
        "einsum-runtime internal error: matrix shapes disagree"
    );
    let dense = dense_groups(batch, m, n);
    // SAFETY: `Matrices` guarantees its `(t, i, j)` tuples are valid elements with non-negative
    // strides; `out` is a distinct, exclusively borrowed slice of exactly `batch × m × n` elements.
    unsafe {
        matmul_batch(
            Mats {
                ptr: a.ptr,
                groups: [a.batch, a.rows, a.cols],
            },
            Mats {
                ptr: b.ptr,
                groups: [b.batch, b.rows, b.cols],
            },
            Mats {
                ptr: out.as_mut_ptr(),
                groups: dense,
            },
        );
    }
}

/// `out[idx] = data[k]`, into elements that may not be initialized, where `k` runs row-major over
/// `out`'s slots in `order` (all of them): each element of `out` once.
fn write_packed<T: LinalgScalar>(out: &Slots<'_, *mut T>, data: &[T], order: &[usize]) {
    let len: usize = order.iter().map(|&s| out.dims[s]).product();
    assert!(
        len == data.len(),
        "einsum-runtime internal error: {} elements for {len}",
        data.len()
    );
    let mut index = vec![0usize; out.dims.len()];
    let mut off = 0isize;
    for &x in data {
        // SAFETY: `index` stays below `dims` in every slot (the odometer below), so `off` is the offset
        // of an index tuple of the view: an element by the invariant of `Slots`, borrowed mutably.
        unsafe { out.ptr.offset(off).write(x) };
        for &s in order.iter().rev() {
            index[s] += 1;
            off += out.strides[s];
            if index[s] < out.dims[s] {
                break;
            }
            off -= out.strides[s] * out.dims[s] as isize;
            index[s] = 0;
        }
    }
}

/// `data` as a row-major array of `dim`, without ndarray's general shape checks: one length check
/// suffices for a row-major layout. Inlined: returned from a call, the array is written field by
/// field and then copied in pairs of fields, and each pair's load waits for its two stores (a
/// store-forwarding stall, the hottest instruction of a tiny product's generated function under
/// `perf annotate`).
///
/// # Panics
/// If `data` does not hold exactly `dim`'s element count (an internal error).
#[inline]
pub(crate) fn row_major<T, D: Dimension>(dim: D, data: Vec<T>) -> ndarray::Array<T, D> {
    let len = dim
        .slice()
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    assert!(
        len == Some(data.len()) && nonzero_len_fits_given(dim.slice(), data.len()),
        "einsum-runtime internal error: {} elements for the shape {:?}",
        data.len(),
        dim.slice()
    );
    // SAFETY: `data` holds exactly as many elements as the shape, and the product of the nonzero
    // axis lengths fits in `isize` (both checked above), which is what ndarray requires of a shape;
    // with the default row-major strides every index tuple addresses a distinct element of it.
    unsafe { ndarray::Array::from_shape_vec_unchecked(dim, data) }
}

/// Whether the product of the nonzero lengths of `dims` fits in `isize`, as ndarray requires of every
/// shape (a shape with a zero axis holds no elements, but its other axes may still not be huge).
pub(crate) fn nonzero_len_fits(dims: &[usize]) -> bool {
    dims.iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_some_and(|n| n <= isize::MAX as usize)
}

/// [`nonzero_len_fits`] for `dims` whose product is `len`: without a zero axis, the product of the
/// nonzero lengths is `len` itself, so only an empty shape needs the product of the others.
#[inline]
pub(crate) fn nonzero_len_fits_given(dims: &[usize], len: usize) -> bool {
    if len == 0 {
        nonzero_len_fits(dims)
    } else {
        len <= isize::MAX as usize
    }
}

/// Bytes up to which [`try_zeroed`] zeroes a fresh allocation instead of asking for zeroed memory.
const SMALL_ALLOC: usize = 1024;

/// An empty vector with room for exactly `len` elements, or `None` if it cannot be allocated: the
/// allocator called directly, without `Vec::try_reserve_exact`'s path for growing a buffer that
/// already has elements (about 40 of the 1 500 instructions of the 3x4 times 4x5 product of
/// `examples/tiny_loop.rs` before, under `valgrind --tool=callgrind`).
pub(crate) fn try_empty<T>(len: usize) -> Option<Vec<T>> {
    let layout = std::alloc::Layout::array::<T>(len).ok()?;
    if layout.size() == 0 {
        // No element, or zero-sized ones: `Vec::new` has room for them without allocating.
        return Some(Vec::new());
    }
    // SAFETY: the layout has a non-zero size, as `alloc` requires.
    let ptr = unsafe { std::alloc::alloc(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of `len` elements of `T`
    // (`Layout::array`), so it is a vector's buffer of capacity `len`, of which none is
    // initialized: length 0.
    Some(unsafe { Vec::from_raw_parts(ptr.cast::<T>(), 0, len) })
}

/// A vector of `len` zeros, or `None` if it cannot be allocated. For the primitive numeric types
/// (whose zero is all-zero bytes) the memory comes zeroed from the allocator, which for large
/// results maps fresh zero pages instead of writing them; other element types are filled.
pub(crate) fn try_zeroed<T: LinalgScalar>(len: usize) -> Option<Vec<T>> {
    use std::any::TypeId;
    let id = TypeId::of::<T>();
    let zero_bytes = [
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<i128>(),
        TypeId::of::<isize>(),
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<u128>(),
        TypeId::of::<usize>(),
    ]
    .contains(&id);
    let layout = std::alloc::Layout::array::<T>(len).ok()?;
    // Small buffers are allocated and then zeroed: glibc's `calloc` bypasses its per-thread cache,
    // which small allocations otherwise hit (a 3x4 times 4x5 backward pass, `examples/tiny_loop.rs`
    // under `perf`: 6 % of it in the consolidation that the frees of calloc'd blocks triggered).
    if !zero_bytes || layout.size() <= SMALL_ALLOC {
        let mut data = try_empty(len)?;
        data.resize(len, T::zero());
        return Some(data);
    }
    // SAFETY: the layout has a non-zero size, as `alloc_zeroed` requires.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[T; len]`, and its
    // `len` elements are initialized: `T` is a primitive number, for which all-zero bytes are zero.
    let mut data = unsafe { Vec::from_raw_parts(ptr, len, len) };
    advise_huge_pages(&mut data);
    Some(data)
}

/// Results from this many bytes on are backed by transparent huge pages where Linux offers them
/// (the threshold NumPy uses for the same advice).
const HUGE_PAGES_FROM: usize = 4 << 20;

/// Asks Linux to back a new buffer of at least [`HUGE_PAGES_FROM`] bytes with transparent huge
/// pages (`madvise(MADV_HUGEPAGE)` on the whole pages inside it), before its memory is first
/// touched, as NumPy does for its large arrays. Memory of that size is often freshly mapped (glibc
/// maps every allocation from 32 MiB on, and smaller ones until its threshold adapts, and unmaps
/// them when they are freed), so a result is otherwise faulted in 4 KiB at a time, on every call:
/// with the advice, `cargo bench --bench workloads -- '^(transpose|outer)-2048 f64'` went from
/// 26-31 to 14-15 ms (transpose) and from 16-21 to 4.2-4.9 ms (outer product) on this project's
/// 2-core VM. Only advice: where huge pages are disabled, or the call fails, nothing changes.
pub(crate) fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    let bytes = buf.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes < HUGE_PAGES_FROM {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `sysconf` only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let Ok(page) = usize::try_from(page) else {
            return;
        };
        if !page.is_power_of_two() {
            return;
        }
        let start = buf.as_mut_ptr() as usize;
        let (begin, end) = (
            (start + page - 1) & !(page - 1),
            (start + bytes) & !(page - 1),
        );
        if begin < end {
            // SAFETY: `MADV_HUGEPAGE` changes how the pages of `[begin, end)` are backed, never
            // their contents or their mapping; the range lies inside the buffer's allocation,
            // which this function holds mutably, so no other Rust value lives there.
            unsafe { libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE) };
        }
    }
}
