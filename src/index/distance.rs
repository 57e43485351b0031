//! Distance kernels.
//!
//! `dot` and `l2_squared` dispatch to the fastest kernel this CPU supports. The choice is made once
//! (CPU feature detection on first use) and cached in a read-only `OnceLock`, so every later call is
//! one atomic load plus an indirect call. Hot loops (the HNSW search) fetch the [`Kernel`] once with
//! [`kernel`] and call through it directly.
//!
//! Kernels: a portable 8-lane chunked loop (the compiler vectorises it for the baseline target) and,
//! on x86-64, an AVX2+FMA kernel. There is no AVX-512 float kernel: the machines this was first tuned
//! on (AMD EPYC VMs) did not expose AVX-512 to the guest. The int8 kernels of the quantised search
//! (`index::quant`) do use AVX-512 VNNI where the CPU has it (detected at run time).

use std::sync::OnceLock;

/// A set of distance kernels for one instruction-set level.
///
/// Values are only handed out by [`kernel`] and [`available_kernels`], which check that the CPU
/// supports the instructions the kernel uses; that is what makes the safe methods sound.
#[derive(Clone, Copy)]
pub struct Kernel {
    pub name: &'static str,
    pub(crate) level: Level,
    // `unsafe fn` because the SIMD variants are `#[target_feature]` functions: calling them is only
    // sound on a CPU with those features (checked before a `Kernel` holding them is built).
    dot: unsafe fn(&[f32], &[f32]) -> f32,
    l2: unsafe fn(&[f32], &[f32]) -> f32,
}

/// Instruction-set level of a [`Kernel`], for callers that compile whole loops per level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Kernel {
    /// Dot product of two equal-length slices (a longer slice is cut to the shorter one's length).
    #[inline(always)]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: a `Kernel` is only constructed for features the running CPU supports (see
        // `detect` and `available_kernels`); the kernels themselves read within both slices only.
        unsafe { (self.dot)(a, b) }
    }

    /// Squared euclidean distance of two equal-length slices.
    #[inline(always)]
    pub fn l2_squared(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `dot`.
        unsafe { (self.l2)(a, b) }
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("name", &self.name).finish()
    }
}

const PORTABLE: Kernel =
    Kernel { name: "portable", level: Level::Portable, dot: portable::dot, l2: portable::l2_squared };

#[cfg(target_arch = "x86_64")]
const AVX2_FMA: Kernel =
    Kernel { name: "avx2+fma", level: Level::Avx2Fma, dot: x86::dot_avx2, l2: x86::l2_avx2 };

fn detect() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return AVX2_FMA;
        }
    }
    PORTABLE
}

static KERNEL: OnceLock<Kernel> = OnceLock::new();

/// The kernel set chosen for this CPU (detected on first call, then cached).
#[inline]
pub fn kernel() -> &'static Kernel {
    KERNEL.get_or_init(detect)
}

/// Every kernel set the running CPU can execute, portable first (for tests and benchmarks).
pub fn available_kernels() -> Vec<Kernel> {
    #[allow(unused_mut)]
    let mut v = vec![PORTABLE];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            v.push(AVX2_FMA);
        }
    }
    v
}

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    kernel().dot(a, b)
}

/// Squared euclidean distance of two equal-length slices.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    kernel().l2_squared(a, b)
}

/// Squared euclidean length, computed in f64 so that it cannot overflow for any finite f32 input.
pub fn squared_norm_f64(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// Scales `v` to unit length in place. Returns false (and leaves `v` alone) for a zero vector, whose
/// direction (and so its cosine similarity to anything) is undefined. Works for every finite input,
/// however large or small (the length is computed in f64).
pub fn normalize(v: &mut [f32]) -> bool {
    let norm = squared_norm_f64(v).sqrt();
    if norm == 0.0 {
        return false;
    }
    for x in v.iter_mut() {
        *x = (f64::from(*x) / norm) as f32;
    }
    true
}

/// Written as 8-lane chunked loops so that the compiler vectorises them on every target.
pub(crate) mod portable {
    // `unsafe fn` only to share the `Kernel` function-pointer type with the SIMD kernels; nothing in
    // here is unsafe to call.
    #[inline]
    pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; 8];
        let chunks = n / 8 * 8;
        for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
            for i in 0..8 {
                acc[i] += ca[i] * cb[i];
            }
        }
        let mut sum: f32 = acc.iter().sum();
        for i in chunks..n {
            sum += a[i] * b[i];
        }
        sum
    }

    #[inline]
    pub(crate) unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; 8];
        let chunks = n / 8 * 8;
        for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
            for i in 0..8 {
                let d = ca[i] - cb[i];
                acc[i] += d * d;
            }
        }
        let mut sum: f32 = acc.iter().sum();
        for i in chunks..n {
            let d = a[i] - b[i];
            sum += d * d;
        }
        sum
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    /// The body of both AVX2 kernels: `|x, y, acc| step` is the accumulator `acc` plus the
    /// contribution of the 8-float vectors `x` and `y`, `|x, y| scalar` that of one pair of floats.
    ///
    /// Four independent accumulators hide the FMA latency (4 cycles) on long vectors. The tail of
    /// fewer than 8 floats is a scalar loop: a masked-load tail (`vmaskmovps`) measured slower on
    /// the EPYC machines for dims like 50 (2-float tail). The "closures" are patterns substituted
    /// into the loop, not closures: each kernel stays one `#[target_feature]` body.
    macro_rules! reduce_avx2 {
        ($a:expr, $b:expr, |$x:ident, $y:ident, $acc:ident| $step:expr, |$s:ident, $t:ident| $scalar:expr) => {{
            let (a, b): (&[f32], &[f32]) = ($a, $b);
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut acc0 = _mm256_setzero_ps();
            let mut acc1 = _mm256_setzero_ps();
            let mut acc2 = _mm256_setzero_ps();
            let mut acc3 = _mm256_setzero_ps();
            // One step: the accumulator after adding the 8-float vectors at `p` and `q`.
            macro_rules! step {
                ($p:expr, $q:expr, $acc_in:expr) => {{
                    let ($x, $y, $acc) = (_mm256_loadu_ps($p), _mm256_loadu_ps($q), $acc_in);
                    $step
                }};
            }
            let mut i = 0;
            // SAFETY (all loads below): every vector load reads 8 floats at i with i + 8 <= n, and
            // the scalar tail reads single floats at i < n; n is at most the length of both slices.
            while i + 32 <= n {
                acc0 = step!(pa.add(i), pb.add(i), acc0);
                acc1 = step!(pa.add(i + 8), pb.add(i + 8), acc1);
                acc2 = step!(pa.add(i + 16), pb.add(i + 16), acc2);
                acc3 = step!(pa.add(i + 24), pb.add(i + 24), acc3);
                i += 32;
            }
            while i + 8 <= n {
                acc0 = step!(pa.add(i), pb.add(i), acc0);
                i += 8;
            }
            let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
            while i < n {
                let ($s, $t) = (*pa.add(i), *pb.add(i));
                sum += $scalar;
                i += 1;
            }
            sum
        }};
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        reduce_avx2!(a, b, |x, y, acc| _mm256_fmadd_ps(x, y, acc), |x, y| x * y)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        reduce_avx2!(
            a,
            b,
            |x, y, acc| {
                let d = _mm256_sub_ps(x, y);
                _mm256_fmadd_ps(d, d, acc)
            },
            |x, y| (x - y) * (x - y)
        )
    }
}

#[cfg(test)]
mod tests;
