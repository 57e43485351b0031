// vecstore.hpp: header-only C++17 wrapper over the vecstore C ABI (vecstore.h).
//
// Everything lives in namespace `vecstore`. Every failure is reported by throwing vecstore::Error,
// whose code() is the C `vs_status`. Every C object the wrapper receives (errors, result sets, owned
// strings, the store handle) is owned by an RAII guard, so nothing leaks when an exception is thrown.
//
// Thread safety: a Store may be used from any number of threads at once (reads run in parallel,
// writes are serialised by the library), except close(), moving from/into it, and destruction, which
// must not overlap any other call on the same Store. Free functions are thread-safe.
//
// Link with the CMake target `vecstore::vecstore` (bindings/cpp/CMakeLists.txt), which adds the
// include directories and the static library built by `cargo build --release`.

#ifndef VECSTORE_HPP
#define VECSTORE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vecstore.h"

namespace vecstore {

/// The similarity metric of a store (fixed when the store is created). Scores are always "higher is
/// more similar": cosine similarity in [-1, 1]; the dot product; 1 / (1 + d) for euclidean distance d.
enum class Metric : uint32_t {
  cosine = VS_METRIC_COSINE,        ///< Cosine similarity (vectors stored normalised; zero vector refused).
  euclidean = VS_METRIC_EUCLIDEAN,  ///< Euclidean (L2) distance; score 1 / (1 + d), in (0, 1].
  dot = VS_METRIC_DOT,              ///< Dot product; score = the dot product.
  /// No metric said (the default of Options): the store's own when reopening, cosine for a new store.
  default_metric = VS_METRIC_DEFAULT,
};

/// When a write is acknowledged (see VS_DURABILITY_* in vecstore.h).
enum class Durability : uint32_t {
  process = VS_DURABILITY_PROCESS,  ///< Handed to the OS: survives a process crash, not a power loss.
  sync = VS_DURABILITY_SYNC,        ///< Fsynced: survives a power loss; slower per write.
};

/// What opening does with a damaged log (see VS_LOG_RECOVERY_* in vecstore.h).
enum class LogRecovery : uint32_t {
  tolerate_torn_tail = VS_LOG_RECOVERY_TOLERATE_TORN_TAIL,  ///< Drop a torn tail; damage mid-log is VS_ERR_CORRUPT.
  salvage = VS_LOG_RECOVERY_SALVAGE,  ///< Keep every valid frame, skip damaged ones (their writes are lost).
};

/// Whether the graph is searched on int8 codes (see VS_QUANTIZATION_* in vecstore.h). Scores are exact
/// float32 ones either way (the final candidates are re-ranked with the float vectors).
enum class Quantization : uint32_t {
  automatic = VS_QUANTIZATION_AUTO,  ///< int8 codes from dimension 32 up, float32 traversal below.
  none = VS_QUANTIZATION_NONE,       ///< Float32 traversal only.
  int8 = VS_QUANTIZATION_INT8,       ///< int8 codes whatever the dimension.
};

/// Options for Store::open. The defaults equal vs_store_options_default().
struct Options {
  uint32_t dimension = 0;  ///< 1..=VS_MAX_DIMENSION; 0 = from the first vector or the store on disk.
  /// Fixed at creation. default_metric = the store's own when reopening (so Options{} reopens any
  /// store), cosine for a new store; reopening with another explicit metric is an error.
  Metric metric = Metric::default_metric;
  uint32_t hnsw_m = 16;             ///< HNSW graph degree M (2..=256).
  uint32_t ef_construction = 200;   ///< HNSW build-time candidate list size.
  uint32_t ef_search = 64;          ///< Default search-time candidate list size.
  Durability durability = Durability::process;  ///< When writes are acknowledged.
  uint32_t build_threads = 1;  ///< Threads a bulk insert may use: 1 = caller's thread only, 0 = one per core.
  uint64_t checkpoint_bytes = 0;  ///< Log size that triggers a checkpoint; 0 = 16 MiB, else >= 4096.
  LogRecovery log_recovery = LogRecovery::tolerate_torn_tail;  ///< Policy for a damaged log.
  Quantization quantization = Quantization::automatic;  ///< int8 codes for the graph search (this open).

  /// The equivalent C struct (starting from vs_store_options_default(), so struct_size is set).
  vs_store_options to_c() const noexcept {
    vs_store_options o = vs_store_options_default();
    o.dimension = dimension;
    o.metric = static_cast<vs_metric>(metric);
    o.hnsw_m = hnsw_m;
    o.ef_construction = ef_construction;
    o.ef_search = ef_search;
    o.durability = static_cast<vs_durability>(durability);
    o.build_threads = build_threads;
    o.checkpoint_bytes = checkpoint_bytes;
    o.log_recovery = static_cast<vs_log_recovery>(log_recovery);
    o.quantization = static_cast<vs_quantization>(quantization);
    return o;
  }
};

/// A borrowed, read-only view of contiguous floats (like std::span<const float>): lets callers pass a
/// std::vector<float>, std::array, C array, std::span, a braced list or a pointer + size without
/// copying. It does not own the floats: use it only as a function argument, never store it.
class Span {
 public:
  /// An empty view.
  constexpr Span() noexcept = default;
  /// `size` floats starting at `data` (data may be null when size is 0).
  constexpr Span(const float* data, std::size_t size) noexcept : data_(data), size_(size) {}
  /// A braced list, e.g. store.upsert("a", {1.f, 2.f}); valid for the enclosing full expression.
  /// (Delegating keeps GCC's -Winit-list-lifetime quiet: the list is used only during the call.)
  constexpr Span(std::initializer_list<float> list) noexcept : Span(list.begin(), list.size()) {}
  /// Any contiguous container of floats: std::vector<float>, std::array<float, N>, float[N], std::span.
  template <class C,
            class = std::enable_if_t<
                !std::is_same_v<std::remove_cv_t<std::remove_reference_t<C>>, Span> &&
                std::is_convertible_v<decltype(std::data(std::declval<C&>())), const float*> &&
                std::is_convertible_v<decltype(std::size(std::declval<C&>())), std::size_t>>>
  constexpr Span(C&& container) noexcept  // NOLINT(google-explicit-constructor): a view converts implicitly
      : data_(std::data(container)), size_(std::size(container)) {}

