package vecstore_test

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// The Go side of the soak test (tests/c/test_soak.c is the C side): goroutines writing, querying,
// compacting and backing up one namespace manager at once for VECSTORE_SOAK_SECONDS (default 15;
// under -race every call is slower), every acknowledged call checked against a per-goroutine model
// (each writer owns its keys), then a reopen that must give exactly the model.
func TestSoakMixedWorkload(t *testing.T) {
	seconds := 15.0
	if v := os.Getenv("VECSTORE_SOAK_SECONDS"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			seconds = f
		}
	}
	const (
		dim     = 8
		writers = 4
		keys    = 100
	)
	type key struct {
		state   int // 0 absent, 1 live, 2 soft-deleted
		version int
		softAt  int64 // compactions finished when the soft delete was called
	}
	fdsBefore := openFDs()
	root := t.TempDir()
	opts := vecstore.DefaultOptions()
	opts.Dimension = dim
	opts.Metric = vecstore.Euclidean
	m, err := vecstore.OpenNamespaces(root, &opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"soak", "bk"} {
		if err := m.Create(id, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	var started, finished, unexpected, checked atomic.Int64
	bad := func(format string, args ...any) {
		unexpected.Add(1)
		t.Logf(format, args...)
	}
	vec := func(w, k, v int) []float32 {
		r := rand.New(rand.NewSource(int64(w*1_000_003 + k*7919 + v*104_729 + 1)))
		return randomVector(r, dim)
	}
	md := func(w, k, v int) map[string]any { return map[string]any{"t": w, "k": k, "v": v} }
	check := func(s *vecstore.Store, id string, k key) {
		checked.Add(1)
		r, err := s.Get(id)
		if k.state == 1 {
			if err != nil {
				bad("get(%s) live: %v", id, err)
			} else if r.Metadata["v"] != float64(k.version) {
				bad("get(%s) = %v, model v=%d", id, r.Metadata, k.version)
			}
		} else if !errors.Is(err, vecstore.ErrNotFound) {
			bad("get(%s) state %d: %v", id, k.state, err)
		}
	}
	handle := func(id string) *vecstore.Store { // nil (counted as unexpected) on failure
		s, err := m.Store(id)
		if err != nil {
			bad("Store(%s): %v", id, err)
			return nil
		}
		return s
	}
	models := make([][]key, writers)
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	var ops, queries, backups atomic.Int64
	for w := 0; w < writers; w++ {
		models[w] = make([]key, keys)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := handle("soak")
			if s == nil {
				return
			}
			defer s.Close()
			rng := rand.New(rand.NewSource(int64(w + 1)))
			model := models[w]
			version := 1
			for time.Now().Before(deadline) {
				k := rng.Intn(keys)
				id := fmt.Sprintf("w%d-%d", w, k)
				checked.Add(1)
				switch op := rng.Intn(100); {
				case op < 35:
					v := version
					version++
					if err := s.Upsert(id, vec(w, k, v), md(w, k, v)); err != nil {
						bad("upsert(%s): %v", id, err)
					} else {
						model[k] = key{state: 1, version: v}
					}
				case op < 45:
					var ids []string
					var vs [][]float32
					var mds []map[string]any
					var ks, vers []int
					for i := 0; i < 4; i++ {
						kk := (k + i) % keys
						ids = append(ids, fmt.Sprintf("w%d-%d", w, kk))
						vs = append(vs, vec(w, kk, version))
						mds = append(mds, md(w, kk, version))
						ks, vers = append(ks, kk), append(vers, version)
						version++
					}
					if err := s.UpsertMany(ids, vs, mds); err != nil {
						bad("upsert_many: %v", err)
					} else {
						for i, kk := range ks {
							model[kk] = key{state: 1, version: vers[i]}
						}
					}
				case op < 58:
					if model[k].state == 2 {
						continue
					}
					err := s.Delete(id)
					if model[k].state == 1 && err != nil || model[k].state == 0 && !errors.Is(err, vecstore.ErrNotFound) {
						bad("delete(%s) state %d: %v", id, model[k].state, err)
					} else {
						model[k].state = 0
					}
				case op < 68:
					before := finished.Load()
					err := s.SoftDelete(id)
					if model[k].state == 1 {
						if err != nil {
							bad("soft_delete(%s): %v", id, err)
						} else {
							model[k].state, model[k].softAt = 2, before
						}
					} else if !errors.Is(err, vecstore.ErrNotFound) {
						bad("soft_delete(%s) state %d: %v", id, model[k].state, err)
					}
				case op < 78:
					err := s.Restore(id)
					switch model[k].state {
					case 1:
						if err != nil {
							bad("restore(%s) live: %v", id, err)
						}
					case 0:
						if !errors.Is(err, vecstore.ErrNotFound) {
							bad("restore(%s) absent: %v", id, err)
						}
					case 2:
						if err == nil {
							model[k].state = 1
						} else if errors.Is(err, vecstore.ErrNotFound) && started.Load() > model[k].softAt {
							model[k].state = 0 // a compaction removed it
						} else {
							bad("restore(%s) soft: %v", id, err)
						}
					}
				case op < 88:
					if model[k].state != 1 {
						continue
					}
					v := version
					version++
					if err := s.UpdateMetadata(id, md(w, k, v)); err != nil {
						bad("update_metadata(%s): %v", id, err)
					} else {
						model[k].version = v
					}
				default:
					tid := fmt.Sprintf("ttl%d-%d", w, k%10)
					if err := s.UpsertWithTTL(tid, vec(w, 1000+k, 0), md(w, 1000+k, 0), 1); err != nil {
						bad("upsert_with_ttl(%s): %v", tid, err)
					}
				}
				ops.Add(1)
				if ck := rng.Intn(keys); ops.Load()%8 == 0 {
					check(s, fmt.Sprintf("w%d-%d", w, ck), model[ck])
				}
			}
		}(w)
	}
	wg.Add(3)
	go func() { // filtered queries
		defer wg.Done()
		s := handle("soak")
		if s == nil {
			return
		}
		defer s.Close()
		rng := rand.New(rand.NewSource(99))
		for time.Now().Before(deadline) {
			w := rng.Intn(writers)
			rows, err := s.Query(vecstore.Query{Vector: vec(w, rng.Intn(keys), 0), K: 10, Filter: fmt.Sprintf("t = %d", w)})
			if err != nil {
				bad("query: %v", err)
				continue
			}
			if len(rows) > 10 {
				bad("query gave %d rows", len(rows))
			}
			for _, r := range rows {
				if r.Metadata["t"] != float64(w) {
					bad("row %v does not pass t = %d", r.Metadata, w)
				}
			}
			queries.Add(1)
		}
	}()
	go func() { // compaction and expiry
		defer wg.Done()
		s := handle("soak")
		if s == nil {
			return
		}
		defer s.Close()
		for time.Now().Before(deadline) {
			time.Sleep(700 * time.Millisecond)
			if _, err := s.ExpireTTLRecords(); err != nil {
				bad("expire: %v", err)
			}
			started.Add(1)
			if _, err := s.Compact(); err != nil {
				bad("compact: %v", err)
			}
			finished.Add(1)
		}
	}()
	go func() { // backups and restores of "bk"
		defer wg.Done()
		s := handle("bk")
		if s == nil {
			return
		}
		defer s.Close()
		rng := rand.New(rand.NewSource(7))
		model := make([]key, 30)
		version := 1
		write := func() {
			for i := 0; i < 20; i++ {
				k := rng.Intn(len(model))
				if err := s.Upsert(fmt.Sprintf("b-%d", k), vec(99, k, version), md(99, k, version)); err != nil {
					bad("bk upsert: %v", err)
				} else {
					model[k] = key{state: 1, version: version}
				}
				version++
			}
		}
		for round := 0; time.Now().Before(deadline); round++ {
			write()
			name := fmt.Sprintf("r%d", round)
			if err := m.Backup("bk", name); err != nil {
				bad("backup: %v", err)
				continue
			}
			atBackup := append([]key(nil), model...)
			write()
			if err := m.Restore("bk", name); err != nil {
				bad("restore: %v", err)
				continue
			}
			model = atBackup
			for k := range model {
				check(s, fmt.Sprintf("b-%d", k), model[k])
			}
			if err := m.DeleteBackup("bk", name); err != nil {
				bad("delete backup: %v", err)
			}
			backups.Add(1)
		}
	}()
	wg.Wait()
	time.Sleep(2100 * time.Millisecond) // every 1-second TTL record has expired
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = vecstore.OpenNamespaces(root, &opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Store("soak")
	if err != nil {
		t.Fatal(err)
	}
	var live uint64
	for w, model := range models {
		for k, km := range model {
			id := fmt.Sprintf("w%d-%d", w, k)
			check(s, id, km)
			if km.state == 1 {
				live++
			}
		}
	}
	if n, err := s.Count(); err != nil || n != live {
		t.Errorf("count = %d (%v), model %d live", n, err, live)
	}
	s.Close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %.0f s, %d writer ops, %d queries, %d compactions, %d backup/restore rounds, %d calls checked, %d unexpected",
		seconds, ops.Load(), queries.Load(), finished.Load(), backups.Load(), checked.Load(), unexpected.Load())
	if unexpected.Load() != 0 {
		t.Errorf("%d calls answered what the model does not allow", unexpected.Load())
	}
	if ops.Load() < 500 || queries.Load() < 50 || backups.Load() < 1 {
		t.Errorf("too little work done: %d ops, %d queries, %d backup rounds", ops.Load(), queries.Load(), backups.Load())
	}
	if after := openFDs(); fdsBefore >= 0 && after > fdsBefore {
		t.Errorf("open file descriptors: %d before, %d after", fdsBefore, after)
	}
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
