//! Scalar-quantised (int8) codes of the vectors, for graph traversal.
//!
//! Every stored vector `x` also gets a code `c` of one byte per component,
//! `c_i = round((x_i - lo_i) / step_i)` clipped to `0..=255`, where `lo_i` and
//! `step_i = (hi_i - lo_i) / 255` are trained per dimension (min and max over a sample of the rows).
//! The graph search walks the graph on the codes and re-ranks its final candidates with exact
//! float32 distances (see `hnsw/qsearch.rs`), so every returned score is exact; the codes only steer
//! the traversal, which touches a quarter of the bytes.
//!
//! ## Distances on codes
//! The query stays close to float: its weights `w_i = q_i * step_i` are quantised to `i8` with one
//! per-query scale `s` (`w_i ~ s * qc_i`), so that
//! `q . x_hat = sum q_i lo_i + s * sum qc_i c_i`, an integer dot product of unsigned codes with signed
//! query bytes: one `vpdpbusd` per 64 components with AVX-512 VNNI, a widening multiply-add with
//! AVX2, a scalar loop otherwise. The three kernels compute the same integer, so the search takes
//! the same path on every CPU. For euclidean stores, `|q - x_hat|^2 = |x_hat|^2 - 2 q . x_hat + |q|^2`
//! and `|x_hat|^2` is stored in the last four bytes of the code row (the query is zero there, so the
//! dot product ignores them).
//!
//! ## Layout
//! Rows are `stride` bytes, a multiple of 64 (a cache line), zero padded: the kernels need no tail
//! loop and a row never straddles more lines than it must.
//!
//! ## Drift
//! Components outside the trained range are clipped (and so only approximately placed). Every encode
//! counts them; when more than 1 in [`DRIFT_CLIPPED_RATIO`] of the components encoded since the last
//! training were clipped (over at least [`DRIFT_MIN_ROWS`] rows), or the rows have grown to four times
//! the training sample (while that sample is below [`TRAIN_SAMPLE_ROWS`]), [`Codes::needs_retraining`]
//! says so and the owner retrains: new ranges from a fresh sample, every code re-encoded.
//!
//! ## Persistence
//! The codes are derived data: the store recomputes them from the vectors when it opens. The trained
//! ranges are saved ([`Quantizer::to_bytes`], a versioned, checksummed blob) so that the codes after a
//! reopen are exactly the ones before it.

use std::sync::OnceLock;

use super::hnsw::VectorSource;
use super::Metric;

/// Rows sampled (evenly spread) to train the ranges.
pub const TRAIN_SAMPLE_ROWS: usize = 65_536;
/// Retrain when more than one component in this many, of those encoded since training, was clipped.
pub const DRIFT_CLIPPED_RATIO: u64 = 200;
/// ... over at least this many rows encoded since training.
pub const DRIFT_MIN_ROWS: u64 = 512;

/// Which int8 kernel this CPU runs (detected once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeLevel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl CodeLevel {
    pub fn name(self) -> &'static str {
        match self {
            CodeLevel::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            CodeLevel::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            CodeLevel::Avx512Vnni => "avx512-vnni",
        }
    }
}

fn detect() -> CodeLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            return CodeLevel::Avx512Vnni;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return CodeLevel::Avx2;
        }
    }
    CodeLevel::Portable
}

/// The int8 kernel level of this CPU. `VECSTORE_INT8_KERNEL=avx2|portable` picks a lower level
/// (read once; for benchmarks and tests of the other kernels).
pub fn code_level() -> CodeLevel {
    static LEVEL: OnceLock<CodeLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let best = detect();
        match std::env::var("VECSTORE_INT8_KERNEL").as_deref() {
            Ok("portable") => CodeLevel::Portable,
            #[cfg(target_arch = "x86_64")]
            Ok("avx2") if best != CodeLevel::Portable => CodeLevel::Avx2,
            _ => best,
        }
    })
}

