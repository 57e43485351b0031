package vecstore

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libvecstore.a -lpthread -ldl -lm -lrt -lutil
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Store is an open vecstore directory. Create it with [Open] and release it with [Store.Close].
//
// A *Store is safe for concurrent use by any number of goroutines. Every method takes a read lock
// around its C call, so calls run concurrently (the library runs reads in parallel and serialises
// writes); Close takes the write lock, so it waits for calls in flight and later calls return
// [ErrClosed] instead of touching a freed handle.
type Store struct {
	mu sync.RWMutex
	h  *C.vs_store // nil once closed
	// namespace: the handle came from [Namespaces.Store]; the manager owns the store, so Close
	// only releases the handle.
	namespace bool
}

// Result is one record returned by [Store.Query] or [Store.Get].
type Result struct {
	// ID is the record's id.
	ID string
	// Score is the similarity to the query, higher = more similar (see [Metric]); 0 from Get.
	Score float32
	// Metadata is the record's metadata decoded by encoding/json (numbers are float64); nil when
	// the record has none.
	Metadata map[string]any
	// Vector is the stored vector (normalised to unit length in a cosine store). Filled by Get;
	// nil in query results.
	Vector []float32
	// Explanation is how the result was found, filled by [Store.QueryExplain] (see there); nil
	// otherwise.
	Explanation map[string]any
}

// Query is a search request for [Store.Query].
type Query struct {
	// Vector to search for; its length must equal the store's dimension.
	Vector []float32
	// K is how many results to return, 1..=MaxK; 0 means 10 (the C default).
	K int
	// Filter is a metadata filter; "" means none. Only records whose metadata passes it are
	// returned, and K of them whenever K live records pass. The language (see vs_query.filter in
	// vecstore.h): comparisons =, !=, <, <=, >, >=; IN (...), NOT IN (...); CONTAINS (substring or
	// list element); AND, OR, NOT and parentheses; 'strings', "strings", numbers, true, false, null.
	// Example: category = 'tech' AND (year >= 2020 OR tags CONTAINS 'rust'). A filter that does not
	// parse fails with ErrFilterSyntax, whose message gives the position.
	Filter string
	// EfSearch is the search-time candidate list size; 0 means the store's default.
	EfSearch int
}

// Open opens the store in directory path, creating the directory and an empty store if needed.
// A nil opts means [DefaultOptions] for a new store, and for an existing store its own dimension
// and metric (so a nil opts reopens any store). With explicit options, opts.Dimension 0 and opts.Metric
// [DefaultMetric] (both what [DefaultOptions] sets) take the store's own; a non-zero dimension or
// another metric must be the store's.
//
// Errors: ErrInvalidArgument (bad options, a metric other than the store's, a NUL byte in path),
// ErrDimensionMismatch (opts.Dimension differs from the store's), ErrLocked (the directory is
// already open, in this process or another), ErrIO, ErrCorrupt (a damaged store file).
//
// Close the store when done. A store that becomes unreachable without Close is closed by a
// finalizer, but only when the garbage collector gets to it: until then its directory stays
// locked.
func Open(path string, opts *Options) (*Store, error) {
	if abiError != nil {
		return nil, abiError
	}
	cpath, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))

	var copts *C.vs_store_options
	if opts != nil {
		c, err := opts.toC()
		if err != nil {
			return nil, err
		}
		copts = &c // Go memory without Go pointers: may be passed to C
	}
	var h *C.vs_store
	var cerr *C.vs_error
	if err := takeError(C.vs_store_open(cpath, copts, &h, &cerr), cerr); err != nil {
		return nil, err
	}
	s := &Store{h: h}
	runtime.SetFinalizer(s, (*Store).finalize)
	return s, nil
}

// finalize is the safety net for a store that was never closed.
func (s *Store) finalize() {
	_ = s.Close()
}

