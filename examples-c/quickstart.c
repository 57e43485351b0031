/*
 * quickstart.c: a first vecstore program in C.
 *
 *   quickstart [STORE_DIR]        (default: ./demo-store)
 *
 * Opens (or creates) a store, writes a handful of small documents with metadata (one with
 * vs_store_upsert, the rest in one vs_store_upsert_many call), runs a similarity query, prints each
 * hit's id, score and metadata, shows what an error looks like, and closes the store.
 *
 * Running it again on the same directory is fine: an upsert of an existing id replaces the record,
 * so the store still holds the same documents.
 *
 * Build: see the Makefile next to this file (`make -C examples-c run`).
 */
#include <stdio.h>

#include "vecstore.h"

/* Toy 4-dimensional "embeddings": how much a text is about
 * [systems programming, the web, databases, machine learning]. Real ones come from a model. */
#define DIM 4

/* Prints a failed call's status and message, then frees the error (NULL is fine). */
static void report(const char *what, vs_status status, vs_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vs_status_name((int)status), vs_error_message(err));
    vs_error_free(err);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./demo-store";
    vs_store *store = NULL;
    vs_error *err = NULL;
    vs_results *hits = NULL;
    vs_status status;
    int exit_code = 1;

    /* 0. The header this program was compiled with and the library it runs with must agree. */
    if (vs_abi_version() != VS_ABI_VERSION) {
        fprintf(stderr, "vecstore ABI mismatch: header %d, library %u\n", VS_ABI_VERSION, vs_abi_version());
        return 1;
    }
    printf("vecstore %s, store in %s\n", vs_version(), path);

    /* 1. Open the store (created if needed). Options always start from their constructor. */
    vs_store_options opts = vs_store_options_default();
    opts.dimension = DIM;
    opts.metric = VS_METRIC_COSINE; /* scores are cosine similarities, in [-1, 1] */
    status = vs_store_open(path, &opts, &store, &err);
    if (status != VS_OK) {
        report("vs_store_open", status, err);
        return 1;
    }

    /* 2. One document: id, vector, metadata (a JSON object, or NULL). */
    const float rust_book[DIM] = {0.9f, 0.1f, 0.1f, 0.0f};
    status = vs_store_upsert(store, "rust-book", rust_book, DIM,
                             "{\"title\":\"The Rust Programming Language\",\"year\":2018,\"tags\":[\"rust\",\"systems\"]}",
                             &err);
    if (status != VS_OK) {
        report("vs_store_upsert", status, err);
        goto done;
    }

    /* 3. Several documents in one call: faster, and all or nothing. Vectors are row-major. */
    const char *ids[] = {"sqlite-internals", "http-guide", "ml-intro", "postgres-tuning", "c-primer"};
    const float vectors[][DIM] = {
        {0.5f, 0.0f, 0.9f, 0.0f}, /* sqlite-internals */
        {0.1f, 0.9f, 0.1f, 0.0f}, /* http-guide */
        {0.0f, 0.1f, 0.3f, 0.9f}, /* ml-intro */
        {0.2f, 0.1f, 0.9f, 0.1f}, /* postgres-tuning */
        {0.8f, 0.0f, 0.1f, 0.0f}, /* c-primer */
    };
    const char *metadata[] = {
        "{\"title\":\"SQLite Internals\",\"year\":2023,\"tags\":[\"databases\",\"c\"]}",
        "{\"title\":\"HTTP: The Definitive Guide\",\"year\":2002,\"tags\":[\"web\"]}",
        "{\"title\":\"An Introduction to Statistical Learning\",\"year\":2013,\"tags\":[\"ml\"]}",
        NULL, /* no metadata for this one */
        "{\"title\":\"C Primer Plus\",\"year\":2013,\"tags\":[\"c\",\"systems\"]}",
    };
    const size_t n = sizeof ids / sizeof ids[0];
    status = vs_store_upsert_many(store, n, ids, &vectors[0][0], DIM, metadata, &err);
    if (status != VS_OK) {
        report("vs_store_upsert_many", status, err);
        goto done;
    }

    uint64_t count = 0;
    status = vs_store_count(store, &count, &err);
    if (status != VS_OK) {
        report("vs_store_count", status, err);
        goto done;
    }
    printf("the store holds %llu documents\n", (unsigned long long)count);

    /* 4. Query: the 3 documents most similar to "low-level code that stores data". */
    const float question[DIM] = {0.7f, 0.0f, 0.7f, 0.0f};
    vs_query query = vs_query_default();
    query.vector = question;
    query.dim = DIM;
    query.k = 3;
    status = vs_store_query(store, &query, &hits, &err);
    if (status != VS_OK) {
        report("vs_store_query", status, err);
        goto done;
    }
    printf("top %zu for the query:\n", vs_results_len(hits));
    for (size_t i = 0; i < vs_results_len(hits); i++) {
        /* Strings are borrowed from `hits`: valid until vs_results_free(hits). */
        printf("  %zu. %-18s score %.4f  %s\n", i + 1, vs_results_id(hits, i), (double)vs_results_score(hits, i),
               vs_results_metadata_json(hits, i));
    }
    vs_results_free(hits);
    hits = NULL;

    /* The same query restricted by a metadata filter: only documents that pass it come back. */
    query.filter = "year >= 2015 AND tags CONTAINS 'c'";
    status = vs_store_query(store, &query, &hits, &err);
    if (status != VS_OK) {
        report("the filtered query", status, err);
        goto done;
    }
    printf("with filter %s: %zu result(s)\n", query.filter, vs_results_len(hits));
    for (size_t i = 0; i < vs_results_len(hits); i++)
        printf("  %zu. %-18s score %.4f\n", i + 1, vs_results_id(hits, i), (double)vs_results_score(hits, i));
    vs_results_free(hits);
    hits = NULL;
    query.filter = NULL;

    /* 5. Errors: every fallible call returns a vs_status and, when asked, a vs_error with a message.
     *    Here the vector has 3 values but the store holds 4-dimensional ones. */
    const float wrong[3] = {1.0f, 0.0f, 0.0f};
    query.vector = wrong;
    query.dim = 3;
    status = vs_store_query(store, &query, &hits, &err);
    if (status == VS_ERR_DIMENSION_MISMATCH) {
        printf("expected error: %s (%s)\n", vs_status_name((int)status), vs_error_message(err));
        vs_error_free(err); /* the caller owns it */
        err = NULL;
    } else {
        report("the wrong-dimension query", status, err); /* NULL err (success) is fine here too */
        goto done;
    }

    /* Looking up a missing id is VS_ERR_NOT_FOUND; passing NULL for err skips the details. */
    status = vs_store_get(store, "no-such-document", &hits, NULL);
    printf("get of a missing id: %s\n", vs_status_name((int)status));
    if (status == VS_OK) {
        vs_results_free(hits);
        hits = NULL;
    }

    exit_code = 0;
done:
    vs_results_free(hits);
    vs_store_close(store); /* flushes and releases the directory; NULL would be fine too */
    return exit_code;
}