/// Every level the running CPU can execute, portable first (tests).
pub fn available_levels() -> Vec<CodeLevel> {
    #[allow(unused_mut)]
    let mut v = vec![CodeLevel::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        let best = detect();
        if best != CodeLevel::Portable {
            v.push(CodeLevel::Avx2);
        }
        if best == CodeLevel::Avx512Vnni {
            v.push(CodeLevel::Avx512Vnni);
        }
    }
    v
}

/// `sum a_i * q_i` over equal-length slices whose length is a multiple of 64, with the kernel of
/// `level` (which the CPU must support: only levels from [`code_level`] or [`available_levels`]).
pub fn dot_u8_i8(level: CodeLevel, a: &[u8], q: &[i8]) -> i32 {
    assert!(a.len() == q.len() && a.len().is_multiple_of(64), "code rows are 64-byte multiples");
    match level {
        CodeLevel::Portable => kernels::portable(a, q),
        // SAFETY: these levels are only handed out after detecting their features on this CPU.
        #[cfg(target_arch = "x86_64")]
        CodeLevel::Avx2 => unsafe { kernels::avx2(a, q) },
        #[cfg(target_arch = "x86_64")]
        CodeLevel::Avx512Vnni => unsafe { kernels::vnni(a, q) },
    }
}

pub(crate) mod kernels {
    /// Scalar reference.
    #[inline(always)]
    pub(crate) fn portable(a: &[u8], q: &[i8]) -> i32 {
        let mut acc = [0i32; 8];
        for (ca, cq) in a.chunks_exact(8).zip(q.chunks_exact(8)) {
            for i in 0..8 {
                acc[i] += i32::from(ca[i]) * i32::from(cq[i]);
            }
        }
        acc.iter().sum()
    }

    /// # Safety
    /// AVX2 must be available; `a.len() == q.len()`, a multiple of 64.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn avx2(a: &[u8], q: &[i8]) -> i32 {
        use std::arch::x86_64::*;
        let n = a.len().min(q.len());
        let (pa, pq) = (a.as_ptr(), q.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY: each iteration reads 32 bytes at i with i + 32 <= n (n is a multiple of 64).
        while i + 32 <= n {
            let ca = _mm256_loadu_si256(pa.add(i) as *const __m256i);
            let cq = _mm256_loadu_si256(pq.add(i) as *const __m256i);
            let a_lo = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(ca));
            let a_hi = _mm256_cvtepu8_epi16(_mm256_extracti128_si256::<1>(ca));
            let q_lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(cq));
            let q_hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256::<1>(cq));
            // Pairs of products of at most 255 * 128: no i32 overflow for any dimension we accept.
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a_lo, q_lo));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a_hi, q_hi));
            i += 32;
        }
        let s = _mm256_add_epi32(acc0, acc1);
        let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    /// # Safety
    /// AVX-512F, AVX-512BW and AVX-512 VNNI must be available; `a.len() == q.len()`, a multiple of 64.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(crate) unsafe fn vnni(a: &[u8], q: &[i8]) -> i32 {
        use std::arch::x86_64::*;
        let n = a.len().min(q.len());
        let (pa, pq) = (a.as_ptr(), q.as_ptr());
        let mut acc0 = _mm512_setzero_si512();
        let mut acc1 = _mm512_setzero_si512();
        let mut i = 0;
        // SAFETY: every load reads 64 bytes at i with i + 64 <= n.
        while i + 128 <= n {
            let ca = _mm512_loadu_si512(pa.add(i) as *const __m512i);
            let cq = _mm512_loadu_si512(pq.add(i) as *const __m512i);
            acc0 = _mm512_dpbusd_epi32(acc0, ca, cq);
            let ca = _mm512_loadu_si512(pa.add(i + 64) as *const __m512i);
            let cq = _mm512_loadu_si512(pq.add(i + 64) as *const __m512i);
            acc1 = _mm512_dpbusd_epi32(acc1, ca, cq);
            i += 128;
        }
        if i + 64 <= n {
            let ca = _mm512_loadu_si512(pa.add(i) as *const __m512i);
            let cq = _mm512_loadu_si512(pq.add(i) as *const __m512i);
            acc0 = _mm512_dpbusd_epi32(acc0, ca, cq);
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1))
    }
}

