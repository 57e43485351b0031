// Package vecstore is the Go binding of vecstore, an embeddable vector store written in Rust and
// exposed through a C ABI (include/vecstore.h at the repository root, whose comments are the
// reference for every behaviour this package wraps).
//
// # Building
//
// The package links the static library built by cargo. Build it first, once, at the repository
// root:
//
//	cargo build --release
//
// This produces target/release/libvecstore.a, which the cgo directives of this package link
// (together with -lpthread -ldl -lm -lrt -lutil). cgo must be enabled (CGO_ENABLED=1, the default
// when a C compiler is installed). Rebuild the library after pulling changes to the Rust sources:
// [Open] refuses to work when the library's ABI version differs from the header's.
//
// # Usage
//
//	opts := vecstore.DefaultOptions()
//	opts.Dimension = 3
//	opts.Metric = vecstore.Cosine
//	s, err := vecstore.Open("/path/to/store", &opts)
//	if err != nil { ... }
//	defer s.Close()
//	err = s.Upsert("doc-1", []float32{1, 0, 0}, map[string]any{"title": "first"})
//	hits, err := s.Query(vecstore.Query{Vector: []float32{1, 0.1, 0}, K: 5})
//	for _, h := range hits {
//		fmt.Println(h.ID, h.Score, h.Metadata["title"])
//	}
//
// Build [Options] from [DefaultOptions] (or pass nil to [Open]) so that fields get the library's
// defaults: the fields map one to one onto the C struct vs_store_options, so the zero value of
// Options is refused (M, EfConstruction and EfSearch must not be 0). The metric is fixed when a
// store is created; [DefaultOptions] (Metric [DefaultMetric]) and a nil opts both reopen a store
// with its own metric, and an explicit other metric is refused.
//
// # Scores
//
// Higher is more similar for every metric: [Cosine] gives the cosine similarity in [-1, 1] (vectors
// are stored normalised to unit length, and [Store.Get] returns the normalised vector); [Dot] gives
// the dot product; [Euclidean] gives 1 / (1 + d), d being the true (not squared) distance.
//
// # Metadata
//
// Metadata is a map[string]any marshalled with encoding/json. Values must be strings, numbers,
// booleans, nil, or slices of those; anything else (a nested map, a channel, a NaN) is refused with
// an error matching [ErrInvalidArgument]. Metadata read back ([Result.Metadata]) is decoded by
// encoding/json into map[string]any, so numbers come back as float64 (an int 3 written comes back
// as float64(3), and integers beyond ±2^53 lose precision: store such values as strings). A record
// without metadata has a nil Metadata map. Note that encoding/json replaces invalid UTF-8 in
// metadata strings with U+FFFD, whereas an id that is not valid UTF-8 is refused.
//
// # Errors
//
// Every failure is an [*Error] carrying a [Status] code and the library's message. Compare with
// errors.Is against the sentinels ([ErrNotFound], [ErrDimensionMismatch], ...): (*Error).Is compares
// codes only. A [Store] used after [Store.Close] returns an error matching [ErrClosed].
//
// # Concurrency
//
// A *Store may be used by any number of goroutines at once: reads run in parallel inside the
// library and writes are serialised there. [Store.Close] waits for calls in flight to return;
// calls made after it return [ErrClosed].
//
// # Namespaces
//
// [OpenNamespaces] opens a manager of many isolated stores under one root directory. A namespace
// is created with quotas ([Quotas]: vectors, bytes on disk, requests per second) and its data is
// reached through an ordinary [*Store] from [Namespaces.Store], on which every call is checked
// against the namespace: deleted ([ErrNotFound]), suspended ([ErrNamespaceSuspended]), rate
// limited ([ErrRateLimited]), over a size quota ([ErrQuotaExceeded], and nothing is written).
// [Namespaces.Backup] and [Namespaces.Restore] take and restore consistent backups; a Store keeps
// working across a restore and serves the restored data.
package vecstore