  /// First float (may be null when empty).
  constexpr const float* data() const noexcept { return data_; }
  /// Number of floats.
  constexpr std::size_t size() const noexcept { return size_; }
  /// True when there are no floats.
  constexpr bool empty() const noexcept { return size_ == 0; }
  /// Iteration support.
  constexpr const float* begin() const noexcept { return data_; }
  /// Iteration support.
  constexpr const float* end() const noexcept { return data_ + size_; }

 private:
  const float* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A search request for Store::query. The defaults equal vs_query_default().
struct Query {
  std::vector<float> vector;  ///< The query vector; its length must equal the store's dimension.
  uint32_t k = 10;            ///< How many results, 1..=VS_MAX_K.
  std::string filter;         ///< Metadata filter (see vs_query.filter); empty = none.
  uint32_t ef_search = 0;     ///< Search-time candidate list size; 0 = the store's default.
};

/// When Store::maybe_compact (and the maintenance thread) compacts: when `enabled` and at least
/// `min_deleted_records` slots are reclaimable OR at least `min_deleted_ratio` of all slots are
/// (soft-deleted and expired records, leftovers of replaced or deleted records). Saved with the
/// store. The defaults equal vs_compaction_config_default().
struct CompactionConfig {
  bool enabled = false;
  uint64_t min_deleted_records = 1000;
  double min_deleted_ratio = 0.1;
};

/// What Store::maybe_compact did.
struct CompactionResult {
  bool triggered = false;           ///< Whether it compacted.
  uint64_t removed_count = 0;       ///< Soft-deleted and expired records removed for good.
  uint64_t tombstones_removed = 0;  ///< Leftovers of replaced or deleted records reclaimed.
  double duration_ms = 0.0;         ///< Time the call took.
  std::string reason;               ///< Why it compacted or not, in plain words.
};

/// One record returned by Store::query (best first) or Store::get.
struct Result {
  std::string id;             ///< The record's id.
  float score = 0.0f;         ///< Higher = more similar (see Metric); 0 for Store::get.
  std::string metadata_json;  ///< The metadata as a JSON object text ("{}" when none).
  std::vector<float> vector;  ///< Filled by Store::get (normalised in a cosine store); empty for queries.
  /// Filled by Store::query_explain: the JSON object of vs_results_explanation_json (raw_score,
  /// distance_metric, filter_passed, filter_details, graph_stats, rank, explanation_text); empty
  /// otherwise.
  std::string explanation_json;
};

/// What a BatchOp does (the VS_BATCH_* kinds).
enum class BatchOpKind : uint32_t {
  upsert = VS_BATCH_UPSERT,                    ///< id, vector, metadata_json, ttl_seconds (0 = never)
  remove = VS_BATCH_DELETE,                    ///< id (delete for good)
  soft_delete = VS_BATCH_SOFT_DELETE,          ///< id
  restore = VS_BATCH_RESTORE,                  ///< id
  update_metadata = VS_BATCH_UPDATE_METADATA,  ///< id, metadata_json (empty = none)
  set_ttl = VS_BATCH_SET_TTL,                  ///< id, ttl_seconds (0 = remove the expiry)
};

/// One operation of Store::batch_execute. Fields an operation does not use are ignored.
struct BatchOp {
  BatchOpKind op = BatchOpKind::upsert;
  std::string id;
  std::vector<float> vector;
  std::string metadata_json;  ///< empty = none
  uint64_t ttl_seconds = 0;
};

/// Why one operation of a batch failed.
struct BatchError {
  std::size_t index = 0;   ///< Position of the operation in the batch.
  std::string operation;   ///< Such as "soft_delete(doc3)".
  vs_status code = VS_OK;  ///< The status the operation alone would have returned.
  std::string message;
};

/// The outcome of Store::batch_execute.
struct BatchResult {
  std::size_t succeeded = 0;
  std::size_t failed = 0;
  std::vector<BatchError> errors;
  double duration_ms = 0.0;
};

/// The exception thrown by every failing vecstore call. what() is "<STATUS_NAME>: <message>".
class Error : public std::runtime_error {
 public:
  /// An error with a status code and a human-readable message.
  Error(vs_status code, const std::string& message)
      : std::runtime_error(std::string(vs_status_name(static_cast<int>(code))) + ": " + message), code_(code) {}
  /// The C status code (never VS_OK).
  vs_status code() const noexcept { return code_; }
  /// The status code's name, e.g. "VS_ERR_NOT_FOUND" (static string).
  const char* status_name() const noexcept { return vs_status_name(static_cast<int>(code_)); }

