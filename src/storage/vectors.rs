//! Vector files (`*.vectors`) and [`VectorBlock`], the store's row-addressed vector column: rows read
//! from a memory-mapped file, followed by rows appended in memory since that file was written.
//!
//! File layout (all integers little-endian):
//! ```text
//! offset  0: magic "VSVEC\0\0\0" (8 bytes)
//! offset  8: format version u32 (1 or 2)
//! offset 12: dim u32
//! offset 16: rows u64                                    (version 1; 0 in version 2)
//! offset 24: crc32 (IEEE) of the data region u32         (version 1; 0 in version 2)
//! offset 28: reserved, 36 zero bytes
//! offset 64: data, rows * dim little-endian f32, row-major
//! ```
//!
//! ## Two versions: fixed and appendable
//! A version 1 file is written once and is exactly as long as its header says. A version 2 file
//! (what this library writes) grows: a checkpoint appends the rows written since the last one
//! ([`append_vectors_file`]) instead of rewriting every vector of the store, so that a checkpoint's
//! bytes grow with what changed, not with the store's size. Its row count and data crc live in the
//! snapshot manifest that names it (the commit point; header fields would need an in-place update
//! that a crash could tear), handed to [`VectorBlock::open_mapped`] as an [`Extent`]. Bytes past the
//! extent are an append that was never committed (a crash or an error before the manifest named
//! them): they are ignored, and the next append truncates them before it writes.
//! The data starts at byte 64 so that, in a mapping (whose base is page-aligned), every row is aligned
//! for `f32` (and a 64-byte cache line): the mapped bytes are used as `&[f32]` directly, no copy.
//!
//! ## Why opening does not check the data checksum
//! Checking the crc touches every page of the file: for 1M x 128 (512 MB) that is the whole file read
//! from disk on a cold cache, and the whole file resident afterwards, where the goal is an open in well
//! under a second with memory growing only as searches touch rows. So [`VectorBlock::open_mapped`] checks
//! everything that is cheap (magic, version, dimension, reserved bytes, and that the file length is
//! exactly `64 + rows * dim * 4`), and [`VectorBlock::verify`] checks the data crc on demand (check tools,
//! tests, a paranoid open). The snapshot manifest also records the crc, so a damaged crc field in the
//! header is caught at open by comparing the two. What an unverified open cannot catch is a flipped
//! bit inside the data: that reads as a slightly different (possibly NaN or infinite) float, never as
//! undefined behaviour, since every bit pattern is a valid `f32`. Measured numbers are in the report of
//! `examples/snapshot_open_bench.rs`.
//!
//! ## Byte order
//! On little-endian targets the mapping is used in place. On big-endian targets the file is read and
//! converted into memory instead ([`VectorBlock::open_copied`]): correct, but without the memory benefit.
//!
//! ## Why the mapping stays valid
//! A mapped file that is truncated or rewritten under the mapping makes reads fault (SIGBUS) or change.
//! vecstore never modifies one of its vector files in place: a file is written once under a temporary
//! name, fsynced and renamed into place, and later replaced only by renaming a new file over the name
//! (or deleted), which leaves the inode of an existing mapping untouched. The directory lock keeps other
//! vecstore handles out. Only someone editing the store's files by hand can break a live mapping.
//!
//! <!-- Full paths: the `cbindgen:ignore` doc on this module's declaration makes rustdoc resolve
//! these docs from the parent module. -->
//! [`VectorBlock`]: crate::storage::vectors::VectorBlock
//! [`VectorBlock::open_mapped`]: crate::storage::vectors::VectorBlock::open_mapped
//! [`VectorBlock::verify`]: crate::storage::vectors::VectorBlock::verify
//! [`VectorBlock::open_copied`]: crate::storage::vectors::VectorBlock::open_copied

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use crate::error::{Code, Error, Result};

