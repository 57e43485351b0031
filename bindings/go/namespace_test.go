package vecstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

func openNamespaces(t *testing.T, root string) *vecstore.Namespaces {
	t.Helper()
	o := vecstore.DefaultOptions()
	o.Dimension = 3
	m, err := vecstore.OpenNamespaces(root, &o)
	if err != nil {
		t.Fatalf("OpenNamespaces: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func nsStore(t *testing.T, m *vecstore.Namespaces, id string) *vecstore.Store {
	t.Helper()
	s, err := m.Store(id)
	if err != nil {
		t.Fatalf("Store(%q): %v", id, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNamespacesLifecycleAndPersistence(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	m := openNamespaces(t, root)
	must(t, m.Create("acme", "Acme Corp", &vecstore.Quotas{MaxVectors: 10, MaxRequestsPerSecond: 500}))
	must(t, m.Create("beta", "", nil))
	wantErr(t, m.Create("acme", "again", nil), vecstore.ErrAlreadyExists)
	must(t, m.SetStatus("beta", vecstore.Suspended))
	s := nsStore(t, m, "acme")
	must(t, s.Upsert("doc", []float32{1, 0, 0}, map[string]any{"k": "v"}))

	list, err := m.List()
	must(t, err)
	if len(list) != 2 || list[0].ID != "acme" || list[1].ID != "beta" {
		t.Fatalf("List: %+v", list)
	}
	want := vecstore.Quotas{MaxVectors: 10, MaxRequestsPerSecond: 500}
	if list[0].Name != "Acme Corp" || list[0].Quotas != want || list[0].State != vecstore.Active {
		t.Fatalf("acme: %+v", list[0])
	}
	if list[1].State != vecstore.Suspended {
		t.Fatalf("beta: %+v", list[1])
	}
	must(t, s.Close())
	must(t, m.Close())
	wantErr(t, m.Close(), vecstore.ErrClosed)
	_, err = m.List()
	wantErr(t, err, vecstore.ErrClosed)

	m = openNamespaces(t, root)
	info, err := m.Get("beta")
	must(t, err)
	if info.State != vecstore.Suspended || info.CreatedAt.IsZero() {
		t.Fatalf("beta after reopen: %+v", info)
	}
	s = nsStore(t, m, "acme")
	r, err := s.Get("doc")
	must(t, err)
	if !reflect.DeepEqual(r.Metadata, map[string]any{"k": "v"}) {
		t.Fatalf("doc: %+v", r)
	}
	_, err = m.Get("missing")
	wantErr(t, err, vecstore.ErrNotFound)
	for _, bad := range []string{"", "../x", "/abs", "a/b", ".x", "a\x00b", string(make([]byte, 65))} {
		if err := m.Create(bad, "", nil); !errors.Is(err, vecstore.ErrInvalidArgument) {
			t.Errorf("Create(%q): %v", bad, err)
		}
	}
	if err := m.Create("x", "", &vecstore.Quotas{MaxRequestsPerSecond: -1}); !errors.Is(err, vecstore.ErrInvalidArgument) {
		t.Errorf("negative rate: %v", err)
	}
	_, err = vecstore.OpenNamespaces(root, nil)
	wantErr(t, err, vecstore.ErrLocked)
}

func TestNamespaceQuotasStatusAndStats(t *testing.T) {
	m := openNamespaces(t, filepath.Join(t.TempDir(), "root"))
	must(t, m.Create("t", "", &vecstore.Quotas{MaxVectors: 2}))
	s := nsStore(t, m, "t")
	err := s.UpsertMany([]string{"a", "b", "c"}, [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, nil)
	wantErr(t, err, vecstore.ErrQuotaExceeded)
	if n, _ := s.Count(); n != 0 {
		t.Fatalf("a refused bulk write changed the namespace: %d records", n)
	}
	must(t, s.UpsertMany([]string{"a", "b"}, [][]float32{{1, 0, 0}, {0, 1, 0}}, nil))
	must(t, s.Upsert("a", []float32{0, 0, 1}, nil)) // a replacement is not growth
	wantErr(t, s.Upsert("c", []float32{0, 0, 1}, nil), vecstore.ErrQuotaExceeded)

	must(t, m.SetStatus("t", vecstore.Suspended))
	_, err = s.Query(vecstore.Query{Vector: []float32{1, 0, 0}})
	wantErr(t, err, vecstore.ErrNamespaceSuspended)
	must(t, m.SetStatus("t", vecstore.Active))

	must(t, m.UpdateQuotas("t", vecstore.Quotas{MaxRequestsPerSecond: 2}))
	limited := 0
	for i := 0; i < 6; i++ {
		if _, err := s.Count(); errors.Is(err, vecstore.ErrRateLimited) {
			limited++
		}
	}
	if limited < 3 {
		t.Fatalf("only %d of 6 calls were rate limited at 2/s", limited)
	}
	must(t, m.UpdateQuotas("t", vecstore.Quotas{}))

	st, err := m.Stats("t")
	must(t, err)
	if st.VectorCount != 2 || st.StorageBytes == 0 || st.LastActivity.IsZero() || st.CreatedAt.IsZero() {
		t.Fatalf("stats: %+v", st)
	}
	if w := st.Requests["write"]; w.Refused != 2 || w.Served != 2 {
		t.Fatalf("write requests: %+v", w)
	}
	if q := st.Requests["query"]; q.Refused != 1 || q.Served != 0 {
		t.Fatalf("query requests: %+v", q)
	}
}

func TestNamespaceBackupRestoreDelete(t *testing.T) {
	m := openNamespaces(t, filepath.Join(t.TempDir(), "root"))
	must(t, m.Create("t", "", nil))
	s := nsStore(t, m, "t")
	for i := 0; i < 20; i++ {
		must(t, s.Upsert(fmt.Sprintf("r%d", i), []float32{1, float32(i), 0.5}, map[string]any{"i": float64(i)}))
	}
	q := vecstore.Query{Vector: []float32{0.2, 3, 1}, K: 20}
	before, err := s.Query(q)
	must(t, err)
	must(t, m.Backup("t", "b1"))
	wantErr(t, m.Backup("t", "b1"), vecstore.ErrAlreadyExists)
	wantErr(t, m.Backup("t", "../b"), vecstore.ErrInvalidArgument)
	for i := 0; i < 10; i++ {
		must(t, s.Delete(fmt.Sprintf("r%d", i)))
	}
	must(t, m.Backup("t", "b2"))
	backups, err := m.ListBackups("t")
	must(t, err)
	if len(backups) != 2 || backups[0].Name != "b1" || backups[0].VectorCount != 20 || backups[1].VectorCount != 10 {
		t.Fatalf("ListBackups: %+v", backups)
	}
	must(t, m.Restore("t", "b1"))
	after, err := s.Query(q) // the same Store sees the restored data
	must(t, err)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("restored namespace answers differently:\n%v\n%v", after, before)
	}
	wantErr(t, m.Restore("t", "nope"), vecstore.ErrNotFound)
	must(t, m.DeleteBackup("t", "b1"))
	backups, _ = m.ListBackups("t")
	if len(backups) != 1 || backups[0].Name != "b2" {
		t.Fatalf("after DeleteBackup: %+v", backups)
	}

	must(t, m.Delete("t"))
	_, err = s.Count()
	wantErr(t, err, vecstore.ErrNotFound)
	must(t, m.Create("t", "", nil))
	_, err = s.Count() // never the new namespace of the same id
	wantErr(t, err, vecstore.ErrNotFound)
	must(t, s.Close())
	wantErr(t, s.Close(), vecstore.ErrClosed)
}

func TestNamespaceSymlinkIsRefused(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	outside := filepath.Join(dir, "outside")
	must(t, os.Mkdir(outside, 0o700))
	m := openNamespaces(t, root)
	must(t, m.Create("t", "", nil))
	must(t, m.Close())
	must(t, os.RemoveAll(filepath.Join(root, "ns", "t")))
	must(t, os.Symlink(outside, filepath.Join(root, "ns", "t")))
	m = openNamespaces(t, root)
	s := nsStore(t, m, "t")
	wantErr(t, s.Upsert("a", []float32{1, 0, 0}, nil), vecstore.ErrCorrupt)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("something was written outside the root: %v", entries)
	}
}

// Goroutines in different namespaces at once, while another creates and deletes namespaces.
func TestNamespacesConcurrently(t *testing.T) {
	m := openNamespaces(t, filepath.Join(t.TempDir(), "root"))
	wantErr(t, m.SetMaxOpenStores(0), vecstore.ErrInvalidArgument)
	must(t, m.SetMaxOpenStores(2)) // stores get closed and reopened under the goroutines
	const workers = 4
	for w := 0; w < workers; w++ {
		must(t, m.Create(fmt.Sprintf("n%d", w), "", nil))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s, err := m.Store(fmt.Sprintf("n%d", w))
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for i := 0; i < 100; i++ {
				if err := s.Upsert(fmt.Sprintf("r%d", i), []float32{float32(w + 1), float32(i), 1}, nil); err != nil {
					errs <- err
					return
				}
				if _, err := s.Query(vecstore.Query{Vector: []float32{1, 1, 1}, K: 3}); err != nil {
					errs <- err
					return
				}
			}
			if n, err := s.Count(); err != nil || n != 100 {
				errs <- fmt.Errorf("namespace n%d: count %d, %v", w, n, err)
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			id := fmt.Sprintf("tmp%d", i)
			if err := m.Create(id, "", nil); err != nil {
				errs <- err
				return
			}
			s, err := m.Store(id)
			if err != nil {
				errs <- err
				return
			}
			if err := s.Upsert("a", []float32{1, 0, 0}, nil); err != nil {
				errs <- err
			}
			if err := m.Delete(id); err != nil {
				errs <- err
			}
			if err := s.Upsert("a", []float32{1, 0, 0}, nil); !errors.Is(err, vecstore.ErrNotFound) {
				errs <- fmt.Errorf("upsert after delete: %v", err)
			}
			s.Close()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := m.List()
	must(t, err)
	if len(list) != workers {
		t.Fatalf("List after churn: %+v", list)
	}
}
