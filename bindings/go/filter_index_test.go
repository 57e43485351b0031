package vecstore_test

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// Filtered queries from many goroutines while others write (upserts, metadata updates, soft
// deletes): the metadata index is maintained under the store's lock, so every result passes its
// filter and k results come back while at least k records match (the 3000 "stable" records are
// never touched). Run with -race.
func TestFilteredQueriesDuringWrites(t *testing.T) {
	const dim = 8
	s, _ := open(t, withMetric(dim, vecstore.Euclidean))
	r := rand.New(rand.NewSource(7))
	var ids []string
	var vecs [][]float32
	var metas []map[string]any
	for i := 0; i < 3000; i++ {
		ids = append(ids, fmt.Sprintf("stable-%d", i))
		vecs = append(vecs, randomVector(r, dim))
		metas = append(metas, map[string]any{"stable": true, "n": i % 10})
	}
	if err := s.UpsertMany(ids, vecs, metas); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(100 + w)))
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("w%d-%d", w, r.Intn(50))
				meta := map[string]any{"n": i % 10, "tags": []any{"a", fmt.Sprintf("b%d", i%3)}}
				switch r.Intn(3) {
				case 0:
					if err := s.Upsert(id, randomVector(r, dim), meta); err != nil {
						t.Errorf("Upsert: %v", err)
					}
				case 1:
					_ = s.UpdateMetadata(id, meta)
				default:
					_ = s.SoftDelete(id)
				}
			}
		}(w)
	}
	filters := []struct {
		text string
		ok   func(m map[string]any) bool
	}{
		{"stable = true", func(m map[string]any) bool { return m["stable"] == true }},
		{"n < 3", func(m map[string]any) bool { n, _ := m["n"].(float64); _, has := m["n"]; return has && n < 3 }},
		{"stable = true OR tags CONTAINS 'b1'", func(m map[string]any) bool {
			if m["stable"] == true {
				return true
			}
			tags, _ := m["tags"].([]any)
			for _, x := range tags {
				if x == "b1" {
					return true
				}
			}
			return false
		}},
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(200 + g)))
			for i := 0; i < 150; i++ {
				f := filters[(i+g)%len(filters)]
				// EfSearch 10 keeps broad filters on the graph (with the bitmap test).
				res, err := s.Query(vecstore.Query{Vector: randomVector(r, dim), K: 10, Filter: f.text, EfSearch: 10})
				if err != nil {
					t.Errorf("Query(%q): %v", f.text, err)
					return
				}
				if len(res) != 10 {
					t.Errorf("Query(%q): %d results, want 10", f.text, len(res))
				}
				for _, h := range res {
					if !f.ok(h.Metadata) {
						t.Errorf("Query(%q) returned %s with %v", f.text, h.ID, h.Metadata)
					}
				}
			}
		}(g)
	}
	wg.Wait()
}