pub(crate) const VECTORS_MAGIC: &[u8; 8] = b"VSVEC\0\0\0";
/// The version this library writes: appendable, extent in the manifest.
pub(crate) const VECTORS_FORMAT_VERSION: u32 = VECTORS_FORMAT_APPENDABLE;
/// Written once, extent in the header (written by earlier versions; still read).
pub(crate) const VECTORS_FORMAT_FIXED: u32 = 1;
/// Grows by appends; extent in the snapshot manifest.
pub(crate) const VECTORS_FORMAT_APPENDABLE: u32 = 2;
/// Bytes before the first float; a multiple of 64 so mapped rows are cache-line aligned.
pub(crate) const VECTORS_HEADER_LEN: usize = 64;

/// What a written file holds, as recorded in the snapshot manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenFile {
    /// Total file length in bytes (header included).
    pub bytes: u64,
    /// crc32 of the payload (for a vectors file: the data region after the header).
    pub crc32: u32,
    /// Number of rows / records / bytes of payload, depending on the file kind.
    pub count: u64,
}

/// The committed part of a vectors file, as the snapshot manifest records it: the first `rows` rows,
/// whose data crc is `crc32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub rows: u64,
    pub crc32: u32,
}

impl Extent {
    /// The extent of a file just written or appended to.
    pub fn of(w: &WrittenFile) -> Extent {
        Extent { rows: w.count, crc32: w.crc32 }
    }
}

/// How searches will read a mapped block; passed to `madvise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessPattern {
    /// Graph search: scattered rows. Turns off read-ahead so a cold lookup reads one page, not 128 KB.
    Random,
    /// Exact scans and verification: read-ahead aggressively.
    Sequential,
    /// The kernel's default.
    Normal,
}

fn header_bytes(version: u32, dim: u32, rows: u64, crc: u32) -> [u8; VECTORS_HEADER_LEN] {
    let mut h = [0u8; VECTORS_HEADER_LEN];
    h[..8].copy_from_slice(VECTORS_MAGIC);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h[12..16].copy_from_slice(&dim.to_le_bytes());
    h[16..24].copy_from_slice(&rows.to_le_bytes());
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Writes a vectors file at `path` (created or truncated) holding `rows`, each of exactly `dim` floats,
/// and fsyncs it. The file is appendable (version 2): its extent is the returned [`WrittenFile`]'s,
/// for the manifest to record. The caller chooses the name: the snapshot writer passes a temporary
/// name and renames it into place itself (this function does not sync the directory).
///
/// A row of the wrong length is an `InvalidArgument` error; the partial file is then removed.
pub fn write_vectors_file<'a>(
    path: &Path,
    dim: usize,
    rows: impl IntoIterator<Item = &'a [f32]>,
) -> Result<WrittenFile> {
    write_vectors_file_version(path, dim, rows, VECTORS_FORMAT_VERSION)
}

