/*
 * test_errors.c: every argument check of the C ABI, through every function that takes the argument.
 *
 * Each failing call is checked four ways (see EXPECT_FAIL below): the returned status; the vs_error
 * (same code, non-empty message, sometimes a required word); the output pointer, initialised to a
 * sentinel, is still the sentinel; and the store is unchanged: its stats (including the log size),
 * count, every record with score, metadata and vector, and the get() answer of the ids involved are
 * identical before and after. Each call is then repeated with err = NULL (same status).
 */
#include "check.h"

#include <float.h>

static char dir[PATH_MAX];

/* The fixture: a store of dimension 3 (cosine unless said otherwise) holding a, b, c. */
static vs_store *fx;
static const float PROBE[3] = {1.0f, 0.5f, 0.25f};
static const char *const WATCHED[] = {"a", "b", "c", "new", "x", "p", "q", "r", "n0", "n1", NULL};

static void fixture_open_with(vs_metric metric) {
    const char *ids[] = {"a", "b", "c"};
    const float vecs[] = {1, 0, 0, 0, 1, 0, 0.5f, 0.5f, 0.5f};
    const char *meta[] = {"{\"tag\":\"first\"}", NULL, "{\"n\":[1,2]}"};
    tmpdir_make(dir, sizeof dir);
    fx = open_store(dir, 3, metric);
    CHECK_OK(vs_store_upsert_many(fx, 3, ids, vecs, 3, meta, ERR));
}

static void fixture_open(void) {
    fixture_open_with(VS_METRIC_COSINE);
}

static void fixture_close(void) {
    vs_store_close(fx);
    fx = NULL;
    tmpdir_remove(dir);
}

static char *fx_snapshot(void) {
    return store_snapshot(fx, PROBE, 3, WATCHED, 1);
}

/* EXPECT_FAIL(code, substring-or-NULL, call): the call fails with `code` and changes nothing. */
#define EXPECT_FAIL(want, sub, call)                                                               \
    do {                                                                                           \
        char *before_ = fx_snapshot();                                                             \
        char *after_;                                                                              \
        CHECK_FAILS_MSG(want, sub, call);                                                          \
        after_ = fx_snapshot();                                                                    \
        CHECK_MSG(strcmp(before_, after_) == 0, "%s changed the store\n--- before\n%s--- after\n%s", #call, before_, \
                  after_);                                                                         \
        free(before_);                                                                             \
        free(after_);                                                                              \
    } while (0)

static const float GOOD[3] = {0.1f, 0.2f, 0.3f};
static const float ZERO[3] = {0.0f, 0.0f, 0.0f};

/* ---------------------------------------------------------------------------------------------- */
/* vs_store_open                                                                                   */