 private:
  vs_status code_;
};

/// The library's version, "MAJOR.MINOR.PATCH". Compare with VS_VERSION_* from the header if needed.
inline std::string version() { return vs_version(); }

/// The library's ABI version; a program should check `abi_version() == VS_ABI_VERSION` at start-up.
inline uint32_t abi_version() noexcept { return vs_abi_version(); }

namespace detail {

/// Deleters calling the matching C free functions (all accept NULL).
struct ResultsFree {
  void operator()(vs_results* r) const noexcept { vs_results_free(r); }
};
struct StringFree {
  void operator()(char* s) const noexcept { vs_string_free(s); }
};
struct BatchResultFree {
  void operator()(vs_batch_result* r) const noexcept { vs_batch_result_free(r); }
};
struct StoreClose {
  void operator()(vs_store* s) const noexcept { vs_store_close(s); }
};

using ResultsPtr = std::unique_ptr<vs_results, ResultsFree>;
using StringPtr = std::unique_ptr<char, StringFree>;

/// Receives a `vs_error*` from a C call and frees it whatever happens. Use: `ErrorSlot e;
/// e.check(vs_fn(..., e.out()));`.
class ErrorSlot {
 public:
  ErrorSlot() noexcept = default;
  ErrorSlot(const ErrorSlot&) = delete;
  ErrorSlot& operator=(const ErrorSlot&) = delete;
  ~ErrorSlot() { vs_error_free(raw_); }

  vs_error** out() noexcept { return &raw_; }

  /// Throws Error when `status` is not VS_OK (the vs_error is freed either way, by the destructor).
  void check(vs_status status) const {
    if (status == VS_OK) return;
    throw Error(status, raw_ != nullptr ? std::string(vs_error_message(raw_)) : std::string("(no message)"));
  }