/// One cache line of code bytes: the storage unit, so that rows are 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line(pub(crate) [u8; 64]);

fn line_bytes(lines: &[Line]) -> &[u8] {
    // SAFETY: `Line` is `repr(C)` over `[u8; 64]` with size 64 and no padding, so a slice of lines
    // is exactly `64 * len` initialised bytes.
    unsafe { std::slice::from_raw_parts(lines.as_ptr() as *const u8, lines.len() * 64) }
}

fn line_bytes_mut(lines: &mut [Line]) -> &mut [u8] {
    // SAFETY: as in `line_bytes`; every byte pattern is a valid `Line`.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr() as *mut u8, lines.len() * 64) }
}

/// The trained per-dimension ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantizer {
    lo: Vec<f32>,
    step: Vec<f32>,
    /// `1 / step` (derived from `step`, never stored).
    inv: Vec<f32>,
    /// Rows the ranges were trained on.
    trained_rows: u64,
}

const QUANT_MAGIC: &[u8; 8] = b"VSQUANT\0";
const QUANT_VERSION: u32 = 1;

impl Quantizer {
    /// Ranges trained on (up to [`TRAIN_SAMPLE_ROWS`], evenly spread) rows `0..n` of `vectors`.
    /// `n` must be at least 1.
    pub fn train<V: VectorSource + ?Sized>(vectors: &V, n: usize) -> Quantizer {
        assert!(n > 0, "training needs rows");
        let dim = vectors.vector(0).len();
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        let samples = n.min(TRAIN_SAMPLE_ROWS);
        for i in 0..samples {
            let v = vectors.vector((i * n / samples) as u32);
            for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(v) {
                *l = l.min(x);
                *h = h.max(x);
            }
        }
        let step = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| {
                let s = (h - l) / 255.0;
                if s.is_finite() && s > 0.0 {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Quantizer::from_parts(lo, step, samples as u64)
    }

    fn from_parts(lo: Vec<f32>, step: Vec<f32>, trained_rows: u64) -> Quantizer {
        let inv = step.iter().map(|&s: &f32| 1.0 / s).collect();
        Quantizer { lo, step, inv, trained_rows }
    }

    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    pub fn trained_rows(&self) -> u64 {
        self.trained_rows
    }

    /// Writes the code of `v` into `out` (`dim` bytes); returns how many components were clipped.
    fn encode_into(&self, v: &[f32], out: &mut [u8]) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if code_level() != CodeLevel::Portable {
            // SAFETY: every level but the portable one implies AVX2 on this CPU.
            return unsafe { self.encode_into_avx2(v, out) };
        }
        self.encode_into_impl(v, out)
    }

    /// `encode_into_impl` compiled for AVX2 (the loop vectorises 8 wide; same IEEE operations, so
    /// the same codes as the portable build).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn encode_into_avx2(&self, v: &[f32], out: &mut [u8]) -> u32 {
        self.encode_into_impl(v, out)
    }

    #[inline(always)]
    fn encode_into_impl(&self, v: &[f32], out: &mut [u8]) -> u32 {
        let mut clipped = 0u32;
        for (((o, &x), &l), &inv) in out.iter_mut().zip(v).zip(&self.lo).zip(&self.inv) {
            let t = (x - l) * inv;
            clipped += u32::from(t < -0.5) + u32::from(t > 255.5);
            // Round half up by truncation (`f32::round` is a libm call on baseline x86-64, this
            // vectorises).
            *o = (t.clamp(0.0, 255.0) + 0.5) as u8;
        }
        clipped
    }

    /// The vector a code stands for.
    pub fn decode(&self, code: &[u8]) -> Vec<f32> {
        code.iter().zip(&self.lo).zip(&self.step).map(|((&c, &l), &s)| l + s * f32::from(c)).collect()
    }