static void test_open_refuses_bad_arguments(void) {
    char path[PATH_MAX + 16];
    vs_store *s = SENTINEL_PTR(vs_store);
    vs_store_options o;
    tmpdir_make(dir, sizeof dir);
    path_join(path, sizeof path, dir, "store");

    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(NULL, NULL, &s, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, NULL, NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open("", NULL, &s, ERR));

    o = vs_store_options_default();
    o.struct_size = 0;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_store_options_default", vs_store_open(path, &o, &s, ERR));
    o.struct_size = 1;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));

    o = vs_store_options_default();
    o.metric = 3;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));
    o.metric = UINT32_MAX;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));

    o = vs_store_options_default();
    o.durability = 2;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));
    o.durability = UINT32_MAX;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));

    o = vs_store_options_default();
    o.dimension = VS_MAX_DIMENSION + 1;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));

    o = vs_store_options_default(); /* hnsw_m: 2..=256 */
    o.hnsw_m = 1;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));
    o.hnsw_m = 257;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(path, &o, &s, ERR));

    CHECK(s == SENTINEL_PTR(vs_store));
    CHECK_MSG(!path_exists(path), "a refused open created %s", path);

    /* the limits themselves are accepted */
    o = vs_store_options_default();
    o.dimension = VS_MAX_DIMENSION;
    o.hnsw_m = 256;
    s = NULL;
    CHECK_OK(vs_store_open(path, &o, &s, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_open_through_a_regular_file_is_an_io_error(void) {
    char file[PATH_MAX + 16], path[PATH_MAX + 32];
    vs_store *s = SENTINEL_PTR(vs_store);
    tmpdir_make(dir, sizeof dir);
    path_join(file, sizeof file, dir, "plain-file");
    CHECK(file_write(file, "x", 1, "wb"));
    path_join(path, sizeof path, file, "store");
    CHECK_FAILS_MSG(VS_ERR_IO, "plain-file", vs_store_open(path, NULL, &s, ERR));
    CHECK_FAILS(VS_ERR_IO, vs_store_open(file, NULL, &s, ERR)); /* the store path is a file */
    CHECK(s == SENTINEL_PTR(vs_store));
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* vs_store_upsert                                                                                 */

static void test_upsert_refuses_null_pointers(void) {
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(NULL, "new", GOOD, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, NULL, GOOD, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", NULL, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", NULL, 3, NULL, ERR));
    fixture_close();
}

static void test_upsert_refuses_bad_ids(void) {
    static char too_long[4098];
    static const char *bad[] = {
        "",                   /* empty */
        "\xff\xfe",           /* not UTF-8 at all */
        "ab\xc3",             /* truncated sequence */
        "\xc0\xaf",           /* overlong encoding */
        "\xed\xa0\x80",       /* UTF-16 surrogate */
        "ok\x80tail",         /* stray continuation byte */
        too_long,             /* 4097 bytes */
    };
    memset(too_long, 'z', 4097);
    too_long[4097] = '\0';
    fixture_open();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vs_results *r = SENTINEL_PTR(vs_results);
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, bad[i], GOOD, 3, NULL, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_get(fx, bad[i], &r, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_delete(fx, bad[i], ERR));
        CHECK(r == SENTINEL_PTR(vs_results));
    }
    fixture_close();
}

static void test_upsert_refuses_non_finite_values(void) {
    const float nan = NAN, inf = INFINITY;
    fixture_open();
    for (int pos = 0; pos < 3; pos++) {
        const float specials[3] = {nan, inf, -inf};
        for (int k = 0; k < 3; k++) {
            float v[3] = {0.1f, 0.2f, 0.3f};
            v[pos] = specials[k];
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", v, 3, NULL, ERR));
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", v, 3, NULL, ERR));
        }
    }
    fixture_close();
}

static void test_upsert_refuses_a_zero_vector_in_a_cosine_store(void) {
    const float negzero[3] = {-0.0f, 0.0f, -0.0f};
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", ZERO, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", ZERO, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", negzero, 3, NULL, ERR));
    fixture_close();
}

/* Dot and euclidean stores refuse vectors whose squared length is above FLT_MAX / 4 (so that no
 * score overflows): in upsert, upsert_many and query. It is the length that counts, not each value. */
static void test_too_long_vectors_are_refused_in_dot_and_euclidean_stores(void) {
    static const float too_long[][3] = {
        {1e19f, 0.0f, 0.0f},     /* squared length 1e38 */
        {6.6e18f, 6.6e18f, 0.0f}, /* 8.7e37: each value alone would be fine */
        {3e38f, 3e38f, 3e38f},
        {-FLT_MAX, 0.0f, 1.0f},
    };
    for (vs_metric m = VS_METRIC_EUCLIDEAN; m <= VS_METRIC_DOT; m++) {
        fixture_open_with(m);
        for (size_t i = 0; i < sizeof too_long / sizeof too_long[0]; i++) {
            const char *ids[] = {"p", "q"};
            float two[6] = {1, 2, 3, 0, 0, 0};
            vs_results *r = SENTINEL_PTR(vs_results);
            vs_query q = vs_query_default();
            memcpy(two + 3, too_long[i], sizeof too_long[i]);
            q.vector = too_long[i];
            q.dim = 3;
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", too_long[i], 3, NULL, ERR));
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", too_long[i], 3, NULL, ERR));
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(fx, 2, ids, two, 3, NULL, ERR));
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
            CHECK(r == SENTINEL_PTR(vs_results));
        }
        fixture_close();
    }
}

