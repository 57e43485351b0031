package vecstore_test

import (
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

func queryIDs(t *testing.T, s *vecstore.Store, filter string) []string {
	t.Helper()
	res, err := s.Query(vecstore.Query{Vector: []float32{1, 0}, K: 100, Filter: filter})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	ids := []string{}
	for _, r := range res {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

func sameIDs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if len(got) != len(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("ids = %v, want %v", got, want)
		}
	}
}

func TestSoftDeleteRestoreUpdateMetadata(t *testing.T) {
	s, _ := open(t, withMetric(2, vecstore.Cosine))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Upsert("a", []float32{1, 0}, map[string]any{"tag": "x"}))
	must(s.Upsert("b", []float32{1, 0.5}, nil))
	must(s.SoftDelete("a"))
	if _, err := s.Get("a"); err == nil {
		t.Fatal("Get of a soft-deleted record succeeded")
	}
	sameIDs(t, queryIDs(t, s, ""), "b")
	wantErr(t, s.SoftDelete("a"), vecstore.ErrNotFound)
	wantErr(t, s.SoftDelete("nope"), vecstore.ErrNotFound)
	wantErr(t, s.Restore("nope"), vecstore.ErrNotFound)
	must(s.Restore("a"))
	sameIDs(t, queryIDs(t, s, ""), "a", "b")
	r, err := s.Get("a")
	must(err)
	if r.Metadata["tag"] != "x" {
		t.Fatalf("restored metadata = %v", r.Metadata)
	}

	must(s.UpdateMetadata("b", map[string]any{"tag": "y", "n": 3}))
	sameIDs(t, queryIDs(t, s, "tag = 'y' AND n = 3"), "b")
	wantErr(t, s.UpdateMetadata("nope", nil), vecstore.ErrNotFound)
	wantErr(t, s.UpdateMetadata("b", map[string]any{"nested": map[string]any{"x": 1}}), vecstore.ErrInvalidArgument)
	sameIDs(t, queryIDs(t, s, "tag = 'y'"), "b") // the refused update changed nothing
	must(s.UpdateMetadata("b", nil))
	sameIDs(t, queryIDs(t, s, "tag = 'y'"))
}

func TestTTL(t *testing.T) {
	s, dir := open(t, withMetric(2, vecstore.Cosine))
	if err := s.UpsertWithTTL("short", []float32{1, 0}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertWithTTL("long", []float32{1, 0.1}, nil, 3600); err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert("c", []float32{1, 0.2}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTTL("c", 1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetTTL("nope", 1), vecstore.ErrNotFound)
	wantErr(t, s.SetTTL("c", vecstore.MaxTTLSeconds+1), vecstore.ErrInvalidArgument)
	if n, _ := s.Count(); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	// Expiry times survive reopening.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	s, err := vecstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(); n != 1 {
		t.Fatalf("Count after expiry = %d, want 1", n)
	}
	sameIDs(t, queryIDs(t, s, ""), "long")
	_, err = s.Get("short")
	wantErr(t, err, vecstore.ErrNotFound)
	n, err := s.ExpireTTLRecords()
	if err != nil || n != 2 {
		t.Fatalf("ExpireTTLRecords = %d, %v; want 2", n, err)
	}
	if n, _ := s.ExpireTTLRecords(); n != 0 {
		t.Fatalf("second ExpireTTLRecords = %d, want 0", n)
	}
}

func TestBatchExecute(t *testing.T) {
	s, dir := open(t, withMetric(2, vecstore.Cosine))
	if err := s.Upsert("old", []float32{1, 0.3}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.BatchExecute([]vecstore.BatchOp{
		{Op: vecstore.OpUpsert, ID: "n1", Vector: []float32{1, 0.1}, Metadata: map[string]any{"g": 1}},
		{Op: vecstore.OpUpsert, ID: "bad", Vector: []float32{1, 2, 3}},
		{Op: vecstore.OpSoftDelete, ID: "old"},
		{Op: vecstore.OpRestore, ID: "nobody"},
		{Op: vecstore.OpUpdateMetadata, ID: "n1", Metadata: map[string]any{"g": 2}},
		{Op: vecstore.OpSetTTL, ID: "n1", TTLSeconds: 3600},
		{Op: vecstore.OpDelete, ID: "old"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Succeeded != 5 || res.Failed != 2 || len(res.Errors) != 2 {
		t.Fatalf("result = %+v", res)
	}
	if e := res.Errors[0]; e.Index != 1 || e.Code != vecstore.DimensionMismatch || e.Operation != "upsert(bad)" {
		t.Fatalf("errors[0] = %+v", e)
	}
	if e := res.Errors[1]; e.Index != 3 || e.Code != vecstore.NotFound || e.Operation != "restore(nobody)" || e.Message == "" {
		t.Fatalf("errors[1] = %+v", e)
	}
	sameIDs(t, queryIDs(t, s, "g = 2"), "n1")
	sameIDs(t, queryIDs(t, s, ""), "n1")

	// A batch refused as a whole applies nothing.
	_, err = s.BatchExecute([]vecstore.BatchOp{
		{Op: vecstore.OpUpsert, ID: "n2", Vector: []float32{1, 0}},
		{Op: 99, ID: "x"},
	})
	wantErr(t, err, vecstore.ErrInvalidArgument)
	_, err = s.BatchExecute([]vecstore.BatchOp{{Op: vecstore.OpDelete, ID: "a\x00b"}})
	wantErr(t, err, vecstore.ErrInvalidArgument)
	sameIDs(t, queryIDs(t, s, ""), "n1")

	// The JSON form, with the guide's shapes.
	out, err := s.BatchExecuteJSON(`{"operations":[{"op":"upsert","id":"j","vector":[1,0.4],"metadata":{"k":"v"}},{"op":"soft_delete","id":"zz"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
		Errors    []struct {
			Index     int    `json:"index"`
			Operation string `json:"operation"`
			Error     string `json:"error"`
			Code      string `json:"code"`
		} `json:"errors"`
		DurationMs *float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if parsed.Succeeded != 1 || parsed.Failed != 1 || parsed.Errors[0].Index != 1 ||
		parsed.Errors[0].Operation != "soft_delete(zz)" || parsed.Errors[0].Code != "not_found" || parsed.DurationMs == nil {
		t.Fatalf("json result = %s", out)
	}
	_, err = s.BatchExecuteJSON(`[{"op":"teleport","id":"x"}]`)
	wantErr(t, err, vecstore.ErrInvalidArgument)

	// Durable: reopen and look.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := vecstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sameIDs(t, queryIDs(t, s2, ""), "j", "n1")
}

// Goroutines batching into one store at once: every operation lands exactly once.
func TestConcurrentBatches(t *testing.T) {
	s, _ := open(t, withMetric(4, vecstore.Euclidean))
	const workers, batches, per = 4, 10, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				ops := make([]vecstore.BatchOp, per)
				for i := range ops {
					id := string(rune('a'+w)) + "-" + time.Duration(b*per+i).String()
					ops[i] = vecstore.BatchOp{Op: vecstore.OpUpsert, ID: id, Vector: []float32{float32(w), float32(b), float32(i), 1}}
				}
				res, err := s.BatchExecute(ops)
				if err != nil || res.Succeeded != per {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("batch failed: %v", err)
	}
	if n, _ := s.Count(); n != workers*batches*per {
		t.Fatalf("Count = %d, want %d", n, workers*batches*per)
	}
}