/// [`write_vectors_file`] in either format (version 1 only to test that such files are still read).
pub(crate) fn write_vectors_file_version<'a>(
    path: &Path,
    dim: usize,
    rows: impl IntoIterator<Item = &'a [f32]>,
    version: u32,
) -> Result<WrittenFile> {
    let dim32 = u32::try_from(dim).map_err(|_| Error::invalid(format!("dimension {dim} is too large")))?;
    let mut w = super::fsutil::create_buffered(path)?;
    let result = (|| {
        // A version 1 header is written last, once the row count and crc are known.
        w.write_all(&header_bytes(version, dim32, 0, 0)).map_err(|e| Error::io("cannot write", path, e))?;
        let (count, crc) = write_rows(path, &mut w, dim, rows, crc32fast::Hasher::new())?;
        let mut file = w.into_inner().map_err(|e| Error::io("cannot write", path, e.into_error()))?;
        if version == VECTORS_FORMAT_FIXED {
            let io = |e| Error::io("cannot write", path, e);
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(&header_bytes(version, dim32, count, crc)).map_err(io)?;
        }
        file.sync_all().map_err(|e| Error::io("cannot sync", path, e))?;
        Ok(WrittenFile { bytes: VECTORS_HEADER_LEN as u64 + count * dim as u64 * 4, crc32: crc, count })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Appends `rows` to the appendable vectors file at `path`, whose committed extent is `base` (what
/// the manifest names), and fsyncs it; returns the new extent. Bytes past `base` (an append that was
/// never committed) are cut first. The committed rows are never touched, so mappings of them (this
/// store's readers) stay valid. On error the file may hold uncommitted bytes past `base`, which the
/// next open ignores and the next append cuts.
///
/// The caller must make sure no other name links to the file (a backup's hard link would see the
/// appended bytes change under it, and an append to the backup would cut this store's rows).
pub fn append_vectors_file<'a>(
    path: &Path,
    dim: usize,
    base: &WrittenFile,
    rows: impl IntoIterator<Item = &'a [f32]>,
) -> Result<WrittenFile> {
    let io = |e| Error::io("cannot append to", path, e);
    let mut file = OpenOptions::new().read(true).write(true).open(path).map_err(io)?;
    let (header, _) = read_header(&mut file, path, dim, Extent::of(base))?;
    if header.version != VECTORS_FORMAT_APPENDABLE {
        return Err(Error::invalid(format!(
            "{}: a version 1 vectors file cannot be appended to",
            path.display()
        )));
    }
    if base.bytes != header.used_len {
        return Err(Error::invalid(format!(
            "{}: {} rows are not {} bytes",
            path.display(),
            base.count,
            base.bytes
        )));
    }
    file.set_len(base.bytes).map_err(io)?;
    file.seek(SeekFrom::Start(base.bytes)).map_err(io)?;
    let mut w = BufWriter::with_capacity(1 << 20, super::fsutil::FaultFile::new(file));
    // Continuing the committed data's crc gives the crc of all of it without reading it back.
    let (added, crc) = write_rows(path, &mut w, dim, rows, crc32fast::Hasher::new_with_initial(base.crc32))?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("cannot sync", path, e))?;
    let count = base.count + added;
    Ok(WrittenFile { bytes: VECTORS_HEADER_LEN as u64 + count * dim as u64 * 4, crc32: crc, count })
}

/// Writes `rows` (each `dim` floats) little-endian to `w`, continuing `crc`; returns how many rows
/// it wrote and the crc after them.
fn write_rows<'a>(
    path: &Path,
    w: &mut impl Write,
    dim: usize,
    rows: impl IntoIterator<Item = &'a [f32]>,
    mut crc: crc32fast::Hasher,
) -> Result<(u64, u32)> {
    let io = |e| Error::io("cannot write", path, e);
    let mut count: u64 = 0;
    let mut bytes = Vec::with_capacity(dim * 4);
    for row in rows {
        if row.len() != dim {
            return Err(Error::invalid(format!(
                "row {count} has {} floats, the vectors file has dimension {dim}",
                row.len()
            )));
        }
        // Explicit little-endian encoding; on little-endian targets this compiles to a copy.
        bytes.clear();
        bytes.extend(row.iter().flat_map(|x| x.to_le_bytes()));
        crc.update(&bytes);
        w.write_all(&bytes).map_err(io)?;
        count += 1;
    }
    Ok((count, crc.finalize()))
}

/// A validated header, with the extent it describes.
struct Header {
    version: u32,
    rows: u64,
    crc: u32,
    /// Bytes from the start of the file to the end of the committed rows.
    used_len: u64,
}

/// Checks everything about a vectors file that does not need its data: magic, version, dimension,
/// reserved bytes, and the length. A version 1 file must be exactly as long as its header says and
/// its header must say `extent.rows` rows; a version 2 file must hold at least `extent.rows` rows
/// (the extent is the manifest's; the header holds none).
fn parse_header(
    path: &Path,
    header: &[u8],
    file_len: u64,
    expected_dim: usize,
    extent: Extent,
) -> Result<Header> {
    if file_len < VECTORS_HEADER_LEN as u64 || header.len() < VECTORS_HEADER_LEN {
        return Err(Error::corrupt(
            path,
            format!("vectors file is {file_len} bytes, shorter than its {VECTORS_HEADER_LEN}-byte header"),
        ));
    }
    if &header[..8] != VECTORS_MAGIC {
        return Err(Error::corrupt(path, "not a vecstore vectors file (bad magic bytes)"));
    }
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap());
    let version = u32_at(8);
    if version != VECTORS_FORMAT_FIXED && version != VECTORS_FORMAT_APPENDABLE {
        return Err(Error::corrupt(
            path,
            format!(
                "vectors file format version {version} is not supported \
                 (this library reads versions {VECTORS_FORMAT_FIXED} and {VECTORS_FORMAT_APPENDABLE})"
            ),
        ));
    }
    let dim = u32_at(12) as usize;
    if dim != expected_dim {
        return Err(Error::corrupt(
            path,
            format!("vectors file has dimension {dim}, the store has dimension {expected_dim}"),
        ));
    }
    let header_rows = u64::from_le_bytes(header[16..24].try_into().unwrap());
    let header_crc = u32_at(24);
    if header[28..VECTORS_HEADER_LEN].iter().any(|&b| b != 0) {
        return Err(Error::corrupt(path, "vectors file header has non-zero reserved bytes"));
    }
    let (rows, crc) = if version == VECTORS_FORMAT_FIXED {
        (header_rows, header_crc)
    } else {
        if header_rows != 0 || header_crc != 0 {
            return Err(Error::corrupt(
                path,
                "appendable vectors file has a row count or checksum in its header",
            ));
        }
        (extent.rows, extent.crc32)
    };
    let needed_len = rows
        .checked_mul(dim as u64)
        .and_then(|n| n.checked_mul(4))
        .and_then(|n| n.checked_add(VECTORS_HEADER_LEN as u64));
    let describe = || needed_len.map_or_else(|| "an impossible number of".to_string(), |n| n.to_string());
    if version == VECTORS_FORMAT_FIXED && needed_len != Some(file_len) {
        return Err(Error::corrupt(
            path,
            format!(
                "vectors file is {file_len} bytes, its header says {rows} rows of dimension {dim} ({} bytes)",
                describe()
            ),
        ));
    }
    if version == VECTORS_FORMAT_APPENDABLE && !needed_len.is_some_and(|n| n <= file_len) {
        return Err(Error::corrupt(
            path,
            format!(
                "vectors file is {file_len} bytes, the manifest's {rows} rows of dimension {dim} need {} bytes",
                describe()
            ),
        ));
    }
    if version == VECTORS_FORMAT_FIXED && rows != extent.rows {
        return Err(Error::corrupt(
            path,
            format!("vectors file header says {rows} rows, the snapshot manifest says {}", extent.rows),
        ));
    }
    // Rows are addressed by u32 slot numbers.
    if rows > u32::MAX as u64 {
        return Err(Error::corrupt(path, format!("vectors file has {rows} rows, more than a store can")));
    }
    Ok(Header { version, rows, crc, used_len: needed_len.expect("checked above") })
}

