/*
 * batch.c: writing many records at once, and the life of a record after it is written.
 *
 *   batch [STORE_DIR]        (default: ./demo-store.batch)
 *
 * 1. A bulk load through vs_store_batch_execute (typed ops): one write lock, one log append.
 * 2. A mixed batch in the JSON shape of the HTTP API, with one operation that fails on its own.
 * 3. Soft delete, restore and metadata updates.
 * 4. TTL: a session record that expires, and vs_store_expire_ttl_records.
 *
 * Running it again on the same directory is fine: it replaces the same records.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vecstore.h"

#define DIM 4
#define N 1000

static int fail(const char *what, vs_status status, vs_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vs_status_name((int)status), vs_error_message(err));
    vs_error_free(err);
    return 1;
}

static uint64_t count(vs_store *s) {
    uint64_t n = 0;
    vs_store_count(s, &n, NULL);
    return n;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./demo-store.batch";
    vs_store *store = NULL;
    vs_error *err = NULL;
    vs_status st;
    static char ids[N][16];
    static float vecs[N][DIM];
    static vs_batch_op ops[N];
    vs_batch_result *result = NULL;
    char *json = NULL;

    vs_store_options opts = vs_store_options_default();
    opts.dimension = DIM;
    if ((st = vs_store_open(path, &opts, &store, &err)) != VS_OK)
        return fail("vs_store_open", st, err);

    /* 1. A bulk load: 1000 upserts in one batch. Fields an op does not use stay 0/NULL. */
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "doc-%d", i);
        for (int j = 0; j < DIM; j++)
            vecs[i][j] = (float)((i * 7 + j * 13) % 17) + 1.0f;
        ops[i] = (vs_batch_op){.kind = VS_BATCH_UPSERT, .id = ids[i], .vector = vecs[i], .dim = DIM};
    }
    if ((st = vs_store_batch_execute(store, ops, N, &result, &err)) != VS_OK)
        return fail("vs_store_batch_execute", st, err);
    printf("bulk load: %zu succeeded, %zu failed, %.2f ms\n", vs_batch_result_succeeded(result),
           vs_batch_result_failed(result), vs_batch_result_duration_ms(result));
    vs_batch_result_free(result);

    /* 2. A mixed batch as JSON. "doc-x" does not exist, so its soft_delete fails alone. */
    st = vs_store_batch_execute_json(store,
                                     "{\"operations\": ["
                                     " {\"op\": \"upsert\", \"id\": \"doc-0\", \"vector\": [1, 2, 3, 4],"
                                     "  \"metadata\": {\"lang\": \"c\"}},"
                                     " {\"op\": \"update_metadata\", \"id\": \"doc-1\", \"metadata\": {\"lang\": \"go\"}},"
                                     " {\"op\": \"soft_delete\", \"id\": \"doc-x\"},"
                                     " {\"op\": \"delete\", \"id\": \"doc-2\"}"
                                     "]}",
                                     &json, &err);
    if (st != VS_OK)
        return fail("vs_store_batch_execute_json", st, err);
    printf("mixed batch: %s\n", json);
    vs_string_free(json);

    /* 3. Soft delete hides a record; restore brings it back. */
    if ((st = vs_store_soft_delete(store, "doc-3", &err)) != VS_OK)
        return fail("vs_store_soft_delete", st, err);
    printf("after soft delete: %llu records\n", (unsigned long long)count(store));
    if ((st = vs_store_restore(store, "doc-3", &err)) != VS_OK)
        return fail("vs_store_restore", st, err);
    printf("after restore: %llu records\n", (unsigned long long)count(store));
    st = vs_store_soft_delete(store, "no-such-doc", &err);
    printf("soft delete of an unknown id: %s (%s)\n", vs_status_name((int)st), vs_error_message(err));
    vs_error_free(err);
    err = NULL;

    /* 4. TTL: a session that expires after an hour; a TTL can be changed or removed (0). */
    {
        float v[DIM] = {4, 3, 2, 1};
        uint64_t expired = 0;
        if ((st = vs_store_upsert_with_ttl(store, "session-1", v, DIM, "{\"user\":\"ada\"}", 3600, &err)) != VS_OK)
            return fail("vs_store_upsert_with_ttl", st, err);
        if ((st = vs_store_set_ttl(store, "doc-4", 7200, &err)) != VS_OK)
            return fail("vs_store_set_ttl", st, err);
        if ((st = vs_store_set_ttl(store, "doc-4", 0, &err)) != VS_OK)
            return fail("vs_store_set_ttl", st, err);
        if ((st = vs_store_expire_ttl_records(store, &expired, &err)) != VS_OK)
            return fail("vs_store_expire_ttl_records", st, err);
        printf("expired now: %llu; records: %llu\n", (unsigned long long)expired, (unsigned long long)count(store));
    }

    vs_store_close(store);
    return 0;
}
