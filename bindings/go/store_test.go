package vecstore_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// open opens a fresh store in a temporary directory and closes it at the end of the test.
func open(t *testing.T, opts *vecstore.Options) (*vecstore.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := vecstore.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func withMetric(dim int, m vecstore.Metric) *vecstore.Options {
	o := vecstore.DefaultOptions()
	o.Dimension = dim
	o.Metric = m
	return &o
}

// wantErr checks that err matches target with errors.Is, is an *Error, and matches no other
// sentinel.
func wantErr(t *testing.T, err error, target *vecstore.Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", target.Code)
	}
	if !errors.Is(err, target) {
		t.Fatalf("got %v, want an error matching %v", err, target.Code)
	}
	var e *vecstore.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is not a *vecstore.Error", err, err)
	}
	if e.Code != target.Code {
		t.Fatalf("Code = %v, want %v", e.Code, target.Code)
	}
	for _, other := range allSentinels {
		if other.Code != target.Code && errors.Is(err, other) {
			t.Fatalf("%v also matches %v", err, other.Code)
		}
	}
}

var allSentinels = []*vecstore.Error{
	vecstore.ErrInvalidArgument, vecstore.ErrDimensionMismatch, vecstore.ErrNotFound,
	vecstore.ErrAlreadyExists, vecstore.ErrFilterSyntax, vecstore.ErrQuotaExceeded,
	vecstore.ErrRateLimited, vecstore.ErrNamespaceSuspended, vecstore.ErrIO, vecstore.ErrCorrupt,
	vecstore.ErrLocked, vecstore.ErrInternal, vecstore.ErrClosed,
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-5 }

func TestVersion(t *testing.T) {
	v := vecstore.Version()
	if parts := strings.Split(v, "."); len(parts) != 3 {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
	if vecstore.ABIVersion() == 0 {
		t.Fatal("ABIVersion() = 0")
	}
}

func TestDefaultOptions(t *testing.T) {
	want := vecstore.Options{
		Dimension: 0, Metric: vecstore.DefaultMetric, M: 16, EfConstruction: 200, EfSearch: 64,
		BuildThreads: 1, Durability: vecstore.DurabilityProcess,
	}
	if got := vecstore.DefaultOptions(); got != want {
		t.Fatalf("DefaultOptions() = %+v, want %+v", got, want)
	}
}

// DefaultOptions reopen a store of any metric (with another EfSearch), an explicit other metric is
// refused, and a new store opened with DefaultOptions is cosine.
func TestDefaultOptionsReopenAnyStore(t *testing.T) {
	for _, m := range []vecstore.Metric{vecstore.Cosine, vecstore.Euclidean, vecstore.Dot} {
		dir := filepath.Join(t.TempDir(), m.String())
		o := vecstore.DefaultOptions()
		o.Dimension = 2
		o.Metric = m
		s, err := vecstore.Open(dir, &o)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Upsert("a", []float32{3, 4}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		d := vecstore.DefaultOptions()
		d.EfSearch = 99
		s, err = vecstore.Open(dir, &d)
		if err != nil {
			t.Fatalf("%v store, DefaultOptions: %v", m, err)
		}
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st["metric"] != m.String() || st["count"] != float64(1) {
			t.Fatalf("%v store reopened: stats %v", m, st)
		}
		s.Close()
		other := vecstore.DefaultOptions()
		other.Metric = (m + 1) % 3
		if s, err := vecstore.Open(dir, &other); !errors.Is(err, vecstore.ErrInvalidArgument) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("%v store opened with %v: err %v, want ErrInvalidArgument", m, other.Metric, err)
		}
	}
	d := vecstore.DefaultOptions()
	s, err := vecstore.Open(filepath.Join(t.TempDir(), "new"), &d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Upsert("a", []float32{3, 4}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(); err != nil || st["metric"] != "cosine" {
		t.Fatalf("new store with DefaultOptions: stats %v, %v", st, err)
	}
}

func TestStatusAndError(t *testing.T) {
	names := map[vecstore.Status]string{
		vecstore.OK:                 "VS_OK",
		vecstore.InvalidArgument:    "VS_ERR_INVALID_ARGUMENT",
		vecstore.DimensionMismatch:  "VS_ERR_DIMENSION_MISMATCH",
		vecstore.NotFound:           "VS_ERR_NOT_FOUND",
		vecstore.AlreadyExists:      "VS_ERR_ALREADY_EXISTS",
		vecstore.FilterSyntax:       "VS_ERR_FILTER_SYNTAX",
		vecstore.QuotaExceeded:      "VS_ERR_QUOTA_EXCEEDED",
		vecstore.RateLimited:        "VS_ERR_RATE_LIMITED",
		vecstore.NamespaceSuspended: "VS_ERR_NAMESPACE_SUSPENDED",
		vecstore.IO:                 "VS_ERR_IO",
		vecstore.Corrupt:            "VS_ERR_CORRUPT",
		vecstore.Locked:             "VS_ERR_LOCKED",
		vecstore.Internal:           "VS_ERR_INTERNAL",
		vecstore.Closed:             "VS_ERR_CLOSED",
		vecstore.Status(99):         "VS_ERR_UNKNOWN",
		vecstore.Status(-7):         "VS_ERR_UNKNOWN",
		vecstore.Status(1 << 40):    "VS_ERR_UNKNOWN",
	}
	for st, want := range names {
		if got := st.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(st), got, want)
		}
	}
	// Every sentinel matches itself and only errors with its code.
	for i, s := range allSentinels {
		e := &vecstore.Error{Code: s.Code, Message: "some message"}
		for j, other := range allSentinels {
			if got := errors.Is(e, other); got != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", e.Code, other.Code, got)
			}
		}
	}
	e := &vecstore.Error{Code: vecstore.NotFound, Message: "record not found: x"}
	if got := e.Error(); !strings.Contains(got, "record not found: x") || !strings.Contains(got, "VS_ERR_NOT_FOUND") {
		t.Errorf("Error() = %q, want the message and the status name", got)
	}
	if errors.Is(e, errors.New("not found")) {
		t.Error("an *Error matched a plain error")
	}
}