    /// The versioned, checksummed serialisation: magic, version u32, dim u32, trained rows u64, then
    /// `lo` and `step` as little-endian f32, then a crc32 of everything before it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(28 + 8 * self.dim());
        b.extend_from_slice(QUANT_MAGIC);
        b.extend_from_slice(&QUANT_VERSION.to_le_bytes());
        b.extend_from_slice(&(self.dim() as u32).to_le_bytes());
        b.extend_from_slice(&self.trained_rows.to_le_bytes());
        for x in self.lo.iter().chain(&self.step) {
            b.extend_from_slice(&x.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Reads [`Quantizer::to_bytes`]; any damage is `Err`.
    pub fn from_bytes(b: &[u8]) -> Result<Quantizer, String> {
        if b.len() < 28 || &b[..8] != QUANT_MAGIC {
            return Err("not a quantiser file (bad magic or truncated)".into());
        }
        let (body, tail) = b.split_at(b.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(tail.try_into().expect("4 bytes")) {
            return Err("quantiser checksum mismatch".into());
        }
        let version = u32::from_le_bytes(body[8..12].try_into().expect("4"));
        if version != QUANT_VERSION {
            return Err(format!("quantiser format version {version} is not supported"));
        }
        let dim = u32::from_le_bytes(body[12..16].try_into().expect("4")) as usize;
        let trained_rows = u64::from_le_bytes(body[16..24].try_into().expect("8"));
        if body.len() != 24 + 8 * dim {
            return Err("quantiser size does not match its dimension".into());
        }
        let floats: Vec<f32> =
            body[24..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect();
        let (lo, step) = floats.split_at(dim);
        if lo.iter().any(|x| !x.is_finite()) || step.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err("quantiser ranges are not finite".into());
        }
        Ok(Quantizer::from_parts(lo.to_vec(), step.to_vec(), trained_rows))
    }
}

/// A lineage no other `Codes` of this process has had, and unlikely to meet one in a file: a
/// per-process random key (std's `RandomState`) hashed with a counter.
fn new_lineage() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    let mut h = KEY.get_or_init(Default::default).build_hasher();
    h.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The bytes of one row's code: a byte per component, and for euclidean the row's squared norm
/// (f32) after them. Rows in memory are this rounded up to whole cache lines.
fn code_row_len(dim: usize, metric: Metric) -> usize {
    if metric == Metric::Euclidean {
        dim + 4
    } else {
        dim
    }
}

/// How code rows are laid out in a codes file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLayout {
    /// `stride` bytes a row, as in memory (format 1 and 2 codes files).
    Strided,
    /// [`Codes::packed_row_len`] bytes a row (format 3 codes files).
    Packed,
}

/// The code of every row `0..len()`, beside the float rows.
pub struct Codes {
    q: Quantizer,
    metric: Metric,
    dim: usize,
    /// Bytes per row: a multiple of 64.
    stride: usize,
    lines: Vec<Line>,
    rows: usize,
    /// Components encoded, and clipped, since the ranges were trained.
    encoded: u64,
    clipped: u64,
    /// Names this training of the codes: new for every `Codes::new` and `retain` (which renumbers
    /// the rows), kept by `extend` and by a load. A snapshot's appendable codes file carries it in
    /// its head, so that rows are only ever appended to a file of the same codes.
    lineage: u64,
    /// Rows `0..saved_rows` are in the current snapshot's codes file (its owner says so after a
    /// load or a checkpoint): a checkpoint appends only the rows after them.
    saved_rows: usize,
}

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes")
            .field("dim", &self.dim)
            .field("rows", &self.rows)
            .field("stride", &self.stride)
            .field("clipped", &self.clipped)
            .finish_non_exhaustive()
    }
}

/// A query prepared for one search on codes.
pub struct QueryCode {
    pub(crate) q: Vec<Line>,
    scale: f32,
    /// `sum q_i lo_i` (the part of the dot product the codes do not carry).
    base: f32,
    /// `|q|^2` (euclidean only).
    norm: f32,
    euclid: bool,
    stride: usize,
}

