package vecstore_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	vecstore "github.com/vecstore/vecstore/bindings/go"
)

// Open a store, write a few records, query it, and close it.
func Example() {
	dir, err := os.MkdirTemp("", "vecstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := vecstore.DefaultOptions()
	opts.Dimension = 3
	opts.Metric = vecstore.Cosine
	s, err := vecstore.Open(filepath.Join(dir, "store"), &opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	docs := map[string][]float32{
		"apple":  {1, 0, 0},
		"banana": {0, 1, 0},
		"cherry": {1, 1, 0},
	}
	for id, v := range docs {
		if err := s.Upsert(id, v, map[string]any{"fruit": id, "len": len(id)}); err != nil {
			log.Fatal(err)
		}
	}

	hits, err := s.Query(vecstore.Query{Vector: []float32{1, 0.1, 0}, K: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		fmt.Printf("%s %.3f %v\n", h.ID, h.Score, h.Metadata["len"])
	}
	// Output:
	// apple 0.995 5
	// cherry 0.774 6
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "vecstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "store")

	// nil options: the defaults, the dimension taken from the first vector.
	s, err := vecstore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Upsert("a", []float32{0.5, 0.5}, nil); err != nil {
		log.Fatal(err)
	}

	// A directory is open at most once at a time.
	_, err = vecstore.Open(path, nil)
	fmt.Println(errors.Is(err, vecstore.ErrLocked))

	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	// Use after Close is an error, never a crash.
	_, err = s.Count()
	fmt.Println(errors.Is(err, vecstore.ErrClosed))

	// Reopened, the store has its records.
	s, err = vecstore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	n, _ := s.Count()
	fmt.Println(n)
	// Output:
	// true
	// true
	// 1
}

func ExampleStore_Get() {
	dir, err := os.MkdirTemp("", "vecstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := vecstore.Open(filepath.Join(dir, "store"), nil) // cosine
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if err := s.Upsert("doc", []float32{3, 4}, map[string]any{"title": "hello", "year": 2024}); err != nil {
		log.Fatal(err)
	}
	r, err := s.Get("doc")
	if err != nil {
		log.Fatal(err)
	}
	// Cosine stores keep vectors normalised; JSON numbers come back as float64.
	fmt.Printf("%s %.1f %v %T\n", r.ID, r.Vector, r.Metadata["title"], r.Metadata["year"])

	_, err = s.Get("missing")
	fmt.Println(errors.Is(err, vecstore.ErrNotFound))
	// Output:
	// doc [0.6 0.8] hello float64
	// true
}

func ExampleStore_UpsertMany() {
	dir, err := os.MkdirTemp("", "vecstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := vecstore.DefaultOptions()
	opts.Metric = vecstore.Euclidean
	s, err := vecstore.Open(filepath.Join(dir, "store"), &opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.UpsertMany(
		[]string{"origin", "near", "far"},
		[][]float32{{0, 0}, {3, 4}, {30, 40}},
		[]map[string]any{nil, {"tag": "n"}, {"tag": "f"}},
	)
	if err != nil {
		log.Fatal(err)
	}
	hits, err := s.Query(vecstore.Query{Vector: []float32{0, 0}, K: 3})
	if err != nil {
		log.Fatal(err)
	}
	// Euclidean score: 1 / (1 + distance).
	for _, h := range hits {
		fmt.Printf("%s %.4f\n", h.ID, h.Score)
	}
	// Output:
	// origin 1.0000
	// near 0.1667
	// far 0.0196
}

func ExampleError() {
	dir, err := os.MkdirTemp("", "vecstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := vecstore.DefaultOptions()
	opts.Dimension = 2
	s, err := vecstore.Open(filepath.Join(dir, "store"), &opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Upsert("x", []float32{1, 2, 3}, nil)
	var e *vecstore.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, errors.Is(err, vecstore.ErrDimensionMismatch))
	}
	// Output:
	// VS_ERR_DIMENSION_MISMATCH true
}
