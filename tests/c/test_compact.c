/*
 * test_compact.c: compaction, its settings, and the maintenance thread through the C ABI; soft
 * delete, restore and TTL, which feed them.
 */
#include "check.h"

#include <time.h>

#define DIM 4

static char dir[PATH_MAX];

static void vec_for(int i, float *v) {
    v[0] = (float)(i % 17) + 1.0f;
    v[1] = (float)(i % 5);
    v[2] = (float)(i / 17);
    v[3] = 0.5f;
}

/* n records "r0".."r<n-1>". */
static vs_store *filled_store(int n) {
    vs_store *s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    if (s == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        char id[32];
        float v[DIM];
        snprintf(id, sizeof id, "r%d", i);
        vec_for(i, v);
        CHECK_OK(vs_store_upsert(s, id, v, DIM, NULL, ERR));
    }
    return s;
}

static void soft_delete_range(vs_store *s, int from, int to) {
    for (int i = from; i < to; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%d", i);
        CHECK_OK(vs_store_soft_delete(s, id, ERR));
    }
}

/* The ids of a top-k query on the vector of record `i`, joined with spaces. */
static void query_ids(vs_store *s, int i, char *out, size_t size) {
    float v[DIM];
    vs_query q = vs_query_default();
    vs_results *r = NULL;
    vec_for(i, v);
    q.vector = v;
    q.dim = DIM;
    q.k = 5;
    out[0] = 0;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    for (size_t j = 0; r != NULL && j < vs_results_len(r); j++) {
        strncat(out, vs_results_id(r, j), size - strlen(out) - 2);
        strncat(out, " ", size - strlen(out) - 1);
    }
    vs_results_free(r);
}

static void test_defaults(void) {
    vs_compaction_config c = vs_compaction_config_default();
    vs_compaction_result r = vs_compaction_result_default();
    CHECK(c.struct_size == sizeof c);
    CHECK(!c.enabled);
    CHECK(c.min_deleted_records == 1000);
    CHECK(near(c.min_deleted_ratio, 0.1, 1e-12));
    CHECK(r.struct_size == sizeof r);
    CHECK(!r.triggered && r.removed_count == 0 && r.reason[0] == 0);
}