// Close flushes the store (fsync), closes it, and releases its directory. Calls in flight finish
// first; every later call, including a second Close, returns [ErrClosed]. Close never panics.
//
// The store is closed even when the flush fails; the flush error is then returned.
func (s *Store) Close() error {
	if s == nil {
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.h
	if h == nil {
		return ErrClosed
	}
	s.h = nil
	runtime.SetFinalizer(s, nil)
	// vs_store_close reports no error: flush first so that a failure to make the data durable is
	// seen by the caller. (A namespace's store belongs to its manager, which flushes it.)
	var err error
	if !s.namespace {
		var cerr *C.vs_error
		err = takeError(C.vs_store_flush(h, &cerr), cerr)
	}
	// The write lock is held, so no other call is using h: vs_store_close's precondition.
	C.vs_store_close(h)
	return err
}

// handle takes the read lock and returns the open handle; the caller must call s.mu.RUnlock()
// when (and only when) the error is nil. Holding the read lock for the whole C call keeps Close
// from freeing the handle under it, and keeps s reachable, so the finalizer cannot run mid-call.
func (s *Store) handle() (*C.vs_store, error) {
	if s == nil {
		return nil, ErrClosed
	}
	s.mu.RLock()
	if s.h == nil {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.h, nil
}

// Upsert inserts a record, or replaces the record with the same id (vector and metadata both).
//
// id must be 1..=4096 bytes of UTF-8 without NUL bytes; vector must hold finite values and have
// the store's dimension (an empty store opened with Dimension 0 takes it from the first vector);
// metadata may be nil (no metadata). When Upsert returns nil the write is durable (see
// [Durability]).
//
// Errors: ErrInvalidArgument, ErrDimensionMismatch, ErrIO, ErrClosed.
func (s *Store) Upsert(id string, vector []float32, metadata map[string]any) error {
	cid, err := cString("id", id)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	cmeta, err := metadataCString(metadata, "metadata")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cmeta)) // free(NULL) is a no-op

	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_upsert(h, cid, floatPtr(vector), C.size_t(len(vector)), cmeta, &cerr), cerr)
}

// UpsertMany inserts or replaces len(ids) records in one write, much faster than as many calls to
// Upsert. vectors[i] and metadata[i] belong to ids[i]. metadata may be nil (no metadata for any
// record); otherwise it must have len(ids) entries, each nil or a map. All or nothing: if any
// record is invalid none is written, and the error names the record's index. Within one call a
// later record with the same id wins. No ids is a no-op.
//
// Errors: ErrInvalidArgument (including lengths that differ), ErrDimensionMismatch (including
// vectors of different lengths), ErrIO, ErrClosed.
func (s *Store) UpsertMany(ids []string, vectors [][]float32, metadata []map[string]any) error {
	n := len(ids)
	if len(vectors) != n {
		return invalid("UpsertMany: " + strconv.Itoa(n) + " ids but " + strconv.Itoa(len(vectors)) + " vectors")
	}
	if metadata != nil && len(metadata) != n {
		return invalid("UpsertMany: " + strconv.Itoa(n) + " ids but " + strconv.Itoa(len(metadata)) + " metadata entries")
	}
	if n == 0 {
		_, err := s.handle()
		if err != nil {
			return err
		}
		s.mu.RUnlock()
		return nil
	}
	dim := len(vectors[0])
	for i, v := range vectors {
		if len(v) != dim {
			return &Error{Code: DimensionMismatch, Message: "record " + strconv.Itoa(i) + " has dimension " +
				strconv.Itoa(len(v)) + ", record 0 has dimension " + strconv.Itoa(dim)}
		}
	}

	cids, err := cStringArray(n, func(i int) (string, bool, error) {
		if strings.IndexByte(ids[i], 0) >= 0 {
			return "", false, invalid("ids[" + strconv.Itoa(i) + "] contains a NUL byte")
		}
		return ids[i], true, nil
	})
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cids))

	var cmetas **C.char
	if metadata != nil {
		cmetas, err = cStringArray(n, func(i int) (string, bool, error) {
			if metadata[i] == nil {
				return "", false, nil
			}
			text, err := marshalMetadata(metadata[i], "metadata["+strconv.Itoa(i)+"]")
			return text, true, err
		})
		if err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(cmetas))
	}

	// One flat row-major block: a []float32 holds no Go pointers, so &flat[0] may be passed to C.
	flat := make([]float32, 0, n*dim)
	for _, v := range vectors {
		flat = append(flat, v...)
	}

	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_upsert_many(h, C.size_t(n), cids, floatPtr(flat), C.size_t(dim), cmetas, &cerr), cerr)
}