func TestOpenNilOptionsTakesDimensionFromFirstVector(t *testing.T) {
	s, _ := open(t, nil)
	if err := s.Upsert("a", []float32{1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"count": 1.0, "dimension": 3.0, "metric": "cosine"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("Stats()[%q] = %v, want %v (stats %v)", k, st[k], v, st)
		}
	}
	if lb, ok := st["log_bytes"].(float64); !ok || lb <= 0 {
		t.Errorf("Stats()[log_bytes] = %v, want a positive number", st["log_bytes"])
	}
	wantErr(t, s.Upsert("b", []float32{1, 2}, nil), vecstore.ErrDimensionMismatch)
}

func TestUpsertGetDelete(t *testing.T) {
	s, _ := open(t, withMetric(3, vecstore.Euclidean))
	meta := map[string]any{
		"title": "<b>Tom & Jerry</b>", "n": 3, "pi": 3.5, "ok": true, "none": nil,
		"tags": []any{"x", 1, false, nil}, "empty": []string{},
	}
	if err := s.Upsert("doc-1", []float32{1, 2, 3}, meta); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get("doc-1")
	if err != nil {
		t.Fatal(err)
	}
	want := vecstore.Result{
		ID: "doc-1", Score: 0, Vector: []float32{1, 2, 3},
		Metadata: map[string]any{
			"title": "<b>Tom & Jerry</b>", "n": 3.0, "pi": 3.5, "ok": true, "none": nil,
			"tags": []any{"x", 1.0, false, nil}, "empty": []any{},
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Get = %#v\nwant  %#v", r, want)
	}

	// Replace: vector and metadata both; nil metadata clears it.
	if err := s.Upsert("doc-1", []float32{4, 5, 6}, nil); err != nil {
		t.Fatal(err)
	}
	r, err = s.Get("doc-1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Metadata != nil || !reflect.DeepEqual(r.Vector, []float32{4, 5, 6}) {
		t.Fatalf("after replace: %+v", r)
	}
	// An empty, non-nil map is no metadata too.
	if err := s.Upsert("doc-2", []float32{0, 0, 0}, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	if err := s.Delete("doc-1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Delete("doc-1"), vecstore.ErrNotFound)
	_, err = s.Get("doc-1")
	wantErr(t, err, vecstore.ErrNotFound)
	if n, err := s.Count(); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want 1", n, err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestGetReturnsNormalisedVectorForCosine(t *testing.T) {
	s, _ := open(t, withMetric(2, vecstore.Cosine))
	if err := s.Upsert("a", []float32{3, 4}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vector) != 2 || !near(r.Vector[0], 0.6) || !near(r.Vector[1], 0.8) {
		t.Fatalf("Get vector = %v, want [0.6 0.8]", r.Vector)
	}
	// The returned slice is a copy owned by the caller.
	r.Vector[0] = 42
	r2, _ := s.Get("a")
	if !near(r2.Vector[0], 0.6) {
		t.Fatalf("mutating a result changed the store: %v", r2.Vector)
	}
}

func TestScoresPerMetric(t *testing.T) {
	inv := float32(1 / math.Sqrt2)
	cases := []struct {
		metric vecstore.Metric
		query  []float32
		want   map[string]float32
		order  []string
	}{
		// Cosine: the cosine similarity. The query [1 1] is 45° from both a and b.
		{vecstore.Cosine, []float32{2, 0}, map[string]float32{"a": 1, "b": 0, "c": inv}, []string{"a", "c", "b"}},
		// Dot: the plain dot product of the stored (unnormalised) vectors.
		{vecstore.Dot, []float32{2, 0}, map[string]float32{"a": 2, "b": 0, "c": 6}, []string{"c", "a", "b"}},
		// Euclidean: 1 / (1 + d) with the true distance: d(a)=1, d(b)=sqrt(8), d(c)=sqrt(10).
		{vecstore.Euclidean, []float32{2, 0}, map[string]float32{
			"a": 0.5, "b": float32(1 / (1 + math.Sqrt(8))), "c": float32(1 / (1 + math.Sqrt(10))),
		}, []string{"a", "b", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.metric.String(), func(t *testing.T) {
			s, _ := open(t, withMetric(2, tc.metric))
			err := s.UpsertMany([]string{"a", "b", "c"},
				[][]float32{{1, 0}, {0, 2}, {3, 3}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			hits, err := s.Query(vecstore.Query{Vector: tc.query})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 3 {
				t.Fatalf("got %d hits, want 3", len(hits))
			}
			for i, h := range hits {
				if h.ID != tc.order[i] {
					t.Errorf("hit %d = %q, want %q", i, h.ID, tc.order[i])
				}
				if !near(h.Score, tc.want[h.ID]) {
					t.Errorf("score of %q = %v, want %v", h.ID, h.Score, tc.want[h.ID])
				}
				if h.Vector != nil || h.Explanation != nil || h.Metadata != nil {
					t.Errorf("hit %+v: want no vector, explanation or metadata", h)
				}
			}
			st, err := s.Stats()
			if err != nil || st["metric"] != tc.metric.String() {
				t.Fatalf("Stats = %v, %v", st, err)
			}
		})
	}
}

func TestQueryKAndMetadata(t *testing.T) {
	s, _ := open(t, withMetric(1, vecstore.Dot))
	var ids []string
	var vecs [][]float32
	var metas []map[string]any
	for i := 0; i < 15; i++ {
		ids = append(ids, "r"+string(rune('a'+i)))
		vecs = append(vecs, []float32{float32(i)})
		metas = append(metas, map[string]any{"i": i})
	}
	if err := s.UpsertMany(ids, vecs, metas); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Query(vecstore.Query{Vector: []float32{1}}) // K 0 = 10
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 10 {
		t.Fatalf("K=0 gave %d hits, want 10", len(hits))
	}
	for i, h := range hits {
		want := 14 - i
		if h.ID != ids[want] || h.Score != float32(want) || h.Metadata["i"] != float64(want) {
			t.Fatalf("hit %d = %+v, want id %s score %d", i, h, ids[want], want)
		}
	}
	hits, err = s.Query(vecstore.Query{Vector: []float32{-1}, K: 3, EfSearch: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 || hits[0].ID != "ra" || hits[2].ID != "rc" {
		t.Fatalf("K=3 hits = %+v", hits)
	}
	hits, err = s.Query(vecstore.Query{Vector: []float32{1}, K: vecstore.MaxK})
	if err != nil || len(hits) != 15 {
		t.Fatalf("K=MaxK: %d hits, %v", len(hits), err)
	}
}

func TestUpsertMany(t *testing.T) {
	s, _ := open(t, withMetric(2, vecstore.Euclidean))
	// Empty is a no-op.
	if err := s.UpsertMany(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	// nil metadata entries, and a later duplicate id wins.
	err := s.UpsertMany(
		[]string{"a", "b", "a"},
		[][]float32{{1, 1}, {2, 2}, {3, 3}},
		[]map[string]any{{"v": "first"}, nil, {"v": "last"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(); n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}
	a, err := s.Get("a")
	if err != nil || a.Metadata["v"] != "last" || !reflect.DeepEqual(a.Vector, []float32{3, 3}) {
		t.Fatalf("Get(a) = %+v, %v", a, err)
	}
	b, err := s.Get("b")
	if err != nil || b.Metadata != nil || !reflect.DeepEqual(b.Vector, []float32{2, 2}) {
		t.Fatalf("Get(b) = %+v, %v", b, err)
	}

	// Errors; none writes anything.
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}}, nil), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x"}, [][]float32{{1, 1}}, []map[string]any{}), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}, {1}}, nil), vecstore.ErrDimensionMismatch)
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1, 1}, {1, 1, 1}}, nil), vecstore.ErrDimensionMismatch)
	wantErr(t, s.UpsertMany([]string{"x", "y\x00z"}, [][]float32{{1, 1}, {1, 1}}, nil), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x", ""}, [][]float32{{1, 1}, {1, 1}}, nil), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}, {float32(math.NaN()), 1}}, nil), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}, {1, 1}},
		[]map[string]any{nil, {"bad": map[string]any{"nested": 1}}}), vecstore.ErrInvalidArgument)
	wantErr(t, s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}, {1, 1}},
		[]map[string]any{nil, {"bad": make(chan int)}}), vecstore.ErrInvalidArgument)
	err = s.UpsertMany([]string{"x", "y"}, [][]float32{{1, 1}, {1, 1}}, []map[string]any{nil, {"bad": map[string]any{}}})
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("error does not name the record: %v", err)
	}
	if n, _ := s.Count(); n != 2 {
		t.Fatalf("a failed UpsertMany changed the store: Count = %d", n)
	}
}

