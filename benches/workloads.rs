//! The side-by-side workloads: every `einsum!` (or `einsum_vjp!`) call beside the Rust
//! routes to the same result, in `f32` and `f64`, in a rayon pool of one thread (two for the
//! `2t` rows). The Python competitors (numpy, opt_einsum, JAX) run the same shapes in
//! `scripts/compare_numpy.py`; `scripts/bench_table.py` merges both into the table and chart of
//! `docs/benchmarks.md`.
//!
//! Naming contract (read by `scripts/bench_table.py`): a criterion group is
//! `"<workload> <dtype> <threads>t"`, e.g. `"matmul-512 f64 1t"`, with the workload ids, shapes and
//! work (flops or bytes) of `scripts/bench_workloads.py`; in a group the function `einsum` is this
//! crate, `ndarray-einsum` the einsum-capable competitor, and the others (`gemm by hand`,
//! `ndarray dot`, `hand loops`, `ndarray ...`) are reference routes that are not einsum
//! implementations. Each group also records its work as criterion throughput: `Elements` counts
//! flops, `Bytes` the bytes read and written.
//!
//! Inputs are built outside the timed closures and passed through `black_box`; every contender
//! allocates its result and drops it inside the timed closure.
//!
//! Run with `cargo bench --bench workloads` (about 9 minutes), or a subset with a criterion
//! filter: `cargo bench --bench workloads -- 'matmul-512 f64'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use einsum_runtime::{einsum, einsum_vjp, Float};
use gemm::Parallelism;
use ndarray::{
    s, Array, Array1, Array2, Array3, Array4, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3,
    Dimension, IntoDimension,
};
use rayon::{ThreadPool, ThreadPoolBuilder};

/// The element types measured.
trait Elem: Float + 'static {
    const NAME: &'static str;
}
impl Elem for f32 {
    const NAME: &'static str = "f32";
}
impl Elem for f64 {
    const NAME: &'static str = "f64";
}

/// A deterministic array with entries in [-1, 1). Arrays of 4 MiB and more are backed by
/// transparent huge pages where Linux offers them ([`advise_huge_pages`]), as NumPy's are, so that
/// every route here and the Python competitors of `scripts/compare_numpy.py` read their inputs from
/// the same kind of memory.
fn arr<T: Elem, D: Dimension>(shape: impl IntoDimension<Dim = D>, seed: usize) -> Array<T, D> {
    let dim = shape.into_dimension();
    let mut values = Vec::with_capacity(dim.size());
    advise_huge_pages(&mut values);
    values.extend(
        (0..dim.size()).map(|i| T::from(((i * 31 + seed * 17) % 23) as f64 / 11.0 - 1.0).unwrap()),
    );
    Array::from_shape_vec(dim, values).unwrap()
}

