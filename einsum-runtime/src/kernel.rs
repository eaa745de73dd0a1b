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

use ndarray::{ArrayView2, ArrayViewD, LinalgScalar, ShapeBuilder};

/// A label id: `A..Z` = 0..26, `a..z` = 26..52, ellipsis dimensions from 52 on.
pub(crate) type Label = u16;

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

impl<'a, T> Matrices<'a, T> {
    /// Matrix `t` of the batch, as an ndarray view.
    ///
    /// # Panics
    /// If `t` is not below the batch size.
    pub fn get(&self, t: usize) -> ArrayView2<'a, T> {
        assert!(
            t < self.batch.extent,
            "einsum-runtime internal error: batch index {t} out of range"
        );
        let shape = (self.rows.extent, self.cols.extent)
            .strides((self.rows.stride as usize, self.cols.stride as usize));
        // SAFETY: `as_matrices` built the three groups from all of the tensor's axes, each group an
        // exact row-major merge of its labels' axes, so every `(t, i, j)` below the group extents is an
        // index tuple of the tensor, which `Strided`'s constructors guarantee to be a valid element
        // borrowed for `'a`. The strides are non-negative, as `from_shape_ptr` requires, and the
        // view is read-only, like the `Strided` it comes from.
        unsafe {
            ArrayView2::from_shape_ptr(shape, self.ptr.offset(t as isize * self.batch.stride))
        }
    }
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

/// The innermost loop, specialised for unit strides so that it vectorizes.
///
/// # Safety
/// As for [`run`], for offsets `i · stride` with `i < l.extent` from the given pointers.
#[inline(always)]
unsafe fn inner_loop<T: LinalgScalar, const TWO: bool>(
    l: Loop,
    out: *mut T,
    a: *const T,
    b: *const T,
) {
    let n = l.extent;
    debug_assert!(n > 0);
    if l.out == 0 {
        let sum = if l.a == 1 && (!TWO || l.b == 1) {
            // SAFETY: unit strides and the contract make `a[0..n]` (and `b[0..n]`) valid elements.
            let a = unsafe { std::slice::from_raw_parts(a, n) };
            if TWO {
                dot(a, unsafe { std::slice::from_raw_parts(b, n) })
            } else {
                sum(a)
            }
        } else {
            let mut acc = T::zero();
            for i in 0..n as isize {
                // SAFETY: `i < n`, so these are valid offsets by the contract.
                let x = unsafe { *a.offset(i * l.a) };
                acc = acc
                    + if TWO {
                        x * unsafe { *b.offset(i * l.b) }
                    } else {
                        x
                    };
            }
            acc
        };
        // SAFETY: offset 0 is valid by the contract.
        unsafe { *out = *out + sum };
        return;
    }
    if l.out == 1 && (l.a == 0 || l.a == 1) && (!TWO || l.b == 0 || l.b == 1) {
        // SAFETY: `out[0..n]` is valid by the contract and does not overlap the inputs.
        let out = unsafe { std::slice::from_raw_parts_mut(out, n) };
        // SAFETY: each input has unit stride (then `[0..n]` is valid) or stride 0 (then element 0).
        let (xa, xb) = unsafe { (*a, if TWO { *b } else { T::one() }) };
        match (l.a, if TWO { l.b } else { 0 }) {
            (1, 1) => {
                let (a, b) = unsafe {
                    (
                        std::slice::from_raw_parts(a, n),
                        std::slice::from_raw_parts(b, n),
                    )
                };
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = *o + x * y;
                }
            }
            (1, _) => {
                let a = unsafe { std::slice::from_raw_parts(a, n) };
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = *o + x * xb;
                }
            }
            (_, 1) => {
                let b = unsafe { std::slice::from_raw_parts(b, n) };
                for (o, &y) in out.iter_mut().zip(b) {
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
        return;
    }
    for i in 0..n as isize {
        // SAFETY: `i < n`, so these are valid offsets by the contract.
        unsafe {
            let x = *a.offset(i * l.a);
            let p = out.offset(i * l.out);
            *p = *p + if TWO { x * *b.offset(i * l.b) } else { x };
        }
    }
}

/// Eight independent accumulators, so that the reduction pipelines (and vectorizes for integers).
fn dot<T: LinalgScalar>(a: &[T], b: &[T]) -> T {
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

fn sum<T: LinalgScalar>(a: &[T]) -> T {
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