func TestInvalidArguments(t *testing.T) {
	s, dir := open(t, withMetric(2, vecstore.Cosine))
	if err := s.Upsert("a", []float32{1, 0}, nil); err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := map[string]error{
		"NaN in vector":          s.Upsert("x", []float32{nan, 1}, nil),
		"infinity in vector":     s.Upsert("x", []float32{inf, 1}, nil),
		"zero vector in cosine":  s.Upsert("x", []float32{0, 0}, nil),
		"empty vector":           s.Upsert("x", nil, nil),
		"empty id":               s.Upsert("", []float32{1, 0}, nil),
		"id too long":            s.Upsert(strings.Repeat("x", 4097), []float32{1, 0}, nil),
		"NUL in id (upsert)":     s.Upsert("a\x00b", []float32{1, 0}, nil),
		"invalid UTF-8 id":       s.Upsert("a\xffb", []float32{1, 0}, nil),
		"channel in metadata":    s.Upsert("x", []float32{1, 0}, map[string]any{"c": make(chan int)}),
		"func in metadata":       s.Upsert("x", []float32{1, 0}, map[string]any{"f": func() {}}),
		"NaN in metadata":        s.Upsert("x", []float32{1, 0}, map[string]any{"f": math.NaN()}),
		"nested map in metadata": s.Upsert("x", []float32{1, 0}, map[string]any{"m": map[string]any{"a": 1}}),
		"nested list":            s.Upsert("x", []float32{1, 0}, map[string]any{"l": []any{[]any{1}}}),
		"NUL in id (delete)":     s.Delete("a\x00"),
		"empty id (delete)":      s.Delete(""),
	}
	_, cases["NUL in id (get)"] = s.Get("a\x00b")
	_, cases["empty id (get)"] = s.Get("")
	_, cases["K over MaxK"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, K: vecstore.MaxK + 1})
	_, cases["K negative"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, K: -1})
	_, cases["K over uint32"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, K: math.MaxUint32 + 2})
	_, cases["EfSearch negative"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, EfSearch: -1})
	_, cases["EfSearch too large"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, EfSearch: 1 << 30})
	_, cases["filter not UTF-8"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, Filter: "category = '\xff'"})
	_, cases["NUL in filter"] = s.Query(vecstore.Query{Vector: []float32{1, 0}, Filter: "a\x00"})
	_, cases["NaN in query"] = s.Query(vecstore.Query{Vector: []float32{nan, 0}})
	_, cases["zero query vector"] = s.Query(vecstore.Query{Vector: []float32{0, 0}})
	_, cases["empty query vector"] = s.Query(vecstore.Query{})
	_, cases["NUL in path"] = vecstore.Open(dir+"\x00x", nil)
	_, cases["empty path"] = vecstore.Open("", nil)
	bad := vecstore.DefaultOptions()
	bad.M = 0
	_, cases["M 0"] = vecstore.Open(filepath.Join(t.TempDir(), "m0"), &bad)
	bad = vecstore.DefaultOptions()
	bad.Dimension = -1
	_, cases["negative dimension"] = vecstore.Open(filepath.Join(t.TempDir(), "neg"), &bad)
	bad = vecstore.DefaultOptions()
	bad.Dimension = vecstore.MaxDimension + 1
	_, cases["dimension too large"] = vecstore.Open(filepath.Join(t.TempDir(), "big"), &bad)
	bad = vecstore.DefaultOptions()
	bad.Metric = 7
	_, cases["unknown metric"] = vecstore.Open(filepath.Join(t.TempDir(), "metric"), &bad)
	bad = vecstore.DefaultOptions()
	bad.Durability = 7
	_, cases["unknown durability"] = vecstore.Open(filepath.Join(t.TempDir(), "dur"), &bad)
	_, cases["zero options"] = vecstore.Open(filepath.Join(t.TempDir(), "zero"), &vecstore.Options{})

	for name, err := range cases {
		t.Run(name, func(t *testing.T) { wantErr(t, err, vecstore.ErrInvalidArgument) })
	}
	if n, _ := s.Count(); n != 1 {
		t.Fatalf("failed calls changed the store: Count = %d", n)
	}
}

