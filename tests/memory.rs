//! Backward through a large contraction allocates memory proportional to the operands, never a
//! Jacobian.
//!
//! A counting global allocator (System underneath) tracks the bytes currently allocated and their
//! peak. For `bij,bjk->bik` with b = 16 and i = j = k = 256, each operand and the output hold
//! 2^20 f64 (8 MiB), 24 MiB together. The Jacobian of the output with respect to one operand would
//! have 2^20 × 2^20 entries, 8 TiB in f64 (even keeping only its nonzero per-batch blocks,
//! 16 × (256·256)² × 8 B = 512 GiB); the test asserts that the peak allocation during backward,
//! above what was allocated before it, stays below 8 × 24 MiB = 192 MiB.
//!
//! The counters are process-wide, so this binary has one test function (the harness' own threads
//! allocate little and nothing else runs concurrently).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use einsum_runtime::{einsum, einsum_vjp, Var};
use ndarray::Array3;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::SeqCst) + n;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

fn shrank(n: usize) {
    CURRENT.fetch_sub(n, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the peak number of bytes allocated during it above the
/// amount allocated when it started.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = f();
    (r, PEAK.load(Ordering::SeqCst) - base)
}

const MIB: f64 = 1024.0 * 1024.0;

#[test]
fn backward_of_a_large_contraction_allocates_no_jacobian() {
    const B: usize = 16;
    const N: usize = 256; // i = j = k
    let elems = B * N * N; // 2^20 per operand and for the output
    let f64_bytes = std::mem::size_of::<f64>();
    let operand_bytes = 3 * elems * f64_bytes; // two operands + output: 24 MiB
    let jacobian_bytes = (elems as f64) * (elems as f64) * f64_bytes as f64; // per operand: 8 TiB
    let limit = 8 * operand_bytes;

    let a = Array3::from_shape_fn((B, N, N), |(b, i, j)| {
        ((b + 3 * i + 7 * j) % 11) as f64 - 5.0
    });
    let w = Array3::from_shape_fn((B, N, N), |(b, j, k)| {
        ((2 * b + j + 5 * k) % 13) as f64 - 6.0
    });
    let g = Array3::from_shape_fn((B, N, N), |(b, i, k)| ((b + i + k) % 3) as f64 - 1.0);

    // Functional: einsum_vjp!.
    let (z, back) = einsum_vjp!("bij,bjk->bik", a, w);
    assert_eq!(z.len(), elems);
    let ((ga, gw), vjp_peak) = peak_during(|| back(&g));
    assert_eq!(ga.dim(), a.dim());
    assert_eq!(gw.dim(), w.dim());
    // Spot-check one element of each: ga[b,i,j] = sum_k g[b,i,k] w[b,j,k].
    let (bb, ii, jj) = (5, 17, 200);
    let want_a: f64 = (0..N).map(|k| g[[bb, ii, k]] * w[[bb, jj, k]]).sum();
    assert_eq!(ga[[bb, ii, jj]], want_a);
    let want_w: f64 = (0..N).map(|i| a[[bb, i, ii]] * g[[bb, i, jj]]).sum();
    assert_eq!(gw[[bb, ii, jj]], want_w);
    drop((z, back, ga, gw));

    // Autograd: Var::backward_with through the same contraction.
    let av = Var::new(a.clone().into_dyn());
    let wv = Var::new(w.clone().into_dyn());
    let zv = einsum!("bij,bjk->bik", av, wv);
    let gd = g.clone().into_dyn();
    let ((), var_peak) = peak_during(|| zv.backward_with(gd));
    assert_eq!(av.grad().unwrap().shape(), a.shape());
    assert_eq!(wv.grad().unwrap().shape(), w.shape());

    println!(
        "operands + output: {:.1} MiB; peak during backward: einsum_vjp! {:.1} MiB, Var {:.1} MiB; \
         limit {:.1} MiB; one Jacobian: {:.1} TiB",
        operand_bytes as f64 / MIB,
        vjp_peak as f64 / MIB,
        var_peak as f64 / MIB,
        limit as f64 / MIB,
        jacobian_bytes / (MIB * MIB),
    );
    assert!(
        vjp_peak < limit,
        "einsum_vjp! backward peaked at {vjp_peak} bytes, over 8x the {operand_bytes} bytes of operands and output"
    );
    assert!(
        var_peak < limit,
        "Var backward peaked at {var_peak} bytes, over 8x the {operand_bytes} bytes of operands and output"
    );
}
