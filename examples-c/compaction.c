/*
 * compaction.c: soft delete, restore, compaction and the maintenance thread in C.
 *
 *   compaction [STORE_DIR]        (default: ./compaction-store)
 *
 * Writes 1000 small records, soft-deletes 300 of them (restoring one), asks maybe_compact with the
 * default settings (disabled) and then with thresholds, compacts, shows that a soft-deleted record
 * cannot be restored after compaction, and runs the maintenance thread for a moment. Running it
 * again on the same directory starts from a fresh set of records (upserts replace them).
 *
 * Build: see the Makefile next to this file (`make -C examples-c run`).
 */
#include <stdio.h>

#include "vecstore.h"

#define DIM 8
#define N 1000

static void report(const char *what, vs_status status, vs_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vs_status_name((int)status), vs_error_message(err));
    vs_error_free(err);
}

/* Evaluates a vecstore call; on failure reports it and jumps to `done`. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        vs_status st_ = (call);                                                                    \
        if (st_ != VS_OK) {                                                                        \
            report(#call, st_, err);                                                               \
            err = NULL;                                                                            \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./compaction-store";
    vs_store *store = NULL;
    vs_error *err = NULL;
    int exit_code = 1;
    uint64_t count = 0, removed = 0;
    char id[32];
    float v[DIM];

    if (vs_abi_version() != VS_ABI_VERSION) {
        fprintf(stderr, "vecstore ABI mismatch: header %d, library %u\n", VS_ABI_VERSION, vs_abi_version());
        return 1;
    }
    vs_store_options opts = vs_store_options_default();
    opts.dimension = DIM;
    opts.metric = VS_METRIC_EUCLIDEAN;
    TRY(vs_store_open(path, &opts, &store, &err));
    /* Compaction settings are saved with the store: start from the defaults (NULL), whatever an
     * earlier run of this program set. */
    TRY(vs_store_set_compaction_config(store, NULL, &err));

    /* 1. Records doc0..doc999; soft-delete 300 of them, then change our mind about one. */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < DIM; j++) v[j] = (float)((i * 31 + j * 17) % 101) / 101.0f;
        snprintf(id, sizeof id, "doc%d", i);
        TRY(vs_store_upsert(store, id, v, DIM, NULL, &err));
    }
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "doc%d", i);
        TRY(vs_store_soft_delete(store, id, &err));
    }
    TRY(vs_store_restore(store, "doc7", &err));
    TRY(vs_store_count(store, &count, &err));
    printf("live records after soft-deleting 300 and restoring 1: %llu\n", (unsigned long long)count);

    /* 2. maybe_compact with the default settings: disabled, so it only says why not. */
    vs_compaction_result r = vs_compaction_result_default();
    TRY(vs_store_maybe_compact(store, &r, &err));
    printf("maybe_compact (defaults): triggered=%d, reason: %s\n", r.triggered, r.reason);

    /* 3. Enable it: compact once 10% of the slots (or 1000 records) are reclaimable. The setting is
     *    saved with the store. */
    vs_compaction_config cfg = vs_compaction_config_default();
    cfg.enabled = true;
    cfg.min_deleted_ratio = 0.10;
    TRY(vs_store_set_compaction_config(store, &cfg, &err));
    r = vs_compaction_result_default();
    TRY(vs_store_maybe_compact(store, &r, &err));
    printf("maybe_compact (enabled): triggered=%d, removed %llu records in %.2f ms\n  reason: %s\n", r.triggered,
           (unsigned long long)r.removed_count, r.duration_ms, r.reason);

    /* 4. After compaction a soft-deleted record is gone for good. */
    vs_status st = vs_store_restore(store, "doc1", &err);
    printf("restore(doc1) after compaction: %s\n", vs_status_name((int)st));
    vs_error_free(err);
    err = NULL;
    if (st != VS_ERR_NOT_FOUND) goto done;

    /* 5. vs_store_compact always runs; here nothing is left to remove. */
    TRY(vs_store_compact(store, &removed, &err));
    printf("compact: removed %llu\n", (unsigned long long)removed);

    /* 6. The maintenance thread (opt-in): expires TTL records and runs maybe_compact on an
     *    interval. vs_store_close would stop it too. */
    TRY(vs_store_start_maintenance(store, 50, &err));
    TRY(vs_store_stop_maintenance(store, &err));

    TRY(vs_store_count(store, &count, &err));
    printf("live records: %llu\n", (unsigned long long)count);
    exit_code = count == N - 299 ? 0 : 1;
done:
    vs_store_close(store);
    return exit_code;
}