func TestDimensionMismatch(t *testing.T) {
	s, dir := open(t, withMetric(3, vecstore.Dot))
	wantErr(t, s.Upsert("a", []float32{1, 2}, nil), vecstore.ErrDimensionMismatch)
	if err := s.Upsert("a", []float32{1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.Query(vecstore.Query{Vector: []float32{1, 2, 3, 4}})
	wantErr(t, err, vecstore.ErrDimensionMismatch)
	wantErr(t, s.UpsertMany([]string{"b"}, [][]float32{{1}}, nil), vecstore.ErrDimensionMismatch)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = vecstore.Open(dir, withMetric(4, vecstore.Dot))
	wantErr(t, err, vecstore.ErrDimensionMismatch)
	// Reopening with another metric is an invalid argument.
	_, err = vecstore.Open(dir, withMetric(3, vecstore.Cosine))
	wantErr(t, err, vecstore.ErrInvalidArgument)
}

func TestLocked(t *testing.T) {
	s, dir := open(t, nil)
	_, err := vecstore.Open(dir, nil)
	wantErr(t, err, vecstore.ErrLocked)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close released the lock.
	s2, err := vecstore.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCorrupt(t *testing.T) {
	s, dir := open(t, withMetric(2, vecstore.Cosine))
	if err := s.Upsert("a", []float32{1, 0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "vecstore.meta.json")
	if _, err := os.Stat(meta); err != nil {
		t.Fatalf("the store has no meta file: %v", err)
	}
	if err := os.WriteFile(meta, []byte("this is not json {"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := vecstore.Open(dir, nil)
	wantErr(t, err, vecstore.ErrCorrupt)
	if !strings.Contains(err.Error(), "vecstore.meta.json") {
		t.Errorf("the error does not name the file: %v", err)
	}
}

func TestIOError(t *testing.T) {
	// A regular file where the store directory should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := vecstore.Open(filepath.Join(file, "store"), nil)
	wantErr(t, err, vecstore.ErrIO)
}

func TestReopenPersists(t *testing.T) {
	o := withMetric(2, vecstore.Euclidean)
	o.Durability = vecstore.DurabilitySync
	s, dir := open(t, o)
	if err := s.UpsertMany([]string{"a", "b", "c"}, [][]float32{{1, 1}, {2, 2}, {3, 3}},
		[]map[string]any{{"k": "a"}, {"k": "b"}, {"k": "c"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert("c", []float32{5, 5}, map[string]any{"k": "c2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Dimension 0 and the default durability: taken from the store on disk.
	s2, err := vecstore.Open(dir, withMetric(0, vecstore.Euclidean))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n, err := s2.Count(); err != nil || n != 2 {
		t.Fatalf("Count after reopen = %d, %v; want 2", n, err)
	}
	c, err := s2.Get("c")
	if err != nil || c.Metadata["k"] != "c2" || !reflect.DeepEqual(c.Vector, []float32{5, 5}) {
		t.Fatalf("Get(c) after reopen = %+v, %v", c, err)
	}
	_, err = s2.Get("b")
	wantErr(t, err, vecstore.ErrNotFound)
	st, err := s2.Stats()
	if err != nil || st["dimension"] != 2.0 || st["metric"] != "euclidean" {
		t.Fatalf("Stats after reopen = %v, %v", st, err)
	}
}

func TestUseAfterClose(t *testing.T) {
	s, _ := open(t, withMetric(2, vecstore.Cosine))
	if err := s.Upsert("a", []float32{1, 0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	wantErr(t, s.Close(), vecstore.ErrClosed)
	wantErr(t, s.Upsert("a", []float32{1, 0}, nil), vecstore.ErrClosed)
	wantErr(t, s.UpsertMany([]string{"a"}, [][]float32{{1, 0}}, nil), vecstore.ErrClosed)
	wantErr(t, s.UpsertMany(nil, nil, nil), vecstore.ErrClosed)
	_, err := s.Get("a")
	wantErr(t, err, vecstore.ErrClosed)
	wantErr(t, s.Delete("a"), vecstore.ErrClosed)
	_, err = s.Count()
	wantErr(t, err, vecstore.ErrClosed)
	_, err = s.Stats()
	wantErr(t, err, vecstore.ErrClosed)
	wantErr(t, s.Flush(), vecstore.ErrClosed)
	_, err = s.Query(vecstore.Query{Vector: []float32{1, 0}})
	wantErr(t, err, vecstore.ErrClosed)

	// A nil *Store behaves like a closed one.
	var nilStore *vecstore.Store
	wantErr(t, nilStore.Close(), vecstore.ErrClosed)
	_, err = nilStore.Count()
	wantErr(t, err, vecstore.ErrClosed)
}

func TestOpenNilOptionsReopensAnyMetric(t *testing.T) {
	dir := t.TempDir()
	opts := vecstore.DefaultOptions()
	opts.Metric = vecstore.Euclidean
	s, err := vecstore.Open(dir, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert("a", []float32{3, 4}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = vecstore.Open(dir, nil)
	if err != nil {
		t.Fatalf("nil options must reopen a euclidean store: %v", err)
	}
	defer s.Close()
	hits, err := s.Query(vecstore.Query{Vector: []float32{3, 4}, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Score != 1 {
		t.Fatalf("euclidean score of an exact match must be 1, got %+v", hits)
	}
	if _, err := vecstore.Open(dir, &vecstore.Options{}); err == nil {
		t.Fatal("a second open of the same directory must fail")
	}
}
