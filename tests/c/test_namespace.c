/*
 * test_namespace.c: namespaces through the C ABI: the manager's lifecycle and persistence, data
 * through vs_namespace_store handles, quotas (vectors, storage, request rate), status, stats,
 * deletion, backups and restore, hostile names and planted symbolic links, and threads working in
 * different namespaces while others are created and deleted.
 */
#include "check.h"

#include <pthread.h>

#define DIM 4

static char dir[PATH_MAX];
static char root[PATH_MAX];

static void fresh_root(void) {
    tmpdir_make(dir, sizeof dir);
    path_join(root, sizeof root, dir, "root");
}

static vs_namespaces *open_mgr(void) {
    vs_store_options o = vs_store_options_default();
    o.dimension = DIM;
    vs_namespaces *m = NULL;
    CHECK_OK(vs_namespaces_open(root, &o, &m, ERR));
    return m;
}

static vs_store *ns_store(vs_namespaces *m, const char *id) {
    vs_store *s = NULL;
    CHECK_OK(vs_namespace_store(m, id, &s, ERR));
    return s;
}

static vs_status put(vs_store *s, const char *id, float x, vs_error **err) {
    float v[DIM] = {1.0f, x, 0.5f, 0.25f};
    return vs_store_upsert(s, id, v, DIM, NULL, err);
}

/* The JSON a call wrote to *json (read after the call: take_json(f(..., &json, NULL), &json)). */
static char *take_json(vs_status st, char **json) {
    CHECK(st == VS_OK);
    CHECK(*json != NULL && json_valid(*json));
    return *json;
}

/* ---------------------------------------------------------------------------------------------- */

static void test_quotas_default(void) {
    vs_quotas q = vs_quotas_default();
    CHECK(q.struct_size == sizeof(vs_quotas));
    CHECK(q.max_vectors == 0 && q.max_storage_bytes == 0 && q.max_requests_per_second == 0.0);
    CHECK(VS_NAMESPACE_ACTIVE == 0 && VS_NAMESPACE_SUSPENDED == 1);
    vs_namespaces_close(NULL);
}

