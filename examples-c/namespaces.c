/*
 * namespaces.c: multi-tenant namespaces in C.
 *
 *   namespaces [ROOT_DIR]        (default: ./demo-namespaces)
 *
 * Opens a namespace manager over ROOT_DIR, creates two tenants with quotas, writes and queries through
 * ordinary vs_store handles, shows a quota refusal (a bulk write that would pass max_vectors changes
 * nothing) and a suspended namespace, prints usage statistics, then takes a backup, changes the data,
 * restores the backup and deletes it.
 *
 * Running it again on the same directory is fine: existing namespaces are reused.
 *
 * Build: see the Makefile next to this file (`make -C examples-c run`).
 */
#include <stdio.h>
#include <string.h>

#include "vecstore.h"

#define DIM 4

static int failed(const char *what, vs_status status, vs_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vs_status_name((int)status), vs_error_message(err));
    vs_error_free(err);
    return 1;
}

/* Creates a namespace unless it exists already (from an earlier run). */
static int ensure_namespace(vs_namespaces *m, const char *id, const char *name, const vs_quotas *q) {
    vs_error *err = NULL;
    vs_status st = vs_namespace_create(m, id, name, q, &err);
    if (st == VS_ERR_ALREADY_EXISTS) {
        vs_error_free(err);
        st = vs_namespace_update_quotas(m, id, q, &err); /* same quotas as a fresh run */
    }
    return st == VS_OK ? 0 : failed("create namespace", st, err);
}

static int print_json(const char *title, vs_status st, char *json, vs_error *err) {
    if (st != VS_OK)
        return failed(title, st, err);
    printf("%s: %s\n", title, json);
    vs_string_free(json);
    return 0;
}