/// Reads the header of the open vectors file at `path` and checks it against the file's length and
/// `extent` ([`parse_header`]); returns it and its bytes.
fn read_header(file: &mut File, path: &Path, dim: usize, extent: Extent) -> Result<(Header, [u8; VECTORS_HEADER_LEN])> {
    let file_len = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?.len();
    let mut head = [0u8; VECTORS_HEADER_LEN];
    let head_len = (file_len as usize).min(VECTORS_HEADER_LEN);
    file.read_exact(&mut head[..head_len]).map_err(|e| Error::io("cannot read", path, e))?;
    Ok((parse_header(path, &head[..head_len], file_len, dim, extent)?, head))
}

/// Where a file's data crc was recorded.
fn crc_source(version: u32) -> &'static str {
    if version == VECTORS_FORMAT_FIXED {
        "header"
    } else {
        "snapshot manifest"
    }
}

/// Decodes little-endian floats (length a multiple of 4) into native floats.
fn decode_le(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// The mapped part of a block.
#[derive(Debug)]
struct Mapped {
    /// The file's committed extent: header and rows, nothing after.
    map: Mmap,
    path: PathBuf,
    crc: u32,
    version: u32,
}

/// The store's vector column: row `r` (a slot number) is `dim` floats. Rows `0..mapped_rows()` come from
/// a read-only mapping of a vectors file, the rest from an in-memory tail that [`push`](Self::push)
/// appends to. The block never changes the file.
pub struct VectorBlock {
    dim: usize,
    /// Shared with frozen copies ([`VectorBlock::freeze`]) that a checkpoint writes from.
    mapped: Option<std::sync::Arc<Mapped>>,
    mapped_rows: usize,
    tail: Vec<f32>,
}

impl std::fmt::Debug for VectorBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorBlock")
            .field("dim", &self.dim)
            .field("file", &self.mapped.as_ref().map(|m| &m.path))
            .field("mapped_rows", &self.mapped_rows)
            .field("tail_rows", &self.tail_rows())
            .finish()
    }
}