static void test_create_list_get_and_reopen(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    vs_quotas q = vs_quotas_default();
    q.max_vectors = 100;
    q.max_requests_per_second = 1000.5;
    CHECK_OK(vs_namespace_create(m, "acme", "Acme Corp", &q, ERR));
    CHECK_OK(vs_namespace_create(m, "beta.2", NULL, NULL, ERR));
    CHECK_FAILS_MSG(VS_ERR_ALREADY_EXISTS, "acme", vs_namespace_create(m, "acme", "x", NULL, ERR));
    CHECK_OK(vs_namespace_set_status(m, "beta.2", VS_NAMESPACE_SUSPENDED, ERR));

    vs_store *s = ns_store(m, "acme");
    CHECK_OK(put(s, "doc1", 0.1f, ERR));
    CHECK_OK(put(s, "doc2", 0.2f, ERR));
    CHECK(store_count(s) == 2);
    vs_store_close(s);

    char *json = NULL;
    json = take_json(vs_namespace_list_json(m, &json, NULL), &json);
    CHECK(contains(json, "\"id\":\"acme\"") && contains(json, "\"name\":\"Acme Corp\""));
    CHECK(contains(json, "\"max_vectors\":100") && contains(json, "1000.5"));
    CHECK(contains(json, "\"id\":\"beta.2\"") && contains(json, "\"status\":\"suspended\""));
    CHECK(strstr(json, "acme") < strstr(json, "beta.2")); /* ordered by id */
    vs_string_free(json);
    vs_namespaces_close(m);

    /* Reopening gives back every namespace, its settings and its data. */
    m = open_mgr();
    json = NULL;
    json = take_json(vs_namespace_get_json(m, "beta.2", &json, NULL), &json);
    CHECK(contains(json, "\"status\":\"suspended\"") && contains(json, "\"created_at\":"));
    vs_string_free(json);
    json = NULL;
    json = take_json(vs_namespace_get_json(m, "acme", &json, NULL), &json);
    CHECK(contains(json, "\"max_vectors\":100") && contains(json, "\"status\":\"active\""));
    vs_string_free(json);
    s = ns_store(m, "acme");
    CHECK(store_count(s) == 2);
    /* A second manager on the same root is refused while this one is open. */
    vs_namespaces *m2 = SENTINEL_PTR(vs_namespaces);
    CHECK_FAILS(VS_ERR_LOCKED, vs_namespaces_open(root, NULL, &m2, ERR));
    CHECK(m2 == SENTINEL_PTR(vs_namespaces));
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

static void test_bad_arguments_leave_outputs_alone(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    CHECK_OK(vs_namespace_create(m, "t", "", NULL, ERR));
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    const char *bad[] = {"", ".", "..", "../x", "/tmp/x", "a/b", "a\\b", ".hidden", "a b", "caf\xc3\xa9", long_id};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_create(m, bad[i], "x", NULL, ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_delete(m, bad[i], ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_backup(m, "t", bad[i], ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_restore(m, "t", bad[i], ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_delete_backup(m, "t", bad[i], ERR));
    }
    char not_utf8[] = {'a', (char)0xff, 0};
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_create(m, not_utf8, "x", NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_create(m, "ok", "line\nbreak", NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_create(NULL, "x", "x", NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_create(m, NULL, "x", NULL, ERR));

    vs_quotas q = vs_quotas_default();
    q.max_requests_per_second = NAN;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "max_requests_per_second", vs_namespace_create(m, "n", "", &q, ERR));
    q.max_requests_per_second = -1.0;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_update_quotas(m, "t", &q, ERR));
    q.max_requests_per_second = INFINITY;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_update_quotas(m, "t", &q, ERR));
    q = vs_quotas_default();
    q.struct_size = 0;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_quotas_default", vs_namespace_update_quotas(m, "t", &q, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_set_status(m, "t", 7, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_set_status(m, "nope", VS_NAMESPACE_ACTIVE, ERR));

    vs_store *s = SENTINEL_PTR(vs_store);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_store(m, "nope", &s, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_store(m, "t", NULL, ERR));
    CHECK(s == SENTINEL_PTR(vs_store));
    char *json = SENTINEL_PTR(char);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_get_json(m, "nope", &json, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_stats_json(m, "nope", &json, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_list_backups_json(m, "nope", &json, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespace_list_json(NULL, &json, ERR));
    CHECK(json == SENTINEL_PTR(char));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_restore(m, "t", "nothing", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_delete_backup(m, "t", "nothing", ERR));
    vs_namespaces_close(m);

    /* Nothing was created outside the root. */
    char p[PATH_MAX];
    path_join(p, sizeof p, dir, "x");
    CHECK(!path_exists(p));
    path_join(p, sizeof p, dir, "root/ns/t");
    CHECK(path_exists(p));
    tmpdir_remove(dir);
}

static void test_quotas_refuse_a_write_as_a_whole(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    vs_quotas q = vs_quotas_default();
    q.max_vectors = 3;
    CHECK_OK(vs_namespace_create(m, "t", "", &q, ERR));
    vs_store *s = ns_store(m, "t");
    CHECK_OK(put(s, "a", 1, ERR));
    CHECK_OK(put(s, "b", 2, ERR));
    /* a (replacement) + c + d (new): 2 + 2 > 3, nothing is written. */
    const char *ids[] = {"a", "c", "d"};
    float vecs[3 * DIM] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    CHECK_FAILS_MSG(VS_ERR_QUOTA_EXCEEDED, "max_vectors", vs_store_upsert_many(s, 3, ids, vecs, DIM, NULL, ERR));
    CHECK(store_count(s) == 2);
    vs_results *r = NULL;
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "c", &r, ERR));
    CHECK_OK(vs_store_upsert_many(s, 2, ids, vecs, DIM, NULL, ERR)); /* exactly at the limit */
    CHECK_OK(put(s, "a", 9, ERR));                                   /* replacement: not growth */
    CHECK_FAILS(VS_ERR_QUOTA_EXCEEDED, put(s, "z", 1, ERR));
    CHECK_OK(vs_store_delete(s, "b", ERR));
    CHECK_OK(put(s, "z", 1, ERR));

    /* Storage: no room for one more record. */
    char *json = NULL;
    json = take_json(vs_namespace_stats_json(m, "t", &json, NULL), &json);
    const char *p = strstr(json, "\"storage_bytes\":");
    CHECK(p != NULL);
    unsigned long long used = p ? strtoull(p + strlen("\"storage_bytes\":"), NULL, 10) : 0;
    CHECK(used > 0);
    CHECK(contains(json, "\"vector_count\":3") && contains(json, "\"deleted_count\":"));
    CHECK(contains(json, "\"write\":{\"refused\":4,\"served\":")); /* CHECK_FAILS calls twice */
    vs_string_free(json);
    q = vs_quotas_default();
    q.max_storage_bytes = used + 8;
    CHECK_OK(vs_namespace_update_quotas(m, "t", &q, ERR));
    CHECK_FAILS_MSG(VS_ERR_QUOTA_EXCEEDED, "max_storage_bytes", put(s, "big", 1, ERR));
    CHECK(store_count(s) == 3);
    CHECK_OK(vs_store_delete(s, "z", ERR)); /* deletes are never refused */
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

/* The store functions added beside upsert (batches, soft delete / restore, TTL) go through the same
 * namespace checks: a batch over quota fails as a whole, a restore counts as growth. */
static void test_batches_and_record_changes_in_a_namespace(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    vs_quotas q = vs_quotas_default();
    q.max_vectors = 2;
    CHECK_OK(vs_namespace_create(m, "t", "", &q, ERR));
    vs_store *s = ns_store(m, "t");
    CHECK_OK(put(s, "a", 1, ERR));
    const char *over = "{\"operations\":[{\"op\":\"upsert\",\"id\":\"b\",\"vector\":[1,0,0,0]},"
                       "{\"op\":\"upsert\",\"id\":\"c\",\"vector\":[0,1,0,0]}]}";
    char *out = SENTINEL_PTR(char);
    CHECK_FAILS_MSG(VS_ERR_QUOTA_EXCEEDED, "max_vectors", vs_store_batch_execute_json(s, over, &out, ERR));
    CHECK(out == SENTINEL_PTR(char));
    CHECK(store_count(s) == 1);
    vs_results *r = NULL;
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "b", &r, ERR));

    /* Soft delete frees room; restoring needs it back. */
    CHECK_OK(vs_store_soft_delete(s, "a", ERR));
    CHECK_OK(put(s, "b", 2, ERR));
    CHECK_OK(put(s, "c", 3, ERR));
    CHECK_FAILS(VS_ERR_QUOTA_EXCEEDED, vs_store_restore(s, "a", ERR));
    CHECK_OK(vs_store_delete(s, "c", ERR));
    CHECK_OK(vs_store_restore(s, "a", ERR));
    CHECK_OK(vs_store_set_ttl(s, "a", 3600, ERR));
    CHECK(store_count(s) == 2);

    CHECK_OK(vs_namespace_set_status(m, "t", VS_NAMESPACE_SUSPENDED, ERR));
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, vs_store_batch_execute_json(s, over, &out, ERR));
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, vs_store_soft_delete(s, "a", ERR));
    uint64_t expired = SENTINEL_U64;
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, vs_store_expire_ttl_records(s, &expired, ERR));
    CHECK(expired == SENTINEL_U64);
    CHECK_OK(vs_namespace_delete(m, "t", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_batch_execute_json(s, over, &out, ERR));
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

static void test_rate_limit_and_suspension(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    vs_quotas q = vs_quotas_default();
    q.max_requests_per_second = 3;
    CHECK_OK(vs_namespace_create(m, "t", "", &q, ERR));
    vs_store *s = ns_store(m, "t");
    int ok = 0, limited = 0;
    for (int i = 0; i < 10; i++) {
        uint64_t n;
        vs_error *e = NULL;
        vs_status st = vs_store_count(s, &n, &e);
        ok += st == VS_OK;
        limited += st == VS_ERR_RATE_LIMITED && vs_error_code(e) == VS_ERR_RATE_LIMITED;
        vs_error_free(e);
    }
    CHECK_MSG(ok >= 3 && ok <= 4 && ok + limited == 10, "ok %d limited %d", ok, limited);
    q.max_requests_per_second = 0;
    CHECK_OK(vs_namespace_update_quotas(m, "t", &q, ERR));
    CHECK(store_count(s) == 0);

    CHECK_OK(vs_namespace_set_status(m, "t", VS_NAMESPACE_SUSPENDED, ERR));
    uint64_t n = SENTINEL_U64;
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, vs_store_count(s, &n, ERR));
    CHECK(n == SENTINEL_U64);
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, put(s, "a", 1, ERR));
    float v[DIM] = {1, 0, 0, 0};
    vs_query qq = vs_query_default();
    qq.vector = v;
    qq.dim = DIM;
    vs_results *r = SENTINEL_PTR(vs_results);
    CHECK_FAILS(VS_ERR_NAMESPACE_SUSPENDED, vs_store_query(s, &qq, &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    char *json = NULL;
    json = take_json(vs_namespace_stats_json(m, "t", &json, NULL), &json); /* stats still work */
    CHECK(contains(json, "\"query\":{\"refused\":2,\"served\":0}"));
    CHECK(contains(json, "\"last_activity_at\":") && !contains(json, "\"last_activity_at\":null"));
    vs_string_free(json);
    CHECK_OK(vs_namespace_set_status(m, "t", VS_NAMESPACE_ACTIVE, ERR));
    CHECK_OK(put(s, "a", 1, ERR));
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

static void test_delete_and_manager_close_stop_old_handles(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    CHECK_OK(vs_namespace_create(m, "t", "", NULL, ERR));
    vs_store *old = ns_store(m, "t");
    CHECK_OK(put(old, "a", 1, ERR));
    CHECK_OK(vs_namespace_delete(m, "t", ERR));
    CHECK_FAILS_MSG(VS_ERR_NOT_FOUND, "deleted", put(old, "b", 1, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_namespace_delete(m, "t", ERR));
    CHECK_OK(vs_namespace_create(m, "t", "", NULL, ERR));
    uint64_t n = SENTINEL_U64;
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_count(old, &n, ERR)); /* never the new namespace */
    vs_store *s = ns_store(m, "t");
    CHECK(store_count(s) == 0);
    vs_namespaces_close(m); /* handles outlive the manager safely */
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_count(s, &n, ERR));
    vs_store_close(s);
    vs_store_close(old);
    tmpdir_remove(dir);
}

static void test_backup_and_restore(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    CHECK_OK(vs_namespace_create(m, "t", "", NULL, ERR));
    vs_store *s = ns_store(m, "t");
    char id[32];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "r%d", i);
        CHECK_OK(put(s, id, (float)i, ERR));
    }
    const float probe[DIM] = {0.5f, 3.0f, 1.0f, 0.0f};
    const char *ids[] = {"r0", "r1", "r49", "new", NULL};
    char *before = store_snapshot(s, probe, DIM, ids, 0);
    CHECK_OK(vs_namespace_backup(m, "t", "daily-1", ERR));
    CHECK_FAILS(VS_ERR_ALREADY_EXISTS, vs_namespace_backup(m, "t", "daily-1", ERR));
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "r%d", i);
        CHECK_OK(vs_store_delete(s, id, ERR));
    }
    CHECK_OK(put(s, "new", 7, ERR));
    CHECK_OK(vs_namespace_backup(m, "t", "daily-2", ERR));
    char *json = NULL;
    json = take_json(vs_namespace_list_backups_json(m, "t", &json, NULL), &json);
    CHECK(contains(json, "{\"created_at\":") || contains(json, "\"name\":\"daily-1\""));
    CHECK(contains(json, "\"name\":\"daily-1\"") && contains(json, "\"vector_count\":50"));
    CHECK(contains(json, "\"name\":\"daily-2\"") && contains(json, "\"vector_count\":31"));
    vs_string_free(json);

    CHECK_OK(vs_namespace_restore(m, "t", "daily-1", ERR));
    char *after = store_snapshot(s, probe, DIM, ids, 0); /* the same handle */
    CHECK_STR_EQ(after, before);
    free(after);
    vs_store_close(s);
    vs_namespaces_close(m);
    m = open_mgr();
    s = ns_store(m, "t");
    after = store_snapshot(s, probe, DIM, ids, 0);
    CHECK_STR_EQ(after, before);
    free(after);
    CHECK_OK(vs_namespace_delete_backup(m, "t", "daily-1", ERR));
    json = NULL;
    json = take_json(vs_namespace_list_backups_json(m, "t", &json, NULL), &json);
    CHECK(!contains(json, "daily-1") && contains(json, "daily-2"));
    vs_string_free(json);
    CHECK(store_count(s) == 50); /* deleting the backup leaves the restored data alone */
    free(before);
    vs_store_close(s);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

