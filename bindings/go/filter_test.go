package vecstore_test

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// filterFixture is a store whose metadata fields are known functions of the record number, so a
// test can decide which records a filter must match.
func filterFixture(t *testing.T, n int) (*vecstore.Store, [][]float32) {
	t.Helper()
	s, _ := open(t, withMetric(8, vecstore.Euclidean))
	rng := rand.New(rand.NewSource(3))
	ids := make([]string, n)
	vecs := make([][]float32, n)
	metas := make([]map[string]any, n)
	for i := 0; i < n; i++ {
		ids[i] = fmt.Sprintf("r%d", i)
		v := make([]float32, 8)
		for d := range v {
			v[d] = rng.Float32()*2 - 1
		}
		vecs[i] = v
		metas[i] = map[string]any{
			"category": []string{"tech", "news", "sport"}[i%3],
			"price":    (i * 37) % 1000,
			"tags":     []string{fmt.Sprintf("t%d", i%4), "all"},
		}
	}
	if err := s.UpsertMany(ids, vecs, metas); err != nil {
		t.Fatalf("UpsertMany: %v", err)
	}
	return s, vecs
}

func TestFilteredQueryReturnsOnlyAndEnoughMatches(t *testing.T) {
	const n = 2000
	s, _ := filterFixture(t, n)
	cases := []struct {
		filter string
		match  func(i int) bool
	}{
		{"category = 'tech'", func(i int) bool { return i%3 == 0 }},
		{"category != 'tech' AND price < 300", func(i int) bool { return i%3 != 0 && (i*37)%1000 < 300 }},
		{"price >= 990", func(i int) bool { return (i*37)%1000 >= 990 }},
		{"category IN ('news', 'sport') OR tags CONTAINS 't1'", func(i int) bool { return i%3 != 0 || i%4 == 1 }},
		{"NOT (tags contains 'all')", func(i int) bool { return false }},
		{`category NOT IN ("tech")`, func(i int) bool { return i%3 != 0 }},
	}
	rng := rand.New(rand.NewSource(9))
	for _, c := range cases {
		matches := 0
		for i := 0; i < n; i++ {
			if c.match(i) {
				matches++
			}
		}
		for _, k := range []int{1, 10, 50} {
			q := make([]float32, 8)
			for d := range q {
				q[d] = rng.Float32()*2 - 1
			}
			res, err := s.Query(vecstore.Query{Vector: q, K: k, Filter: c.filter})
			if err != nil {
				t.Fatalf("%s: %v", c.filter, err)
			}
			want := k
			if matches < k {
				want = matches
			}
			if len(res) != want {
				t.Fatalf("%s k=%d: %d results, want %d", c.filter, k, len(res), want)
			}
			for _, r := range res {
				var i int
				fmt.Sscanf(r.ID, "r%d", &i)
				if !c.match(i) {
					t.Fatalf("%s: %s (%v) does not match", c.filter, r.ID, r.Metadata)
				}
			}
			if !sort.SliceIsSorted(res, func(a, b int) bool { return res[a].Score > res[b].Score }) {
				t.Fatalf("%s: results not best first", c.filter)
			}
		}
	}
}

func TestBadFilterIsFilterSyntax(t *testing.T) {
	s, _ := filterFixture(t, 50)
	for _, f := range []string{"category =", "category = 'tech' junk", "(price > 1", "price IN ()", "AND"} {
		_, err := s.Query(vecstore.Query{Vector: make([]float32, 8), K: 5, Filter: f})
		wantErr(t, err, vecstore.ErrFilterSyntax)
		if !strings.Contains(err.Error(), "position") {
			t.Fatalf("%q: message without a position: %v", f, err)
		}
	}
}

// Queries (filtered and not) run from many goroutines while others insert and delete: every answer
// is well-formed and the race detector sees nothing.
func TestQueriesDuringInsertsAndDeletes(t *testing.T) {
	s, _ := filterFixture(t, 1000)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 300; i++ {
				v := make([]float32, 8)
				for d := range v {
					v[d] = rng.Float32()*2 - 1
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Upsert(id, v, map[string]any{"category": "tech", "price": i}); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					if err := s.Delete(id); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(100 + r)))
			for i := 0; i < 200; i++ {
				q := make([]float32, 8)
				for d := range q {
					q[d] = rng.Float32()*2 - 1
				}
				filter := ""
				if i%2 == 0 {
					filter = "category = 'tech'"
				}
				res, err := s.Query(vecstore.Query{Vector: q, K: 10, Filter: filter})
				if err != nil {
					errs <- err
					return
				}
				if len(res) != 10 {
					errs <- fmt.Errorf("query %d (%q): %d results", i, filter, len(res))
					return
				}
				for _, h := range res {
					if filter != "" && h.Metadata["category"] != "tech" {
						errs <- fmt.Errorf("%s does not match %q", h.ID, filter)
						return
					}
				}
			}
		}(r)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