static void test_compact_removes_soft_deleted_records_for_good(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = filled_store(100);
    uint64_t removed = SENTINEL_U64;
    char before[256], after[256];
    vs_results *r = NULL;
    soft_delete_range(s, 0, 30);
    CHECK_OK(vs_store_delete(s, "r30", ERR));
    CHECK(store_count(s) == 69);
    query_ids(s, 50, before, sizeof before);

    CHECK_OK(vs_store_compact(s, &removed, ERR));
    CHECK(removed == 30); /* the hard-deleted record was already gone: not counted */
    CHECK(store_count(s) == 69);
    query_ids(s, 50, after, sizeof after);
    CHECK_STR_EQ(after, before);
    /* A soft-deleted record can no longer be restored. */
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_restore(s, "r3", ERR));
    r = SENTINEL_PTR(vs_results);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "r3", &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results)); /* untouched on failure */
    CHECK_OK(vs_store_get(s, "r31", &r, ERR));
    vs_results_free(r);
    {
        char *json = NULL;
        CHECK_OK(vs_store_stats_json(s, &json, ERR));
        CHECK(contains(json, "\"soft_deleted\":0"));
        CHECK(contains(json, "\"tombstones\":0"));
        CHECK(contains(json, "\"maintenance\":null"));
        vs_string_free(json);
    }
    /* Nothing left: a second compaction removes nothing; NULL removed is allowed. */
    CHECK_OK(vs_store_compact(s, &removed, ERR));
    CHECK(removed == 0);
    CHECK_OK(vs_store_compact(s, NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_compact(NULL, &removed, ERR));

    /* After reopening: the same records, the same answers. */
    vs_store_close(s);
    s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    CHECK(store_count(s) == 69);
    query_ids(s, 50, after, sizeof after);
    CHECK_STR_EQ(after, before);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_restore(s, "r3", ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_restore_before_compaction_brings_a_record_back(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = filled_store(10);
    vs_results *r = NULL;
    CHECK_OK(vs_store_soft_delete(s, "r1", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "r1", &r, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_soft_delete(s, "r1", ERR));
    CHECK_OK(vs_store_restore(s, "r1", ERR));
    CHECK_OK(vs_store_get(s, "r1", &r, ERR));
    vs_results_free(r);
    CHECK_OK(vs_store_restore(s, "r1", ERR)); /* live: a no-op */
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_restore(s, "nope", ERR));
    CHECK(store_count(s) == 10);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_maybe_compact_thresholds_and_reason(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = filled_store(100);
    vs_compaction_config c = vs_compaction_config_default();
    vs_compaction_result r = vs_compaction_result_default();
    soft_delete_range(s, 0, 5);

    /* Disabled by default. */
    CHECK_OK(vs_store_maybe_compact(s, &r, ERR));
    CHECK(!r.triggered && r.removed_count == 0);
    CHECK_MSG(contains(r.reason, "disabled"), "reason: %s", r.reason);

    /* Enabled, 5 of 100 reclaimable: below 6 records and below 10%. */
    c.enabled = true;
    c.min_deleted_records = 6;
    CHECK_OK(vs_store_set_compaction_config(s, &c, ERR));
    r = vs_compaction_result_default();
    CHECK_OK(vs_store_maybe_compact(s, &r, ERR));
    CHECK(!r.triggered);
    CHECK_MSG(contains(r.reason, "below both"), "reason: %s", r.reason);
    CHECK(store_count(s) == 95);

    /* One more: 6 records reaches min_deleted_records. */
    soft_delete_range(s, 5, 6);
    r = vs_compaction_result_default();
    CHECK_OK(vs_store_maybe_compact(s, &r, ERR));
    CHECK(r.triggered);
    CHECK(r.removed_count == 6 && r.tombstones_removed == 0);
    CHECK(r.duration_ms >= 0.0);
    CHECK_MSG(contains(r.reason, "min_deleted_records"), "reason: %s", r.reason);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_restore(s, "r0", ERR));

    /* The ratio alone: 10% of the 94 slots with a huge record threshold. */
    c.min_deleted_records = 1000000;
    CHECK_OK(vs_store_set_compaction_config(s, &c, ERR));
    soft_delete_range(s, 10, 19); /* 9 of 94 < 10% */
    r = vs_compaction_result_default();
    CHECK_OK(vs_store_maybe_compact(s, &r, ERR));
    CHECK(!r.triggered);
    soft_delete_range(s, 19, 20); /* 10 of 94 */
    r = vs_compaction_result_default();
    CHECK_OK(vs_store_maybe_compact(s, &r, ERR));
    CHECK(r.triggered && r.removed_count == 10);
    CHECK_MSG(contains(r.reason, "min_deleted_ratio"), "reason: %s", r.reason);
    CHECK(store_count(s) == 84);

    /* Bad arguments change nothing and leave the output untouched. */
    r = vs_compaction_result_default();
    r.struct_size = 0;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_compaction_result_default", vs_store_maybe_compact(s, &r, ERR));
    CHECK(!r.triggered && r.reason[0] == 0);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_maybe_compact(s, NULL, ERR));
    c.min_deleted_ratio = 1.5;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_set_compaction_config(s, &c, ERR));
    c.min_deleted_ratio = NAN;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_set_compaction_config(s, &c, ERR));
    c = vs_compaction_config_default();
    c.struct_size = 0;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_compaction_config_default",
                    vs_store_set_compaction_config(s, &c, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_config_is_persisted(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    vs_compaction_config c = vs_compaction_config_default();
    vs_compaction_config got = vs_compaction_config_default();
    c.enabled = true;
    c.min_deleted_records = 42;
    c.min_deleted_ratio = 0.25;
    CHECK_OK(vs_store_set_compaction_config(s, &c, ERR));
    vs_store_close(s);
    s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_get_compaction_config(s, &got, ERR));
    CHECK(got.struct_size == sizeof got);
    CHECK(got.enabled && got.min_deleted_records == 42 && near(got.min_deleted_ratio, 0.25, 1e-12));
    /* NULL = the defaults. */
    CHECK_OK(vs_store_set_compaction_config(s, NULL, ERR));
    CHECK_OK(vs_store_get_compaction_config(s, &got, ERR));
    CHECK(!got.enabled && got.min_deleted_records == 1000);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_maintenance_thread_expires_and_compacts_then_stops(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = filled_store(3);
    vs_compaction_config c = vs_compaction_config_default();
    vs_results *r = NULL;
    float v[DIM] = {9, 9, 9, 9};
    char *json = NULL;
    int waited = 0;
    c.enabled = true;
    c.min_deleted_records = 1;
    CHECK_OK(vs_store_set_compaction_config(s, &c, ERR));
    CHECK_OK(vs_store_upsert_with_ttl(s, "session", v, DIM, NULL, 1, ERR));
    CHECK_OK(vs_store_get(s, "session", &r, ERR));
    vs_results_free(r);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_start_maintenance(s, 0, ERR));
    CHECK_OK(vs_store_start_maintenance(s, 20, ERR));
    /* The TTL ends within 2 s; the thread then expires the record and compacts its slot away. */
    for (;;) {
        CHECK_OK(vs_store_stats_json(s, &json, ERR));
        if (json != NULL && contains(json, "\"expired\":1,") && !contains(json, "\"compactions\":0")) break;
        vs_string_free(json);
        json = NULL;
        if (waited > 6000) break;
        sleep_ms(20);
        waited += 20;
    }
    CHECK_MSG(json != NULL && contains(json, "\"compactions\":1") && contains(json, "\"errors\":0"), "stats: %s",
              json ? json : "(null)");
    CHECK(contains(json, "\"tombstones\":0"));
    vs_string_free(json);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "session", &r, ERR));
    CHECK(store_count(s) == 3);
    CHECK_OK(vs_store_stop_maintenance(s, ERR));
    CHECK_OK(vs_store_stop_maintenance(s, ERR)); /* none running: a no-op */
    CHECK_OK(vs_store_stats_json(s, &json, ERR));
    CHECK(contains(json, "\"maintenance\":null"));
    vs_string_free(json);
    /* Started again with a long interval, then closed: close stops and joins it at once (ASan's
     * leak check at exit would see a thread's memory otherwise). */
    CHECK_OK(vs_store_start_maintenance(s, 3600 * 1000, ERR));
    CHECK_OK(vs_store_start_maintenance(s, 1000, ERR)); /* replaces the running one */
    {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        vs_store_close(s);
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
    }
    /* The directory is free again. */
    s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    CHECK(store_count(s) == 3);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_ttl_functions(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store *s = filled_store(3);
    uint64_t n = SENTINEL_U64;
    CHECK_OK(vs_store_set_ttl(s, "r0", 3600, ERR));
    CHECK_OK(vs_store_set_ttl(s, "r0", 0, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_set_ttl(s, "nope", 10, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_set_ttl(s, "r0", UINT64_MAX, ERR));
    CHECK_OK(vs_store_expire_ttl_records(s, &n, ERR));
    CHECK(n == 0);
    n = SENTINEL_U64;
    CHECK_OK(vs_store_expire_ttl_records(s, NULL, ERR)); /* NULL: the count is not wanted */
    CHECK_OK(vs_store_update_metadata(s, "r1", "{\"k\":1}", ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_update_metadata(s, "r1", "{bad", ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* A namespace's store handle has its own maintenance thread, running through the namespace. */
static void test_maintenance_through_a_namespace_handle(void) {
    char root[PATH_MAX];
    vs_namespaces *m = NULL;
    vs_store *s = NULL;
    vs_store_options o = vs_store_options_default();
    vs_compaction_config c = vs_compaction_config_default();
    vs_results *r = NULL;
    float v[DIM] = {1, 2, 3, 4};
    char *json = NULL;
    uint64_t removed = SENTINEL_U64;
    int waited = 0;
    tmpdir_make(root, sizeof root);
    o.dimension = DIM;
    CHECK_OK(vs_namespaces_open(root, &o, &m, ERR));
    CHECK_OK(vs_namespace_create(m, "tenant", "Tenant", NULL, ERR));
    CHECK_OK(vs_namespace_store(m, "tenant", &s, ERR));
    c.enabled = true;
    c.min_deleted_records = 1;
    CHECK_OK(vs_store_set_compaction_config(s, &c, ERR));
    CHECK_OK(vs_store_upsert(s, "keep", v, DIM, NULL, ERR));
    CHECK_OK(vs_store_upsert(s, "gone", v, DIM, NULL, ERR));
    CHECK_OK(vs_store_soft_delete(s, "gone", ERR));
    CHECK_OK(vs_store_compact(s, &removed, ERR));
    CHECK(removed == 1);
    CHECK_OK(vs_store_upsert_with_ttl(s, "session", v, DIM, NULL, 1, ERR));
    CHECK_OK(vs_store_start_maintenance(s, 20, ERR));
    for (;;) {
        CHECK_OK(vs_store_stats_json(s, &json, ERR));
        if (json != NULL && contains(json, "\"compactions\":1")) break;
        vs_string_free(json);
        json = NULL;
        if (waited > 6000) break;
        sleep_ms(20);
        waited += 20;
    }
    CHECK_MSG(json != NULL && contains(json, "\"expired\":1,") && contains(json, "\"errors\":0"), "stats: %s",
              json ? json : "(null)");
    vs_string_free(json);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "session", &r, ERR));
    CHECK(store_count(s) == 1);
    vs_store_close(s); /* stops this handle's thread; the namespace stays open */
    CHECK_OK(vs_namespace_store(m, "tenant", &s, ERR));
    CHECK(store_count(s) == 1);
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(root);
}

int main(void) {
    check_abi_or_die();
    RUN(test_defaults);
    RUN(test_compact_removes_soft_deleted_records_for_good);
    RUN(test_restore_before_compaction_brings_a_record_back);
    RUN(test_maybe_compact_thresholds_and_reason);
    RUN(test_config_is_persisted);
    RUN(test_ttl_functions);
    RUN(test_maintenance_thread_expires_and_compacts_then_stops);
    RUN(test_maintenance_through_a_namespace_handle);
    return check_summary();
}
