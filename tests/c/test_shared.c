/*
 * test_shared.c: the same ABI through the shared library, target/release/libvecstore.so (linked
 * with -rpath by the Makefile). Checks that the symbols really come from the .so, then runs a
 * round trip through every function of the header.
 */
#define _GNU_SOURCE /* dladdr */
#include "check.h"

#include <dlfcn.h>

static char dir[PATH_MAX];

static void test_symbols_come_from_the_shared_library(void) {
    Dl_info info;
    const void *fns[] = {(const void *)(uintptr_t)vs_version, (const void *)(uintptr_t)vs_store_open,
                         (const void *)(uintptr_t)vs_store_query};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        memset(&info, 0, sizeof info);
        CHECK(dladdr(fns[i], &info) != 0);
        CHECK_MSG(info.dli_fname != NULL && contains(info.dli_fname, "libvecstore.so"),
                  "symbol %zu comes from %s, not libvecstore.so", i, info.dli_fname ? info.dli_fname : "(null)");
    }
}

static void test_versions_agree(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", VS_VERSION_MAJOR, VS_VERSION_MINOR, VS_VERSION_PATCH);
    CHECK_STR_EQ(vs_version(), want);
    CHECK(vs_abi_version() == VS_ABI_VERSION);
    CHECK_STR_EQ(vs_status_name(VS_ERR_LOCKED), "VS_ERR_LOCKED");
    CHECK_STR_EQ(vs_status_name(-7), "VS_ERR_UNKNOWN");
}

static void test_round_trip_through_the_shared_library(void) {
    const char *ids[] = {"a", "b", "c"};
    const char *meta[] = {"{\"n\":1}", NULL, "{\"n\":3}"};
    const float vecs[] = {1, 0, 0, 1, 0.6f, 0.8f};
    const float probe[2] = {0.6f, 0.8f};
    vs_store_options o = vs_store_options_default();
    vs_query q = vs_query_default();
    vs_store *s = NULL, *locked = SENTINEL_PTR(vs_store);
    vs_results *r = NULL;
    char *stats = NULL;
    uint64_t n = 0;
    size_t d = 0;

    tmpdir_make(dir, sizeof dir);
    o.dimension = 2;
    CHECK_OK(vs_store_open(dir, &o, &s, ERR));
    CHECK_FAILS(VS_ERR_LOCKED, vs_store_open(dir, &o, &locked, ERR));
    CHECK(locked == SENTINEL_PTR(vs_store));
    CHECK_OK(vs_store_upsert_many(s, 3, ids, vecs, 2, meta, ERR));
    CHECK_OK(vs_store_upsert(s, "d", probe, 2, "{\"n\":4}", ERR));
    CHECK_OK(vs_store_delete(s, "d", ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_delete(s, "d", ERR));
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_upsert(s, "e", vecs, 3, NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_upsert(s, "\xff\xfe", vecs, 2, NULL, ERR));
    CHECK_OK(vs_store_count(s, &n, ERR));
    CHECK(n == 3);

    q.vector = probe;
    q.dim = 2;
    q.k = 2;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    CHECK(vs_results_len(r) == 2);
    CHECK_STR_EQ(vs_results_id(r, 0), "c");
    CHECK(near(vs_results_score(r, 0), 1.0, 1e-6));
    CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"n\":3}");
    CHECK(vs_results_vector(r, 0, &d) == NULL);
    CHECK(vs_results_explanation_json(r, 0) == NULL);
    CHECK(vs_results_id(r, 2) == NULL && isnan(vs_results_score(r, 2)));
    vs_results_free(r);
    r = NULL;

    CHECK_OK(vs_store_get(s, "b", &r, ERR));
    CHECK(vs_results_vector(r, 0, &d) != NULL && d == 2);
    CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{}");
    vs_results_free(r);

    CHECK_OK(vs_store_stats_json(s, &stats, ERR));
    CHECK(json_is_object(stats) && contains(stats, "\"count\":3"));
    vs_string_free(stats);
    CHECK_OK(vs_store_flush(s, ERR));
    vs_store_close(s);

    s = NULL;
    CHECK_OK(vs_store_open(dir, NULL, &s, ERR));
    CHECK(store_count(s) == 3);
    vs_store_close(s);
    vs_store_close(NULL);
    vs_results_free(NULL);
    vs_string_free(NULL);
    vs_error_free(NULL);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_symbols_come_from_the_shared_library);
    RUN(test_versions_agree);
    RUN(test_round_trip_through_the_shared_library);
    return check_summary();
}