static void test_planted_symlinks_are_refused(void) {
    fresh_root();
    char outside[PATH_MAX], p[PATH_MAX], precious[PATH_MAX];
    path_join(outside, sizeof outside, dir, "outside");
    CHECK(mkdir(outside, 0700) == 0);
    path_join(precious, sizeof precious, outside, "precious");
    CHECK(file_write(precious, "keep", 4, "wb"));
    vs_namespaces *m = open_mgr();
    CHECK_OK(vs_namespace_create(m, "t", "", NULL, ERR));
    CHECK_OK(vs_namespace_create(m, "u", "", NULL, ERR));
    vs_namespaces_close(m);

    path_join(p, sizeof p, root, "ns/t");
    tmpdir_remove(p);
    CHECK(symlink(outside, p) == 0);
    path_join(p, sizeof p, root, "backups");
    CHECK(symlink(outside, p) == 0);

    m = open_mgr();
    vs_store *s = ns_store(m, "t");
    CHECK_FAILS_MSG(VS_ERR_CORRUPT, "symbolic link", put(s, "x", 1, ERR));
    CHECK_FAILS_MSG(VS_ERR_CORRUPT, "symbolic link", vs_namespace_backup(m, "u", "b", ERR));
    char *json = SENTINEL_PTR(char);
    CHECK_FAILS(VS_ERR_CORRUPT, vs_namespace_list_backups_json(m, "u", &json, ERR));
    CHECK(json == SENTINEL_PTR(char));
    CHECK_OK(vs_namespace_delete(m, "t", ERR)); /* removes the link, not its target */
    vs_store_close(s);
    vs_namespaces_close(m);
    size_t len = 0;
    unsigned char *data = file_read(precious, &len);
    CHECK(data != NULL && len == 4 && memcmp(data, "keep", 4) == 0);
    free(data);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */

#define WORKERS 4

struct worker {
    vs_namespaces *m;
    int index;
    int failures;
};

static void *data_worker(void *arg) {
    struct worker *w = arg;
    char id[32];
    snprintf(id, sizeof id, "n%d", w->index);
    vs_store *s = NULL;
    if (vs_namespace_store(w->m, id, &s, NULL) != VS_OK)
        return (w->failures++, NULL);
    for (int i = 0; i < 150; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%d", i);
        w->failures += put(s, rid, (float)(i + w->index), NULL) != VS_OK;
        float v[DIM] = {1, (float)i, 0, 0};
        vs_query q = vs_query_default();
        q.vector = v;
        q.dim = DIM;
        q.k = 3;
        vs_results *r = NULL;
        w->failures += vs_store_query(s, &q, &r, NULL) != VS_OK;
        vs_results_free(r);
    }
    uint64_t n = 0;
    w->failures += vs_store_count(s, &n, NULL) != VS_OK || n != 150;
    vs_store_close(s);
    return NULL;
}

static void *churn_worker(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < 15; i++) {
        char id[32];
        snprintf(id, sizeof id, "tmp%d", i);
        w->failures += vs_namespace_create(w->m, id, "", NULL, NULL) != VS_OK;
        vs_store *s = NULL;
        w->failures += vs_namespace_store(w->m, id, &s, NULL) != VS_OK;
        w->failures += put(s, "a", 1, NULL) != VS_OK;
        w->failures += vs_namespace_delete(w->m, id, NULL) != VS_OK;
        w->failures += put(s, "a", 1, NULL) != VS_ERR_NOT_FOUND;
        vs_store_close(s);
    }
    return NULL;
}