 private:
  vs_error* raw_ = nullptr;
};

/// Copies `s` into a NUL-terminated string, refusing embedded NUL bytes (C would silently truncate).
inline std::string c_string(std::string_view s, const char* what) {
  const std::size_t nul = s.find('\0');
  if (nul != std::string_view::npos) {
    throw Error(VS_ERR_INVALID_ARGUMENT,
                std::string(what) + " contains a NUL byte at offset " + std::to_string(nul));
  }
  return std::string(s);
}

/// Converts rows of a result set into Results (vectors only when `with_vectors`).
inline std::vector<Result> to_results(const vs_results* r, bool with_vectors) {
  const std::size_t n = vs_results_len(r);
  std::vector<Result> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Result row;
    if (const char* id = vs_results_id(r, i)) row.id = id;
    row.score = vs_results_score(r, i);
    if (const char* meta = vs_results_metadata_json(r, i)) row.metadata_json = meta;
    if (with_vectors) {
      std::size_t dim = 0;
      if (const float* v = vs_results_vector(r, i, &dim)) row.vector.assign(v, v + dim);
    }
    if (const char* ex = vs_results_explanation_json(r, i)) row.explanation_json = ex;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace detail

/// An open store: a move-only RAII owner of a `vs_store*`, closed by the destructor.
///
/// Thread safety: every method may be called from any number of threads at once on the same Store,
/// except close(), move construction/assignment and destruction, which must not run concurrently with
/// any other call on it. A closed, moved-from or default-constructed Store throws
/// Error(VS_ERR_INVALID_ARGUMENT) from every method except close(), is_open() and native_handle().
class Namespaces;

class Store {
 public:
  /// A closed store (useful as a placeholder to move an opened one into).
  Store() noexcept = default;
  /// Move-only: moving leaves `other` closed. Not copyable.
  Store(Store&& other) noexcept = default;
  /// Closes the current store (if any), then takes over `other`'s; `other` is left closed.
  Store& operator=(Store&& other) noexcept = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  /// Closes the store (flushing it); errors while closing are not reported: call flush() first.
  ~Store() = default;

  /// Opens (creating if needed) the store in directory `path` with `options`. Throws Error:
  /// VS_ERR_LOCKED when the directory is already open (by this process or another), VS_ERR_CORRUPT,
  /// VS_ERR_IO, VS_ERR_INVALID_ARGUMENT (bad options, or the store on disk has another metric),
  /// VS_ERR_DIMENSION_MISMATCH (the store on disk has another dimension).
  static Store open(const std::string& path, const Options& options) {
    const vs_store_options opts = options.to_c();
    return open_impl(path, &opts);
  }

  /// Opens the store in directory `path` with NULL options: all defaults for a new store, and an
  /// existing store's own dimension and metric (so it reopens any store, as Options{} does).
  /// Throws Error as the overload above.
  static Store open(const std::string& path) { return open_impl(path, nullptr); }

  /// Closes the store now: flushes, releases the directory lock. Idempotent (a no-op when already
  /// closed). Errors while closing are not reported: call flush() first to see them.
  void close() noexcept { handle_.reset(); }

  /// True until close(), a move from this store, or for a default-constructed Store.
  bool is_open() const noexcept { return handle_ != nullptr; }
  /// Same as is_open().
  explicit operator bool() const noexcept { return is_open(); }

  /// The underlying C handle (still owned by this Store; null when closed), to call C functions the
  /// wrapper does not cover yet. Do not close it.
  vs_store* native_handle() const noexcept { return handle_.get(); }

  /// Inserts the record `id`, or replaces it (vector and metadata). `metadata_json`: empty = none,
  /// otherwise a JSON object. Throws Error (the store is then unchanged): VS_ERR_INVALID_ARGUMENT
  /// (empty/too long id or a NUL in it, NaN/inf, zero vector in a cosine store, bad JSON),
  /// VS_ERR_DIMENSION_MISMATCH, VS_ERR_IO.
  void upsert(std::string_view id, Span vector, std::string_view metadata_json = {}) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const std::string c_meta = detail::c_string(metadata_json, "metadata_json");
    detail::ErrorSlot err;
    err.check(vs_store_upsert(h, c_id.c_str(), vector.data(), vector.size(),
                              c_meta.empty() ? nullptr : c_meta.c_str(), err.out()));
  }

  /// Same as upsert(id, Span(data, size), metadata_json).
  void upsert(std::string_view id, const float* data, std::size_t size, std::string_view metadata_json = {}) {
    upsert(id, Span(data, size), metadata_json);
  }

  /// Inserts or replaces ids.size() records in one write, all or nothing. `flat_vectors` holds
  /// ids.size() * dim floats, row-major. `metadata_json` is empty (no metadata) or has one entry per
  /// id (an empty entry = none). Within one call a later duplicate id wins. Throws Error: as upsert;
  /// VS_ERR_INVALID_ARGUMENT also when the sizes disagree.
  void upsert_many(const std::vector<std::string>& ids, Span flat_vectors, std::size_t dim,
                   const std::vector<std::string>& metadata_json = {}) {
    vs_store* h = checked_handle();
    const std::size_t n = ids.size();
    if (dim != 0 && n > static_cast<std::size_t>(-1) / dim) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "ids.size() * dim overflows");
    }
    if (flat_vectors.size() != n * dim) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "flat_vectors has " + std::to_string(flat_vectors.size()) +
                                               " floats, expected ids.size() * dim = " + std::to_string(n) +
                                               " * " + std::to_string(dim));
    }
    if (!metadata_json.empty() && metadata_json.size() != n) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "metadata_json has " + std::to_string(metadata_json.size()) +
                                               " entries, expected 0 or " + std::to_string(n));
    }
    std::vector<const char*> c_ids(n);
    for (std::size_t i = 0; i < n; ++i) {
      check_no_nul(ids[i], "ids", i);
      c_ids[i] = ids[i].c_str();
    }
    std::vector<const char*> c_meta;
    if (!metadata_json.empty()) {
      c_meta.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        check_no_nul(metadata_json[i], "metadata_json", i);
        c_meta[i] = metadata_json[i].empty() ? nullptr : metadata_json[i].c_str();
      }
    }
    detail::ErrorSlot err;
    err.check(vs_store_upsert_many(h, n, c_ids.data(), flat_vectors.data(), dim,
                                   c_meta.empty() ? nullptr : c_meta.data(), err.out()));
  }

  /// Same as the flat overload, with one vector per id; all rows must have the same length
  /// (otherwise Error(VS_ERR_DIMENSION_MISMATCH)). Copies the rows into one buffer.
  void upsert_many(const std::vector<std::string>& ids, const std::vector<std::vector<float>>& vectors,
                   const std::vector<std::string>& metadata_json = {}) {
    checked_handle();
    if (vectors.size() != ids.size()) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "vectors has " + std::to_string(vectors.size()) +
                                               " rows, ids has " + std::to_string(ids.size()));
    }
    const std::size_t dim = vectors.empty() ? 0 : vectors.front().size();
    std::vector<float> flat;
    flat.reserve(vectors.size() * dim);
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      if (vectors[i].size() != dim) {
        throw Error(VS_ERR_DIMENSION_MISMATCH, "vectors[" + std::to_string(i) + "] has " +
                                                   std::to_string(vectors[i].size()) + " floats, vectors[0] has " +
                                                   std::to_string(dim));
      }
      flat.insert(flat.end(), vectors[i].begin(), vectors[i].end());
    }
    upsert_many(ids, Span(flat), dim, metadata_json);
  }

  /// The record `id`, with its metadata and vector (score 0). Throws Error: VS_ERR_NOT_FOUND,
  /// VS_ERR_INVALID_ARGUMENT (bad id).
  Result get(std::string_view id) const {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    vs_results* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_get(h, c_id.c_str(), &raw, err.out()));
    const detail::ResultsPtr results(raw);
    std::vector<Result> rows = detail::to_results(results.get(), true);
    if (rows.size() != 1) {
      throw Error(VS_ERR_INTERNAL, "vs_store_get returned " + std::to_string(rows.size()) + " rows, expected 1");
    }
    return std::move(rows.front());
  }

  /// Deletes the record `id` for good. Throws Error: VS_ERR_NOT_FOUND (nothing changes),
  /// VS_ERR_INVALID_ARGUMENT, VS_ERR_IO. (Named remove because delete is a C++ keyword.)
  void remove(std::string_view id) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_store_delete(h, c_id.c_str(), err.out()));
  }

  /// Hides a live record from every read until restore(); its space is kept until compaction.
  /// Throws Error: VS_ERR_NOT_FOUND (no live record with this id; nothing changes),
  /// VS_ERR_INVALID_ARGUMENT, VS_ERR_IO.
  void soft_delete(std::string_view id) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_store_soft_delete(h, c_id.c_str(), err.out()));
  }

  /// Undoes a soft delete (a no-op for a live record). Throws Error: VS_ERR_NOT_FOUND,
  /// VS_ERR_QUOTA_EXCEEDED (in a namespace), VS_ERR_INVALID_ARGUMENT, VS_ERR_IO.
  void restore(std::string_view id) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_store_restore(h, c_id.c_str(), err.out()));
  }

  /// Replaces the metadata of a live record (empty = none). Throws Error: VS_ERR_NOT_FOUND,
  /// VS_ERR_INVALID_ARGUMENT (bad JSON), VS_ERR_QUOTA_EXCEEDED, VS_ERR_IO.
  void update_metadata(std::string_view id, std::string_view metadata_json) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const std::string c_meta = detail::c_string(metadata_json, "metadata_json");
    detail::ErrorSlot err;
    err.check(vs_store_update_metadata(h, c_id.c_str(), c_meta.empty() ? nullptr : c_meta.c_str(), err.out()));
  }

  /// upsert() of a record that expires `ttl_seconds` from now (0 = never; rounded up to whole
  /// seconds). Throws as upsert(), and VS_ERR_INVALID_ARGUMENT above VS_MAX_TTL_SECONDS.
  void upsert_with_ttl(std::string_view id, Span vector, std::string_view metadata_json, uint64_t ttl_seconds) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const std::string c_meta = detail::c_string(metadata_json, "metadata_json");
    detail::ErrorSlot err;
    err.check(vs_store_upsert_with_ttl(h, c_id.c_str(), vector.data(), vector.size(),
                                       c_meta.empty() ? nullptr : c_meta.c_str(), ttl_seconds, err.out()));
  }

  /// Makes a live record expire `ttl_seconds` from now; 0 removes its expiry. Throws Error:
  /// VS_ERR_NOT_FOUND (an expired record counts as gone), VS_ERR_INVALID_ARGUMENT, VS_ERR_IO.
  void set_ttl(std::string_view id, uint64_t ttl_seconds) {
    vs_store* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_store_set_ttl(h, c_id.c_str(), ttl_seconds, err.out()));
  }

  /// Deletes every expired record for good; returns how many. Throws Error(VS_ERR_IO).
  uint64_t expire_ttl_records() {
    vs_store* h = checked_handle();
    uint64_t n = 0;
    detail::ErrorSlot err;
    err.check(vs_store_expire_ttl_records(h, &n, err.out()));
    return n;
  }

  /// Applies `ops` in order under one write lock and one log append. An operation that fails on its
  /// own is reported in the result's errors and the others are applied. Throws Error (nothing
  /// applied) for a batch refused as a whole: VS_ERR_INVALID_ARGUMENT (a NUL byte in an id or
  /// metadata, an unknown op kind), VS_ERR_QUOTA_EXCEEDED, VS_ERR_IO.
  BatchResult batch_execute(const std::vector<BatchOp>& ops) {
    vs_store* h = checked_handle();
    std::vector<std::string> ids, metas;
    ids.reserve(ops.size());
    metas.reserve(ops.size());
    std::vector<vs_batch_op> c_ops(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const BatchOp& op = ops[i];
      ids.push_back(detail::c_string(op.id, "BatchOp::id"));
      metas.push_back(detail::c_string(op.metadata_json, "BatchOp::metadata_json"));
      vs_batch_op& c = c_ops[i];
      c.kind = static_cast<vs_batch_op_kind>(op.op);
      c.id = ids.back().c_str();
      c.vector = op.vector.empty() ? nullptr : op.vector.data();
      c.dim = op.vector.size();
      c.metadata_json = metas.back().empty() ? nullptr : metas.back().c_str();
      c.ttl_seconds = op.ttl_seconds;
    }
    vs_batch_result* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_batch_execute(h, c_ops.empty() ? nullptr : c_ops.data(), c_ops.size(), &raw, err.out()));
    const std::unique_ptr<vs_batch_result, detail::BatchResultFree> r(raw);
    BatchResult out;
    out.succeeded = vs_batch_result_succeeded(r.get());
    out.failed = vs_batch_result_failed(r.get());
    out.duration_ms = vs_batch_result_duration_ms(r.get());
    for (std::size_t i = 0; i < vs_batch_result_error_count(r.get()); ++i) {
      BatchError e;
      e.index = vs_batch_result_error_index(r.get(), i);
      e.code = vs_batch_result_error_code(r.get(), i);
      if (const char* s = vs_batch_result_error_operation(r.get(), i)) e.operation = s;
      if (const char* s = vs_batch_result_error_message(r.get(), i)) e.message = s;
      out.errors.push_back(std::move(e));
    }
    return out;
  }

  /// A batch in the JSON shape of the HTTP API (see vs_store_batch_execute_json); returns the
  /// result as JSON text. Throws Error(VS_ERR_INVALID_ARGUMENT) for malformed JSON or an unknown op
  /// (nothing applied), VS_ERR_QUOTA_EXCEEDED, VS_ERR_IO.
  std::string batch_execute_json(std::string_view request_json) {
    vs_store* h = checked_handle();
    const std::string c_req = detail::c_string(request_json, "request_json");
    char* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_batch_execute_json(h, c_req.c_str(), &raw, err.out()));
    const detail::StringPtr json(raw);
    return json ? std::string(json.get()) : std::string();
  }

  /// The number of live records.
  uint64_t count() const {
    vs_store* h = checked_handle();
    uint64_t live = 0;
    detail::ErrorSlot err;
    err.check(vs_store_count(h, &live, err.out()));
    return live;
  }

  /// A JSON object describing the store: see vs_store_stats_json ("count", "dimension", "metric",
  /// "log_bytes", "soft_deleted", "expired", "tombstones", "storage_bytes", "replayed_frames",
  /// "replay_dropped_bytes", "replay_damaged_regions", "maintenance").
  std::string stats_json() const {
    vs_store* h = checked_handle();
    char* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_stats_json(h, &raw, err.out()));
    const detail::StringPtr json(raw);
    return json ? std::string(json.get()) : std::string();
  }

  /// Fsyncs everything written so far (survives a power loss). Throws Error(VS_ERR_IO).
  void flush() {
    vs_store* h = checked_handle();
    detail::ErrorSlot err;
    err.check(vs_store_flush(h, err.out()));
  }

  /// The q.k records most similar to q.vector, best (highest score) first; fewer only when the store
  /// holds fewer. Throws Error: VS_ERR_INVALID_ARGUMENT (k = 0 or > VS_MAX_K, NaN/inf, zero vector in
  /// a cosine store, a filter that is not UTF-8), VS_ERR_DIMENSION_MISMATCH, VS_ERR_FILTER_SYNTAX.
  std::vector<Result> query(const Query& q) const {
    return query(Span(q.vector), q.k, q.filter, q.ef_search);
  }

  /// Same as query(Query{...}) without copying the vector. `filter`: empty = none.
  std::vector<Result> query(Span vector, uint32_t k = 10, std::string_view filter = {},
                            uint32_t ef_search = 0) const {
    vs_store* h = checked_handle();
    const std::string c_filter = detail::c_string(filter, "filter");
    vs_query q = vs_query_default();
    q.vector = vector.data();
    q.dim = vector.size();
    q.k = k;
    q.filter = c_filter.empty() ? nullptr : c_filter.c_str();
    q.ef_search = ef_search;
    vs_results* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_query(h, &q, &raw, err.out()));
    const detail::ResultsPtr results(raw);
    return detail::to_results(results.get(), false);
  }

  /// Same as query(Span(data, size), k, filter, ef_search).
  std::vector<Result> query(const float* data, std::size_t size, uint32_t k = 10, std::string_view filter = {},
                            uint32_t ef_search = 0) const {
    return query(Span(data, size), k, filter, ef_search);
  }

  /// Compacts now, whatever the configuration; returns the number of soft-deleted and expired
  /// records removed for good. Queries keep running meanwhile; writes wait. A crash during
  /// compaction leaves the store either as it was or compacted. Throws Error(VS_ERR_IO).
  uint64_t compact() {
    vs_store* h = checked_handle();
    uint64_t removed = 0;
    detail::ErrorSlot err;
    err.check(vs_store_compact(h, &removed, err.out()));
    return removed;
  }

  /// Sets when maybe_compact() compacts and saves it with the store. Throws Error:
  /// VS_ERR_INVALID_ARGUMENT (min_deleted_ratio outside [0, 1] or NaN), VS_ERR_IO.
  void set_compaction_config(const CompactionConfig& config) {
    vs_store* h = checked_handle();
    vs_compaction_config c = vs_compaction_config_default();
    c.enabled = config.enabled;
    c.min_deleted_records = config.min_deleted_records;
    c.min_deleted_ratio = config.min_deleted_ratio;
    detail::ErrorSlot err;
    err.check(vs_store_set_compaction_config(h, &c, err.out()));
  }

  /// The store's compaction settings.
  CompactionConfig compaction_config() const {
    vs_store* h = checked_handle();
    vs_compaction_config c = vs_compaction_config_default();
    detail::ErrorSlot err;
    err.check(vs_store_get_compaction_config(h, &c, err.out()));
    return CompactionConfig{c.enabled, c.min_deleted_records, c.min_deleted_ratio};
  }

  /// Compacts if the configuration says so. Not compacting is not an error: `triggered` is false
  /// and `reason` says why. Throws Error(VS_ERR_IO).
  CompactionResult maybe_compact() {
    vs_store* h = checked_handle();
    vs_compaction_result r = vs_compaction_result_default();
    detail::ErrorSlot err;
    err.check(vs_store_maybe_compact(h, &r, err.out()));
    return CompactionResult{r.triggered, r.removed_count, r.tombstones_removed, r.duration_ms, std::string(r.reason)};
  }

  /// Starts the store's maintenance thread (off unless started): every `interval` it deletes
  /// expired records and runs maybe_compact(). One per store: starting again replaces it. It stops
  /// on stop_maintenance(), close() and destruction. Errors inside it never stop it; they show in
  /// stats_json() under "maintenance". Throws Error(VS_ERR_INVALID_ARGUMENT) for an interval below
  /// 1 ms or above 2^32 ms.
  void start_maintenance(std::chrono::milliseconds interval) {
    vs_store* h = checked_handle();
    if (interval.count() < 1 || interval.count() > 0xFFFFFFFFLL) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "the maintenance interval must be between 1 ms and 2^32 ms");
    }
    detail::ErrorSlot err;
    err.check(vs_store_start_maintenance(h, static_cast<uint32_t>(interval.count()), err.out()));
  }

  /// Stops the maintenance thread and waits for it (at most the run in progress); a no-op when none
  /// runs.
  void stop_maintenance() {
    vs_store* h = checked_handle();
    detail::ErrorSlot err;
    err.check(vs_store_stop_maintenance(h, err.out()));
  }

  /// Runs q exactly as query(q) does (the same results in the same order with the same scores, the
  /// same errors) and fills each Result's explanation_json (see vs_results_explanation_json): raw
  /// score, metric, which filter conditions the row satisfies, the plan and the distance
  /// calculations and nodes visited counted during the search, rank and a one-line text.
  std::vector<Result> query_explain(const Query& q) const {
    vs_store* h = checked_handle();
    const std::string c_filter = detail::c_string(q.filter, "filter");
    const vs_query cq = c_query(q, c_filter);
    vs_results* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_query_explain(h, &cq, &raw, err.out()));
    const detail::ResultsPtr results(raw);
    return detail::to_results(results.get(), false);
  }

  /// Validates q and estimates its cost without running it; returns the JSON object of
  /// vs_store_estimate_query_json: valid, errors, error_codes, cost_estimate (0..1),
  /// estimated_distance_calculations, estimated_nodes_visited, will_overfetch, recommendations,
  /// estimated_duration_ms, plan ("exact_scan", "graph", "empty"; null when invalid), plan_reason,
  /// estimated_selectivity, estimated_matches, ef_search, calibration_ms. A query that query()
  /// would refuse gives "valid":false with the reasons, not an exception; throws Error only for a
  /// closed store or a filter holding a NUL byte (VS_ERR_INVALID_ARGUMENT).
  std::string estimate_query(const Query& q) const {
    vs_store* h = checked_handle();
    const std::string c_filter = detail::c_string(q.filter, "filter");
    const vs_query cq = c_query(q, c_filter);
    char* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_estimate_query_json(h, &cq, &raw, err.out()));
    const detail::StringPtr json(raw);
    return json ? std::string(json.get()) : std::string();
  }

 private:
  /// The vs_query of q; borrows q.vector and c_filter (which must outlive it).
  static vs_query c_query(const Query& q, const std::string& c_filter) noexcept {
    vs_query cq = vs_query_default();
    cq.vector = q.vector.empty() ? nullptr : q.vector.data();
    cq.dim = q.vector.size();
    cq.k = q.k;
    cq.filter = c_filter.empty() ? nullptr : c_filter.c_str();
    cq.ef_search = q.ef_search;
    return cq;
  }

  static Store open_impl(const std::string& path, const vs_store_options* opts) {
    const std::string c_path = detail::c_string(path, "path");
    vs_store* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_store_open(c_path.c_str(), opts, &raw, err.out()));
    Store s;
    s.handle_.reset(raw);
    return s;
  }

  vs_store* checked_handle() const {
    if (!handle_) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "the vecstore::Store is closed (closed, moved from, or never opened)");
    }
    return handle_.get();
  }

  static void check_no_nul(const std::string& s, const char* what, std::size_t i) {
    const std::size_t nul = s.find('\0');
    if (nul != std::string::npos) {
      throw Error(VS_ERR_INVALID_ARGUMENT, std::string(what) + "[" + std::to_string(i) +
                                               "] contains a NUL byte at offset " + std::to_string(nul));
    }
  }

  friend class Namespaces;  // adopts the handles of vs_namespace_store

  std::unique_ptr<vs_store, detail::StoreClose> handle_;
};