impl QueryCode {
    /// The query's bytes, `stride` long.
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[i8] {
        let b = line_bytes(&self.q);
        // SAFETY: i8 and u8 have the same size and alignment, and every bit pattern is valid.
        unsafe { std::slice::from_raw_parts(b.as_ptr() as *const i8, self.stride) }
    }

    /// The approximate distance (lower is closer, the units of the float search) from an integer
    /// dot product with `row`.
    #[inline(always)]
    pub(crate) fn distance(&self, dot: i32, row: &[u8]) -> f32 {
        let qx = self.base + self.scale * dot as f32;
        if self.euclid {
            let n = f32::from_le_bytes(row[self.stride - 4..].try_into().expect("4 bytes"));
            n - 2.0 * qx + self.norm
        } else {
            -qx
        }
    }
}

impl Codes {
    /// Empty codes with ranges `q`, for vectors of this metric.
    pub fn new(q: Quantizer, metric: Metric) -> Codes {
        let dim = q.dim();
        let stride = code_row_len(dim, metric).div_ceil(64).max(1) * 64;
        Codes {
            q,
            metric,
            dim,
            stride,
            lines: Vec::new(),
            rows: 0,
            encoded: 0,
            clipped: 0,
            lineage: new_lineage(),
            saved_rows: 0,
        }
    }

    /// Trains ranges on rows `0..n` and encodes them.
    pub fn train<V: VectorSource + ?Sized>(vectors: &V, n: usize, metric: Metric) -> Codes {
        let mut c = Codes::new(Quantizer::train(vectors, n), metric);
        c.extend(vectors, n);
        c
    }