static void test_threads_in_many_namespaces(void) {
    fresh_root();
    vs_namespaces *m = open_mgr();
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespaces_set_max_open_stores(m, 0, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_namespaces_set_max_open_stores(NULL, 4, ERR));
    /* Fewer open stores than namespaces in use: stores are closed and reopened under the workers. */
    CHECK_OK(vs_namespaces_set_max_open_stores(m, 2, ERR));
    for (int t = 0; t < WORKERS; t++) {
        char id[32];
        snprintf(id, sizeof id, "n%d", t);
        CHECK_OK(vs_namespace_create(m, id, "", NULL, ERR));
    }
    pthread_t tid[WORKERS + 1];
    struct worker w[WORKERS + 1];
    for (int t = 0; t <= WORKERS; t++) {
        w[t] = (struct worker){m, t, 0};
        CHECK(pthread_create(&tid[t], NULL, t == WORKERS ? churn_worker : data_worker, &w[t]) == 0);
    }
    for (int t = 0; t <= WORKERS; t++) {
        CHECK(pthread_join(tid[t], NULL) == 0);
        CHECK_MSG(w[t].failures == 0, "worker %d: %d failures", t, w[t].failures);
    }
    char *json = NULL;
    json = take_json(vs_namespace_list_json(m, &json, NULL), &json);
    CHECK(contains(json, "\"n3\"") && !contains(json, "tmp"));
    vs_string_free(json);
    vs_namespaces_close(m);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_quotas_default);
    RUN(test_create_list_get_and_reopen);
    RUN(test_bad_arguments_leave_outputs_alone);
    RUN(test_quotas_refuse_a_write_as_a_whole);
    RUN(test_batches_and_record_changes_in_a_namespace);
    RUN(test_rate_limit_and_suspension);
    RUN(test_delete_and_manager_close_stop_old_handles);
    RUN(test_backup_and_restore);
    RUN(test_planted_symlinks_are_refused);
    RUN(test_threads_in_many_namespaces);
    return check_summary();
}