static long long count(vs_store *s) {
    uint64_t n = 0;
    vs_error *err = NULL;
    vs_status st = vs_store_count(s, &n, &err);
    if (st != VS_OK) {
        failed("count", st, err);
        return -1;
    }
    return (long long)n;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : "./demo-namespaces";
    vs_namespaces *m = NULL;
    vs_store *acme = NULL, *globex = NULL;
    vs_error *err = NULL;
    vs_status st;
    char *json = NULL;
    int rc = 1;

    if (vs_abi_version() != VS_ABI_VERSION) {
        fprintf(stderr, "vecstore ABI mismatch: header %d, library %u\n", VS_ABI_VERSION, vs_abi_version());
        return 1;
    }

    /* 1. The manager: every namespace gets these store options. */
    vs_store_options opts = vs_store_options_default();
    opts.dimension = DIM;
    if ((st = vs_namespaces_open(root, &opts, &m, &err)) != VS_OK)
        return failed("vs_namespaces_open", st, err);

    /* 2. Two tenants with quotas. */
    vs_quotas q = vs_quotas_default();
    q.max_vectors = 1000;
    q.max_requests_per_second = 100.0;
    if (ensure_namespace(m, "acme", "Acme Corp", &q))
        goto out;
    q = vs_quotas_default();
    q.max_vectors = 2;
    if (ensure_namespace(m, "globex", "Globex (trial)", &q))
        goto out;
    if ((st = vs_namespace_store(m, "acme", &acme, &err)) != VS_OK ||
        (st = vs_namespace_store(m, "globex", &globex, &err)) != VS_OK) {
        failed("vs_namespace_store", st, err);
        goto out;
    }

    /* 3. Data goes through ordinary store handles, isolated per namespace. */
    const char *ids[] = {"doc-1", "doc-2", "doc-3"};
    const float vecs[3 * DIM] = {0.9f, 0.1f, 0.0f, 0.0f, 0.1f, 0.9f, 0.0f, 0.0f, 0.0f, 0.1f, 0.9f, 0.0f};
    const char *meta[] = {"{\"team\":\"core\"}", "{\"team\":\"web\"}", "{\"team\":\"data\"}"};
    if ((st = vs_store_upsert_many(acme, 3, ids, vecs, DIM, meta, &err)) != VS_OK) {
        failed("upsert_many in acme", st, err);
        goto out;
    }
    printf("acme holds %lld records, globex %lld\n", count(acme), count(globex));

    vs_query query = vs_query_default();
    const float probe[DIM] = {1.0f, 0.2f, 0.0f, 0.0f};
    query.vector = probe;
    query.dim = DIM;
    query.k = 2;
    vs_results *hits = NULL;
    if ((st = vs_store_query(acme, &query, &hits, &err)) != VS_OK) {
        failed("query in acme", st, err);
        goto out;
    }
    for (size_t i = 0; i < vs_results_len(hits); i++)
        printf("  acme hit %zu: %s score %.3f %s\n", i, vs_results_id(hits, i), vs_results_score(hits, i),
               vs_results_metadata_json(hits, i));
    vs_results_free(hits);

    /* 4. Quotas: globex may hold 2 vectors; a bulk write of 3 is refused as a whole. */
    st = vs_store_upsert_many(globex, 3, ids, vecs, DIM, NULL, &err);
    if (st != VS_ERR_QUOTA_EXCEEDED) {
        fprintf(stderr, "expected VS_ERR_QUOTA_EXCEEDED, got %s\n", vs_status_name((int)st));
        vs_error_free(err);
        goto out;
    }
    printf("globex bulk write of 3: %s (%s); globex still holds %lld\n", vs_status_name((int)st),
           vs_error_message(err), count(globex));
    vs_error_free(err);
    err = NULL;

    /* 5. A suspended namespace refuses data calls with its own code. */
    if ((st = vs_namespace_set_status(m, "globex", VS_NAMESPACE_SUSPENDED, &err)) != VS_OK) {
        failed("suspend", st, err);
        goto out;
    }
    uint64_t n = 0;
    st = vs_store_count(globex, &n, &err);
    printf("count in suspended globex: %s\n", vs_status_name((int)st));
    vs_error_free(err);
    err = NULL;
    if (st != VS_ERR_NAMESPACE_SUSPENDED || (st = vs_namespace_set_status(m, "globex", VS_NAMESPACE_ACTIVE, &err)) != VS_OK) {
        failed("suspension", st, err);
        goto out;
    }

    /* 6. Usage. */
    json = NULL;
    st = vs_namespace_stats_json(m, "acme", &json, &err);
    if (print_json("acme stats", st, json, err))
        goto out;
    json = NULL;
    st = vs_namespace_list_json(m, &json, &err);
    if (print_json("namespaces", st, json, err))
        goto out;

    /* 7. Backup, change, restore: the namespace answers as at backup time. */
    st = vs_namespace_delete_backup(m, "acme", "before-cleanup", &err); /* from an earlier run */
    if (st != VS_OK && st != VS_ERR_NOT_FOUND) {
        failed("delete old backup", st, err);
        goto out;
    }
    vs_error_free(err);
    err = NULL;
    if ((st = vs_namespace_backup(m, "acme", "before-cleanup", &err)) != VS_OK) {
        failed("backup", st, err);
        goto out;
    }
    if ((st = vs_store_delete(acme, "doc-1", &err)) != VS_OK) {
        failed("delete", st, err);
        goto out;
    }
    printf("after deleting doc-1 acme holds %lld\n", count(acme));
    json = NULL;
    st = vs_namespace_list_backups_json(m, "acme", &json, &err);
    if (print_json("acme backups", st, json, err))
        goto out;
    if ((st = vs_namespace_restore(m, "acme", "before-cleanup", &err)) != VS_OK) {
        failed("restore", st, err);
        goto out;
    }
    long long restored = count(acme);
    printf("after restoring the backup acme holds %lld\n", restored);
    if (restored != 3 || (st = vs_namespace_delete_backup(m, "acme", "before-cleanup", &err)) != VS_OK) {
        failed("restore check", st, err);
        goto out;
    }
    rc = 0;

out:
    vs_store_close(acme);
    vs_store_close(globex);
    vs_namespaces_close(m);
    if (rc == 0)
        printf("namespaces example done\n");
    return rc;
}
