/*
 * test_batch.c: soft delete, restore, metadata updates, TTL and batches (JSON and typed) through the
 * C ABI: what each does, the errors each returns, that a refused call changes nothing, and that
 * everything acknowledged survives reopening.
 */
#include "check.h"

#include <time.h>

static char dir[PATH_MAX];

static const float X[2] = {1.0f, 0.0f};

static vs_store *fresh_store(void) {
    tmpdir_make(dir, sizeof dir);
    return open_store(dir, 2, VS_METRIC_COSINE);
}

static void put(vs_store *s, const char *id, float y, const char *meta) {
    float v[2] = {1.0f, y};
    CHECK_OK(vs_store_upsert(s, id, v, 2, meta, ERR));
}

static vs_status get_status(vs_store *s, const char *id) {
    vs_results *r = NULL;
    vs_status st = vs_store_get(s, id, &r, NULL);
    vs_results_free(r);
    return st;
}

static char *get_meta(vs_store *s, const char *id) {
    vs_results *r = NULL;
    char *out = NULL;
    if (vs_store_get(s, id, &r, NULL) == VS_OK)
        out = strdup(vs_results_metadata_json(r, 0));
    vs_results_free(r);
    return out;
}

/* The ids a query returns (k = 100), sorted, comma-separated. */
static char *query_ids(vs_store *s, const char *filter) {
    vs_query q = vs_query_default();
    vs_results *r = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const char *ids[100];
    size_t n;
    q.vector = X;
    q.dim = 2;
    q.k = 100;
    q.filter = filter;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    n = vs_results_len(r);
    for (size_t i = 0; i < n && i < 100; i++)
        ids[i] = vs_results_id(r, i);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            const char *t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? "," : "", ids[i]);
    fclose(f);
    vs_results_free(r);
    return text;
}

#define CHECK_IDS(s, filter, want)                                                                 \
    do {                                                                                           \
        char *got_ = query_ids((s), (filter));                                                     \
        CHECK_STR_EQ(got_, (want));                                                                \
        free(got_);                                                                                \
    } while (0)

static const char *const ALL_IDS[] = {"a", "b", "c", "d", "e", NULL};

