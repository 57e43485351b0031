/*
 * test_store.c: the store's everyday behaviour through the C ABI: versions, status names, defaults,
 * NULL-tolerant free functions, result accessors, upsert / upsert_many / get / delete / count /
 * query / stats / flush, and the scores of every metric.
 */
#include "check.h"

static char dir[PATH_MAX];

static void fresh_dir(void) {
    tmpdir_make(dir, sizeof dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Versions, status names, defaults                                                                */

static void test_version_matches_header(void) {
    char want[64];
    const char *v = vs_version();
    snprintf(want, sizeof want, "%d.%d.%d", VS_VERSION_MAJOR, VS_VERSION_MINOR, VS_VERSION_PATCH);
    CHECK(v != NULL);
    CHECK_STR_EQ(v, want);
    CHECK(vs_version() == v); /* a static string */
    CHECK(vs_abi_version() == VS_ABI_VERSION);
}

static void test_status_names(void) {
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {VS_OK, "VS_OK"},
        {VS_ERR_INVALID_ARGUMENT, "VS_ERR_INVALID_ARGUMENT"},
        {VS_ERR_DIMENSION_MISMATCH, "VS_ERR_DIMENSION_MISMATCH"},
        {VS_ERR_NOT_FOUND, "VS_ERR_NOT_FOUND"},
        {VS_ERR_ALREADY_EXISTS, "VS_ERR_ALREADY_EXISTS"},
        {VS_ERR_FILTER_SYNTAX, "VS_ERR_FILTER_SYNTAX"},
        {VS_ERR_QUOTA_EXCEEDED, "VS_ERR_QUOTA_EXCEEDED"},
        {VS_ERR_RATE_LIMITED, "VS_ERR_RATE_LIMITED"},
        {VS_ERR_NAMESPACE_SUSPENDED, "VS_ERR_NAMESPACE_SUSPENDED"},
        {VS_ERR_IO, "VS_ERR_IO"},
        {VS_ERR_CORRUPT, "VS_ERR_CORRUPT"},
        {VS_ERR_LOCKED, "VS_ERR_LOCKED"},
        {VS_ERR_INTERNAL, "VS_ERR_INTERNAL"},
    };
    static const int unknown[] = {-1, 13, 14, 99, 1000, INT_MAX, INT_MIN};
    /* The numeric values are stable (part of the ABI). */
    CHECK(VS_OK == 0 && VS_ERR_INVALID_ARGUMENT == 1 && VS_ERR_DIMENSION_MISMATCH == 2 && VS_ERR_NOT_FOUND == 3);
    CHECK(VS_ERR_ALREADY_EXISTS == 4 && VS_ERR_FILTER_SYNTAX == 5 && VS_ERR_QUOTA_EXCEEDED == 6);
    CHECK(VS_ERR_RATE_LIMITED == 7 && VS_ERR_NAMESPACE_SUSPENDED == 8 && VS_ERR_IO == 9);
    CHECK(VS_ERR_CORRUPT == 10 && VS_ERR_LOCKED == 11 && VS_ERR_INTERNAL == 12);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK(names[i].code == (int)i);
        CHECK_STR_EQ(vs_status_name(names[i].code), names[i].name);
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_STR_EQ(vs_status_name(unknown[i]), "VS_ERR_UNKNOWN");
}

static void test_store_options_default(void) {
    vs_store_options o = vs_store_options_default();
    CHECK(o.struct_size == sizeof(vs_store_options));
    CHECK(o.dimension == 0);
    /* "no metric said": the store's own when reopening, cosine for a new store */
    CHECK(o.metric == VS_METRIC_DEFAULT);
    CHECK(VS_METRIC_DEFAULT != VS_METRIC_COSINE && VS_METRIC_DEFAULT != VS_METRIC_EUCLIDEAN &&
          VS_METRIC_DEFAULT != VS_METRIC_DOT);
    CHECK(o.hnsw_m == 16);
    CHECK(o.ef_construction == 200);
    CHECK(o.ef_search == 64);
    CHECK(o.durability == VS_DURABILITY_PROCESS);
    CHECK(o.build_threads == 1);
    CHECK(o.quantization == VS_QUANTIZATION_AUTO && o.reserved0 == 0);
    CHECK(VS_QUANTIZATION_AUTO == 0 && VS_QUANTIZATION_NONE == 1 && VS_QUANTIZATION_INT8 == 2);
    CHECK(VS_METRIC_COSINE == 0 && VS_METRIC_EUCLIDEAN == 1 && VS_METRIC_DOT == 2);
    CHECK(VS_DURABILITY_PROCESS == 0 && VS_DURABILITY_SYNC == 1);
}

static void test_query_default(void) {
    vs_query q = vs_query_default();
    CHECK(q.struct_size == sizeof(vs_query));
    CHECK(q.vector == NULL);
    CHECK(q.dim == 0);
    CHECK(q.k == 10);
    CHECK(q.filter == NULL);
    CHECK(q.ef_search == 0);
}

/* ---------------------------------------------------------------------------------------------- */
/* NULL handling of the infallible functions                                                       */

static void test_free_functions_accept_null(void) {
    vs_error_free(NULL);
    vs_string_free(NULL);
    vs_results_free(NULL);
    vs_store_close(NULL);
    CHECK(vs_error_code(NULL) == VS_OK);
    CHECK(vs_error_message(NULL) != NULL);
    CHECK_STR_EQ(vs_error_message(NULL), "");
}

static void test_results_accessors_on_null(void) {
    size_t d = 12345;
    CHECK(vs_results_len(NULL) == 0);
    CHECK(vs_results_id(NULL, 0) == NULL);
    CHECK(isnan(vs_results_score(NULL, 0)));
    CHECK(vs_results_metadata_json(NULL, 0) == NULL);
    CHECK(vs_results_vector(NULL, 0, &d) == NULL);
    CHECK(d == 12345);
    CHECK(vs_results_vector(NULL, 0, NULL) == NULL);
    CHECK(vs_results_explanation_json(NULL, 0) == NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* Open                                                                                            */

static void test_open_creates_nested_directory_with_defaults(void) {
    char path[PATH_MAX + 32];
    vs_store *s = NULL;
    char *stats = NULL;
    fresh_dir();
    path_join(path, sizeof path, dir, "a/b/c");
    CHECK_OK(vs_store_open(path, NULL, &s, ERR)); /* NULL options = defaults */
    CHECK(s != NULL);
    CHECK(path_exists(path));
    CHECK(store_count(s) == 0);
    CHECK_OK(vs_store_stats_json(s, &stats, ERR));
    CHECK(json_is_object(stats));
    CHECK(contains(stats, "\"count\":0"));
    CHECK(contains(stats, "\"dimension\":0"));
    CHECK(contains(stats, "\"metric\":\"cosine\""));
    vs_string_free(stats);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_open_with_every_metric_and_durability(void) {
    static const char *names[] = {"cosine", "euclidean", "dot"};
    fresh_dir();
    for (vs_metric m = 0; m < 3; m++) {
        for (vs_durability d = 0; d < 2; d++) {
            char path[PATH_MAX + 32], want[64];
            vs_store_options o = vs_store_options_default();
            vs_store *s = NULL;
            char *stats = NULL;
            float v[2] = {1.0f, 2.0f};
            snprintf(want, sizeof want, "m%u-d%u", m, d);
            path_join(path, sizeof path, dir, want);
            o.metric = m;
            o.durability = d;
            o.dimension = 2;
            o.hnsw_m = 32;
            o.ef_construction = 100;
            o.ef_search = 50;
            o.build_threads = 0;
            CHECK_OK(vs_store_open(path, &o, &s, ERR));
            CHECK_OK(vs_store_upsert(s, "x", v, 2, NULL, ERR));
            CHECK_OK(vs_store_flush(s, ERR));
            CHECK_OK(vs_store_stats_json(s, &stats, ERR));
            snprintf(want, sizeof want, "\"metric\":\"%s\"", names[m]);
            CHECK(contains(stats, want));
            CHECK(contains(stats, "\"dimension\":2"));
            vs_string_free(stats);
            vs_store_close(s);
        }
    }
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Upsert and get                                                                                  */

static void test_upsert_then_get_returns_the_record(void) {
    vs_store *s;
    vs_results *r = SENTINEL_PTR(vs_results);
    const float v[3] = {1.5f, -2.0f, 0.25f};
    const float *got;
    size_t d = 0;
    fresh_dir();
    s = open_store(dir, 3, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_upsert(s, "doc-1", v, 3, "{\"tag\":\"x\"}", ERR));
    CHECK(store_count(s) == 1);
    CHECK_OK(vs_store_get(s, "doc-1", &r, ERR));
    CHECK(r != SENTINEL_PTR(vs_results) && r != NULL);
    CHECK(vs_results_len(r) == 1);
    CHECK_STR_EQ(vs_results_id(r, 0), "doc-1");
    CHECK(vs_results_score(r, 0) == 0.0f);
    CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"tag\":\"x\"}");
    CHECK(vs_results_explanation_json(r, 0) == NULL);
    got = vs_results_vector(r, 0, &d);
    CHECK(got != NULL);
    CHECK(d == 3);
    if (got != NULL && d == 3)
        CHECK(got[0] == v[0] && got[1] == v[1] && got[2] == v[2]); /* euclidean: stored as given */
    CHECK(vs_results_vector(r, 0, NULL) == got);                  /* dim may be NULL */
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_results_accessors_out_of_range(void) {
    vs_store *s;
    vs_results *r = NULL;
    const float v[2] = {1.0f, 0.0f};
    size_t d = 777;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert(s, "a", v, 2, NULL, ERR));
    CHECK_OK(vs_store_get(s, "a", &r, ERR));
    CHECK(vs_results_len(r) == 1);
    for (size_t i = 1; i < 4; i++) {
        CHECK(vs_results_id(r, i) == NULL);
        CHECK(isnan(vs_results_score(r, i)));
        CHECK(vs_results_metadata_json(r, i) == NULL);
        CHECK(vs_results_vector(r, i, &d) == NULL);
        CHECK(d == 777);
        CHECK(vs_results_explanation_json(r, i) == NULL);
    }
    CHECK(vs_results_id(r, SIZE_MAX) == NULL);
    CHECK(isnan(vs_results_score(r, SIZE_MAX)));
    CHECK(vs_results_metadata_json(r, SIZE_MAX) == NULL);
    CHECK(vs_results_vector(r, SIZE_MAX, &d) == NULL && d == 777);
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_cosine_store_returns_unit_vectors(void) {
    vs_store *s;
    vs_results *r = NULL;
    const float v[2] = {3.0f, 4.0f};
    const float *got;
    size_t d = 0;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert(s, "p", v, 2, NULL, ERR));
    CHECK_OK(vs_store_get(s, "p", &r, ERR));
    got = vs_results_vector(r, 0, &d);
    CHECK(got != NULL && d == 2);
    if (got != NULL && d == 2) {
        CHECK(near(got[0], 0.6, 1e-6));
        CHECK(near(got[1], 0.8, 1e-6));
    }
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_zero_vector_is_fine_outside_cosine(void) {
    const float zero[3] = {0.0f, 0.0f, 0.0f};
    fresh_dir();
    for (vs_metric m = VS_METRIC_EUCLIDEAN; m <= VS_METRIC_DOT; m++) {
        char path[PATH_MAX + 8];
        vs_store *s;
        vs_results *r = NULL;
        vs_query q = vs_query_default();
        path_join(path, sizeof path, dir, m == VS_METRIC_DOT ? "dot" : "l2");
        s = open_store(path, 3, m);
        CHECK_OK(vs_store_upsert(s, "zero", zero, 3, NULL, ERR));
        q.vector = zero;
        q.dim = 3;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == 1);
        CHECK(vs_results_score(r, 0) == (m == VS_METRIC_DOT ? 0.0f : 1.0f));
        vs_results_free(r);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

/* Cosine normalises any finite non-zero vector, however small or large. */
static void test_cosine_accepts_tiny_and_huge_vectors(void) {
    static const float vs[][2] = {{1e-30f, 1e-30f}, {3e38f, 3e38f}, {1e-45f, 0.0f}, {-3.4e38f, 1.0f}};
    vs_store *s;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        vs_results *r = NULL;
        vs_query q = vs_query_default();
        const float *got;
        size_t d = 0;
        CHECK_OK(vs_store_upsert(s, "v", vs[i], 2, NULL, ERR));
        CHECK_OK(vs_store_get(s, "v", &r, ERR));
        got = vs_results_vector(r, 0, &d);
        CHECK(got != NULL && d == 2);
        if (got != NULL && d == 2)
            CHECK_MSG(near((double)got[0] * got[0] + (double)got[1] * got[1], 1.0, 1e-5),
                      "vector %zu stored as (%g, %g), not unit length", i, (double)got[0], (double)got[1]);
        vs_results_free(r);
        r = NULL;
        q.vector = vs[i];
        q.dim = 2;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == 1 && near(vs_results_score(r, 0), 1.0, 1e-5));
        vs_results_free(r);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* Dot and euclidean stores take vectors up to a squared length of FLT_MAX / 4, and every score stays
 * finite even at that limit. */
static void test_long_vectors_up_to_the_limit_give_finite_scores(void) {
    const float big[2] = {9.2e18f, 0.0f}, neg[2] = {-9.2e18f, 0.0f}; /* squared length 8.46e37 */
    const float diag[2] = {6.5e18f, 6.5e18f};                         /* 8.45e37 */
    fresh_dir();
    for (vs_metric m = VS_METRIC_EUCLIDEAN; m <= VS_METRIC_DOT; m++) {
        char path[PATH_MAX + 8];
        vs_store *s;
        vs_results *r = NULL;
        vs_query q = vs_query_default();
        path_join(path, sizeof path, dir, m == VS_METRIC_DOT ? "dot" : "l2");
        s = open_store(path, 2, m);
        CHECK_OK(vs_store_upsert(s, "big", big, 2, NULL, ERR));
        CHECK_OK(vs_store_upsert(s, "neg", neg, 2, NULL, ERR));
        CHECK_OK(vs_store_upsert(s, "diag", diag, 2, NULL, ERR));
        q.vector = big;
        q.dim = 2;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == 3);
        for (size_t i = 0; i < vs_results_len(r); i++)
            CHECK_MSG(isfinite(vs_results_score(r, i)), "metric %u: %s scores %g", m, vs_results_id(r, i),
                      (double)vs_results_score(r, i));
        CHECK_STR_EQ(vs_results_id(r, 0), "big");
        CHECK_STR_EQ(vs_results_id(r, 2), "neg");
        if (m == VS_METRIC_EUCLIDEAN)
            CHECK(vs_results_score(r, 2) > 0.0f);
        vs_results_free(r);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

static void test_metadata_forms(void) {
    static const char *objects[] = {
        "{}",
        "{\"s\":\"text\"}",
        "{\"n\":42}",
        "{\"f\":-1.5}",
        "{\"b\":true}",
        "{\"z\":null}",
        "{\"l\":[1,\"two\",false,null]}",
        "{\"u\":\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\"}",
        "{\"e\":[]}",
    };
    const float v[2] = {1.0f, 1.0f};
    vs_store *s;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        vs_results *r = NULL;
        CHECK_OK(vs_store_upsert(s, "m", v, 2, objects[i], ERR));
        CHECK_OK(vs_store_get(s, "m", &r, ERR));
        /* compact single-key input comes back as it went in */
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), objects[i]);
        vs_results_free(r);
    }
    { /* several keys, with spaces: still an object holding every field */
        vs_results *r = NULL;
        const char *m;
        CHECK_OK(vs_store_upsert(s, "m", v, 2, " { \"a\" : 1 , \"b\" : [ \"x\" ] , \"c\" : \"y\" } ", ERR));
        CHECK_OK(vs_store_get(s, "m", &r, ERR));
        m = vs_results_metadata_json(r, 0);
        CHECK(json_is_object(m));
        CHECK(contains(m, "\"a\":1"));
        CHECK(contains(m, "\"b\":[\"x\"]"));
        CHECK(contains(m, "\"c\":\"y\""));
        vs_results_free(r);
    }
    /* NULL and "" mean no metadata: "{}" */
    {
        const char *none[] = {NULL, ""};
        for (size_t i = 0; i < 2; i++) {
            vs_results *r = NULL;
            CHECK_OK(vs_store_upsert(s, "m", v, 2, none[i], ERR));
            CHECK_OK(vs_store_get(s, "m", &r, ERR));
            CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{}");
            vs_results_free(r);
        }
    }
    CHECK(store_count(s) == 1);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_ids_are_arbitrary_utf8_up_to_4096_bytes(void) {
    static char long_id[4097];
    const char *ids[] = {"x", "with space", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "emoji \xf0\x9f\x98\x80",
                         "quote\"back\\slash", long_id};
    const size_t n = sizeof ids / sizeof ids[0];
    const float v[2] = {0.5f, 0.5f};
    vs_store *s;
    memset(long_id, 'k', 4096);
    long_id[4096] = '\0';
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_DOT);
    for (size_t i = 0; i < n; i++)
        CHECK_OK(vs_store_upsert(s, ids[i], v, 2, NULL, ERR));
    CHECK(store_count(s) == n);
    for (size_t i = 0; i < n; i++) {
        vs_results *r = NULL;
        CHECK_OK(vs_store_get(s, ids[i], &r, ERR));
        CHECK_STR_EQ(vs_results_id(r, 0), ids[i]);
        vs_results_free(r);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_upsert_replaces_vector_and_metadata(void) {
    vs_store *s;
    vs_results *r = NULL;
    const float v1[2] = {1.0f, 0.0f}, v2[2] = {0.0f, 5.0f};
    const float *got;
    size_t d = 0;
    vs_query q = vs_query_default();
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert(s, "a", v1, 2, "{\"v\":1}", ERR));
    CHECK_OK(vs_store_upsert(s, "a", v2, 2, NULL, ERR));
    CHECK(store_count(s) == 1);
    CHECK_OK(vs_store_get(s, "a", &r, ERR));
    CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{}"); /* metadata replaced too, not merged */
    got = vs_results_vector(r, 0, &d);
    CHECK(got != NULL && d == 2 && got[0] == 0.0f && got[1] == 5.0f);
    vs_results_free(r);
    r = NULL;
    q.vector = v2;
    q.dim = 2;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(vs_results_len(r) == 1);
    CHECK(vs_results_score(r, 0) == 25.0f);
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_upsert_many_writes_every_record(void) {
    const char *ids[] = {"r0", "r1", "r2", "r3", "r4"};
    const char *meta[] = {"{\"i\":0}", NULL, "{\"i\":2}", "", "{\"i\":4}"};
    float vecs[5 * 3];
    vs_store *s;
    for (int i = 0; i < 15; i++)
        vecs[i] = (float)(i + 1);
    fresh_dir();
    s = open_store(dir, 0, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_upsert_many(s, 5, ids, vecs, 3, meta, ERR));
    CHECK(store_count(s) == 5);
    for (int i = 0; i < 5; i++) {
        vs_results *r = NULL;
        size_t d = 0;
        const float *got;
        char want[32];
        CHECK_OK(vs_store_get(s, ids[i], &r, ERR));
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), (i == 1 || i == 3) ? "{}" : want);
        got = vs_results_vector(r, 0, &d);
        CHECK(got != NULL && d == 3);
        if (got != NULL && d == 3)
            CHECK(got[0] == vecs[i * 3] && got[1] == vecs[i * 3 + 1] && got[2] == vecs[i * 3 + 2]);
        vs_results_free(r);
    }
    /* metadata array NULL = no metadata for any record; replaces the earlier records */
    CHECK_OK(vs_store_upsert_many(s, 2, ids, vecs, 3, NULL, ERR));
    {
        vs_results *r = NULL;
        CHECK_OK(vs_store_get(s, "r0", &r, ERR));
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{}");
        vs_results_free(r);
    }
    CHECK(store_count(s) == 5);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_upsert_many_zero_records_is_a_no_op(void) {
    vs_store *s;
    char *before, *after;
    const float v[2] = {1.0f, 2.0f};
    fresh_dir();
    s = open_store(dir, 0, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert_many(s, 0, NULL, NULL, 0, NULL, ERR));
    CHECK_OK(vs_store_upsert_many(s, 0, NULL, NULL, 7, NULL, ERR)); /* no dimension gets fixed */
    CHECK(store_count(s) == 0);
    CHECK_OK(vs_store_upsert(s, "a", v, 2, NULL, ERR));
    before = store_snapshot(s, v, 2, NULL, 1);
    CHECK_OK(vs_store_upsert_many(s, 0, NULL, NULL, 0, NULL, ERR));
    after = store_snapshot(s, v, 2, NULL, 1);
    CHECK_STR_EQ(before, after);
    free(before);
    free(after);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_upsert_many_later_duplicate_wins(void) {
    const char *ids[] = {"d", "e", "d"};
    const char *meta[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    const float vecs[] = {1, 0, 0, 1, 7, 7};
    vs_store *s;
    vs_results *r = NULL;
    const float *got;
    size_t d = 0;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert_many(s, 3, ids, vecs, 2, meta, ERR));
    CHECK(store_count(s) == 2);
    CHECK_OK(vs_store_get(s, "d", &r, ERR));
    CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"n\":3}");
    got = vs_results_vector(r, 0, &d);
    CHECK(got != NULL && d == 2 && got[0] == 7.0f && got[1] == 7.0f);
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Delete                                                                                          */

static void test_delete_removes_the_record(void) {
    const char *ids[] = {"a", "b", "c"};
    const float vecs[] = {1, 0, 0, 1, 1, 1};
    const float probe[2] = {1, 0};
    vs_store *s;
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = vs_query_default();
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert_many(s, 3, ids, vecs, 2, NULL, ERR));
    CHECK_OK(vs_store_delete(s, "a", ERR));
    CHECK(store_count(s) == 2);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "a", &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_delete(s, "a", ERR));
    q.vector = probe;
    q.dim = 2;
    r = NULL;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(vs_results_len(r) == 2);
    for (size_t i = 0; i < vs_results_len(r); i++)
        CHECK(strcmp(vs_results_id(r, i), "a") != 0);
    vs_results_free(r);
    /* the id can be used again */
    CHECK_OK(vs_store_upsert(s, "a", probe, 2, NULL, ERR));
    CHECK(store_count(s) == 3);
    /* delete everything */
    for (int i = 0; i < 3; i++)
        CHECK_OK(vs_store_delete(s, ids[i], ERR));
    CHECK(store_count(s) == 0);
    r = NULL;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(vs_results_len(r) == 0);
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Query                                                                                           */

/* A deterministic pseudo-random float in [-1, 1). */
static float rnd(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static double ref_score(vs_metric m, const float *a, const float *b, size_t dim) {
    double dot = 0, na = 0, nb = 0, l2 = 0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
        l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    switch (m) {
    case VS_METRIC_COSINE:
        return dot / (sqrt(na) * sqrt(nb));
    case VS_METRIC_DOT:
        return dot;
    default:
        return 1.0 / (1.0 + sqrt(l2));
    }
}

/* Every metric: results best first, exactly the top k of a brute-force reference, with the header's
 * score formula (cosine similarity; dot product; 1 / (1 + true distance)). */
static void test_query_scores_and_order_follow_the_header(void) {
    enum { N = 60, DIM = 5, K = 7 };
    static float vecs[N * DIM];
    static char idbuf[N][16];
    const char *ids[N];
    float probe[DIM];
    uint32_t seed = 12345;
    fresh_dir();
    for (int i = 0; i < N * DIM; i++)
        vecs[i] = rnd(&seed) * 3.0f;
    for (int i = 0; i < DIM; i++)
        probe[i] = rnd(&seed);
    for (int i = 0; i < N; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "v%d", i);
        ids[i] = idbuf[i];
    }
    for (vs_metric m = 0; m < 3; m++) {
        char path[PATH_MAX + 8];
        vs_store *s;
        vs_results *r = NULL;
        vs_query q = vs_query_default();
        double ref[N];
        int used[N] = {0};
        snprintf(path, sizeof path, "%s/m%u", dir, m);
        s = open_store(path, DIM, m);
        CHECK_OK(vs_store_upsert_many(s, N, ids, vecs, DIM, NULL, ERR));
        for (int i = 0; i < N; i++)
            ref[i] = ref_score(m, probe, vecs + i * DIM, DIM);
        q.vector = probe;
        q.dim = DIM;
        q.k = K;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == K);
        for (size_t i = 0; i < vs_results_len(r); i++) {
            const char *id = vs_results_id(r, i);
            float score = vs_results_score(r, i);
            int row = id != NULL && id[0] == 'v' ? atoi(id + 1) : -1;
            int best = -1;
            size_t d = 99;
            CHECK(row >= 0 && row < N);
            if (row < 0 || row >= N)
                continue;
            /* the reference's best row not yet listed */
            for (int j = 0; j < N; j++)
                if (!used[j] && (best < 0 || ref[j] > ref[best]))
                    best = j;
            used[row] = 1;
            CHECK_MSG(near(score, ref[row], 1e-4), "metric %u row %d: score %g, header formula gives %g", m, row,
                      (double)score, ref[row]);
            CHECK_MSG(near(ref[row], ref[best], 1e-5), "metric %u rank %zu: got %s (%g), best left is v%d (%g)", m,
                      i, id, ref[row], best, ref[best]);
            if (i > 0)
                CHECK(score <= vs_results_score(r, i - 1));
            if (m == VS_METRIC_COSINE)
                CHECK(score >= -1.0001f && score <= 1.0001f);
            if (m == VS_METRIC_EUCLIDEAN)
                CHECK(score > 0.0f && score <= 1.0f);
            CHECK(json_is_object(vs_results_metadata_json(r, i)));
            CHECK(vs_results_vector(r, i, &d) == NULL && d == 99); /* query rows carry no vector */
            CHECK(vs_results_explanation_json(r, i) == NULL);
        }
        vs_results_free(r);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

static void test_scores_of_known_vectors(void) {
    /* stored (3,4), query (6,8): cosine 1, dot 50, euclidean 1/(1+5) */
    const float p[2] = {3.0f, 4.0f}, q6[2] = {6.0f, 8.0f}, opp[2] = {-3.0f, -4.0f};
    const double want[3] = {1.0, 1.0 / 6.0, 50.0};
    fresh_dir();
    for (vs_metric m = 0; m < 3; m++) {
        char path[PATH_MAX + 8];
        vs_store *s;
        vs_results *r = NULL;
        vs_query q = vs_query_default();
        snprintf(path, sizeof path, "%s/m%u", dir, m);
        s = open_store(path, 2, m);
        CHECK_OK(vs_store_upsert(s, "p", p, 2, NULL, ERR));
        CHECK_OK(vs_store_upsert(s, "opp", opp, 2, NULL, ERR));
        q.vector = q6;
        q.dim = 2;
        q.k = 2;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == 2);
        CHECK_STR_EQ(vs_results_id(r, 0), "p");
        CHECK_MSG(near(vs_results_score(r, 0), want[m], 1e-5), "metric %u: score %g, want %g", m,
                  (double)vs_results_score(r, 0), want[m]);
        CHECK_STR_EQ(vs_results_id(r, 1), "opp");
        if (m == VS_METRIC_COSINE)
            CHECK(near(vs_results_score(r, 1), -1.0, 1e-5));
        if (m == VS_METRIC_DOT)
            CHECK(near(vs_results_score(r, 1), -50.0, 1e-5));
        if (m == VS_METRIC_EUCLIDEAN)
            CHECK(near(vs_results_score(r, 1), 1.0 / (1.0 + 15.0), 1e-5));
        vs_results_free(r);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

static void test_query_k_bounds_and_ef_search(void) {
    const char *ids[] = {"a", "b", "c", "d"};
    const float vecs[] = {1, 0, 0, 1, 1, 1, -1, 0};
    const float probe[2] = {1, 0.1f};
    vs_store *s;
    vs_query q = vs_query_default();
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert_many(s, 4, ids, vecs, 2, NULL, ERR));
    q.vector = probe;
    q.dim = 2;
    {
        const uint32_t ks[] = {1, 3, 4, 5, 10, VS_MAX_K};
        const size_t want[] = {1, 3, 4, 4, 4, 4};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            vs_results *r = NULL;
            q.k = ks[i];
            CHECK_OK(vs_store_query(s, &q, &r, ERR));
            CHECK_MSG(vs_results_len(r) == want[i], "k %u: %zu rows, want %zu", ks[i], vs_results_len(r), want[i]);
            CHECK_STR_EQ(vs_results_id(r, 0), "a");
            vs_results_free(r);
        }
    }
    { /* a query may override ef_search */
        vs_results *r = NULL;
        q.k = 2;
        q.ef_search = 500;
        CHECK_OK(vs_store_query(s, &q, &r, ERR));
        CHECK(vs_results_len(r) == 2);
        vs_results_free(r);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_query_on_an_empty_store(void) {
    const float probe[3] = {1, 2, 3};
    vs_query q = vs_query_default();
    vs_store *s;
    vs_results *r = NULL;
    fresh_dir();
    q.vector = probe;
    q.dim = 3;
    s = open_store(dir, 0, VS_METRIC_COSINE); /* no dimension yet: any dimension is fine */
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(r != NULL && vs_results_len(r) == 0);
    CHECK(vs_results_id(r, 0) == NULL);
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_results_outlive_the_store(void) {
    const float v[2] = {1, 2};
    vs_query q = vs_query_default();
    vs_store *s;
    vs_results *got = NULL, *found = NULL;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert(s, "kept", v, 2, "{\"k\":\"v\"}", ERR));
    CHECK_OK(vs_store_get(s, "kept", &got, ERR));
    q.vector = v;
    q.dim = 2;
    CHECK_OK(vs_store_query(s, &q, &found, ERR));
    CHECK_OK(vs_store_delete(s, "kept", ERR));
    vs_store_close(s);
    /* result sets are owned by the caller: still readable after delete and close */
    CHECK_STR_EQ(vs_results_id(got, 0), "kept");
    CHECK_STR_EQ(vs_results_metadata_json(got, 0), "{\"k\":\"v\"}");
    CHECK_STR_EQ(vs_results_id(found, 0), "kept");
    CHECK(vs_results_score(found, 0) == 5.0f);
    vs_results_free(got);
    vs_results_free(found);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Dimension, count, stats, flush                                                                  */

static void test_dimension_is_taken_from_the_first_vector(void) {
    const float v4[4] = {1, 2, 3, 4}, v3[3] = {1, 2, 3};
    vs_store *s;
    char *stats = NULL;
    fresh_dir();
    s = open_store(dir, 0, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert(s, "four", v4, 4, NULL, ERR));
    CHECK_OK(vs_store_stats_json(s, &stats, ERR));
    CHECK(contains(stats, "\"dimension\":4"));
    vs_string_free(stats);
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_upsert(s, "three", v3, 3, NULL, ERR));
    CHECK(store_count(s) == 1);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_count_and_stats_follow_writes(void) {
    vs_store *s;
    float v[3] = {0, 0, 1};
    fresh_dir();
    s = open_store(dir, 3, VS_METRIC_EUCLIDEAN);
    for (int i = 0; i < 25; i++) {
        char id[16], want[32];
        char *stats = SENTINEL_PTR(char);
        uint64_t n = SENTINEL_U64;
        snprintf(id, sizeof id, "id%d", i);
        v[0] = (float)i;
        CHECK_OK(vs_store_upsert(s, id, v, 3, NULL, ERR));
        CHECK_OK(vs_store_count(s, &n, ERR));
        CHECK(n == (uint64_t)i + 1);
        CHECK_OK(vs_store_stats_json(s, &stats, ERR));
        CHECK(stats != SENTINEL_PTR(char));
        CHECK_MSG(json_is_object(stats), "stats is not a JSON object: %s", stats);
        snprintf(want, sizeof want, "\"count\":%d", i + 1);
        CHECK(contains(stats, want));
        CHECK(contains(stats, "\"dimension\":3"));
        CHECK(contains(stats, "\"metric\":\"euclidean\""));
        CHECK(contains(stats, "\"log_bytes\":"));
        vs_string_free(stats);
    }
    CHECK_OK(vs_store_flush(s, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_error_object_outlives_the_store(void) {
    vs_store *s;
    vs_error *e = NULL;
    vs_results *r = NULL;
    fresh_dir();
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK(vs_store_get(s, "missing", &r, &e) == VS_ERR_NOT_FOUND);
    vs_store_close(s);
    CHECK(e != NULL);
    CHECK(vs_error_code(e) == VS_ERR_NOT_FOUND);
    CHECK(vs_error_message(e) != NULL && vs_error_message(e)[0] != '\0');
    CHECK(vs_error_message(e) == vs_error_message(e)); /* borrowed, stable */
    vs_error_free(e);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_version_matches_header);
    RUN(test_status_names);
    RUN(test_store_options_default);
    RUN(test_query_default);
    RUN(test_free_functions_accept_null);
    RUN(test_results_accessors_on_null);
    RUN(test_open_creates_nested_directory_with_defaults);
    RUN(test_open_with_every_metric_and_durability);
    RUN(test_upsert_then_get_returns_the_record);
    RUN(test_results_accessors_out_of_range);
    RUN(test_cosine_store_returns_unit_vectors);
    RUN(test_zero_vector_is_fine_outside_cosine);
    RUN(test_cosine_accepts_tiny_and_huge_vectors);
    RUN(test_long_vectors_up_to_the_limit_give_finite_scores);
    RUN(test_metadata_forms);
    RUN(test_ids_are_arbitrary_utf8_up_to_4096_bytes);
    RUN(test_upsert_replaces_vector_and_metadata);
    RUN(test_upsert_many_writes_every_record);
    RUN(test_upsert_many_zero_records_is_a_no_op);
    RUN(test_upsert_many_later_duplicate_wins);
    RUN(test_delete_removes_the_record);
    RUN(test_query_scores_and_order_follow_the_header);
    RUN(test_scores_of_known_vectors);
    RUN(test_query_k_bounds_and_ef_search);
    RUN(test_query_on_an_empty_store);
    RUN(test_results_outlive_the_store);
    RUN(test_dimension_is_taken_from_the_first_vector);
    RUN(test_count_and_stats_follow_writes);
    RUN(test_error_object_outlives_the_store);
    return check_summary();
}