static void test_upsert_refuses_bad_metadata(void) {
    static const char *bad_json[] = {
        "{", "}", "{\"a\":}", "{\"a\" 1}", "not json", "{\"a\":1}trailing", "{'a':1}", "{\"a\":1,}", "{\"a\":NaN}",
        "{\"a\":\"\xff\"}", /* bad UTF-8 inside a string */
        "\xfe{}",           /* bad UTF-8 outside */
    };
    static const char *not_object[] = {"[1,2]", "[]", "42", "\"text\"", "null", "true", "[{\"a\":1}]"};
    static const char *nested[] = {
        "{\"a\":{\"b\":1}}", "{\"a\":{}}", "{\"a\":[[1]]}", "{\"a\":[{\"b\":1}]}", "{\"ok\":1,\"a\":{\"b\":1}}",
    };
    fixture_open();
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", GOOD, 3, bad_json[i], ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", GOOD, 3, bad_json[i], ERR));
    }
    for (size_t i = 0; i < sizeof not_object / sizeof not_object[0]; i++)
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "a", GOOD, 3, not_object[i], ERR));
    for (size_t i = 0; i < sizeof nested / sizeof nested[0]; i++)
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", GOOD, 3, nested[i], ERR));
    fixture_close();
}

static void test_upsert_refuses_another_dimension(void) {
    const float v5[5] = {1, 2, 3, 4, 5};
    fixture_open();
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert(fx, "new", v5, 2, NULL, ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert(fx, "new", v5, 4, NULL, ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert(fx, "a", v5, 5, NULL, ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert(fx, "new", v5, 1, NULL, ERR));
    /* dim 0: an empty vector is never valid */
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", v5, 0, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert(fx, "new", NULL, 0, NULL, ERR));
    fixture_close();
}

/* ---------------------------------------------------------------------------------------------- */
/* vs_store_upsert_many                                                                            */

static void test_upsert_many_refuses_null_pointers(void) {
    const char *ids[] = {"n0", "n1"};
    const char *null_id[] = {"n0", NULL};
    const float vecs[6] = {1, 0, 0, 0, 1, 0};
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(NULL, 2, ids, vecs, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(NULL, 0, NULL, NULL, 0, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(fx, 2, NULL, vecs, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(fx, 2, ids, NULL, 3, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_upsert_many(fx, 2, ids, vecs, 0, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "1", vs_store_upsert_many(fx, 2, null_id, vecs, 3, NULL, ERR));
    fixture_close();
}

/* All or nothing: one invalid record among valid ones (some replacing a, b, c) writes nothing, and
 * the message names the bad record's index. */
static void test_upsert_many_is_all_or_nothing(void) {
    enum { N = 5, BAD = 3 };
    const char *ids[N] = {"p", "a", "q", "r", "b"};
    float vecs[N * 3];
    const char *meta[N] = {NULL, "{\"tag\":\"replaced\"}", NULL, NULL, NULL};
    fixture_open();
    for (int i = 0; i < N * 3; i++)
        vecs[i] = 0.1f * (float)(i + 1);

    /* the message names index 3 (no id or value here holds a digit 3) */
    vecs[BAD * 3 + 1] = NAN;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, meta, ERR));
    vecs[BAD * 3 + 1] = INFINITY;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, meta, ERR));
    vecs[BAD * 3 + 0] = vecs[BAD * 3 + 1] = vecs[BAD * 3 + 2] = 0.0f; /* zero vector, cosine store */
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, meta, ERR));
    vecs[BAD * 3 + 0] = vecs[BAD * 3 + 1] = vecs[BAD * 3 + 2] = 0.5f;

    {
        const char *bad_ids[N] = {"p", "a", "q", "", "b"};
        const char *utf8_ids[N] = {"p", "a", "q", "\xff\xfe", "b"};
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, bad_ids, vecs, 3, meta, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, utf8_ids, vecs, 3, meta, ERR));
    }
    {
        const char *bad_meta[N] = {NULL, "{\"tag\":\"replaced\"}", NULL, "{oops", NULL};
        const char *nested_meta[N] = {NULL, "{\"tag\":\"replaced\"}", NULL, "{\"o\":{\"p\":1}}", NULL};
        const char *array_meta[N] = {NULL, "{\"tag\":\"replaced\"}", NULL, "[1]", NULL};
        const char *utf8_meta[N] = {NULL, "{\"tag\":\"replaced\"}", NULL, "{\"s\":\"\xff\"}", NULL};
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, bad_meta, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, nested_meta, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, array_meta, ERR));
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "3", vs_store_upsert_many(fx, N, ids, vecs, 3, utf8_meta, ERR));
    }
    /* the same batch, valid, goes in whole */
    CHECK_OK(vs_store_upsert_many(fx, N, ids, vecs, 3, meta, ERR));
    CHECK(store_count(fx) == 6);
    fixture_close();
}