impl VectorBlock {
    /// A block with no rows (nothing mapped).
    pub fn empty(dim: usize) -> VectorBlock {
        VectorBlock { dim, mapped: None, mapped_rows: 0, tail: Vec::new() }
    }

    /// A block whose rows are all in memory: `data` is row-major, `data.len()` a multiple of `dim`.
    pub fn from_vec(dim: usize, data: Vec<f32>) -> Result<VectorBlock> {
        let fits = data.len().is_multiple_of(dim); // with dim 0: only when empty
        if !fits {
            return Err(Error::invalid(format!(
                "{} floats are not a whole number of rows of dimension {dim}",
                data.len()
            )));
        }
        Ok(VectorBlock { dim, mapped: None, mapped_rows: 0, tail: data })
    }

    /// Maps the committed rows of the vectors file at `path` read-only after checking its header and
    /// length (not its data crc: see the module docs and [`verify`](Self::verify)). `extent` is what
    /// the snapshot manifest records: a version 2 file is read to it (bytes past it are ignored), a
    /// version 1 file must say the same row count in its header (its crc is the header's; the caller
    /// compares it with the manifest's). Any problem with the file is `Code::Corrupt` naming it;
    /// `expected_dim` must match the file's.
    ///
    /// On big-endian targets this reads and converts the file instead ([`open_copied`](Self::open_copied)).
    pub fn open_mapped(path: &Path, expected_dim: usize, extent: Extent) -> Result<VectorBlock> {
        if cfg!(target_endian = "big") {
            return Self::open_copied(path, expected_dim, extent);
        }
        let mut file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        // The header first, so that only the committed extent is mapped (and a file shorter than
        // the header is not mapped at all).
        let (header, head) = read_header(&mut file, path, expected_dim, extent)?;
        let map_len = usize::try_from(header.used_len)
            .map_err(|_| Error::corrupt(path, "vectors file is too large to map"))?;
        // SAFETY: the mapping is only sound while nobody truncates or changes the mapped bytes.
        // vecstore never modifies the committed rows of a vectors file: a file is written under a
        // temporary name and renamed into place, later only appended to past its committed extent
        // (an append cuts only bytes past that extent, which no mapping covers), replaced by another
        // rename or deleted (which leave this inode intact); the directory lock keeps other vecstore
        // handles out of the store; see the module docs.
        let map = unsafe { MmapOptions::new().len(map_len).map(&file) }
            .map_err(|e| Error::io("cannot map", path, e))?;
        if map.len() != map_len || map[..VECTORS_HEADER_LEN] != head {
            // The file changed between reading its header and mapping it: someone else is writing it.
            return Err(Error::corrupt(path, "vectors file changed while it was being opened"));
        }
        let data = map[VECTORS_HEADER_LEN..].as_ptr();
        if !(data as usize).is_multiple_of(std::mem::align_of::<f32>()) {
            // Cannot happen (mappings are page-aligned and the header is 64 bytes); checked because
            // `mapped_floats` relies on it.
            return Err(Error::new(Code::Internal, format!("{}: mapping is misaligned", path.display())));
        }
        let block = VectorBlock {
            dim: expected_dim,
            mapped_rows: header.rows as usize,
            mapped: Some(std::sync::Arc::new(Mapped {
                map,
                path: path.to_path_buf(),
                crc: header.crc,
                version: header.version,
            })),
            tail: Vec::new(),
        };
        // Graph search reads scattered rows; read-ahead would only fill memory with neighbours.
        block.set_access_pattern(AccessPattern::Random);
        Ok(block)
    }