    pub fn quantizer(&self) -> &Quantizer {
        &self.q
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows encoded.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Heap bytes of the codes.
    pub fn memory_bytes(&self) -> usize {
        self.lines.capacity() * 64
    }

    /// Components clipped / encoded since training.
    pub fn clipped(&self) -> (u64, u64) {
        (self.clipped, self.encoded)
    }

    /// The code row of `row` (`stride` bytes).
    #[inline(always)]
    pub fn row(&self, row: u32) -> &[u8] {
        let s = row as usize * self.stride;
        &line_bytes(&self.lines)[s..s + self.stride]
    }

    /// Encodes rows `len()..to` of `vectors` (nothing when `to <= len()`).
    /// When encoding `rows` more rows would reallocate the codes, a copy of them with room for those
    /// rows (and as much again) to install with [`Codes::install_lines`]: a writer makes the copy
    /// holding only a shared lock, so that the exclusive lock never waits for a store's worth of
    /// codes to be copied (128 MB at 1M x 128).
    pub(crate) fn grown_lines(&self, rows: usize) -> Option<Vec<Line>> {
        let need = (self.rows + rows) * (self.stride / 64);
        if need <= self.lines.capacity() {
            return None;
        }
        let mut lines = Vec::with_capacity(need.max(2 * self.lines.capacity()));
        lines.extend_from_slice(&self.lines);
        Some(lines)
    }

    /// Installs a copy from [`Codes::grown_lines`] (the codes must not have changed since); returns
    /// the old lines, for the caller to free outside its locks.
    pub(crate) fn install_lines(&mut self, lines: Vec<Line>) -> Vec<Line> {
        assert_eq!(lines.len(), self.lines.len(), "the codes changed since they were copied");
        std::mem::replace(&mut self.lines, lines)
    }

    pub fn extend<V: VectorSource + ?Sized>(&mut self, vectors: &V, to: usize) {
        if to <= self.rows {
            return;
        }
        let lines_per_row = self.stride / 64;
        self.lines.resize(to * lines_per_row, Line([0; 64]));
        let (dim, stride, euclid) = (self.dim, self.stride, self.metric == Metric::Euclidean);
        let bytes = line_bytes_mut(&mut self.lines);
        let mut clipped = 0u64;
        for r in self.rows..to {
            let v = vectors.vector(r as u32);
            let out = &mut bytes[r * stride..(r + 1) * stride];
            out.fill(0);
            clipped += u64::from(self.q.encode_into(v, &mut out[..dim]));
            if euclid {
                let n: f64 = out[..dim]
                    .iter()
                    .zip(&self.q.lo)
                    .zip(&self.q.step)
                    .map(|((&c, &l), &s)| {
                        let x = f64::from(l + s * f32::from(c));
                        x * x
                    })
                    .sum();
                out[stride - 4..].copy_from_slice(&(n as f32).to_le_bytes());
            }
        }
        self.encoded += ((to - self.rows) * dim) as u64;
        self.clipped += clipped;
        self.rows = to;
    }

    /// The codes of rows `0..rows` (at most `len()`), serialised for a snapshot's codes file: the
    /// ranges ([`Quantizer::to_bytes`], with its own crc) behind their u32 length, then metric code
    /// u32, stride u32, rows u64, the drift counters (encoded, clipped) u64, then `rows * stride`
    /// code bytes; little-endian. The file around it carries the version and a crc of all of it.
    /// The payload of a format 1 codes file: snapshots now write format 2 (`head_bytes` and the
    /// rows, appended to), and this stays for reading old files' tests and tools.
    pub fn to_bytes(&self, rows: usize) -> Vec<u8> {
        let rows = rows.min(self.rows);
        let q = self.q.to_bytes();
        let mut b = Vec::with_capacity(4 + q.len() + 32 + rows * self.stride);
        b.extend_from_slice(&(q.len() as u32).to_le_bytes());
        b.extend_from_slice(&q);
        b.extend_from_slice(&self.metric.code().to_le_bytes());
        b.extend_from_slice(&(self.stride as u32).to_le_bytes());
        b.extend_from_slice(&(rows as u64).to_le_bytes());
        b.extend_from_slice(&self.encoded.to_le_bytes());
        b.extend_from_slice(&self.clipped.to_le_bytes());
        b.extend_from_slice(&line_bytes(&self.lines)[..rows * self.stride]);
        b
    }

    /// Reads [`Codes::to_bytes`]; any damage or disagreement (metric, a stride that is not the one
    /// of this dimension and metric, a length that is not `rows * stride`) is `Err`. The length is
    /// checked before anything is allocated.
    pub fn from_bytes(b: &[u8], metric: Metric) -> Result<Codes, String> {
        let (mut c, r) = Self::read_head(b, metric, RowLayout::Strided)?;
        if r.len() < 24 {
            return Err("codes data is truncated".into());
        }
        let u64_at = |i: usize| u64::from_le_bytes(r[i..i + 8].try_into().expect("8 bytes"));
        let (rows, encoded, clipped) = (u64_at(0), u64_at(8), u64_at(16));
        c.fill(&r[24..], rows, RowLayout::Strided)?;
        c.encoded = encoded;
        c.clipped = clipped;
        Ok(c)
    }

    /// What an appendable codes file holds before its rows, fixed for the life of these codes: the
    /// ranges ([`Quantizer::to_bytes`]) behind their u32 length, metric code u32, the length of a
    /// row in the file u32 ([`Codes::packed_row_len`]), lineage u64; little-endian.
    pub fn head_bytes(&self) -> Vec<u8> {
        let q = self.q.to_bytes();
        let mut b = Vec::with_capacity(4 + q.len() + 16);
        b.extend_from_slice(&(q.len() as u32).to_le_bytes());
        b.extend_from_slice(&q);
        b.extend_from_slice(&self.metric.code().to_le_bytes());
        b.extend_from_slice(&(self.packed_row_len() as u32).to_le_bytes());
        b.extend_from_slice(&self.lineage.to_le_bytes());
        b
    }

    /// The code bytes of rows `from..to` (`to` at most `len()`), as held in memory: `stride` bytes
    /// a row, padding included.
    pub fn rows_bytes(&self, from: usize, to: usize) -> &[u8] {
        &line_bytes(&self.lines)[from * self.stride..to * self.stride]
    }

    /// Bytes of a row in an appendable codes file: the codes, then the euclidean norm, without the
    /// padding that rounds a row in memory up to whole cache lines (132 bytes a row at 128
    /// dimensions instead of 192: a third of what checkpoints write for the codes).
    pub fn packed_row_len(&self) -> usize {
        code_row_len(self.dim, self.metric)
    }

    /// Rows `from..to` (`to` at most `len()`) as an appendable codes file holds them: each row's
    /// [`Codes::packed_row_len`] bytes, the padding left out.
    pub fn packed_rows(&self, from: usize, to: usize) -> Vec<u8> {
        let (len, dim, stride) = (self.packed_row_len(), self.dim, self.stride);
        if len == stride {
            return self.rows_bytes(from, to).to_vec();
        }
        let mut out = Vec::with_capacity((to - from) * len);
        for row in self.rows_bytes(from, to).chunks_exact(stride) {
            out.extend_from_slice(&row[..dim]);
            out.extend_from_slice(&row[stride - (len - dim)..]);
        }
        out
    }

    /// This training's name (see the field).
    pub fn lineage(&self) -> u64 {
        self.lineage
    }

    /// Rows known to be in the current snapshot's codes file.
    pub fn saved_rows(&self) -> usize {
        self.saved_rows.min(self.rows)
    }

    /// Says that rows `0..rows` are in the current snapshot's codes file.
    pub fn set_saved_rows(&mut self, rows: usize) {
        self.saved_rows = rows.min(self.rows);
    }

    /// Reads an appendable codes file's committed bytes: [`Codes::head_bytes`] then `rows` rows laid
    /// out as `layout` says, and the drift counters the manifest keeps for it (`encoded`,
    /// `clipped`). Any damage or disagreement is `Err`, checked before anything is allocated. Codes
    /// read from packed rows count as saved; strided ones (an older file) do not, so that the next
    /// checkpoint writes them afresh, packed, rather than append to the old file.
    pub fn from_head_and_rows(
        b: &[u8],
        rows: u64,
        drift: [u64; 2],
        metric: Metric,
        layout: RowLayout,
    ) -> Result<Codes, String> {
        let (mut c, r) = Self::read_head(b, metric, layout)?;
        let lineage = r.get(..8).ok_or("codes head is truncated")?;
        c.lineage = u64::from_le_bytes(lineage.try_into().expect("8 bytes"));
        c.fill(&r[8..], rows, layout)?;
        [c.encoded, c.clipped] = drift;
        c.saved_rows = if layout == RowLayout::Packed { c.rows } else { 0 };
        Ok(c)
    }

    /// The ranges, metric and row length at the start of `b`, checked; the rest of `b`.
    fn read_head(b: &[u8], metric: Metric, layout: RowLayout) -> Result<(Codes, &[u8]), String> {
        let u32_at = |x: &[u8]| u32::from_le_bytes(x.try_into().expect("4 bytes"));
        let qlen = u32_at(b.get(..4).ok_or("codes data is truncated")?) as usize;
        let rest = &b[4..];
        if rest.len() < qlen.saturating_add(8) {
            return Err("codes data is truncated".into());
        }
        let q = Quantizer::from_bytes(&rest[..qlen])?;
        let code = u32_at(&rest[qlen..qlen + 4]);
        if Metric::from_code(code) != Some(metric) {
            return Err(format!("codes were made for metric code {code}, the store is {}", metric.name()));
        }
        let row_len = u32_at(&rest[qlen + 4..qlen + 8]) as usize;
        let c = Codes::new(q, metric);
        let want = c.row_len(layout);
        if row_len != want {
            return Err(format!("codes rows are {row_len} bytes, this dimension and metric make {want}"));
        }
        Ok((c, &rest[qlen + 8..]))
    }

    fn row_len(&self, layout: RowLayout) -> usize {
        match layout {
            RowLayout::Strided => self.stride,
            RowLayout::Packed => self.packed_row_len(),
        }
    }

    /// Takes `rows` code rows laid out as `layout` from `r`, which must hold exactly that many.
    fn fill(&mut self, r: &[u8], rows: u64, layout: RowLayout) -> Result<(), String> {
        let (len, stride, dim) = (self.row_len(layout), self.stride, self.dim);
        if rows.checked_mul(len as u64) != Some(r.len() as u64) {
            return Err(format!("codes data holds {} bytes for {rows} rows of {len}", r.len()));
        }
        if len == stride {
            self.lines = r.chunks_exact(64).map(|l| Line(l.try_into().expect("64 bytes"))).collect();
        } else {
            // Packed rows: each goes back to its place in a zero-padded row of whole lines.
            let mut lines = vec![Line([0; 64]); rows as usize * (stride / 64)];
            let bytes = line_bytes_mut(&mut lines);
            for (row, out) in r.chunks_exact(len).zip(bytes.chunks_exact_mut(stride)) {
                out[..dim].copy_from_slice(&row[..dim]);
                out[stride - (len - dim)..].copy_from_slice(&row[dim..]);
            }
            self.lines = lines;
        }
        self.rows = rows as usize;
        Ok(())
    }

    /// Keeps only the rows `keep` (ascending old row numbers), renumbered densely: what compaction
    /// does to the vectors. The ranges and the drift counters stay.
    pub fn retain(&self, keep: &[u32]) -> Codes {
        let lpr = self.stride / 64;
        let mut lines = Vec::with_capacity(keep.len() * lpr);
        for &r in keep.iter().filter(|&&r| (r as usize) < self.rows) {
            let s = r as usize * lpr;
            lines.extend_from_slice(&self.lines[s..s + lpr]);
        }
        let rows = lines.len() / lpr;
        Codes { q: self.q.clone(), lines, rows, lineage: new_lineage(), saved_rows: 0, ..*self }
    }

    /// Whether the data has drifted from the trained ranges (see the module documentation): `n` is
    /// the number of rows now.
    pub fn needs_retraining(&self, n: usize) -> bool {
        let rows_since = self.encoded / self.dim.max(1) as u64;
        let clipped_too_often =
            rows_since >= DRIFT_MIN_ROWS && self.clipped * DRIFT_CLIPPED_RATIO > self.encoded;
        let grown =
            (self.q.trained_rows as usize) < TRAIN_SAMPLE_ROWS && n >= 4 * self.q.trained_rows as usize;
        clipped_too_often || grown
    }

    /// Prepares `query` (a vector as stored: normalised for cosine) for a search on these codes.
    pub fn query(&self, query: &[f32]) -> QueryCode {
        let euclid = self.metric == Metric::Euclidean;
        let w: Vec<f32> = query.iter().zip(&self.q.step).map(|(&x, &s)| x * s).collect();
        let max = w.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
        let inv = 1.0 / scale;
        let mut q = vec![Line([0; 64]); self.stride / 64];
        let bytes = line_bytes_mut(&mut q);
        for (b, &x) in bytes.iter_mut().zip(&w) {
            // Round half away from zero by truncation (see `encode_into`).
            let t = (x * inv).clamp(-127.0, 127.0);
            *b = ((t + 0.5f32.copysign(t)) as i8) as u8;
        }
        let base =
            query.iter().zip(&self.q.lo).map(|(&x, &l)| f64::from(x) * f64::from(l)).sum::<f64>() as f32;
        let norm = if euclid { super::distance::squared_norm_f64(query) as f32 } else { 0.0 };
        QueryCode { q, scale, base, norm, euclid, stride: self.stride }
    }

    /// The approximate distance of `query` to `row` with the kernel of `level` (tests, tools).
    pub fn distance(&self, level: CodeLevel, query: &QueryCode, row: u32) -> f32 {
        let r = self.row(row);
        query.distance(dot_u8_i8(level, r, query.bytes()), r)
    }
}

#[cfg(test)]
mod tests;