// Get returns the record with this id: its ID, Metadata and Vector (normalised to unit length in a
// cosine store), with Score 0.
//
// Errors: ErrNotFound, ErrInvalidArgument (empty or NUL-containing id), ErrClosed.
func (s *Store) Get(id string) (Result, error) {
	cid, err := cString("id", id)
	if err != nil {
		return Result{}, err
	}
	defer C.free(unsafe.Pointer(cid))

	h, err := s.handle()
	if err != nil {
		return Result{}, err
	}
	defer s.mu.RUnlock()
	var r *C.vs_results
	var cerr *C.vs_error
	if err := takeError(C.vs_store_get(h, cid, &r, &cerr), cerr); err != nil {
		return Result{}, err
	}
	defer C.vs_results_free(r)
	if C.vs_results_len(r) != 1 {
		return Result{}, &Error{Code: Internal, Message: "vs_store_get returned " + strconv.FormatUint(uint64(C.vs_results_len(r)), 10) + " rows, expected 1"}
	}
	return readRow(r, 0)
}

// Delete deletes the record with this id for good.
//
// Errors: ErrNotFound (nothing changes), ErrInvalidArgument, ErrIO, ErrClosed.
func (s *Store) Delete(id string) error {
	cid, err := cString("id", id)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))

	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_delete(h, cid, &cerr), cerr)
}

