package vecstore_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

func vec4(i int) []float32 {
	return []float32{float32(i%17) + 1, float32(i % 5), float32(i / 17), 0.5}
}

func filled(t *testing.T, n int) (*vecstore.Store, string) {
	t.Helper()
	s, dir := open(t, withMetric(4, vecstore.Euclidean))
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
		vecs[i] = vec4(i)
	}
	if err := s.UpsertMany(ids, vecs, nil); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func topIDs(t *testing.T, s *vecstore.Store, i int) []string {
	t.Helper()
	res, err := s.Query(vecstore.Query{Vector: vec4(i), K: 5})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for j, r := range res {
		ids[j] = r.ID
	}
	return ids
}

func TestCompactRemovesSoftDeletedRecordsForGood(t *testing.T) {
	s, dir := filled(t, 100)
	for i := 0; i < 30; i++ {
		if err := s.SoftDelete(fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete("r30"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SoftDelete("r30"), vecstore.ErrNotFound)
	before := topIDs(t, s, 50)
	removed, err := s.Compact()
	if err != nil || removed != 30 {
		t.Fatalf("Compact = %d, %v; want 30", removed, err)
	}
	if n, _ := s.Count(); n != 69 {
		t.Fatalf("Count = %d, want 69", n)
	}
	if got := topIDs(t, s, 50); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("answers changed: %v, then %v", before, got)
	}
	wantErr(t, s.Restore("r3"), vecstore.ErrNotFound)
	st, err := s.Stats()
	if err != nil || st["soft_deleted"] != 0.0 || st["tombstones"] != 0.0 || st["maintenance"] != nil {
		t.Fatalf("Stats = %v, %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := vecstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := topIDs(t, s2, 50); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("answers changed after reopen: %v, then %v", before, got)
	}
	wantErr(t, s2.Restore("r3"), vecstore.ErrNotFound)
	if _, err := s.Compact(); err != vecstore.ErrClosed {
		t.Fatalf("Compact on a closed store: %v", err)
	}
}

func TestMaybeCompactThresholdsAndPersistedConfig(t *testing.T) {
	s, dir := filled(t, 100)
	if c := vecstore.DefaultCompactionConfig(); c.Enabled || c.MinDeletedRecords != 1000 || c.MinDeletedRatio != 0.1 {
		t.Fatalf("DefaultCompactionConfig = %+v", c)
	}
	for i := 0; i < 5; i++ {
		_ = s.SoftDelete(fmt.Sprintf("r%d", i))
	}
	r, err := s.MaybeCompact()
	if err != nil || r.Triggered || !strings.Contains(r.Reason, "disabled") {
		t.Fatalf("disabled: %+v, %v", r, err)
	}
	cfg := vecstore.CompactionConfig{Enabled: true, MinDeletedRecords: 6, MinDeletedRatio: 0.1}
	if err := s.SetCompactionConfig(cfg); err != nil {
		t.Fatal(err)
	}
	r, _ = s.MaybeCompact()
	if r.Triggered || !strings.Contains(r.Reason, "below both") {
		t.Fatalf("5 of 100: %+v", r)
	}
	_ = s.SoftDelete("r5")
	r, _ = s.MaybeCompact()
	if !r.Triggered || r.RemovedCount != 6 || r.TombstonesRemoved != 0 || !strings.Contains(r.Reason, "min_deleted_records") {
		t.Fatalf("6 of 100: %+v", r)
	}
	wantErr(t, s.SetCompactionConfig(vecstore.CompactionConfig{Enabled: true, MinDeletedRatio: 2}), vecstore.ErrInvalidArgument)
	s.Close()
	s2, err := vecstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, err := s2.CompactionConfig(); err != nil || got != cfg {
		t.Fatalf("after reopen: %+v, %v; want %+v", got, err, cfg)
	}
}

func TestMaintenanceExpiresTTLRecordsAndStopsOnClose(t *testing.T) {
	s, _ := filled(t, 3)
	if err := s.SetCompactionConfig(vecstore.CompactionConfig{Enabled: true, MinDeletedRecords: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertWithTTL("session", []float32{9, 9, 9, 9}, nil, 1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.StartMaintenance(0), vecstore.ErrInvalidArgument)
	if err := s.StartMaintenance(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Goroutines keep querying while the thread expires and compacts.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Query(vecstore.Query{Vector: vec4(1), K: 3}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(6 * time.Second)
	var m map[string]any
	for time.Now().Before(deadline) {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		m, _ = st["maintenance"].(map[string]any)
		if m != nil && m["expired"] == 1.0 && m["compactions"] == 1.0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if m == nil || m["expired"] != 1.0 || m["compactions"] != 1.0 || m["errors"] != 0.0 {
		t.Fatalf("maintenance status: %v", m)
	}
	wantErr(t, func() error { _, err := s.Get("session"); return err }(), vecstore.ErrNotFound)
	if err := s.StartMaintenance(time.Hour); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Close took %v with a maintenance thread on a 1 h interval", d)
	}
	if err := s.StopMaintenance(); err != vecstore.ErrClosed {
		t.Fatalf("StopMaintenance after Close: %v", err)
	}
}

func TestSetTTLAndExpire(t *testing.T) {
	s, _ := filled(t, 3)
	if err := s.SetTTL("r0", 3600); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetTTL("nope", 3600), vecstore.ErrNotFound)
	if n, err := s.ExpireTTLRecords(); err != nil || n != 0 {
		t.Fatalf("ExpireTTLRecords = %d, %v", n, err)
	}
	if n, _ := s.Count(); n != 3 {
		t.Fatalf("Count = %d", n)
	}
}