/// The quotas of a namespace (vs_quotas without struct_size). 0 = unlimited for each.
struct Quotas {
  /// Live records the namespace may hold; replacing a record is not growth.
  uint64_t max_vectors = 0;
  /// Bytes the namespace's store may hold on disk (backups not included).
  uint64_t max_storage_bytes = 0;
  /// Data calls per second through the namespace's stores (token bucket of capacity max(1, rate));
  /// finite and >= 0.
  double max_requests_per_second = 0.0;

  vs_quotas to_c() const noexcept {
    vs_quotas q = vs_quotas_default();
    q.max_vectors = max_vectors;
    q.max_storage_bytes = max_storage_bytes;
    q.max_requests_per_second = max_requests_per_second;
    return q;
  }
};

/// Whether a namespace serves data calls.
enum class NamespaceStatus : uint32_t {
  active = VS_NAMESPACE_ACTIVE,
  /// Every data call fails with Error(VS_ERR_NAMESPACE_SUSPENDED).
  suspended = VS_NAMESPACE_SUSPENDED,
};

namespace detail {
struct NamespacesClose {
  void operator()(vs_namespaces* m) const noexcept { vs_namespaces_close(m); }
};
}  // namespace detail

/// A namespace manager: many isolated stores under one root directory. A move-only RAII owner of a
/// `vs_namespaces*`, closed by the destructor. Descriptions and statistics come back as the C
/// functions' JSON text (see vecstore.h for their shapes), so no JSON library is imposed.
///
/// Thread safety: every method may be called from any number of threads at once, and at the same
/// time as calls on the Stores it returned, except close(), moves and destruction. Stores obtained
/// from store() stay valid objects after the manager is closed; their calls then throw
/// Error(VS_ERR_NOT_FOUND).
class Namespaces {
 public:
  Namespaces() noexcept = default;
  Namespaces(Namespaces&&) noexcept = default;
  Namespaces& operator=(Namespaces&&) noexcept = default;
  Namespaces(const Namespaces&) = delete;
  Namespaces& operator=(const Namespaces&) = delete;
  ~Namespaces() = default;