// Count returns the number of live records.
//
// Errors: ErrClosed.
func (s *Store) Count() (uint64, error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.uint64_t
	var cerr *C.vs_error
	if err := takeError(C.vs_store_count(h, &n, &cerr), cerr); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// Stats describes the store, from vs_store_stats_json (see the C header for each key's meaning):
// the numbers "count", "dimension", "log_bytes", "soft_deleted", "expired", "tombstones",
// "storage_bytes", "replayed_frames", "replay_dropped_bytes" and "replay_damaged_regions" (decoded
// as float64), "metric" ("cosine", "euclidean" or "dot"), and
// "maintenance": nil when no maintenance thread runs, otherwise a map of its counters
// ("interval_ms", "runs", "expired", "compactions", "removed", "errors", "last_error"). Later
// library versions may add keys.
//
// Errors: ErrClosed.
func (s *Store) Stats() (map[string]any, error) {
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var out *C.char
	var cerr *C.vs_error
	if err := takeError(C.vs_store_stats_json(h, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.vs_string_free(out)
	m, err := decodeObject(C.GoString(out), "stats")
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Flush makes everything written so far survive a power loss (fsync). In the default durability
// mode writes already survive a crash of the process without it.
//
// Errors: ErrIO, ErrClosed.
func (s *Store) Flush() error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var cerr *C.vs_error
	return takeError(C.vs_store_flush(h, &cerr), cerr)
}

// Query returns the q.K records most similar to q.Vector, best (highest score) first. Fewer rows
// come back only when the store holds fewer records.
//
// Errors: ErrInvalidArgument (K or EfSearch out of range, NaN or infinity, a zero vector in a
// cosine store, a Filter that is not UTF-8), ErrDimensionMismatch, ErrFilterSyntax, ErrClosed.
func (s *Store) Query(q Query) ([]Result, error) {
	k := q.K
	if k == 0 {
		k = 10
	}
	ck, err := toU32("Query.K", k)
	if err != nil {
		return nil, err
	}
	cef, err := toU32("Query.EfSearch", q.EfSearch)
	if err != nil {
		return nil, err
	}
	cq := C.vs_query_default()
	cq.k = ck
	cq.ef_search = cef
	if q.Filter != "" {
		cf, err := cString("filter", q.Filter)
		if err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(cf))
		cq.filter = cf
	}
	if len(q.Vector) > 0 {
		// cq lives in Go memory and will hold a Go pointer to the vector: the cgo rules allow
		// passing &cq to C only if that pointer is pinned.
		var pin runtime.Pinner
		defer pin.Unpin()
		pin.Pin(&q.Vector[0])
		cq.vector = floatPtr(q.Vector)
		cq.dim = C.size_t(len(q.Vector))
	}

	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var r *C.vs_results
	var cerr *C.vs_error
	if err := takeError(C.vs_store_query(h, &cq, &r, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.vs_results_free(r)
	n := int(C.vs_results_len(r))
	out := make([]Result, n)
	for i := range out {
		if out[i], err = readRow(r, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readRow copies row i of a result set into Go memory.
func readRow(r *C.vs_results, i int) (Result, error) {
	ci := C.size_t(i)
	cid := C.vs_results_id(r, ci)
	if cid == nil {
		return Result{}, &Error{Code: Internal, Message: "result row " + strconv.Itoa(i) + " has no id"}
	}
	res := Result{ID: C.GoString(cid), Score: float32(C.vs_results_score(r, ci))}
	var err error
	if m := C.vs_results_metadata_json(r, ci); m != nil {
		if res.Metadata, err = decodeObject(C.GoString(m), "metadata of "+strconv.Quote(res.ID)); err != nil {
			return Result{}, err
		}
	}
	if e := C.vs_results_explanation_json(r, ci); e != nil {
		if res.Explanation, err = decodeObject(C.GoString(e), "explanation of "+strconv.Quote(res.ID)); err != nil {
			return Result{}, err
		}
	}
	var dim C.size_t
	if p := C.vs_results_vector(r, ci, &dim); p != nil {
		res.Vector = make([]float32, int(dim))
		copy(res.Vector, unsafe.Slice((*float32)(unsafe.Pointer(p)), int(dim)))
	}
	return res, nil
}

// decodeObject decodes a JSON object from the library; numbers become float64. An empty object
// gives a nil map.
func decodeObject(text, what string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, &Error{Code: Internal, Message: "cannot decode the " + what + " returned by vecstore: " + err.Error()}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// marshalMetadata encodes metadata as JSON text (without HTML escaping).
func marshalMetadata(m map[string]any, what string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", invalid(what + " cannot be encoded as JSON: " + err.Error())
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// metadataCString encodes metadata as a C string; nil metadata gives NULL. The caller frees the
// result with C.free.
func metadataCString(m map[string]any, what string) (*C.char, error) {
	if m == nil {
		return nil, nil
	}
	text, err := marshalMetadata(m, what)
	if err != nil {
		return nil, err
	}
	return C.CString(text), nil // encoding/json escapes NUL, so text has none
}

// cString converts a Go string to a C string that the caller frees with C.free, refusing strings
// with a NUL byte (C would silently truncate them).
func cString(what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, invalid(what + " contains a NUL byte")
	}
	return C.CString(s), nil
}

// cStringArray builds, in one C allocation, an array of n C string pointers followed by the
// strings' bytes. get returns the i-th string, or ok = false for a NULL entry. Free the result
// with C.free.
func cStringArray(n int, get func(i int) (s string, ok bool, err error)) (**C.char, error) {
	strs := make([]string, n)
	present := make([]bool, n)
	total := 0
	for i := range strs {
		s, ok, err := get(i)
		if err != nil {
			return nil, err
		}
		strs[i], present[i] = s, ok
		if ok {
			total += len(s) + 1
		}
	}
	ptrSize := int(unsafe.Sizeof((*C.char)(nil)))
	if n > (math.MaxInt-total)/ptrSize {
		return nil, invalid("too many strings")
	}
	block := C.malloc(C.size_t(n*ptrSize + total))
	if block == nil {
		return nil, &Error{Code: Internal, Message: "out of memory"}
	}
	ptrs := unsafe.Slice((**C.char)(block), n)
	data := unsafe.Slice((*byte)(unsafe.Add(block, n*ptrSize)), total)
	off := 0
	for i, s := range strs {
		if !present[i] {
			ptrs[i] = nil
			continue
		}
		copy(data[off:], s)
		data[off+len(s)] = 0
		ptrs[i] = (*C.char)(unsafe.Pointer(&data[off]))
		off += len(s) + 1
	}
	return (**C.char)(block), nil
}

// floatPtr returns a pointer to the first element of v, or NULL for an empty slice.
func floatPtr(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}