/// Asks Linux to back the (still untouched) buffer of `buf` with transparent huge pages when it
/// holds 4 MiB or more: NumPy gives the same advice for every array from 4 MiB on (its
/// `madvise_hugepage` setting, on by default), and in `madvise` mode, the default of many
/// distributions, memory is otherwise faulted in 4 KiB pages. The results of `einsum!` get the same
/// advice in the runtime. Only advice: where huge pages are off, nothing changes.
fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    let bytes = buf.capacity() * std::mem::size_of::<T>();
    #[cfg(target_os = "linux")]
    if bytes >= 4 << 20 {
        const PAGE: usize = 4096;
        let start = buf.as_mut_ptr() as usize;
        let (begin, end) = (
            (start + PAGE - 1) & !(PAGE - 1),
            (start + bytes) & !(PAGE - 1),
        );
        // SAFETY: `MADV_HUGEPAGE` changes only how the pages of `[begin, end)` are backed, never
        // their contents or mapping; the range lies inside `buf`'s allocation, which is borrowed
        // mutably here, and `begin` is page-aligned as `madvise` requires.
        unsafe { libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

/// `dst = a · b` by the `gemm` crate, on the views' own strides.
fn gemm_into<T: Elem>(
    mut dst: ArrayViewMut2<T>,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    par: Parallelism,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(k == k2 && dst.dim() == (m, n), "gemm_into: shapes disagree");
    let (ds, as_, bs) = (
        dst.strides().to_vec(),
        a.strides().to_vec(),
        b.strides().to_vec(),
    );
    // SAFETY: the pointers and strides come from live ndarray views whose extents were checked
    // above to be m x k, k x n and m x n, so gemm reads and writes only their elements; `dst` is a
    // unique mutable view, so it overlaps neither `a` nor `b`; `read_dst` is false, so `dst`'s old
    // contents are not read.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            ds[1],
            ds[0],
            false,
            a.as_ptr(),
            as_[1],
            as_[0],
            b.as_ptr(),
            bs[1],
            bs[0],
            T::zero(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// `a · b` into a new array, by the `gemm` crate.
fn gemm2<T: Elem>(a: ArrayView2<T>, b: ArrayView2<T>, par: Parallelism) -> Array2<T> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    gemm_into(c.view_mut(), a, b, par);
    c
}

/// `ndarray_einsum::einsum` (the crate `ndarray-einsum`), which returns an `ArrayD`.
macro_rules! nd_einsum {
    ($pattern:literal, $($op:expr),+) => {
        ndarray_einsum::einsum($pattern, &[$($op as &dyn ndarray_einsum::ArrayLike<_>),+]).unwrap()
    };
}

/// `a` in row-major order, copied only if it is not already (as `einsum!`'s results are).
fn standard<T: Elem, D: Dimension>(a: Array<T, D>) -> Array<T, D> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// Sum of a slice with eight accumulators (so that the compiler can vectorize it).
fn sum8<T: Elem>(x: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(T::zero(), |s, &v| s + v);
    for c in chunks {
        for l in 0..8 {
            acc[l] = acc[l] + c[l];
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// Dot product of two slices with eight accumulators.
fn dot8<T: Elem>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (cx, cy) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail = cx
        .remainder()
        .iter()
        .zip(cy.remainder())
        .fold(T::zero(), |s, (&a, &b)| s + a * b);
    for (a, b) in cx.zip(cy) {
        for l in 0..8 {
            acc[l] = acc[l] + a[l] * b[l];
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// `ij,jk->ik` by hand on row-major slices (i-j-k loops), result allocated.
fn hand_matmul<T: Elem>(a: &Array2<T>, b: &Array2<T>) -> Array2<T> {
    let ((n, m), p) = (a.dim(), b.ncols());
    let (av, bv) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let mut c = vec![T::zero(); n * p];
    for i in 0..n {
        let row = &mut c[i * p..(i + 1) * p];
        for k in 0..m {
            let aik = av[i * m + k];
            for (cj, &bkj) in row.iter_mut().zip(&bv[k * p..(k + 1) * p]) {
                *cj = *cj + aik * bkj;
            }
        }
    }
    Array2::from_shape_vec((n, p), c).unwrap()
}

/// `ij->ji` by hand, in 32x32 tiles, into a row-major result.
fn hand_transpose<T: Elem>(a: &Array2<T>) -> Array2<T> {
    let (n, m) = a.dim();
    let av = a.as_slice().unwrap();
    let mut c = vec![T::zero(); n * m];
    const TILE: usize = 32;
    for i0 in (0..n).step_by(TILE) {
        for j0 in (0..m).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0..(j0 + TILE).min(m) {
                    c[j * n + i] = av[i * m + j];
                }
            }
        }
    }
    Array2::from_shape_vec((m, n), c).unwrap()
}

/// `i,j->ij` by hand.
fn hand_outer<T: Elem>(a: &Array1<T>, b: &Array1<T>) -> Array2<T> {
    let (av, bv) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let mut c = Vec::with_capacity(av.len() * bv.len());
    for &x in av {
        c.extend(bv.iter().map(|&y| x * y));
    }
    Array2::from_shape_vec((av.len(), bv.len()), c).unwrap()
}

/// The settings shared by every group: short measurements (the ratios matter, not the last
/// percent) and flat sampling, so that the 100 ms cases stay within their 2 s.
fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    dtype: &str,
    threads: usize,
    work: Throughput,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(format!("{name} {dtype} {threads}t"));
    g.sampling_mode(SamplingMode::Flat).throughput(work);
    g
}

/// Times `f` with every call inside `pool` (so rayon's and gemm's threads are the pool's).
fn bench<O>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    pool: &ThreadPool,
    name: &str,
    mut f: impl FnMut() -> O + Send,
) {
    g.bench_function(name, |b| pool.install(|| b.iter(&mut f)));
}

fn flops(n: u64) -> Throughput {
    Throughput::Elements(n)
}

fn bytes<T>(elements: usize) -> Throughput {
    Throughput::Bytes((elements * std::mem::size_of::<T>()) as u64)
}

/// Thread pools of one and two threads, built once.
struct Pools {
    one: ThreadPool,
    two: ThreadPool,
}

fn pools() -> &'static Pools {
    static POOLS: std::sync::OnceLock<Pools> = std::sync::OnceLock::new();
    POOLS.get_or_init(|| Pools {
        one: ThreadPoolBuilder::new().num_threads(1).build().unwrap(),
        two: ThreadPoolBuilder::new().num_threads(2).build().unwrap(),
    })
}

/// The GEMM-shaped workloads, one thread (and `matmul-1024`, `batched-64`, `attention` and
/// `abc-bcd-64` in two).
fn gemm_shaped<T: Elem>(c: &mut Criterion) {
    let p = pools();
    let one = &p.one;
    let none = Parallelism::None;
    let dt = T::NAME;

    // The tiny product, where call overhead dominates.
    let (a, b) = (arr::<T, _>((3, 4), 1), arr::<T, _>((4, 5), 2));
    let mut g = group(c, "tiny-3x4x5", dt, 1, flops(2 * 3 * 4 * 5));
    bench(&mut g, one, "einsum", || {
        einsum!("ij,jk->ik", black_box(&a), black_box(&b))
    });
    bench(&mut g, one, "hand loops", || {
        hand_matmul(black_box(&a), black_box(&b))
    });
    bench(&mut g, one, "ndarray dot", || {
        black_box(&a).dot(black_box(&b))
    });
    bench(&mut g, one, "gemm by hand", || {
        gemm2(black_box(&a).view(), black_box(&b).view(), none)
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("ij,jk->ik", black_box(&a), black_box(&b))
    });
    g.finish();

    for (n, threads) in [(128usize, 1usize), (512, 1), (1024, 1), (1024, 2)] {
        let (a, b) = (arr::<T, _>((n, n), 1), arr::<T, _>((n, n), 2));
        let pool = if threads == 1 { &p.one } else { &p.two };
        let par = if threads == 1 {
            none
        } else {
            Parallelism::Rayon(2)
        };
        let mut g = group(
            c,
            &format!("matmul-{n}"),
            dt,
            threads,
            flops(2 * (n as u64).pow(3)),
        );
        bench(&mut g, pool, "einsum", || {
            einsum!("ij,jk->ik", black_box(&a), black_box(&b))
        });
        bench(&mut g, pool, "gemm by hand", || {
            gemm2(black_box(&a).view(), black_box(&b).view(), par)
        });
        bench(&mut g, pool, "ndarray dot", || {
            black_box(&a).dot(black_box(&b))
        });
        bench(&mut g, pool, "ndarray-einsum", || {
            nd_einsum!("ij,jk->ik", black_box(&a), black_box(&b))
        });
        g.finish();
    }

    // Batched (b = i = j = k = 64), attention scores (b = 4, h = 8, q = k = 128, d = 64) and
    // abc,bcd->ad (every extent 64: a 64 x 4096 by 4096 x 64 product), on one thread and two.
    let n = 64;
    let (bx, by) = (arr::<T, _>((n, n, n), 3), arr::<T, _>((n, n, n), 4));
    let (bb, h, q, d) = (4, 8, 128, 64);
    let (ax, ay) = (arr::<T, _>((bb, h, q, d), 5), arr::<T, _>((bb, h, q, d), 6));
    let (cx, cy) = (arr::<T, _>((n, n, n), 10), arr::<T, _>((n, n, n), 11));
    for threads in [1, 2] {
        let pool = if threads == 1 { &p.one } else { &p.two };
        let par = if threads == 1 {
            none
        } else {
            Parallelism::Rayon(2)
        };

        let (x, y) = (&bx, &by);
        let mut g = group(c, "batched-64", dt, threads, flops(2 * 64u64.pow(4)));
        bench(&mut g, pool, "einsum", || {
            einsum!("bij,bjk->bik", black_box(x), black_box(y))
        });
        bench(&mut g, pool, "gemm by hand", || {
            let (x, y) = (black_box(x), black_box(y));
            let mut out = Array3::<T>::zeros((n, n, n));
            batched_gemm(out.view_mut(), x.view(), y.view(), threads);
            out
        });
        bench(&mut g, pool, "ndarray dot", || {
            let (x, y) = (black_box(x), black_box(y));
            let mut out = Array3::<T>::zeros((n, n, n));
            for (mut o, (xb, yb)) in out.outer_iter_mut().zip(x.outer_iter().zip(y.outer_iter())) {
                o.assign(&xb.dot(&yb));
            }
            out
        });
        bench(&mut g, pool, "ndarray-einsum", || {
            nd_einsum!("bij,bjk->bik", black_box(x), black_box(y))
        });
        g.finish();

        let (x, y) = (&ax, &ay);
        let mut g = group(
            c,
            "attention",
            dt,
            threads,
            flops(2 * (bb * h * q * q * d) as u64),
        );
        bench(&mut g, pool, "einsum", || {
            einsum!("bhqd,bhkd->bhqk", black_box(x), black_box(y))
        });
        bench(&mut g, pool, "gemm by hand", || {
            attention_gemm(black_box(x), black_box(y), threads)
        });
        bench(&mut g, pool, "ndarray dot", || {
            attention_dot(black_box(x), black_box(y))
        });
        bench(&mut g, pool, "ndarray-einsum", || {
            nd_einsum!("bhqd,bhkd->bhqk", black_box(x), black_box(y))
        });
        g.finish();

        let (x, y) = (&cx, &cy);
        let mut g = group(c, "abc-bcd-64", dt, threads, flops(2 * 64u64.pow(4)));
        bench(&mut g, pool, "einsum", || {
            einsum!("abc,bcd->ad", black_box(x), black_box(y))
        });
        bench(&mut g, pool, "gemm by hand", || {
            let (x, y) = (black_box(x), black_box(y));
            gemm2(
                x.view().into_shape_with_order((n, n * n)).unwrap(),
                y.view().into_shape_with_order((n * n, n)).unwrap(),
                par,
            )
        });
        bench(&mut g, pool, "ndarray dot", || {
            let (x, y) = (black_box(x), black_box(y));
            x.view()
                .into_shape_with_order((n, n * n))
                .unwrap()
                .dot(&y.view().into_shape_with_order((n * n, n)).unwrap())
        });
        bench(&mut g, pool, "ndarray-einsum", || {
            nd_einsum!("abc,bcd->ad", black_box(x), black_box(y))
        });
        g.finish();
    }

    // Chain of three 256x256 matrices (two products).
    let n = 256;
    let (a, b, m) = (
        arr::<T, _>((n, n), 7),
        arr::<T, _>((n, n), 8),
        arr::<T, _>((n, n), 9),
    );
    let mut g = group(c, "chain-256", dt, 1, flops(4 * (n as u64).pow(3)));
    bench(&mut g, one, "einsum", || {
        einsum!("ij,jk,kl->il", black_box(&a), black_box(&b), black_box(&m))
    });
    bench(&mut g, one, "gemm by hand", || {
        let ab = gemm2(black_box(&a).view(), black_box(&b).view(), none);
        gemm2(ab.view(), black_box(&m).view(), none)
    });
    bench(&mut g, one, "ndarray dot", || {
        black_box(&a).dot(black_box(&b)).dot(black_box(&m))
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("ij,jk,kl->il", black_box(&a), black_box(&b), black_box(&m))
    });
    g.finish();

    // abcd,cdef->abef with a = c = e = 32, b = d = f = 16: a 512 x 512 by 512 x 512 product, the
    // same work as matmul-512.
    let (x, y) = (
        arr::<T, _>((32, 16, 32, 16), 12),
        arr::<T, _>((32, 16, 32, 16), 13),
    );
    let mut g = group(c, "abcd-cdef", dt, 1, flops(2 * 512u64.pow(3)));
    bench(&mut g, one, "einsum", || {
        einsum!("abcd,cdef->abef", black_box(&x), black_box(&y))
    });
    bench(&mut g, one, "gemm by hand", || {
        let (x, y) = (black_box(&x), black_box(&y));
        let z = gemm2(
            x.view().into_shape_with_order((512, 512)).unwrap(),
            y.view().into_shape_with_order((512, 512)).unwrap(),
            none,
        );
        z.into_shape_with_order((32, 16, 32, 16)).unwrap()
    });
    bench(&mut g, one, "ndarray dot", || {
        let (x, y) = (black_box(&x), black_box(&y));
        let z = x
            .view()
            .into_shape_with_order((512, 512))
            .unwrap()
            .dot(&y.view().into_shape_with_order((512, 512)).unwrap());
        z.into_shape_with_order((32, 16, 32, 16)).unwrap()
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("abcd,cdef->abef", black_box(&x), black_box(&y))
    });
    g.finish();
}

/// `out[t] = x[t] · y[t]` for every matrix `t` of the batch by the `gemm` crate, one call per
/// matrix; with two threads or more the matrices are split across the pool (as `einsum!` does for a
/// batch this large), each call single-threaded.
fn batched_gemm<T: Elem>(
    mut out: ArrayViewMut3<T>,
    x: ArrayView3<T>,
    y: ArrayView3<T>,
    threads: usize,
) {
    use rayon::prelude::*;
    let jobs = out
        .outer_iter_mut()
        .zip(x.outer_iter().zip(y.outer_iter()))
        .collect::<Vec<_>>();
    let one = |(o, (xb, yb))| gemm_into(o, xb, yb, Parallelism::None);
    if threads > 1 {
        jobs.into_par_iter().for_each(one);
    } else {
        jobs.into_iter().for_each(one);
    }
}

/// `bhqd,bhkd->bhqk` by a `gemm` call per batch and head, split across `threads` threads.
fn attention_gemm<T: Elem>(x: &Array4<T>, y: &Array4<T>, threads: usize) -> Array4<T> {
    let (b, h, q, d) = x.dim();
    let k = y.dim().2;
    let mut out = Array4::<T>::zeros((b, h, q, k));
    batched_gemm(
        out.view_mut().into_shape_with_order((b * h, q, k)).unwrap(),
        x.view().into_shape_with_order((b * h, q, d)).unwrap(),
        y.view()
            .into_shape_with_order((b * h, k, d))
            .unwrap()
            .permuted_axes([0, 2, 1]),
        threads,
    );
    out
}

/// `bhqd,bhkd->bhqk` by an ndarray `dot` per batch and head.
fn attention_dot<T: Elem>(x: &Array4<T>, y: &Array4<T>) -> Array4<T> {
    let (b, h, q, _) = x.dim();
    let k = y.dim().2;
    let mut out = Array4::<T>::zeros((b, h, q, k));
    for (mut o, (xb, yb)) in out.outer_iter_mut().zip(x.outer_iter().zip(y.outer_iter())) {
        for (mut oh, (xh, yh)) in o.outer_iter_mut().zip(xb.outer_iter().zip(yb.outer_iter())) {
            oh.assign(&xh.dot(&yh.t()));
        }
    }
    out
}

/// Forward plus backward: `einsum_vjp!` and one call of its closure, against the three products
/// (value, gradient of each operand) by the other routes.
fn vjp<T: Elem>(c: &mut Criterion) {
    let one = &pools().one;
    let none = Parallelism::None;
    let dt = T::NAME;

    let n = 512;
    let (a, b, gz) = (
        arr::<T, _>((n, n), 1),
        arr::<T, _>((n, n), 2),
        arr::<T, _>((n, n), 3),
    );
    let mut g = group(c, "matmul-512-vjp", dt, 1, flops(6 * (n as u64).pow(3)));
    bench(&mut g, one, "einsum", || {
        let (x, y) = (black_box(&a), black_box(&b));
        let (z, back) = einsum_vjp!("ij,jk->ik", x, y);
        (z, back(black_box(&gz)))
    });
    bench(&mut g, one, "gemm by hand", || {
        let (x, y, gz) = (
            black_box(&a).view(),
            black_box(&b).view(),
            black_box(&gz).view(),
        );
        (
            gemm2(x, y, none),
            gemm2(gz, y.t(), none),
            gemm2(x.t(), gz, none),
        )
    });
    bench(&mut g, one, "ndarray dot", || {
        let (x, y, gz) = (black_box(&a), black_box(&b), black_box(&gz));
        (x.dot(y), gz.dot(&y.t()), x.t().dot(gz))
    });
    bench(&mut g, one, "ndarray-einsum", || {
        let (x, y, gz) = (black_box(&a), black_box(&b), black_box(&gz));
        (
            nd_einsum!("ij,jk->ik", x, y),
            nd_einsum!("ik,jk->ij", gz, y),
            nd_einsum!("ij,ik->jk", x, gz),
        )
    });
    g.finish();

    let (bb, h, q, d) = (4, 8, 128, 64);
    let (x, y, gz) = (
        arr::<T, _>((bb, h, q, d), 5),
        arr::<T, _>((bb, h, q, d), 6),
        arr::<T, _>((bb, h, q, q), 7),
    );
    let mut g = group(
        c,
        "attention-vjp",
        dt,
        1,
        flops(6 * (bb * h * q * q * d) as u64),
    );
    bench(&mut g, one, "einsum", || {
        let (x, y) = (black_box(&x), black_box(&y));
        let (z, back) = einsum_vjp!("bhqd,bhkd->bhqk", x, y);
        (z, back(black_box(&gz)))
    });
    bench(&mut g, one, "gemm by hand", || {
        let (x, y, gz) = (black_box(&x), black_box(&y), black_box(&gz));
        let (mut gx, mut gy) = (
            Array4::<T>::zeros(x.raw_dim()),
            Array4::<T>::zeros(y.raw_dim()),
        );
        for i in 0..bb {
            for j in 0..h {
                let (xh, yh, gh) = (
                    x.slice(s![i, j, .., ..]),
                    y.slice(s![i, j, .., ..]),
                    gz.slice(s![i, j, .., ..]),
                );
                gemm_into(gx.slice_mut(s![i, j, .., ..]), gh, yh, none);
                gemm_into(gy.slice_mut(s![i, j, .., ..]), gh.t(), xh, none);
            }
        }
        (attention_gemm(x, y, 1), gx, gy)
    });
    bench(&mut g, one, "ndarray dot", || {
        let (x, y, gz) = (black_box(&x), black_box(&y), black_box(&gz));
        let (mut gx, mut gy) = (
            Array4::<T>::zeros(x.raw_dim()),
            Array4::<T>::zeros(y.raw_dim()),
        );
        for i in 0..bb {
            for j in 0..h {
                let (xh, yh, gh) = (
                    x.slice(s![i, j, .., ..]),
                    y.slice(s![i, j, .., ..]),
                    gz.slice(s![i, j, .., ..]),
                );
                gx.slice_mut(s![i, j, .., ..]).assign(&gh.dot(&yh));
                gy.slice_mut(s![i, j, .., ..]).assign(&gh.t().dot(&xh));
            }
        }
        (attention_dot(x, y), gx, gy)
    });
    bench(&mut g, one, "ndarray-einsum", || {
        let (x, y, gz) = (black_box(&x), black_box(&y), black_box(&gz));
        (
            nd_einsum!("bhqd,bhkd->bhqk", x, y),
            nd_einsum!("bhqk,bhkd->bhqd", gz, y),
            nd_einsum!("bhqd,bhqk->bhkd", x, gz),
        )
    });
    g.finish();
}

/// The memory-bound workloads on 2048 x 2048 matrices (2048-vectors for the outer product).
fn memory_bound<T: Elem>(c: &mut Criterion) {
    let one = &pools().one;
    let dt = T::NAME;
    let n = 2048;
    let a = arr::<T, _>((n, n), 1);
    let (b, v, w) = (arr::<T, _>((n, n), 2), arr::<T, _>(n, 3), arr::<T, _>(n, 4));

    let mut g = group(c, "transpose-2048", dt, 1, bytes::<T>(2 * n * n));
    bench(&mut g, one, "einsum", || einsum!("ij->ji", black_box(&a)));
    bench(&mut g, one, "hand loops", || hand_transpose(black_box(&a)));
    bench(&mut g, one, "ndarray t().as_standard_layout()", || {
        black_box(&a).t().as_standard_layout().into_owned()
    });
    bench(&mut g, one, "ndarray-einsum", || {
        standard(nd_einsum!("ij->ji", black_box(&a)))
    });
    g.finish();

    let mut g = group(c, "outer-2048", dt, 1, bytes::<T>(n * n + 2 * n));
    bench(&mut g, one, "einsum", || {
        einsum!("i,j->ij", black_box(&v), black_box(&w))
    });
    bench(&mut g, one, "hand loops", || {
        hand_outer(black_box(&v), black_box(&w))
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("i,j->ij", black_box(&v), black_box(&w))
    });
    g.finish();

    let mut g = group(c, "sum-2048", dt, 1, bytes::<T>(n * n));
    bench(&mut g, one, "einsum", || einsum!("ij->", black_box(&a)));
    bench(&mut g, one, "hand loops", || {
        sum8(black_box(&a).as_slice().unwrap())
    });
    bench(&mut g, one, "ndarray sum()", || black_box(&a).sum());
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("ij->", black_box(&a))
    });
    g.finish();

    let mut g = group(c, "inner-2048", dt, 1, bytes::<T>(2 * n * n));
    bench(&mut g, one, "einsum", || {
        einsum!("ij,ij->", black_box(&a), black_box(&b))
    });
    bench(&mut g, one, "hand loops", || {
        dot8(
            black_box(&a).as_slice().unwrap(),
            black_box(&b).as_slice().unwrap(),
        )
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("ij,ij->", black_box(&a), black_box(&b))
    });
    g.finish();

    let mut g = group(c, "diagonal-2048", dt, 1, bytes::<T>(2 * n));
    bench(&mut g, one, "einsum", || einsum!("ii->i", black_box(&a)));
    bench(&mut g, one, "hand loops", || {
        let av = black_box(&a).as_slice().unwrap();
        Array1::from_iter((0..n).map(|i| av[i * (n + 1)]))
    });
    bench(&mut g, one, "ndarray diag().to_owned()", || {
        black_box(&a).diag().to_owned()
    });
    bench(&mut g, one, "ndarray-einsum", || {
        standard(nd_einsum!("ii->i", black_box(&a)))
    });
    g.finish();

    let mut g = group(c, "trace-2048", dt, 1, bytes::<T>(n));
    bench(&mut g, one, "einsum", || einsum!("ii->", black_box(&a)));
    bench(&mut g, one, "hand loops", || {
        let av = black_box(&a).as_slice().unwrap();
        (0..n).fold(T::zero(), |s, i| s + av[i * (n + 1)])
    });
    bench(&mut g, one, "ndarray diag().sum()", || {
        black_box(&a).diag().sum()
    });
    bench(&mut g, one, "ndarray-einsum", || {
        nd_einsum!("ii->", black_box(&a))
    });
    g.finish();
}

/// Warm-up 1 s, measurement 2 s, 20 samples; command-line options such as `--measurement-time`
/// override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = gemm_shaped::<f32>, gemm_shaped::<f64>, vjp::<f32>, vjp::<f64>,
        memory_bound::<f32>, memory_bound::<f64>
}
criterion_main!(benches);