static void test_upsert_many_refuses_another_dimension(void) {
    const char *ids[] = {"n0", "n1"};
    const float vecs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    fixture_open();
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert_many(fx, 2, ids, vecs, 2, NULL, ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert_many(fx, 2, ids, vecs, 4, NULL, ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert_many(fx, 1, ids, vecs, 8, NULL, ERR));
    fixture_close();
}

/* ---------------------------------------------------------------------------------------------- */
/* vs_store_get, vs_store_delete, vs_store_count, vs_store_stats_json, vs_store_flush               */

static void test_get_refuses_bad_arguments(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_get(NULL, "a", &r, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_get(fx, NULL, &r, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_get(fx, "a", NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_get(fx, "", &r, ERR));
    EXPECT_FAIL(VS_ERR_NOT_FOUND, NULL, vs_store_get(fx, "new", &r, ERR));
    EXPECT_FAIL(VS_ERR_NOT_FOUND, NULL, vs_store_get(fx, "A", &r, ERR)); /* ids are case-sensitive */
    CHECK(r == SENTINEL_PTR(vs_results));
    fixture_close();
}

static void test_delete_refuses_bad_arguments(void) {
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_delete(NULL, "a", ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_delete(fx, NULL, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_delete(fx, "", ERR));
    EXPECT_FAIL(VS_ERR_NOT_FOUND, NULL, vs_store_delete(fx, "new", ERR));
    EXPECT_FAIL(VS_ERR_NOT_FOUND, NULL, vs_store_delete(fx, "a ", ERR));
    fixture_close();
}

static void test_count_stats_flush_refuse_null(void) {
    uint64_t n = SENTINEL_U64;
    char *json = SENTINEL_PTR(char);
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_count(NULL, &n, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_count(fx, NULL, ERR));
    CHECK(n == SENTINEL_U64);
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_stats_json(NULL, &json, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_stats_json(fx, NULL, ERR));
    CHECK(json == SENTINEL_PTR(char));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_flush(NULL, ERR));
    fixture_close();
}

/* ---------------------------------------------------------------------------------------------- */
/* vs_store_query                                                                                  */

static vs_query good_query(void) {
    vs_query q = vs_query_default();
    q.vector = GOOD;
    q.dim = 3;
    q.k = 2;
    return q;
}

static void test_query_refuses_null_pointers(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = good_query();
    fixture_open();
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(NULL, &q, &r, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, NULL, &r, ERR));
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, NULL, ERR));
    q.vector = NULL;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    q.dim = 0;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    q = vs_query_default(); /* the default has no vector */
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    fixture_close();
}

static void test_query_refuses_bad_k(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = good_query();
    const uint32_t bad[] = {0, VS_MAX_K + 1, 1000000, UINT32_MAX};
    fixture_open();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.k = bad[i];
        EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    }
    CHECK(r == SENTINEL_PTR(vs_results));
    fixture_close();
}

static void test_query_refuses_bad_vectors(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = good_query();
    const float v5[5] = {1, 2, 3, 4, 5};
    fixture_open();
    for (int pos = 0; pos < 3; pos++) {
        const float specials[3] = {NAN, INFINITY, -INFINITY};
        for (int k = 0; k < 3; k++) {
            float v[3] = {0.1f, 0.2f, 0.3f};
            v[pos] = specials[k];
            q.vector = v;
            EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
        }
    }
    q.vector = ZERO;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    q.vector = v5;
    q.dim = 2;
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_query(fx, &q, &r, ERR));
    q.dim = 4;
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_query(fx, &q, &r, ERR));
    q.dim = 5;
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_query(fx, &q, &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    fixture_close();
}

static void test_query_refuses_bad_filters(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = good_query();
    const char *syntax[] = {"", "tag =", "tag = \"first", "tag = 'first' tag"};
    fixture_open();
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        q.filter = syntax[i];
        EXPECT_FAIL(VS_ERR_FILTER_SYNTAX, "position", vs_store_query(fx, &q, &r, ERR));
    }
    q.filter = "\xff\xfe";
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "UTF-8", vs_store_query(fx, &q, &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    q.filter = "tag = \"first\"";
    CHECK_OK(vs_store_query(fx, &q, &r, ERR));
    CHECK(r != SENTINEL_PTR(vs_results) && vs_results_len(r) <= 1);
    if (r != SENTINEL_PTR(vs_results))
        vs_results_free(r);
    fixture_close();
}

