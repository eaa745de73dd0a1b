//! Memory layouts of a logical array (C, Fortran, transposed, stepped, negative strides) and
//! zero-stride broadcast views, so that every kernel sees every kind of strides.

use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder, Slice};

use super::elem::{random_array, Elem};
use super::rng::Rng;
use super::shapes::{random_shapes, ShapeOpts};

/// A memory layout of a logical array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Standard (C, row-major) order.
    C,
    /// Fortran (column-major) order.
    F,
    /// Memory holds a (random) permutation of the axes in C order; the view permutes them back.
    Transposed,
    /// Every other element of a twice-as-large array (step 2 on every axis; on the last
    /// [`MAX_STEPPED_AXES`] axes of higher-rank arrays, to bound the memory).
    Stepped,
    /// A reversed array read with step -1 on every axis.
    Negative,
    /// Step -2 on every axis of a twice-as-large array (as for `Stepped`, at most the last
    /// [`MAX_STEPPED_AXES`] axes; the others have step -1).
    NegativeStepped,
}

/// Stepped layouts double at most this many (trailing) axes: a rank-10 array would otherwise need a
/// backing array 1024 times its size.
pub const MAX_STEPPED_AXES: usize = 4;

/// The step of `axis` (of `ndim`) in a layout with step `step`.
fn axis_step(step: isize, axis: usize, ndim: usize) -> isize {
    if axis + MAX_STEPPED_AXES >= ndim {
        step
    } else {
        step.signum()
    }
}

pub const LAYOUTS: [Layout; 6] = [
    Layout::C,
    Layout::F,
    Layout::Transposed,
    Layout::Stepped,
    Layout::Negative,
    Layout::NegativeStepped,
];

/// A logical array stored in some layout; [`Laid::view`] shows the logical array.
#[derive(Debug, Clone)]
pub struct Laid<T> {
    pub layout: Layout,
    backing: ArrayD<T>,
    perm: Option<Vec<usize>>,
    step: Option<isize>,
}

impl<T> Laid<T> {
    pub fn view(&self) -> ArrayViewD<'_, T> {
        let mut v = self.backing.view();
        if let Some(p) = &self.perm {
            v = v.permuted_axes(p.clone());
        }
        if let Some(step) = self.step {
            let ndim = v.ndim();
            v.slice_each_axis_inplace(|d| {
                Slice::new(0, None, axis_step(step, d.axis.index(), ndim))
            });
        }
        v
    }
}

pub fn lay_out<T: Elem>(a: &ArrayD<T>, layout: Layout, rng: &mut Rng) -> Laid<T> {
    let plain = |backing| Laid {
        layout,
        backing,
        perm: None,
        step: None,
    };
    let stepped = |step: isize| {
        let ndim = a.ndim();
        let big: Vec<usize> = a
            .shape()
            .iter()
            .enumerate()
            .map(|(d, &n)| n * axis_step(step, d, ndim).unsigned_abs())
            .collect();
        let mut backing = ArrayD::from_elem(IxDyn(&big), T::filler());
        backing
            .slice_each_axis_mut(|d| Slice::new(0, None, axis_step(step, d.axis.index(), ndim)))
            .assign(a);
        Laid {
            layout,
            backing,
            perm: None,
            step: Some(step),
        }
    };
    let laid = match layout {
        Layout::C => plain(a.as_standard_layout().into_owned()),
        Layout::F => {
            let mut f = ArrayD::from_elem(a.raw_dim().f(), T::filler());
            f.assign(a);
            plain(f)
        }
        Layout::Transposed => {
            let p = rng.permutation(a.ndim());
            let mut inverse = vec![0; p.len()];
            for (j, &i) in p.iter().enumerate() {
                inverse[i] = j;
            }
            let backing = a.view().permuted_axes(p).as_standard_layout().into_owned();
            Laid {
                layout,
                backing,
                perm: Some(inverse),
                step: None,
            }
        }
        Layout::Stepped => stepped(2),
        Layout::Negative => stepped(-1),
        Layout::NegativeStepped => stepped(-2),
    };
    assert_eq!(
        laid.view(),
        a.view(),
        "layout {layout:?} changed the values"
    );
    laid
}

/// Operand `k` gets layout `LAYOUTS[(rotation + k) % 6]`.
pub fn lay_out_all<T: Elem>(ops: &[ArrayD<T>], rotation: usize, rng: &mut Rng) -> Vec<Laid<T>> {
    ops.iter()
        .enumerate()
        .map(|(k, a)| lay_out(a, LAYOUTS[(rotation + k) % LAYOUTS.len()], rng))
        .collect()
}

pub fn laid_views<T>(laid: &[Laid<T>]) -> Vec<ArrayViewD<'_, T>> {
    laid.iter().map(Laid::view).collect()
}

pub fn layout_names<T>(laid: &[Laid<T>]) -> Vec<Layout> {
    laid.iter().map(|l| l.layout).collect()
}

/// Random operands of `pattern` where each operand (of rank > 0) is a zero-stride broadcast view along
/// one of its axes of extent > 1: `backing` has extent 1 there, and [`ZeroStride::view`] repeats it.
pub struct ZeroStride {
    pub backing: Vec<ArrayD<f64>>,
    pub shapes: Vec<Vec<usize>>,
}

impl ZeroStride {
    pub fn new(pattern: &str, rng: &mut Rng) -> Self {
        let shapes = random_shapes(pattern, &ShapeOpts::new(2, 4).budget(4_000, 0), rng);
        let backing = shapes
            .iter()
            .map(|s| {
                let mut small = s.clone();
                if let Some(axis) = (0..s.len()).find(|&d| s[d] > 1) {
                    small[axis] = 1;
                }
                random_array(&small, rng)
            })
            .collect();
        ZeroStride { backing, shapes }
    }

    pub fn views(&self) -> Vec<ArrayViewD<'_, f64>> {
        self.backing
            .iter()
            .zip(&self.shapes)
            .map(|(b, s)| {
                let v = b.broadcast(IxDyn(s)).expect("broadcastable");
                assert!(s.is_empty() || v.strides().contains(&0));
                v
            })
            .collect()
    }

    /// The same logical arrays, owned and contiguous.
    pub fn logical(&self) -> Vec<ArrayD<f64>> {
        self.views().iter().map(|v| v.to_owned()).collect()
    }
}
