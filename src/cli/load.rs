//! `vecstore import` and `vecstore export`: JSON Lines, NumPy `.npy` (float32, 2-D) and `.fvecs`.
//!
//! Import reads records one at a time, checks each one (id, dimension, finite values, metadata, TTL)
//! and writes them in batches of `--batch` records, each batch one bulk write (one log frame: all of
//! it or none of it survives a crash). A bad record stops the import before its batch is written, so
//! the store holds exactly the batches committed before it, and the message says up to which line.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::json;

use super::{print_json, CliError, CliResult, Ctx, MetricArg, Target};
use crate::index::distance;
use crate::namespace::RequestKind;
use crate::store::options::{Metric, StoreOptions};
use crate::store::record::{canonical_metadata, check_finite, check_id};
use crate::store::write::{WriteOp, MAX_TTL_SECONDS};
use crate::store::NewRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line: {"id", "vector", "metadata"?, "ttl_seconds"?}
    Jsonl,
    /// NumPy float32 2-D array (ids from --ids or --id-prefix + row number)
    Npy,
    /// ANN-benchmark .fvecs (each row: int32 dimension, then the floats)
    Fvecs,
}

impl Format {
    fn detect(path: &Path, given: Option<Format>) -> Format {
        given.unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => Format::Npy,
            Some("fvecs") => Format::Fvecs,
            _ => Format::Jsonl,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Store directory (created if needed; or namespace root with --namespace)
    pub dir: PathBuf,
    /// Input file: .jsonl, .npy or .fvecs (see --format)
    pub file: PathBuf,
    /// Input format (default: from the file's extension; anything else is JSON Lines)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// For .npy and .fvecs: a file with one id per line, one line per row
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// For .npy and .fvecs without --ids: the id of row N is PREFIX followed by N (from 0)
    #[arg(long, default_value = "", value_name = "PREFIX")]
    pub id_prefix: String,
    /// Records per bulk write
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Threads that build the index (0 = one per core)
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Report bad records on stderr and go on, instead of stopping at the first one
    #[arg(long)]
    pub skip_bad: bool,
    /// New store: dimension (default: from the file)
    #[arg(long)]
    pub dimension: Option<usize>,
    /// New store: metric (an existing store must match when given)
    #[arg(long, value_enum)]
    pub metric: Option<MetricArg>,
    /// New store: HNSW degree
    #[arg(long, default_value_t = 16)]
    pub m: usize,
    /// New store: HNSW candidate list while building
    #[arg(long, default_value_t = 200)]
    pub ef_construction: usize,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Output file: JSON Lines, or .npy (then the ids go to --ids-out)
    pub file: PathBuf,
    /// Output format (default: .npy for a .npy file, JSON Lines otherwise)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// For .npy: where the ids go, one per line (default: FILE with .ids.txt for .npy)
    #[arg(long, value_name = "FILE")]
    pub ids_out: Option<PathBuf>,
}

/// One record read from the input; `line` is its line (JSONL) or row + 1 (arrays), for messages.
struct Item {
    line: u64,
    id: String,
    vector: Vec<f32>,
    metadata: Option<String>,
    ttl_seconds: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    id: String,
    vector: Vec<f32>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

/// The records of an input file, one at a time.
enum Source {
    Jsonl { reader: BufReader<File>, line: u64, buf: String },
    Rows { reader: BufReader<File>, kind: Format, dim: usize, rows: Option<u64>, row: u64, ids: Ids },
}

enum Ids {
    Prefix(String),
    File(std::io::Lines<BufReader<File>>, PathBuf),
}

impl Source {
    fn open(path: &Path, format: Format, ids: Option<&Path>, prefix: &str) -> CliResult<Source> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let ids = match ids {
            Some(p) => {
                let f = File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()))?;
                Ids::File(BufReader::new(f).lines(), p.to_path_buf())
            }
            None => Ids::Prefix(prefix.to_string()),
        };
        Ok(match format {
            Format::Jsonl => Source::Jsonl { reader, line: 0, buf: String::new() },
            Format::Npy => {
                let (rows, dim) =
                    npy::read_header(&mut reader).map_err(|e| format!("{}: {e}", path.display()))?;
                Source::Rows { reader, kind: format, dim, rows: Some(rows), row: 0, ids }
            }
            Format::Fvecs => Source::Rows { reader, kind: format, dim: 0, rows: None, row: 0, ids },
        })
    }

    /// The array's dimension when the file says it up front.
    fn dim_hint(&self) -> Option<usize> {
        match self {
            Source::Rows { kind: Format::Npy, dim, .. } => Some(*dim),
            _ => None,
        }
    }

    /// The next record: `None` at the end, `Some(Err((line, why)))` for a bad one. A JSONL line that
    /// does not parse is skippable; a damaged array file is not (the error is fatal).
    fn next(&mut self) -> CliResult<Option<Result<Item, (u64, String)>>> {
        match self {
            Source::Jsonl { reader, line, buf } => loop {
                buf.clear();
                let n = reader.read_line(buf).map_err(|e| format!("cannot read line {}: {e}", *line + 1))?;
                if n == 0 {
                    return Ok(None);
                }
                *line += 1;
                let text = buf.trim();
                if text.is_empty() {
                    continue;
                }
                let l = *line;
                return Ok(Some(match serde_json::from_str::<JsonLine>(text) {
                    Ok(j) => Ok(Item {
                        line: l,
                        id: j.id,
                        vector: j.vector,
                        metadata: match j.metadata {
                            None | Some(serde_json::Value::Null) => None,
                            Some(v) => Some(v.to_string()),
                        },
                        ttl_seconds: j.ttl_seconds.unwrap_or(0),
                    }),
                    Err(e) => Err((l, format!("not a record ({e}); expected {{\"id\": ..., \"vector\": [...], \"metadata\"?: {{...}}, \"ttl_seconds\"?: N}}"))),
                }));
            },
            Source::Rows { reader, kind, dim, rows, row, ids } => {
                if rows.is_some_and(|n| *row >= n) {
                    return Ok(None);
                }
                let r = *row;
                if *kind == Format::Fvecs {
                    let mut d = [0u8; 4];
                    match read_full(reader, &mut d).map_err(|e| format!("cannot read row {r}: {e}"))? {
                        0 => return Ok(None),
                        4 => {}
                        n => crate::cli_bail!("row {r}: the file ends inside a row header ({n} of 4 bytes)"),
                    }
                    let rd = i32::from_le_bytes(d);
                    if rd <= 0 || rd > 65_536 {
                        crate::cli_bail!("row {r}: dimension {rd} in the row header is not valid (damaged or not an .fvecs file)");
                    }
                    if *dim == 0 {
                        *dim = rd as usize;
                    } else if rd as usize != *dim {
                        crate::cli_bail!("row {r}: dimension {rd}, earlier rows have {dim}");
                    }
                }
                let mut bytes = vec![0u8; *dim * 4];
                let got = read_full(reader, &mut bytes).map_err(|e| format!("cannot read row {r}: {e}"))?;
                if got != bytes.len() {
                    crate::cli_bail!(
                        "row {r}: the file ends inside the row ({got} of {} bytes)",
                        bytes.len()
                    );
                }
                let vector =
                    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
                *row += 1;
                let id = match ids {
                    Ids::Prefix(p) => format!("{p}{r}"),
                    Ids::File(lines, path) => match lines.next() {
                        Some(Ok(id)) => id,
                        Some(Err(e)) => crate::cli_bail!("{}: {e}", path.display()),
                        None => crate::cli_bail!(
                            "{} has fewer ids than the array has rows (row {r} has none)",
                            path.display()
                        ),
                    },
                };
                Ok(Some(Ok(Item { line: r + 1, id, vector, metadata: None, ttl_seconds: 0 })))
            }
        }
    }

    /// Bytes (JSONL) or rows (arrays) consumed so far, for the progress bar.
    fn position(&mut self) -> u64 {
        match self {
            Source::Jsonl { reader, .. } => reader.stream_position().unwrap_or(0),
            Source::Rows { row, .. } => *row,
        }
    }

    /// Ids left over in an ids file once the array is read (a mismatch worth refusing).
    fn check_ids_exhausted(&mut self) -> CliResult<()> {
        if let Source::Rows { ids: Ids::File(lines, path), row, .. } = self {
            if lines.next().is_some() {
                crate::cli_bail!("{} has more ids than the array has rows ({row})", path.display());
            }
        }
        Ok(())
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The checks the store runs on a record, run before it joins a batch so that one bad record is
/// reported with its line instead of failing a whole batch. Returns the canonical metadata.
fn check_item(item: &Item, dim: usize, metric: Metric) -> Result<Option<String>, String> {
    check_id(&item.id).map_err(|e| e.message)?;
    if item.vector.is_empty() {
        return Err("vector is empty".into());
    }
    if dim != 0 && item.vector.len() != dim {
        return Err(format!("vector has dimension {}, the store has dimension {dim}", item.vector.len()));
    }
    check_finite(&item.vector, "vector").map_err(|e| e.message)?;
    match metric {
        Metric::Cosine => {
            if item.vector.iter().all(|&x| x == 0.0) {
                return Err("vector is all zeros: cosine similarity is undefined for it".into());
            }
        }
        Metric::Dot | Metric::Euclidean => {
            if distance::squared_norm_f64(&item.vector) > f32::MAX as f64 / 4.0 {
                return Err("vector is too long: its scores would overflow".into());
            }
        }
    }
    if item.ttl_seconds > MAX_TTL_SECONDS {
        return Err(format!("ttl_seconds {} is above the limit of {MAX_TTL_SECONDS}", item.ttl_seconds));
    }
    match &item.metadata {
        None => Ok(None),
        Some(m) => canonical_metadata(Some(m)).map(Some).map_err(|e| e.message),
    }
}

/// The line of record `i` of a batch when the store's message starts with `record i (...)`.
fn failed_line(message: &str, lines: &[u64]) -> Option<u64> {
    let rest = message.strip_prefix("record ")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    lines.get(digits.parse::<usize>().ok()?).copied()
}

struct Batch {
    items: Vec<Item>,
}

impl Batch {
    fn write(&self, target: &Target) -> CliResult<Result<(), (Option<u64>, String)>> {
        let lines: Vec<u64> = self.items.iter().map(|i| i.line).collect();
        if self.items.iter().all(|i| i.ttl_seconds == 0) {
            let records: Vec<NewRecord<'_>> = self
                .items
                .iter()
                .map(|i| NewRecord { id: &i.id, vector: &i.vector, metadata: i.metadata.as_deref() })
                .collect();
            return Ok(match target.call(RequestKind::Write, |s| s.upsert_many(&records)) {
                Ok(()) => Ok(()),
                Err(CliError(m)) => Err((failed_line(&m, &lines), m)),
            });
        }
        // Records with a TTL go through a batch (bulk upserts carry no TTL). Every record was checked,
        // so a per-record failure here is unexpected; it is reported with its line.
        let ops: Vec<WriteOp> = self
            .items
            .iter()
            .map(|i| WriteOp::Upsert {
                id: i.id.clone(),
                vector: i.vector.clone(),
                metadata: i.metadata.clone(),
                ttl_seconds: i.ttl_seconds,
            })
            .collect();
        match target.call(RequestKind::Write, |s| s.batch_execute(&ops)) {
            Ok(r) if r.failed == 0 => Ok(Ok(())),
            Ok(r) => {
                let e = &r.errors[0];
                Ok(Err((
                    Some(lines[e.index]),
                    format!("{} (the other {} records of this batch were written)", e.error, r.succeeded),
                )))
            }
            Err(CliError(m)) => Ok(Err((None, m))),
        }
    }
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> CliResult<()> {
    if a.batch == 0 {
        crate::cli_bail!("--batch must be at least 1");
    }
    let started = Instant::now();
    let format = Format::detect(&a.file, a.format);
    if format == Format::Jsonl && a.ids.is_some() {
        crate::cli_bail!("--ids is for .npy and .fvecs files; JSON Lines records carry their own ids");
    }
    let mut source = Source::open(&a.file, format, a.ids.as_deref(), &a.id_prefix)?;
    let total = match format {
        Format::Jsonl => std::fs::metadata(&a.file).map_or(0, |m| m.len()),
        Format::Npy => match &source {
            Source::Rows { rows, .. } => rows.unwrap_or(0),
            _ => 0,
        },
        Format::Fvecs => {
            // Every row of an .fvecs file has the same length: peek at the first row's dimension.
            let mut f = File::open(&a.file).map_err(|e| format!("cannot open {}: {e}", a.file.display()))?;
            let mut d = [0u8; 4];
            let len = f.metadata().map_or(0, |m| m.len());
            match f.read_exact(&mut d) {
                Ok(()) if i32::from_le_bytes(d) > 0 => len / (4 + 4 * i32::from_le_bytes(d) as u64),
                _ => 0,
            }
        }
    };
    let options = StoreOptions {
        dimension: a.dimension.or(source.dim_hint()).unwrap_or(0),
        metric: a.metric.map(Into::into),
        hnsw_m: a.m,
        ef_construction: a.ef_construction,
        build_threads: a.threads,
        ..StoreOptions::default()
    };
    let target = Target::open_with(ctx, &a.dir, &options, true)?;
    let (mut dim, metric) = target.call(RequestKind::Read, |s| Ok((s.dimension(), s.metric())))?;

    let template = if format == Format::Jsonl {
        "{spinner} [{elapsed_precise}] [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
    } else {
        "{spinner} [{elapsed_precise}] [{wide_bar}] {human_pos}/{human_len} rows {per_sec} ETA {eta} {msg}"
    };
    let bar = ctx.progress(total, template);
    let file = a.file.display().to_string();
    let what = if format == Format::Jsonl { "line" } else { "record" }; // records of an array counted from 1
    let mut batch = Batch { items: Vec::with_capacity(a.batch) };
    let (mut imported, mut skipped, mut batches) = (0u64, 0u64, 0u64);
    let mut committed_through = 0u64; // last line of the last committed batch
    let bad = |line: u64, why: &str, committed: u64| {
        CliError(format!(
            "{file} {what} {line}: {why}. Stopped: the store has every record up to {what} {committed} \
             (the last committed batch) and nothing after it{}",
            if committed == 0 { " (nothing was written)" } else { "" }
        ))
    };

    let flush = |batch: &mut Batch,
                 imported: &mut u64,
                 skipped: &mut u64,
                 committed: &mut u64|
     -> CliResult<()> {
        if batch.items.is_empty() {
            return Ok(());
        }
        let last = batch.items.last().map_or(0, |i| i.line);
        match batch.write(&target)? {
            Ok(()) => *imported += batch.items.len() as u64,
            Err((line, why)) if !a.skip_bad => {
                let first = batch.items[0].line;
                return Err(match line {
                    Some(l) => bad(l, &why, *committed),
                    None => CliError(format!(
                        "{file}: the batch of {what}s {first}..={last} was refused: {why}. The store has every record \
                         up to {what} {committed} and nothing after it"
                    )),
                });
            }
            Err(_) => {
                // --skip-bad: write the batch's records one by one, reporting the ones refused.
                for item in &batch.items {
                    let one = Batch {
                        items: vec![Item {
                            line: item.line,
                            id: item.id.clone(),
                            vector: item.vector.clone(),
                            metadata: item.metadata.clone(),
                            ttl_seconds: item.ttl_seconds,
                        }],
                    };
                    match one.write(&target)? {
                        Ok(()) => *imported += 1,
                        Err((_, why)) => {
                            eprintln!("vecstore: {file} {what} {}: {why} (skipped)", item.line);
                            *skipped += 1;
                        }
                    }
                }
            }
        }
        *committed = last;
        batch.items.clear();
        Ok(())
    };

    while let Some(next) = source.next()? {
        let checked = next.and_then(|item| match check_item(&item, dim, metric) {
            Ok(metadata) => Ok(Item { metadata, ..item }),
            Err(why) => Err((item.line, why)),
        });
        match checked {
            Ok(item) => {
                if dim == 0 {
                    dim = item.vector.len();
                }
                batch.items.push(item);
            }
            Err((line, why)) => {
                if a.skip_bad {
                    bar.suspend(|| eprintln!("vecstore: {file} {what} {line}: {why} (skipped)"));
                    skipped += 1;
                } else {
                    bar.abandon();
                    return Err(bad(line, &why, committed_through));
                }
            }
        }
        if batch.items.len() >= a.batch {
            flush(&mut batch, &mut imported, &mut skipped, &mut committed_through)?;
            batches += 1;
            bar.set_message(format!("{imported} records"));
        }
        bar.set_position(source.position());
    }
    if !batch.items.is_empty() {
        flush(&mut batch, &mut imported, &mut skipped, &mut committed_through)?;
        batches += 1;
    }
    source.check_ids_exhausted()?;
    bar.set_message(format!("{imported} records"));
    bar.finish();
    if !bar.is_hidden() {
        eprintln!(); // indicatif leaves the cursor on the finished bar's line
    }
    target.close()?;
    let secs = started.elapsed().as_secs_f64();
    let rate = imported as f64 / secs.max(1e-9);
    if ctx.json {
        print_json(
            &json!({"imported": imported, "skipped": skipped, "batches": batches, "seconds": secs, "records_per_second": rate}),
        );
    } else {
        let skipped_text =
            if skipped > 0 { format!(" ({skipped} bad records skipped)") } else { String::new() };
        println!(
            "imported {imported} records{skipped_text} from {file} in {secs:.2} s ({rate:.0} records/s)"
        );
    }
    Ok(())
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> CliResult<()> {
    let started = Instant::now();
    let target = Target::open(ctx, &a.dir)?;
    let format = Format::detect(&a.file, a.format);
    let (count, dim) = target.call(RequestKind::Read, |s| Ok((s.count() as u64, s.dimension())))?;
    let bar = ctx.progress(
        count,
        "{spinner} [{elapsed_precise}] [{wide_bar}] {human_pos}/{human_len} {per_sec} ETA {eta}",
    );
    let path = &a.file;
    let io = |e: std::io::Error| CliError(format!("cannot write {}: {e}", path.display()));
    let file = File::create(path).map_err(io)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let now = super::anatomy::now();
    let written = match format {
        Format::Jsonl => target.call(RequestKind::Read, |s| {
            let mut line = String::new();
            s.scan(|r| {
                line.clear();
                line.push_str("{\"id\":");
                line.push_str(&serde_json::to_string(r.id).expect("a string serialises"));
                line.push_str(",\"vector\":");
                line.push_str(&serde_json::to_string(r.vector).expect("floats serialise"));
                if r.metadata != "{}" {
                    line.push_str(",\"metadata\":");
                    line.push_str(r.metadata);
                }
                if r.expires_at != 0 {
                    line.push_str(&format!(",\"ttl_seconds\":{}", r.expires_at.saturating_sub(now).max(1)));
                }
                line.push_str("}\n");
                w.write_all(line.as_bytes()).map_err(|e| crate::Error::io("cannot write", path, e))?;
                bar.inc(1);
                Ok(())
            })
        })?,
        Format::Npy => {
            let ids_path = a.ids_out.clone().unwrap_or_else(|| path.with_extension("ids.txt"));
            let ids_file =
                File::create(&ids_path).map_err(|e| format!("cannot write {}: {e}", ids_path.display()))?;
            let mut ids = BufWriter::new(ids_file);
            npy::write_header(&mut w, 0, dim).map_err(io)?;
            let mut with_metadata = 0u64;
            let n = target.call(RequestKind::Read, |s| {
                s.scan(|r| {
                    if r.id.contains('\n') || r.id.contains('\r') {
                        return Err(crate::Error::invalid(format!(
                            "id {:?} holds a line break and cannot go into an ids file: export to JSON Lines instead",
                            r.id
                        )));
                    }
                    if r.metadata != "{}" || r.expires_at != 0 {
                        with_metadata += 1;
                    }
                    for x in r.vector {
                        w.write_all(&x.to_le_bytes()).map_err(|e| crate::Error::io("cannot write", path, e))?;
                    }
                    writeln!(ids, "{}", r.id).map_err(|e| crate::Error::io("cannot write", &ids_path, e))?;
                    bar.inc(1);
                    Ok(())
                })
            })?;
            // The row count is known only now (a record may expire during the export): rewrite the
            // header, which has a fixed length whatever the count.
            w.flush().map_err(io)?;
            let mut file = w.into_inner().map_err(|e| io(e.into_error()))?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            npy::write_header(&mut file, n, dim).map_err(io)?;
            w = BufWriter::new(file);
            ids.flush().map_err(|e| format!("cannot write {}: {e}", ids_path.display()))?;
            if with_metadata > 0 {
                eprintln!("vecstore: note: {with_metadata} records have metadata or a TTL, which .npy does not hold; export to JSON Lines to keep them");
            }
            if !ctx.json {
                println!("ids in {}", ids_path.display());
            }
            n
        }
        Format::Fvecs => crate::cli_bail!("export writes JSON Lines or .npy, not .fvecs"),
    };
    w.flush().map_err(io)?;
    w.get_ref().sync_all().map_err(io)?;
    bar.finish_and_clear();
    target.finish_read();
    let secs = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&json!({"exported": written, "file": path.display().to_string(), "seconds": secs}));
    } else {
        println!("exported {written} records to {} in {secs:.2} s", path.display());
    }
    Ok(())
}

/// The NumPy `.npy` format, version 1.0, for little-endian float32 C-order 2-D arrays: a magic
/// string, a header length, a Python dict literal padded with spaces, then the data.
pub mod npy {
    use std::io::{Read, Write};

    const MAGIC: &[u8] = b"\x93NUMPY";
    /// Total header length written (magic, version, length, dict): fixed, so that the row count can
    /// be rewritten in place once known.
    const WRITTEN_HEADER_LEN: usize = 128;

    /// Writes a header for `rows` x `dim` float32.
    pub fn write_header(w: &mut impl Write, rows: u64, dim: usize) -> std::io::Result<()> {
        let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
        let fixed = MAGIC.len() + 2 + 2;
        let pad = WRITTEN_HEADER_LEN - fixed - dict.len() - 1;
        dict.push_str(&" ".repeat(pad));
        dict.push('\n');
        w.write_all(MAGIC)?;
        w.write_all(&[1, 0])?;
        w.write_all(&(dict.len() as u16).to_le_bytes())?;
        w.write_all(dict.as_bytes())
    }

    /// Reads the header; returns (rows, dim). Refuses anything but a little-endian float32 C-order
    /// 2-D array, saying what it found.
    pub fn read_header(r: &mut impl Read) -> Result<(u64, usize), String> {
        let mut head = [0u8; 8];
        r.read_exact(&mut head).map_err(|e| format!("not a .npy file: {e}"))?;
        if &head[..6] != MAGIC {
            return Err("not a .npy file (bad magic bytes)".into());
        }
        let len = match head[6] {
            1 => {
                let mut b = [0u8; 2];
                r.read_exact(&mut b).map_err(|e| e.to_string())?;
                u16::from_le_bytes(b) as usize
            }
            2 | 3 => {
                let mut b = [0u8; 4];
                r.read_exact(&mut b).map_err(|e| e.to_string())?;
                u32::from_le_bytes(b) as usize
            }
            v => return Err(format!(".npy format version {v} is not supported")),
        };
        if len > 1 << 20 {
            return Err(format!(".npy header of {len} bytes is not plausible"));
        }
        let mut dict = vec![0u8; len];
        r.read_exact(&mut dict).map_err(|e| format!(".npy header is cut short: {e}"))?;
        let dict = String::from_utf8_lossy(&dict).replace(' ', "");
        let field = |key: &str| -> Option<String> {
            let start = dict.find(&format!("'{key}':"))? + key.len() + 3;
            let rest = &dict[start..];
            let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
            Some(rest[..end].to_string())
        };
        let descr = field("descr").ok_or(".npy header has no 'descr'")?;
        if descr != "'<f4'" {
            return Err(format!(".npy array has dtype {descr}; vecstore imports little-endian float32 ('<f4') only (numpy: a.astype('<f4'))"));
        }
        if field("fortran_order").as_deref() != Some("False") {
            return Err(
                ".npy array is in Fortran order; save it in C order (numpy: np.ascontiguousarray(a))".into(),
            );
        }
        let shape = field("shape").ok_or(".npy header has no 'shape'")?;
        let dims: Vec<&str> =
            shape.trim_matches(|c| c == '(' || c == ')').split(',').filter(|s| !s.is_empty()).collect();
        if dims.len() != 2 {
            return Err(format!(
                ".npy array has shape {shape}; vecstore imports 2-D arrays (rows, dimension)"
            ));
        }
        let rows: u64 = dims[0].parse().map_err(|_| format!("bad .npy shape {shape}"))?;
        let dim: usize = dims[1].parse().map_err(|_| format!("bad .npy shape {shape}"))?;
        if dim == 0 || dim > 65_536 {
            return Err(format!(".npy array has dimension {dim}, outside 1..=65536"));
        }
        Ok((rows, dim))
    }
}