static void test_soft_delete_and_restore(void) {
    vs_store *s = fresh_store();
    put(s, "a", 0.0f, "{\"n\":1}");
    put(s, "b", 0.5f, NULL);
    CHECK_OK(vs_store_soft_delete(s, "a", ERR));
    CHECK(get_status(s, "a") == VS_ERR_NOT_FOUND);
    CHECK(store_count(s) == 1);
    CHECK_IDS(s, NULL, "b");
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_soft_delete(s, "a", ERR)); /* not live any more */
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_soft_delete(s, "zz", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_restore(s, "zz", ERR));
    CHECK_OK(vs_store_restore(s, "a", ERR));
    CHECK_OK(vs_store_restore(s, "a", ERR)); /* restoring a live record: no-op */
    {
        char *m = get_meta(s, "a");
        CHECK_STR_EQ(m, "{\"n\":1}");
        free(m);
    }
    CHECK_IDS(s, NULL, "a,b");
    /* Bad arguments. */
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_soft_delete(NULL, "a", ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_soft_delete(s, NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_restore(s, "", ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_soft_delete(s, "\xff\xfe", ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_update_metadata(void) {
    vs_store *s = fresh_store();
    char *before, *after;
    put(s, "a", 0.0f, "{\"tag\":\"old\"}");
    put(s, "b", 0.1f, "{\"tag\":\"old\"}");
    CHECK_OK(vs_store_update_metadata(s, "a", "{\"tag\":\"new\",\"n\":[1,2]}", ERR));
    CHECK_IDS(s, "tag = 'new'", "a");
    CHECK_IDS(s, "tag = 'old'", "b");
    CHECK_IDS(s, "n CONTAINS 2", "a");
    before = store_snapshot(s, X, 2, ALL_IDS, 1);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_update_metadata(s, "a", "{bad", ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_update_metadata(s, "a", "[1]", ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_update_metadata(s, "a", "{\"x\":{\"y\":1}}", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_update_metadata(s, "zz", "{}", ERR));
    after = store_snapshot(s, X, 2, ALL_IDS, 1);
    CHECK_STR_EQ(before, after); /* refused calls changed nothing, log included */
    free(before);
    free(after);
    CHECK_OK(vs_store_update_metadata(s, "a", NULL, ERR));
    {
        char *m = get_meta(s, "a");
        CHECK_STR_EQ(m, "{}");
        free(m);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_ttl(void) {
    vs_store *s = fresh_store();
    uint64_t expired = SENTINEL_U64;
    float v[2] = {1.0f, 0.2f};
    CHECK_OK(vs_store_upsert_with_ttl(s, "short", v, 2, "{\"t\":1}", 1, ERR));
    CHECK_OK(vs_store_upsert_with_ttl(s, "long", v, 2, NULL, 3600, ERR));
    put(s, "c", 0.3f, NULL);
    CHECK_OK(vs_store_set_ttl(s, "c", 1, ERR));
    put(s, "d", 0.4f, NULL);
    CHECK_OK(vs_store_set_ttl(s, "d", 1, ERR));
    CHECK_OK(vs_store_set_ttl(s, "d", 0, ERR)); /* removes the expiry */
    CHECK(store_count(s) == 4);
    CHECK(get_status(s, "short") == VS_OK);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_set_ttl(s, "zz", 5, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_set_ttl(s, "c", VS_MAX_TTL_SECONDS + 1, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT,
                vs_store_upsert_with_ttl(s, "x", v, 2, NULL, VS_MAX_TTL_SECONDS + 1, ERR));
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_upsert_with_ttl(s, "x", v, 1, NULL, 5, ERR));
    CHECK_OK(vs_store_expire_ttl_records(s, &expired, ERR));
    CHECK(expired == 0);
    /* Expiry times persist: close, reopen, and wait past the 1 s TTLs (rounded up: < 2 s). */
    vs_store_close(s);
    {
        struct timespec ts = {2, 150 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK(store_count(s) == 2);
    CHECK(get_status(s, "short") == VS_ERR_NOT_FOUND);
    CHECK_IDS(s, NULL, "d,long");
    CHECK_IDS(s, "t = 1", "");
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_set_ttl(s, "short", 100, ERR)); /* expired = gone */
    {
        char *stats = NULL;
        CHECK_OK(vs_store_stats_json(s, &stats, ERR));
        CHECK(contains(stats, "\"expired\":2"));
        vs_string_free(stats);
    }
    CHECK_OK(vs_store_expire_ttl_records(s, &expired, ERR));
    CHECK(expired == 2);
    CHECK_OK(vs_store_expire_ttl_records(s, NULL, ERR)); /* NULL count allowed */
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_expire_ttl_records(NULL, &expired, ERR));
    CHECK(store_count(s) == 2);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_batch_json(void) {
    vs_store *s = fresh_store();
    char *out = NULL, *before, *after;
    put(s, "doc2", 0.2f, NULL);
    put(s, "doc3", 0.3f, NULL);
    CHECK_OK(vs_store_batch_execute_json(
        s,
        "{\"operations\": ["
        "{\"op\":\"upsert\",\"id\":\"doc1\",\"vector\":[0.1,0.2],\"metadata\":{\"k\":\"v\"}},"
        "{\"op\":\"delete\",\"id\":\"doc2\"},"
        "{\"op\":\"soft_delete\",\"id\":\"doc9\"},"
        "{\"op\":\"soft_delete\",\"id\":\"doc3\"},"
        "{\"op\":\"upsert\",\"id\":\"bad\",\"vector\":[1,2,3]},"
        "{\"op\":\"update_metadata\",\"id\":\"doc1\",\"metadata\":{\"k\":\"w\"}},"
        "{\"op\":\"upsert\",\"id\":\"ttl\",\"vector\":[1,0],\"ttl_seconds\":600}"
        "]}",
        &out, ERR));
    CHECK(json_is_object(out));
    CHECK(contains(out, "\"succeeded\":5"));
    CHECK(contains(out, "\"failed\":2"));
    CHECK(contains(out, "\"index\":2,\"operation\":\"soft_delete(doc9)\""));
    CHECK(contains(out, "\"code\":\"not_found\""));
    CHECK(contains(out, "\"index\":4,\"operation\":\"upsert(bad)\""));
    CHECK(contains(out, "\"code\":\"dimension_mismatch\""));
    CHECK(contains(out, "\"duration_ms\":"));
    vs_string_free(out);
    out = NULL;
    CHECK_IDS(s, NULL, "doc1,ttl");
    CHECK_IDS(s, "k = 'w'", "doc1");
    CHECK_OK(vs_store_restore(s, "doc3", ERR));
    CHECK_IDS(s, NULL, "doc1,doc3,ttl");

    /* Malformed requests apply nothing and leave *out untouched. */
    before = store_snapshot(s, X, 2, ALL_IDS, 1);
    out = SENTINEL_PTR(char);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute_json(s, "{", &out, ERR));
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "operation 1",
                    vs_store_batch_execute_json(
                        s, "[{\"op\":\"delete\",\"id\":\"doc1\"},{\"op\":\"explode\",\"id\":\"x\"}]", &out, ERR));
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "operation 0",
                    vs_store_batch_execute_json(s, "[{\"op\":\"upsert\",\"id\":\"x\"}]", &out, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute_json(s, "\xff", &out, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute_json(s, NULL, &out, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute_json(s, "[]", NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute_json(NULL, "[]", &out, ERR));
    CHECK(out == SENTINEL_PTR(char));
    after = store_snapshot(s, X, 2, ALL_IDS, 1);
    CHECK_STR_EQ(before, after);
    free(before);
    free(after);

    /* Reopened, the batch is still there. */
    vs_store_close(s);
    s = open_store(dir, 2, VS_METRIC_COSINE);
    CHECK_IDS(s, NULL, "doc1,doc3,ttl");
    CHECK_IDS(s, "k = 'w'", "doc1");
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_batch_typed(void) {
    vs_store *s = fresh_store();
    vs_batch_result *r = NULL;
    float v1[2] = {1.0f, 0.1f}, v3[3] = {1, 2, 3};
    vs_batch_op ops[6];
    memset(ops, 0, sizeof ops);
    put(s, "old", 0.5f, NULL);
    ops[0].kind = VS_BATCH_UPSERT;
    ops[0].id = "n1";
    ops[0].vector = v1;
    ops[0].dim = 2;
    ops[0].metadata_json = "{\"g\":1}";
    ops[1].kind = VS_BATCH_UPSERT;
    ops[1].id = "bad";
    ops[1].vector = v3;
    ops[1].dim = 3;
    ops[2].kind = VS_BATCH_SOFT_DELETE;
    ops[2].id = "old";
    ops[3].kind = VS_BATCH_RESTORE;
    ops[3].id = "nobody";
    ops[4].kind = VS_BATCH_SET_TTL;
    ops[4].id = "n1";
    ops[4].ttl_seconds = 3600;
    ops[5].kind = VS_BATCH_UPDATE_METADATA;
    ops[5].id = "n1";
    ops[5].metadata_json = "{\"g\":2}";
    CHECK_OK(vs_store_batch_execute(s, ops, 6, &r, ERR));
    CHECK(vs_batch_result_succeeded(r) == 4);
    CHECK(vs_batch_result_failed(r) == 2);
    CHECK(vs_batch_result_error_count(r) == 2);
    CHECK(vs_batch_result_duration_ms(r) >= 0.0);
    CHECK(vs_batch_result_error_index(r, 0) == 1);
    CHECK(vs_batch_result_error_code(r, 0) == VS_ERR_DIMENSION_MISMATCH);
    CHECK_STR_EQ(vs_batch_result_error_operation(r, 0), "upsert(bad)");
    CHECK(contains(vs_batch_result_error_message(r, 0), "dimension"));
    CHECK(vs_batch_result_error_index(r, 1) == 3);
    CHECK(vs_batch_result_error_code(r, 1) == VS_ERR_NOT_FOUND);
    CHECK_STR_EQ(vs_batch_result_error_operation(r, 1), "restore(nobody)");
    /* Out of range and NULL. */
    CHECK(vs_batch_result_error_index(r, 2) == SIZE_MAX);
    CHECK(vs_batch_result_error_operation(r, 2) == NULL);
    CHECK(vs_batch_result_error_message(r, 99) == NULL);
    CHECK(vs_batch_result_error_code(r, 2) == VS_ERR_INVALID_ARGUMENT);
    CHECK(vs_batch_result_succeeded(NULL) == 0 && vs_batch_result_error_count(NULL) == 0);
    vs_batch_result_free(r);
    vs_batch_result_free(NULL);
    CHECK_IDS(s, NULL, "n1");
    CHECK_IDS(s, "g = 2", "n1");

    /* A malformed op refuses the whole batch. */
    {
        char *before = store_snapshot(s, X, 2, ALL_IDS, 1), *after;
        vs_batch_result *untouched = SENTINEL_PTR(vs_batch_result);
        ops[0].id = "n2";
        ops[2].kind = 77;
        CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "ops[2]", vs_store_batch_execute(s, ops, 3, &untouched, ERR));
        ops[2].kind = VS_BATCH_DELETE;
        ops[2].id = NULL;
        CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "ops[2]", vs_store_batch_execute(s, ops, 3, &untouched, ERR));
        ops[2].id = "old";
        ops[0].vector = NULL;
        CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "ops[0]", vs_store_batch_execute(s, ops, 3, &untouched, ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute(s, NULL, 3, &untouched, ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_batch_execute(s, ops, 3, NULL, ERR));
        CHECK(untouched == SENTINEL_PTR(vs_batch_result));
        after = store_snapshot(s, X, 2, ALL_IDS, 1);
        CHECK_STR_EQ(before, after);
        free(before);
        free(after);
    }
    /* An empty batch is fine. */
    CHECK_OK(vs_store_batch_execute(s, NULL, 0, &r, ERR));
    CHECK(vs_batch_result_succeeded(r) == 0 && vs_batch_result_failed(r) == 0);
    vs_batch_result_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* A bulk load through a batch: 2000 upserts, then every one is there after reopening. */
static void test_batch_bulk_load_is_durable(void) {
    enum { N = 2000, D = 8 };
    vs_store *s;
    vs_batch_op *ops = calloc(N, sizeof *ops);
    float *vecs = malloc(sizeof(float) * N * D);
    char(*ids)[16] = malloc(sizeof(*ids) * N);
    vs_batch_result *r = NULL;
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, D, VS_METRIC_EUCLIDEAN);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "r%d", i);
        for (int j = 0; j < D; j++)
            vecs[i * D + j] = (float)((i * 31 + j * 7) % 97) / 97.0f;
        ops[i].kind = VS_BATCH_UPSERT;
        ops[i].id = ids[i];
        ops[i].vector = vecs + i * D;
        ops[i].dim = D;
    }
    CHECK_OK(vs_store_batch_execute(s, ops, N, &r, ERR));
    CHECK(vs_batch_result_succeeded(r) == N);
    vs_batch_result_free(r);
    vs_store_close(s);
    s = open_store(dir, D, VS_METRIC_EUCLIDEAN);
    CHECK(store_count(s) == N);
    {
        vs_results *g = NULL;
        size_t d = 0;
        CHECK_OK(vs_store_get(s, "r1234", &g, ERR));
        const float *v = vs_results_vector(g, 0, &d);
        CHECK(d == D && v != NULL && memcmp(v, vecs + 1234 * D, sizeof(float) * D) == 0);
        vs_results_free(g);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
    free(ops);
    free(vecs);
    free(ids);
}

int main(void) {
    check_abi_or_die();
    RUN(test_soft_delete_and_restore);
    RUN(test_update_metadata);
    RUN(test_ttl);
    RUN(test_batch_json);
    RUN(test_batch_typed);
    RUN(test_batch_bulk_load_is_durable);
    return check_summary();
}
