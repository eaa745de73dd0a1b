//! The element types the tests use, with what they need to be drawn, compared and converted.

use std::fmt::Debug;

use ndarray::{ArrayD, ArrayViewD, IxDyn, LinalgScalar};

use super::assert::Tol;
use super::rng::Rng;

/// An element type of the tests.
pub trait Elem: LinalgScalar + Debug + PartialEq + Send + Sync {
    const NAME: &'static str;
    /// Exact types are compared for equality against an i64 reference; floats with a tolerance.
    const EXACT: bool;
    /// The tolerance of an einsum result against the reference, relative to each element's sum of
    /// |products| (see [`super::assert`]); exact types are compared for equality instead.
    const TOL: Tol<'static>;
    /// Written into the gaps of stepped layouts: a wrong read shows.
    fn filler() -> Self;
    fn random(rng: &mut Rng) -> Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn to_i64(self) -> i64;
    fn from_i64(x: i64) -> Self;
}

impl Elem for f64 {
    const NAME: &'static str = "f64";
    const EXACT: bool = false;
    const TOL: Tol<'static> = Tol::new(1e-15, 1e-12);
    fn filler() -> Self {
        f64::NAN
    }
    fn random(rng: &mut Rng) -> Self {
        rng.uniform()
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f64
    }
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    const EXACT: bool = false;
    const TOL: Tol<'static> = Tol::new(1e-7, 1e-4);
    fn filler() -> Self {
        f32::NAN
    }
    fn random(rng: &mut Rng) -> Self {
        rng.uniform() as f32
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f32
    }
}

macro_rules! int_elem {
    ($t:ty, $name:literal, $lo:literal, $hi:literal, $filler:literal) => {
        impl Elem for $t {
            const NAME: &'static str = $name;
            const EXACT: bool = true;
            const TOL: Tol<'static> = Tol::abs(0.0);
            fn filler() -> Self {
                $filler
            }
            fn random(rng: &mut Rng) -> Self {
                (rng.range(0, ($hi - $lo) as usize) as i64 + $lo) as $t
            }
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(x: i64) -> Self {
                <$t>::try_from(x).expect("reference value fits the element type")
            }
        }
    };
}
int_elem!(i32, "i32", -3, 3, 7777);
int_elem!(i64, "i64", -3, 3, 7777);
int_elem!(u32, "u32", 0, 3, 7777);
int_elem!(u8, "u8", 0, 2, 77);

/// `a` converted element by element (through i64 between exact types, through f64 otherwise).
pub fn cast<A: Elem, B: Elem>(a: &ArrayViewD<'_, A>) -> ArrayD<B> {
    if A::EXACT && B::EXACT {
        a.mapv(|x| B::from_i64(x.to_i64()))
    } else {
        a.mapv(|x| B::from_f64(x.to_f64()))
    }
}

/// An array of `shape` with random elements of the type's range ([`Elem::random`]).
pub fn random_array<T: Elem>(shape: &[usize], rng: &mut Rng) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || T::random(rng))
}

pub fn random_arrays<T: Elem>(shapes: &[Vec<usize>], rng: &mut Rng) -> Vec<ArrayD<T>> {
    shapes.iter().map(|s| random_array(s, rng)).collect()
}
