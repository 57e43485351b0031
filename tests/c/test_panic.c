/*
 * test_panic.c: a panic caught inside a write never leaves a handle that serves inconsistent data.
 *
 * Linked against the library built with the test-only feature `failpoints`
 * (target/failpoints/release/libvecstore.a) and run with
 *   FAILPOINTS='write::after_log_append=2*off->1*panic->off'
 * so that the third write panics after its log append and before memory follows it. The call
 * answers VS_ERR_INTERNAL; from then on every call through the handle answers VS_ERR_INTERNAL
 * saying to reopen; reopening replays the log, which holds all three writes.
 */
#include "check.h"

enum { DIM = 3 };

static void test_a_panic_after_the_log_append_fails_the_handle_until_reopened(void) {
    char dir[PATH_MAX];
    tmpdir_make(dir, sizeof dir);
    const float a[DIM] = {1, 0, 0}, b[DIM] = {0, 1, 0}, c[DIM] = {0, 0, 1};
    vs_store *s = open_store(dir, DIM, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert(s, "a", a, DIM, NULL, ERR));
    CHECK_OK(vs_store_upsert(s, "b", b, DIM, NULL, ERR));
    CHECK_FAILS_MSG(VS_ERR_INTERNAL, "write::after_log_append", vs_store_upsert(s, "c", c, DIM, NULL, ERR));

    /* Every later call refuses, reads included, instead of answering from memory that lags the log.
     * (CHECK_FAILS runs each call twice: the failure is sticky.) */
    vs_results *r = SENTINEL_PTR(vs_results);
    CHECK_FAILS_MSG(VS_ERR_INTERNAL, "open it again", vs_store_get(s, "a", &r, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    uint64_t n = SENTINEL_U64;
    CHECK_FAILS_MSG(VS_ERR_INTERNAL, "open it again", vs_store_count(s, &n, ERR));
    CHECK(n == SENTINEL_U64);
    vs_query q = vs_query_default();
    q.vector = a, q.dim = DIM, q.k = 3;
    CHECK_FAILS(VS_ERR_INTERNAL, vs_store_query(s, &q, &r, ERR));
    CHECK_FAILS(VS_ERR_INTERNAL, vs_store_upsert(s, "d", a, DIM, NULL, ERR));
    CHECK_FAILS(VS_ERR_INTERNAL, vs_store_delete(s, "a", ERR));
    char *json = NULL;
    CHECK_FAILS(VS_ERR_INTERNAL, vs_store_stats_json(s, &json, ERR));
    vs_store_close(s);

    /* Reopened, the store holds what the log holds: a, b and c (c's frame was appended). */
    s = open_store(dir, DIM, VS_METRIC_COSINE);
    CHECK(store_count(s) == 3);
    CHECK_OK(vs_store_get(s, "c", &r, ERR));
    CHECK(vs_results_len(r) == 1);
    vs_results_free(r);
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(vs_results_len(r) == 3 && strcmp(vs_results_id(r, 0), "a") == 0);
    vs_results_free(r);
    /* The fail point is off again: writes work. */
    CHECK_OK(vs_store_upsert(s, "d", a, DIM, NULL, ERR));
    CHECK(store_count(s) == 4);
    vs_store_close(s);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    if (getenv("FAILPOINTS") == NULL) {
        fprintf(stderr, "test_panic: run with FAILPOINTS set (see tests/c/Makefile)\n");
        return 2;
    }
    RUN(test_a_panic_after_the_log_append_fails_the_handle_until_reopened);
    return check_summary();
}