    /// Reads the committed rows of a vectors file into memory (all rows in the tail), checking the
    /// header, the length and the data crc. Used on big-endian targets, where the mapped bytes
    /// cannot be used as floats.
    pub fn open_copied(path: &Path, expected_dim: usize, extent: Extent) -> Result<VectorBlock> {
        let mut file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        let (header, _) = read_header(&mut file, path, expected_dim, extent)?;
        // The length was checked against the file size, so this allocation is what the file holds.
        let mut data = vec![0u8; (header.used_len - VECTORS_HEADER_LEN as u64) as usize];
        file.read_exact(&mut data).map_err(|e| Error::io("cannot read", path, e))?;
        let crc = crc32fast::hash(&data);
        if crc != header.crc {
            return Err(Error::corrupt(
                path,
                format!(
                    "vectors data checksum is {crc:08x}, the {} says {:08x}",
                    crc_source(header.version),
                    header.crc
                ),
            ));
        }
        Ok(VectorBlock { dim: expected_dim, mapped: None, mapped_rows: 0, tail: decode_le(&data) })
    }

    /// Recomputes the crc of the mapped data and compares it with the file header's (version 1) or
    /// the manifest's (version 2). Reads every page of
    /// the file (about 0.1-0.3 s per 512 MB from the page cache; disk speed on a cold cache).
    pub fn verify(&self) -> Result<()> {
        let Some(m) = &self.mapped else { return Ok(()) };
        self.set_access_pattern(AccessPattern::Sequential);
        let crc = crc32fast::hash(&m.map[VECTORS_HEADER_LEN..]);
        self.set_access_pattern(AccessPattern::Random);
        if crc != m.crc {
            return Err(Error::corrupt(
                &m.path,
                format!(
                    "vectors data checksum is {crc:08x}, the {} says {:08x}",
                    crc_source(m.version),
                    m.crc
                ),
            ));
        }
        Ok(())
    }

    /// Tells the kernel how the mapped rows will be read (no-op without a mapping or off Unix).
    /// [`open_mapped`](Self::open_mapped) sets [`AccessPattern::Random`]; an exact scan over the whole
    /// block may want `Sequential` for its duration.
    pub fn set_access_pattern(&self, pattern: AccessPattern) {
        #[cfg(unix)]
        if let Some(m) = &self.mapped {
            let advice = match pattern {
                AccessPattern::Random => memmap2::Advice::Random,
                AccessPattern::Sequential => memmap2::Advice::Sequential,
                AccessPattern::Normal => memmap2::Advice::Normal,
            };
            // Only a hint: failure changes performance, never results.
            let _ = m.map.advise(advice);
        }
        #[cfg(not(unix))]
        let _ = pattern;
    }

    /// The mapped rows as one row-major slice (empty when nothing is mapped).
    #[inline]
    pub fn mapped_floats(&self) -> &[f32] {
        match &self.mapped {
            // SAFETY: `open_mapped` checked that the mapping is exactly 64 + mapped_rows * dim * 4 bytes,
            // that the data pointer is aligned for f32, and that the target is little-endian (the file
            // format's order); every bit pattern is a valid f32; the mapping is read-only and lives as
            // long as `self` (it is only dropped with the block), and the file is never modified in
            // place (module docs).
            Some(m) => unsafe {
                std::slice::from_raw_parts(
                    m.map.as_ptr().add(VECTORS_HEADER_LEN).cast::<f32>(),
                    self.mapped_rows * self.dim,
                )
            },
            None => &[],
        }
    }

    /// The in-memory rows as one row-major slice.
    #[inline]
    pub fn tail_floats(&self) -> &[f32] {
        &self.tail
    }

    /// Row `row`'s floats. Panics if `row >= len()` (like slice indexing): slot numbers come from the
    /// store's own tables, so an out-of-range row is a bug, not bad input.
    #[inline]
    pub fn get(&self, row: u32) -> &[f32] {
        let row = row as usize;
        if row < self.mapped_rows {
            let start = row * self.dim;
            &self.mapped_floats()[start..start + self.dim]
        } else {
            let start = (row - self.mapped_rows) * self.dim;
            &self.tail[start..start + self.dim]
        }
    }

    /// Row `row`'s floats, or `None` past the end.
    #[inline]
    pub fn try_get(&self, row: u32) -> Option<&[f32]> {
        ((row as usize) < self.len()).then(|| self.get(row))
    }

