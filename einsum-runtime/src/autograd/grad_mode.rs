//! [`no_grad`]: a scope in which operations record nothing.
//!
//! The switch is a thread-local flag, read by [`Var::from_op`] (through which every operation records
//! its node): while it is off, every result is a constant. [`Var`] is single-threaded, so a flag per
//! thread is exactly one flag per graph-building context. The previous state is restored by a drop
//! guard, so it comes back also when the closure panics (and scopes nest).

use std::cell::Cell;

#[cfg(doc)]
use super::Var;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` with gradient recording switched off on this thread, and returns its result: operations
/// inside record no graph, so their results are constants ([`Var::requires_grad`] is false) and
/// hold no reference to their inputs. Use it for evaluation, and for updates that must not be
/// differentiated. Recording resumes when `f` returns or panics; scopes nest.
///
/// Leaves made inside with [`Var::new`] still track their gradient: only operations are affected.
///
/// ```
/// use einsum_runtime::{is_grad_enabled, no_grad, Var};
/// use ndarray::array;
///
/// let w = Var::new(array![1.0, 2.0]);
/// let frozen = no_grad(|| {
///     assert!(!is_grad_enabled());
///     &w * 3.0
/// });
/// assert!(is_grad_enabled());
/// assert!(!frozen.requires_grad());
/// assert_eq!(*frozen.data(), array![3.0, 6.0].into_dyn());
/// // A loss built from `frozen` and `w` only sends gradient along the recorded path.
/// (&frozen * &w).sum().backward();
/// assert_eq!(w.grad().unwrap(), array![3.0, 6.0].into_dyn()); // d/dw of sum(c w) = c
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the flag it found, on every exit from the scope.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|flag| flag.replace(false)));
    f()
}

/// Whether operations on this thread record their graph: true except inside [`no_grad`].
///
/// ```
/// use einsum_runtime::{is_grad_enabled, no_grad};
///
/// assert!(is_grad_enabled());
/// assert!(!no_grad(is_grad_enabled));
/// ```
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}