  /// Opens (creating if needed) the manager of directory `root`; `defaults` are the store options
  /// of every namespace created. Throws Error: VS_ERR_LOCKED (root already open by a manager),
  /// VS_ERR_CORRUPT (damaged or missing registry), VS_ERR_IO, VS_ERR_INVALID_ARGUMENT.
  static Namespaces open(const std::string& root, const Options& defaults) {
    const vs_store_options opts = defaults.to_c();
    return open_impl(root, &opts);
  }
  /// Same with the default store options.
  static Namespaces open(const std::string& root) { return open_impl(root, nullptr); }

  /// Closes every namespace's store and releases the root. Idempotent.
  void close() noexcept { handle_.reset(); }
  bool is_open() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return is_open(); }
  vs_namespaces* native_handle() const noexcept { return handle_.get(); }

  /// How many namespace stores stay open at once (default VS_DEFAULT_MAX_OPEN_STORES); past it the
  /// least recently used idle store is closed and reopens on its next use. Throws
  /// Error(VS_ERR_INVALID_ARGUMENT) for 0.
  void set_max_open_stores(std::size_t max) {
    vs_namespaces* h = checked_handle();
    detail::ErrorSlot err;
    err.check(vs_namespaces_set_max_open_stores(h, max, err.out()));
  }

  /// Creates namespace `id` (letters, digits, '-', '_', '.', not leading '.', 1..=64 bytes).
  /// Throws Error: VS_ERR_INVALID_ARGUMENT, VS_ERR_ALREADY_EXISTS, VS_ERR_IO.
  void create(std::string_view id, std::string_view name = {}, const Quotas& quotas = {}) {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const std::string c_name = detail::c_string(name, "name");
    const vs_quotas q = quotas.to_c();
    detail::ErrorSlot err;
    err.check(vs_namespace_create(h, c_id.c_str(), c_name.c_str(), &q, err.out()));
  }

  /// A Store over namespace `id`'s data (all Store methods work, subject to the namespace's status,
  /// quotas and rate limit). After restore() it serves the restored data; after remove() its calls
  /// throw Error(VS_ERR_NOT_FOUND). Throws Error: VS_ERR_INVALID_ARGUMENT, VS_ERR_NOT_FOUND.
  Store store(std::string_view id) const {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    vs_store* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_namespace_store(h, c_id.c_str(), &raw, err.out()));
    Store s;
    s.handle_.reset(raw);
    return s;
  }

  /// `{"namespaces":[{"id":..,"name":..,"status":..,"created_at":..,"quotas":{..}}, ...]}`.
  std::string list_json() const {
    vs_namespaces* h = checked_handle();
    return json_call([&](char** out, vs_error** e) { return vs_namespace_list_json(h, out, e); });
  }

  /// One namespace, as an element of list_json(). Throws Error(VS_ERR_NOT_FOUND).
  std::string get_json(std::string_view id) const {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    return json_call([&](char** out, vs_error** e) { return vs_namespace_get_json(h, c_id.c_str(), out, e); });
  }

  /// Replaces namespace `id`'s quotas. Throws Error: VS_ERR_INVALID_ARGUMENT, VS_ERR_NOT_FOUND.
  void update_quotas(std::string_view id, const Quotas& quotas) {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const vs_quotas q = quotas.to_c();
    detail::ErrorSlot err;
    err.check(vs_namespace_update_quotas(h, c_id.c_str(), &q, err.out()));
  }

  /// Suspends or reactivates namespace `id`. Throws Error(VS_ERR_NOT_FOUND).
  void set_status(std::string_view id, NamespaceStatus status) {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_namespace_set_status(h, c_id.c_str(), static_cast<vs_namespace_status>(status), err.out()));
  }

  /// Usage: `{"id","vector_count","deleted_count","expired_count","storage_bytes","created_at","last_activity_at",
  /// "requests":{"query"|"read"|"write"|"maintenance":{"served","refused"}}}`.
  std::string stats_json(std::string_view id) const {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    return json_call([&](char** out, vs_error** e) { return vs_namespace_stats_json(h, c_id.c_str(), out, e); });
  }

  /// Deletes namespace `id`, its data and its backups (`delete` is a keyword). Stores obtained for
  /// it then throw Error(VS_ERR_NOT_FOUND). Throws Error(VS_ERR_NOT_FOUND).
  void remove(std::string_view id) {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    detail::ErrorSlot err;
    err.check(vs_namespace_delete(h, c_id.c_str(), err.out()));
  }

  /// Takes a consistent backup of namespace `id` named `name` while it keeps serving. Throws Error:
  /// VS_ERR_INVALID_ARGUMENT, VS_ERR_NOT_FOUND, VS_ERR_ALREADY_EXISTS, VS_ERR_IO, VS_ERR_CORRUPT.
  void backup(std::string_view id, std::string_view name) { id_name_call(id, name, vs_namespace_backup); }

  /// `{"backups":[{"name":..,"created_at":..,"vector_count":..}, ...]}`, oldest first.
  std::string list_backups_json(std::string_view id) const {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    return json_call(
        [&](char** out, vs_error** e) { return vs_namespace_list_backups_json(h, c_id.c_str(), out, e); });
  }

  /// Replaces namespace `id`'s data with backup `name` (every Store for it then sees the restored
  /// data). Throws Error: VS_ERR_NOT_FOUND, VS_ERR_IO, VS_ERR_CORRUPT.
  void restore(std::string_view id, std::string_view name) { id_name_call(id, name, vs_namespace_restore); }

  /// Deletes backup `name` of namespace `id`. Throws Error(VS_ERR_NOT_FOUND).
  void delete_backup(std::string_view id, std::string_view name) {
    id_name_call(id, name, vs_namespace_delete_backup);
  }

 private:
  static Namespaces open_impl(const std::string& root, const vs_store_options* opts) {
    const std::string c_root = detail::c_string(root, "root");
    vs_namespaces* raw = nullptr;
    detail::ErrorSlot err;
    err.check(vs_namespaces_open(c_root.c_str(), opts, &raw, err.out()));
    Namespaces m;
    m.handle_.reset(raw);
    return m;
  }

  vs_namespaces* checked_handle() const {
    if (!handle_) {
      throw Error(VS_ERR_INVALID_ARGUMENT, "the vecstore::Namespaces is closed (closed, moved from, or never opened)");
    }
    return handle_.get();
  }

  template <class F>
  static std::string json_call(F&& f) {
    char* raw = nullptr;
    detail::ErrorSlot err;
    err.check(f(&raw, err.out()));
    const detail::StringPtr text(raw);
    return std::string(text.get());
  }

  void id_name_call(std::string_view id, std::string_view name,
                    vs_status (*fn)(vs_namespaces*, const char*, const char*, vs_error**)) {
    vs_namespaces* h = checked_handle();
    const std::string c_id = detail::c_string(id, "id");
    const std::string c_name = detail::c_string(name, "backup name");
    detail::ErrorSlot err;
    err.check(fn(h, c_id.c_str(), c_name.c_str(), err.out()));
  }

  std::unique_ptr<vs_namespaces, detail::NamespacesClose> handle_;
};

}  // namespace vecstore

#endif  // VECSTORE_HPP