    /// Appends a row to the in-memory tail and returns its row number. Panics if `v.len() != dim()`
    /// (the store checks dimensions before it gets here) or if the block already has u32::MAX rows.
    pub fn push(&mut self, v: &[f32]) -> u32 {
        assert_eq!(v.len(), self.dim, "pushed row has the wrong dimension");
        let row = u32::try_from(self.len()).expect("a vector block holds at most u32::MAX rows");
        assert!(row < u32::MAX, "a vector block holds at most u32::MAX rows");
        self.tail.extend_from_slice(v);
        row
    }

    /// Number of rows (mapped + tail).
    #[inline]
    pub fn len(&self) -> usize {
        self.mapped_rows + self.tail_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn mapped_rows(&self) -> usize {
        self.mapped_rows
    }

    pub fn tail_rows(&self) -> usize {
        self.tail.len().checked_div(self.dim).unwrap_or(0)
    }

    /// The data crc recorded in the mapped file's header, if a file is mapped.
    pub fn file_crc(&self) -> Option<u32> {
        self.mapped.as_ref().map(|m| m.crc)
    }

    /// The format version of the mapped file, if a file is mapped.
    pub fn file_version(&self) -> Option<u32> {
        self.mapped.as_ref().map(|m| m.version)
    }

    /// The mapped file, if any.
    pub fn mapped_path(&self) -> Option<&Path> {
        self.mapped.as_ref().map(|m| m.path.as_path())
    }

    /// Every row in order (mapped, then tail).
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        (0..self.len() as u32).map(move |r| self.get(r))
    }

    /// A copy of the block as it is now, for a checkpoint to write from while rows go on being
    /// appended to this one: it shares the mapping (no copy of the mapped rows) and copies the
    /// in-memory tail (the rows written since the last snapshot).
    pub fn freeze(&self) -> VectorBlock {
        VectorBlock {
            dim: self.dim,
            mapped: self.mapped.clone(),
            mapped_rows: self.mapped_rows,
            tail: self.tail.clone(),
        }
    }

    /// Serves the first `new.len()` rows from `new` (a block mapped from a file holding exactly
    /// those rows of this block, as a checkpoint just wrote) and keeps the later rows in memory.
    /// Returns the replaced block, for the caller to drop outside its locks. Panics if `new` has
    /// more rows than this block, a tail, or another dimension.
    pub fn rebase(&mut self, new: VectorBlock) -> VectorBlock {
        assert!(new.len() <= self.len() && new.tail.is_empty() && new.dim == self.dim, "bad rebase");
        let from = new.len();
        let mut tail = Vec::with_capacity((self.len() - from) * self.dim);
        for r in from..self.len() {
            tail.extend_from_slice(self.get(r as u32));
        }
        let fresh = VectorBlock { dim: self.dim, mapped: new.mapped, mapped_rows: new.mapped_rows, tail };
        std::mem::replace(self, fresh)
    }

    /// When appending `rows` more rows would reallocate the tail, a copy of the tail with room for
    /// them (and as much again) to install with [`VectorBlock::install_tail`]: the copy is made by a
    /// caller holding only a shared lock, so that the exclusive lock never waits for it.
    pub fn grown_tail(&self, rows: usize) -> Option<Vec<f32>> {
        let need = self.tail.len() + rows * self.dim;
        if need <= self.tail.capacity() {
            return None;
        }
        let mut t = Vec::with_capacity(need.max(2 * self.tail.capacity()));
        t.extend_from_slice(&self.tail);
        Some(t)
    }

    /// Installs a tail from [`VectorBlock::grown_tail`] (the rows must not have changed since);
    /// returns the old one, for the caller to free outside its locks.
    pub fn install_tail(&mut self, tail: Vec<f32>) -> Vec<f32> {
        assert_eq!(tail.len(), self.tail.len(), "the tail changed since it was copied");
        std::mem::replace(&mut self.tail, tail)
    }

    /// Bytes of heap memory held by the tail (the mapped part is page cache, not heap).
    pub fn tail_bytes(&self) -> usize {
        self.tail.capacity() * std::mem::size_of::<f32>()
    }
}

#[cfg(test)]
mod tests;