static void test_query_refuses_an_uninitialised_struct(void) {
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = good_query();
    fixture_open();
    q.struct_size = 0;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, "vs_query_default", vs_store_query(fx, &q, &r, ERR));
    q.struct_size = 1;
    EXPECT_FAIL(VS_ERR_INVALID_ARGUMENT, NULL, vs_store_query(fx, &q, &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    fixture_close();
}

/* A query that is fine except for its error checks still works after all the failures above. */
static void test_store_still_works_after_failures(void) {
    vs_results *r = NULL;
    vs_query q = good_query();
    fixture_open();
    EXPECT_FAIL(VS_ERR_NOT_FOUND, NULL, vs_store_delete(fx, "zzz", ERR));
    EXPECT_FAIL(VS_ERR_DIMENSION_MISMATCH, NULL, vs_store_upsert(fx, "new", GOOD, 2, NULL, ERR));
    CHECK_OK(vs_store_query(fx, &q, &r, ERR));
    CHECK(vs_results_len(r) == 2);
    vs_results_free(r);
    CHECK_OK(vs_store_upsert(fx, "new", GOOD, 3, NULL, ERR));
    CHECK(store_count(fx) == 4);
    fixture_close();
}

/* ---------------------------------------------------------------------------------------------- */
/* Reopening with other options                                                                    */

static void test_reopen_with_another_dimension_or_metric(void) {
    vs_store_options o = vs_store_options_default();
    vs_store *s = SENTINEL_PTR(vs_store);
    char *before, *after;
    fixture_open();
    /* closing may compact the log: compare everything but the stats */
    before = store_snapshot(fx, PROBE, 3, WATCHED, 0);
    vs_store_close(fx);
    fx = NULL;

    o.dimension = 4;
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_open(dir, &o, &s, ERR));
    o.dimension = 1;
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_open(dir, &o, &s, ERR));
    o.dimension = 3;
    o.metric = VS_METRIC_DOT;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(dir, &o, &s, ERR));
    o.dimension = 0;
    o.metric = VS_METRIC_EUCLIDEAN;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(dir, &o, &s, ERR));
    CHECK(s == SENTINEL_PTR(vs_store));

    /* the refused opens changed nothing and released the directory */
    o = vs_store_options_default();
    o.dimension = 3;
    CHECK_OK(vs_store_open(dir, &o, &fx, ERR));
    after = store_snapshot(fx, PROBE, 3, WATCHED, 0);
    CHECK_STR_EQ(before, after);
    free(after);
    vs_store_close(fx);
    fx = NULL;
    CHECK_OK(vs_store_open(dir, NULL, &fx, ERR)); /* NULL options: dimension 0 = the store's */
    after = store_snapshot(fx, PROBE, 3, WATCHED, 0);
    CHECK_STR_EQ(before, after);
    free(before);
    free(after);
    fixture_close();
}

int main(void) {
    check_abi_or_die();
    RUN(test_open_refuses_bad_arguments);
    RUN(test_open_through_a_regular_file_is_an_io_error);
    RUN(test_upsert_refuses_null_pointers);
    RUN(test_upsert_refuses_bad_ids);
    RUN(test_upsert_refuses_non_finite_values);
    RUN(test_upsert_refuses_a_zero_vector_in_a_cosine_store);
    RUN(test_too_long_vectors_are_refused_in_dot_and_euclidean_stores);
    RUN(test_upsert_refuses_bad_metadata);
    RUN(test_upsert_refuses_another_dimension);
    RUN(test_upsert_many_refuses_null_pointers);
    RUN(test_upsert_many_is_all_or_nothing);
    RUN(test_upsert_many_refuses_another_dimension);
    RUN(test_get_refuses_bad_arguments);
    RUN(test_delete_refuses_bad_arguments);
    RUN(test_count_stats_flush_refuse_null);
    RUN(test_query_refuses_null_pointers);
    RUN(test_query_refuses_bad_k);
    RUN(test_query_refuses_bad_vectors);
    RUN(test_query_refuses_bad_filters);
    RUN(test_query_refuses_an_uninitialised_struct);
    RUN(test_store_still_works_after_failures);
    RUN(test_reopen_with_another_dimension_or_metric);
    return check_summary();
}
