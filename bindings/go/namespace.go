package vecstore

/*
#include <stdlib.h>
#include "vecstore.h"
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Quotas are the limits of a namespace. 0 means unlimited for each.
type Quotas struct {
	// MaxVectors is how many live records the namespace may hold. Replacing a record is not growth.
	MaxVectors uint64
	// MaxStorageBytes is how many bytes the namespace's store may hold on disk (log, snapshot,
	// description file; backups not included).
	MaxStorageBytes uint64
	// MaxRequestsPerSecond limits the data calls through the namespace's stores: a token bucket of
	// capacity max(1, rate) refilled at rate per second; a call finding no token fails with
	// ErrRateLimited. Must be finite and >= 0.
	MaxRequestsPerSecond float64
}

// NamespaceState is whether a namespace serves data calls.
type NamespaceState int

const (
	// Active namespaces serve data calls.
	Active NamespaceState = C.VS_NAMESPACE_ACTIVE
	// Suspended namespaces refuse every data call with ErrNamespaceSuspended; management calls
	// (stats, quotas, backups) still work.
	Suspended NamespaceState = C.VS_NAMESPACE_SUSPENDED
)

func (s NamespaceState) String() string {
	switch s {
	case Active:
		return "active"
	case Suspended:
		return "suspended"
	}
	return "unknown"
}

// NamespaceInfo describes one namespace.
type NamespaceInfo struct {
	ID        string
	Name      string
	State     NamespaceState
	CreatedAt time.Time
	Quotas    Quotas
}

// RequestCounts counts the data calls of one kind since the manager was opened: Served reached the
// store, Refused were refused by the namespace (suspended, rate limited, over a quota).
type RequestCounts struct {
	Served  uint64 `json:"served"`
	Refused uint64 `json:"refused"`
}

// NamespaceStats is the usage of a namespace.
type NamespaceStats struct {
	ID string
	// VectorCount is the number of live records that have not expired.
	VectorCount uint64
	// DeletedCount is soft-deleted records plus the tombstones of deleted or replaced ones, held
	// on disk until compaction.
	DeletedCount uint64
	// ExpiredCount is records past their TTL, invisible, not yet removed.
	ExpiredCount uint64
	// StorageBytes is what the store holds on disk (what MaxStorageBytes limits).
	StorageBytes uint64
	CreatedAt    time.Time
	// LastActivity is the time of the last data call since the manager was opened (zero: none).
	LastActivity time.Time
	// Requests by kind: "query", "read", "write", "maintenance".
	Requests map[string]RequestCounts
}

// BackupInfo describes one backup of a namespace.
type BackupInfo struct {
	Name      string
	CreatedAt time.Time
	// VectorCount is the number of live records when the backup was taken.
	VectorCount uint64
}

// Namespaces is a namespace manager: many isolated stores under one root directory. Create it
// with [OpenNamespaces] and release it with [Namespaces.Close].
//
// A *Namespaces is safe for concurrent use by any number of goroutines, as are the stores it
// returns; namespaces may be created and deleted while other goroutines query other namespaces.
type Namespaces struct {
	mu sync.RWMutex
	h  *C.vs_namespaces // nil once closed
}

// OpenNamespaces opens (creating if needed) the namespace manager of directory root. opts are the
// store options of every namespace created (nil = [DefaultOptions]); an existing namespace keeps its
// own dimension and metric. Stores are opened lazily, so opening is fast whatever the number of
// namespaces.
//
// Errors: ErrInvalidArgument, ErrLocked (root is already open by a manager), ErrCorrupt (a damaged
// or missing registry), ErrIO.
func OpenNamespaces(root string, opts *Options) (*Namespaces, error) {
	if abiError != nil {
		return nil, abiError
	}
	croot, err := cString("root", root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	var copts *C.vs_store_options
	if opts != nil {
		c, err := opts.toC()
		if err != nil {
			return nil, err
		}
		copts = &c
	}
	var h *C.vs_namespaces
	var cerr *C.vs_error
	if err := takeError(C.vs_namespaces_open(croot, copts, &h, &cerr), cerr); err != nil {
		return nil, err
	}
	m := &Namespaces{h: h}
	runtime.SetFinalizer(m, (*Namespaces).finalize)
	return m, nil
}

func (m *Namespaces) finalize() {
	_ = m.Close()
}

// Close closes every namespace's store and releases the root. Calls in flight finish first;
// stores obtained from [Namespaces.Store] then fail with ErrNotFound (close them as usual); every
// later call on m returns ErrClosed.
func (m *Namespaces) Close() error {
	if m == nil {
		return ErrClosed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return ErrClosed
	}
	C.vs_namespaces_close(m.h)
	m.h = nil
	runtime.SetFinalizer(m, nil)
	return nil
}

// SetMaxOpenStores sets how many namespace stores stay open at once (default 256; each holds two
// file descriptors). Past it, the least recently used idle store is closed and reopens on its next
// use.
//
// Errors: ErrInvalidArgument (n < 1), ErrClosed.
func (m *Namespaces) SetMaxOpenStores(n int) error {
	if n < 1 {
		return invalid("max open stores must be at least 1")
	}
	return m.call(func(h *C.vs_namespaces) error {
		var cerr *C.vs_error
		return takeError(C.vs_namespaces_set_max_open_stores(h, C.size_t(n), &cerr), cerr)
	})
}

// call runs f with the open handle under the read lock.
func (m *Namespaces) call(f func(h *C.vs_namespaces) error) error {
	if m == nil {
		return ErrClosed
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.h == nil {
		return ErrClosed
	}
	return f(m.h)
}

// withStrings converts strs to C strings for the duration of f.
func withStrings(names []string, strs []string, f func(cs []*C.char) error) error {
	cs := make([]*C.char, len(strs))
	for i, s := range strs {
		c, err := cString(names[i], s)
		if err != nil {
			for _, p := range cs[:i] {
				C.free(unsafe.Pointer(p))
			}
			return err
		}
		cs[i] = c
	}
	defer func() {
		for _, p := range cs {
			C.free(unsafe.Pointer(p))
		}
	}()
	return f(cs)
}

func (q *Quotas) toC() (C.vs_quotas, error) {
	c := C.vs_quotas_default()
	if q == nil {
		return c, nil
	}
	if math.IsNaN(q.MaxRequestsPerSecond) || math.IsInf(q.MaxRequestsPerSecond, 0) || q.MaxRequestsPerSecond < 0 {
		return c, invalid("MaxRequestsPerSecond must be finite and >= 0")
	}
	c.max_vectors = C.uint64_t(q.MaxVectors)
	c.max_storage_bytes = C.uint64_t(q.MaxStorageBytes)
	c.max_requests_per_second = C.double(q.MaxRequestsPerSecond)
	return c, nil
}

// Create creates namespace id (letters, digits, '-', '_', '.', not starting with '.', at most 64
// bytes) with a display name and quotas (nil = unlimited).
//
// Errors: ErrInvalidArgument, ErrAlreadyExists, ErrIO, ErrClosed.
func (m *Namespaces) Create(id, name string, quotas *Quotas) error {
	cq, err := quotas.toC()
	if err != nil {
		return err
	}
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id", "name"}, []string{id, name}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_create(h, cs[0], cs[1], &cq, &cerr), cerr)
		})
	})
}

// Store returns a [Store] over namespace id's data: every Store method works on it, subject to the
// namespace's status, quotas and rate limit. Close it when done (that does not close the
// namespace). After [Namespaces.Restore] it serves the restored data; after [Namespaces.Delete] its
// calls fail with ErrNotFound.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrClosed.
func (m *Namespaces) Store(id string) (*Store, error) {
	var s *Store
	err := m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			var sh *C.vs_store
			var cerr *C.vs_error
			if err := takeError(C.vs_namespace_store(h, cs[0], &sh, &cerr), cerr); err != nil {
				return err
			}
			s = &Store{h: sh, namespace: true}
			runtime.SetFinalizer(s, (*Store).finalize)
			return nil
		})
	})
	return s, err
}

type nsJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	CreatedAt int64  `json:"created_at"`
	Quotas    struct {
		MaxVectors           uint64  `json:"max_vectors"`
		MaxStorageBytes      uint64  `json:"max_storage_bytes"`
		MaxRequestsPerSecond float64 `json:"max_requests_per_second"`
	} `json:"quotas"`
}

func (n nsJSON) info() NamespaceInfo {
	st := Active
	if n.Status == "suspended" {
		st = Suspended
	}
	return NamespaceInfo{
		ID: n.ID, Name: n.Name, State: st, CreatedAt: time.Unix(n.CreatedAt, 0),
		Quotas: Quotas{n.Quotas.MaxVectors, n.Quotas.MaxStorageBytes, n.Quotas.MaxRequestsPerSecond},
	}
}

// jsonCall runs a C function writing an owned JSON string and decodes it into v.
func jsonCall(v any, f func(out **C.char, cerr **C.vs_error) C.enum_vs_status) error {
	var out *C.char
	var cerr *C.vs_error
	if err := takeError(f(&out, &cerr), cerr); err != nil {
		return err
	}
	defer C.vs_string_free(out)
	if err := json.Unmarshal([]byte(C.GoString(out)), v); err != nil {
		return &Error{Code: Internal, Message: "cannot decode the library's JSON: " + err.Error()}
	}
	return nil
}

// List returns every namespace, ordered by id.
//
// Errors: ErrClosed.
func (m *Namespaces) List() ([]NamespaceInfo, error) {
	var doc struct {
		Namespaces []nsJSON `json:"namespaces"`
	}
	err := m.call(func(h *C.vs_namespaces) error {
		return jsonCall(&doc, func(out **C.char, cerr **C.vs_error) C.enum_vs_status {
			return C.vs_namespace_list_json(h, out, cerr)
		})
	})
	if err != nil {
		return nil, err
	}
	list := make([]NamespaceInfo, len(doc.Namespaces))
	for i, n := range doc.Namespaces {
		list[i] = n.info()
	}
	return list, nil
}

// Get describes namespace id.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrClosed.
func (m *Namespaces) Get(id string) (NamespaceInfo, error) {
	var doc nsJSON
	err := m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			return jsonCall(&doc, func(out **C.char, cerr **C.vs_error) C.enum_vs_status {
				return C.vs_namespace_get_json(h, cs[0], out, cerr)
			})
		})
	})
	if err != nil {
		return NamespaceInfo{}, err
	}
	return doc.info(), nil
}

// UpdateQuotas replaces namespace id's quotas (saved durably; they apply from the next call).
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrClosed.
func (m *Namespaces) UpdateQuotas(id string, quotas Quotas) error {
	cq, err := quotas.toC()
	if err != nil {
		return err
	}
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_update_quotas(h, cs[0], &cq, &cerr), cerr)
		})
	})
}

// SetStatus suspends or reactivates namespace id (saved durably).
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrClosed.
func (m *Namespaces) SetStatus(id string, state NamespaceState) error {
	if state != Active && state != Suspended {
		return invalid("state must be Active or Suspended")
	}
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_set_status(h, cs[0], C.vs_namespace_status(state), &cerr), cerr)
		})
	})
}

// Stats returns namespace id's usage.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrCorrupt, ErrClosed.
func (m *Namespaces) Stats(id string) (NamespaceStats, error) {
	var doc struct {
		ID           string                   `json:"id"`
		VectorCount  uint64                   `json:"vector_count"`
		DeletedCount uint64                   `json:"deleted_count"`
		ExpiredCount uint64                   `json:"expired_count"`
		StorageBytes uint64                   `json:"storage_bytes"`
		CreatedAt    int64                    `json:"created_at"`
		LastActivity *int64                   `json:"last_activity_at"`
		Requests     map[string]RequestCounts `json:"requests"`
	}
	err := m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			return jsonCall(&doc, func(out **C.char, cerr **C.vs_error) C.enum_vs_status {
				return C.vs_namespace_stats_json(h, cs[0], out, cerr)
			})
		})
	})
	if err != nil {
		return NamespaceStats{}, err
	}
	st := NamespaceStats{
		ID: doc.ID, VectorCount: doc.VectorCount, DeletedCount: doc.DeletedCount, ExpiredCount: doc.ExpiredCount,
		StorageBytes: doc.StorageBytes, CreatedAt: time.Unix(doc.CreatedAt, 0), Requests: doc.Requests,
	}
	if doc.LastActivity != nil {
		st.LastActivity = time.Unix(*doc.LastActivity, 0)
	}
	return st, nil
}

// Delete deletes namespace id with its data and backups. Stores obtained for it then fail with
// ErrNotFound, even if the id is created again.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrClosed.
func (m *Namespaces) Delete(id string) error {
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_delete(h, cs[0], &cerr), cerr)
		})
	})
}

// Backup takes a consistent backup of namespace id named name (same rules as ids) while the
// namespace keeps serving.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrAlreadyExists, ErrIO, ErrCorrupt, ErrClosed.
func (m *Namespaces) Backup(id, name string) error {
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id", "name"}, []string{id, name}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_backup(h, cs[0], cs[1], &cerr), cerr)
		})
	})
}

// ListBackups returns namespace id's backups, oldest first.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrCorrupt, ErrClosed.
func (m *Namespaces) ListBackups(id string) ([]BackupInfo, error) {
	var doc struct {
		Backups []struct {
			Name        string `json:"name"`
			CreatedAt   int64  `json:"created_at"`
			VectorCount uint64 `json:"vector_count"`
		} `json:"backups"`
	}
	err := m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id"}, []string{id}, func(cs []*C.char) error {
			return jsonCall(&doc, func(out **C.char, cerr **C.vs_error) C.enum_vs_status {
				return C.vs_namespace_list_backups_json(h, cs[0], out, cerr)
			})
		})
	})
	if err != nil {
		return nil, err
	}
	list := make([]BackupInfo, len(doc.Backups))
	for i, b := range doc.Backups {
		list[i] = BackupInfo{Name: b.Name, CreatedAt: time.Unix(b.CreatedAt, 0), VectorCount: b.VectorCount}
	}
	return list, nil
}

// Restore replaces namespace id's data with backup name: afterwards it answers exactly as when the
// backup was taken, through every Store obtained for it.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrCorrupt, ErrClosed.
func (m *Namespaces) Restore(id, name string) error {
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id", "name"}, []string{id, name}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_restore(h, cs[0], cs[1], &cerr), cerr)
		})
	})
}

// DeleteBackup deletes backup name of namespace id.
//
// Errors: ErrInvalidArgument, ErrNotFound, ErrIO, ErrCorrupt, ErrClosed.
func (m *Namespaces) DeleteBackup(id, name string) error {
	return m.call(func(h *C.vs_namespaces) error {
		return withStrings([]string{"id", "name"}, []string{id, name}, func(cs []*C.char) error {
			var cerr *C.vs_error
			return takeError(C.vs_namespace_delete_backup(h, cs[0], cs[1], &cerr), cerr)
		})
	})
}
