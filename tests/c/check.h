/*
 * check.h: the small test harness shared by the C tests of vecstore's C ABI.
 *
 * Written only from include/vecstore.h. In the style of rust-lang/regex's regex-capi/ctest/test.c:
 * one small function per behaviour, a CHECK macro that reports file:line and carries on, and a
 * nonzero exit status when anything failed.
 *
 *   CHECK(cond)                    counts a failure (and prints file:line) when cond is false
 *   CHECK_STR_EQ(a, b)             two C strings are equal (either may be NULL)
 *   CHECK_OK(call)                 call returns VS_OK; `call` passes ERR as its vs_error **err
 *   CHECK_FAILS(code, call)        call returns `code` with a vs_error of that code and a
 *                                  non-empty message; then runs it again with ERR = NULL and
 *                                  checks that it returns the same code
 *   CHECK_FAILS_MSG(code, s, call) the same, and the message contains s
 *   RUN(test_fn)                   runs one test function and prints ok/FAIL with its name
 *   return check_summary();        at the end of main
 *
 * Inside CHECK_OK / CHECK_FAILS the identifier ERR names the `vs_error **` to pass, for example
 *   CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "nope", &r, ERR));
 *
 * Also: per-test temporary directories (tmpdir_make / tmpdir_remove), a store opener, a "snapshot"
 * of everything a caller can observe of a store (to check that a failed call changed nothing), a
 * small JSON syntax checker, and file helpers.
 */
#ifndef VECSTORE_TEST_CHECK_H
#define VECSTORE_TEST_CHECK_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, open_memstream, fork... under -std=c11 */
#endif

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "vecstore.h"

/* ---------------------------------------------------------------------------------------------- */
/* Counting and reporting                                                                          */

static int check_total_;
static int check_failed_;
static const char *check_test_name_ = "(none)";

static inline int check_report_(int ok, const char *file, int line, const char *fmt, ...) {
    check_total_++;
    if (!ok) {
        va_list ap;
        check_failed_++;
        fprintf(stderr, "%s:%d: [%s] ", file, line, check_test_name_);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return ok;
}

#define CHECK(cond) check_report_((cond) ? 1 : 0, __FILE__, __LINE__, "CHECK failed: %s", #cond)

/* Like CHECK, with a printf-style explanation printed on failure. */
#define CHECK_MSG(cond, ...) check_report_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static inline int check_str_eq_(const char *a, const char *b, const char *ea, const char *eb,
                                const char *file, int line) {
    int ok = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
    return check_report_(ok, file, line, "CHECK_STR_EQ failed: %s == %s\n    left:  %s%s%s\n    right: %s%s%s",
                         ea, eb, a ? "\"" : "", a ? a : "NULL", a ? "\"" : "", b ? "\"" : "",
                         b ? b : "NULL", b ? "\"" : "");
}
#define CHECK_STR_EQ(a, b) check_str_eq_((a), (b), #a, #b, __FILE__, __LINE__)

static inline int check_ok_(vs_status st, vs_error *e, const char *expr, const char *file, int line) {
    int ok = check_report_(st == VS_OK && e == NULL, file, line, "%s\n    returned %s (%d), error: %s", expr,
                           vs_status_name((int)st), (int)st, e ? vs_error_message(e) : "(none)");
    vs_error_free(e);
    return ok;
}

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        vs_error *check_e_ = NULL;                                                                 \
        vs_error **ERR = &check_e_;                                                                \
        vs_status check_st_ = (call);                                                              \
        (void)ERR;                                                                                 \
        check_ok_(check_st_, check_e_, #call, __FILE__, __LINE__);                                 \
    } while (0)

/* Checks one failed call: status, error object (code, non-empty message, optional substring). */
static inline int check_failure_(vs_status want, const char *want_sub, vs_status st, vs_error *e,
                                 const char *expr, const char *file, int line) {
    int ok = 1;
    const char *msg = vs_error_message(e);
    ok &= check_report_(st == want, file, line, "%s\n    returned %s (%d), expected %s; message: %s", expr,
                        vs_status_name((int)st), (int)st, vs_status_name((int)want), msg);
    if (st != VS_OK) {
        ok &= check_report_(e != NULL, file, line, "%s: failed without setting *err", expr);
        if (e != NULL) {
            ok &= check_report_(vs_error_code(e) == st, file, line,
                                "%s: vs_error_code gives %s, the call returned %s", expr,
                                vs_status_name((int)vs_error_code(e)), vs_status_name((int)st));
            ok &= check_report_(msg != NULL && msg[0] != '\0', file, line, "%s: empty error message", expr);
            if (want_sub != NULL && msg != NULL)
                ok &= check_report_(strstr(msg, want_sub) != NULL, file, line,
                                    "%s: message \"%s\" does not contain \"%s\"", expr, msg, want_sub);
        }
    }
    vs_error_free(e);
    return ok;
}

#define CHECK_FAILS_MSG(want, sub, call)                                                           \
    do {                                                                                           \
        vs_error *check_e_ = NULL;                                                                 \
        vs_error **ERR = &check_e_;                                                                \
        vs_status check_st_ = (call);                                                              \
        check_failure_((want), (sub), check_st_, check_e_, #call, __FILE__, __LINE__);             \
        ERR = NULL; /* err may be NULL: same status, nothing written */                            \
        check_st_ = (call);                                                                        \
        check_report_(check_st_ == (want), __FILE__, __LINE__,                                     \
                      "%s with err = NULL\n    returned %s, expected %s", #call,                   \
                      vs_status_name((int)check_st_), vs_status_name((int)(want)));                \
    } while (0)

#define CHECK_FAILS(want, call) CHECK_FAILS_MSG(want, NULL, call)

static inline void run_test_(const char *name, void (*fn)(void)) {
    int before = check_failed_;
    check_test_name_ = name;
    fn();
    printf("%s %s\n", check_failed_ == before ? "ok  " : "FAIL", name);
    fflush(stdout);
    check_test_name_ = "(none)";
}
#define RUN(fn) run_test_(#fn, fn)

static inline int check_summary(void) {
    printf("%d checks, %d failed", check_total_, check_failed_);
    printf("\n");
    fflush(stdout);
    return check_failed_ == 0 ? 0 : 1;
}

/* The header and the library must agree before anything else runs. */
static inline int check_abi_or_die(void) {
    if (vs_abi_version() != VS_ABI_VERSION) {
        fprintf(stderr, "ABI mismatch: header %d, library %u\n", VS_ABI_VERSION, vs_abi_version());
        exit(2);
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Sentinels for "the output is untouched on failure"                                              */

static char check_sentinel_byte_;
#define SENTINEL_PTR(type) ((type *)(void *)&check_sentinel_byte_)
#define SENTINEL_U64 UINT64_C(0xDEADBEEFCAFEF00D)

/* ---------------------------------------------------------------------------------------------- */
/* Temporary directories and files                                                                 */

static inline void tmpdir_make(char *buf, size_t size) {
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(buf, size, "%s/vecstore-ctest-XXXXXX", base);
    if (mkdtemp(buf) == NULL) {
        fprintf(stderr, "mkdtemp(%s): %s\n", buf, strerror(errno));
        exit(2);
    }
}

static inline int tmpdir_rm_one_(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "warning: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* rm -rf dir */
static inline void tmpdir_remove(const char *dir) {
    nftw(dir, tmpdir_rm_one_, 16, FTW_DEPTH | FTW_PHYS);
}

/* out = dir "/" name */
static inline void path_join(char *out, size_t size, const char *dir, const char *name) {
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
}

static inline int path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static inline long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Reads a whole file (NUL-terminated for convenience); *len gets its size. NULL when missing. */
static inline unsigned char *file_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            unsigned char *nb;
            cap = (n + 4096 + 1) * 2;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static inline int file_write(const char *path, const void *data, size_t len, const char *mode) {
    FILE *f = fopen(path, mode);
    int ok;
    if (f == NULL)
        return 0;
    ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok;
}

/* ---------------------------------------------------------------------------------------------- */
/* Stores                                                                                          */

/* Opens (creating) a store with the given dimension and metric; CHECKs success; NULL on failure. */
static inline vs_store *open_store_at_(const char *dir, uint32_t dim, vs_metric metric, const char *file, int line) {
    vs_store_options o = vs_store_options_default();
    vs_store *s = NULL;
    vs_error *e = NULL;
    vs_status st;
    o.dimension = dim;
    o.metric = metric;
    st = vs_store_open(dir, &o, &s, &e);
    check_report_(st == VS_OK && s != NULL, file, line, "vs_store_open(%s) returned %s: %s", dir,
                  vs_status_name((int)st), vs_error_message(e));
    vs_error_free(e);
    return st == VS_OK ? s : NULL;
}
#define open_store(dir, dim, metric) open_store_at_((dir), (dim), (metric), __FILE__, __LINE__)

static inline uint64_t store_count(const vs_store *s) {
    uint64_t n = SENTINEL_U64;
    vs_error *e = NULL;
    if (vs_store_count(s, &n, &e) != VS_OK) {
        fprintf(stderr, "[%s] vs_store_count failed: %s\n", check_test_name_, vs_error_message(e));
        vs_error_free(e);
    }
    return n;
}

/* A text picture of everything a caller can observe of a store: its stats (when with_stats; they
 * include the log size), its count, every record a query on `probe` returns (k = VS_MAX_K, so all of
 * them) with score, metadata and stored vector, and the get() answer for each of `ids` (NULL-ended).
 * Two equal snapshots mean the store looks the same. Free with free(). */
static inline char *store_snapshot(const vs_store *s, const float *probe, size_t dim, const char *const *ids,
                                   int with_stats) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    vs_error *e = NULL;
    if (f == NULL)
        abort();
    if (with_stats) {
        char *stats = NULL;
        vs_status st = vs_store_stats_json(s, &stats, &e);
        fprintf(f, "stats %s: %s\n", vs_status_name((int)st), st == VS_OK ? stats : vs_error_message(e));
        vs_string_free(stats);
        vs_error_free(e);
        e = NULL;
    }
    fprintf(f, "count %llu\n", (unsigned long long)store_count(s));
    if (probe != NULL) {
        vs_query q = vs_query_default();
        vs_results *r = NULL;
        vs_status st;
        q.vector = probe;
        q.dim = dim;
        q.k = VS_MAX_K;
        st = vs_store_query(s, &q, &r, &e);
        fprintf(f, "query %s %s\n", vs_status_name((int)st), vs_error_message(e));
        vs_error_free(e);
        e = NULL;
        for (size_t i = 0; i < vs_results_len(r); i++) {
            const char *id = vs_results_id(r, i);
            vs_results *g = NULL;
            fprintf(f, "  hit %s %a %s\n", id, (double)vs_results_score(r, i), vs_results_metadata_json(r, i));
            if (vs_store_get(s, id, &g, NULL) == VS_OK) {
                size_t gd = 0;
                const float *v = vs_results_vector(g, 0, &gd);
                fprintf(f, "    vector");
                for (size_t j = 0; v != NULL && j < gd; j++)
                    fprintf(f, " %a", (double)v[j]);
                fprintf(f, "\n");
            } else {
                fprintf(f, "    get failed\n");
            }
            vs_results_free(g);
        }
        vs_results_free(r);
    }
    for (size_t i = 0; ids != NULL && ids[i] != NULL; i++) {
        vs_results *g = NULL;
        vs_status st = vs_store_get(s, ids[i], &g, NULL);
        fprintf(f, "get %s: %s", ids[i], vs_status_name((int)st));
        if (st == VS_OK) {
            size_t gd = 0;
            const float *v = vs_results_vector(g, 0, &gd);
            fprintf(f, " %s", vs_results_metadata_json(g, 0));
            for (size_t j = 0; v != NULL && j < gd; j++)
                fprintf(f, " %a", (double)v[j]);
        }
        fprintf(f, "\n");
        vs_results_free(g);
    }
    fclose(f);
    return text;
}

/* ---------------------------------------------------------------------------------------------- */
/* A strict JSON syntax checker (RFC 8259), enough to tell valid text from invalid.                */

static inline void json_ws_(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static inline int json_value_(const char **p, int depth);

static inline int json_string_(const char **p) {
    if (**p != '"')
        return 0;
    (*p)++;
    for (;;) {
        unsigned char c = (unsigned char)**p;
        if (c == '\0' || c < 0x20)
            return 0;
        (*p)++;
        if (c == '"')
            return 1;
        if (c == '\\') {
            char x = **p;
            if (x == '\0')
                return 0;
            (*p)++;
            if (x == 'u') {
                for (int i = 0; i < 4; i++, (*p)++) {
                    char h = **p;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return 0;
                }
            } else if (strchr("\"\\/bfnrt", x) == NULL) {
                return 0;
            }
        }
    }
}

static inline int json_number_(const char **p) {
    const char *s = *p;
    if (*s == '-')
        s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        return 0;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    *p = s;
    return 1;
}

static inline int json_value_(const char **p, int depth) {
    if (depth > 64)
        return 0;
    json_ws_(p);
    switch (**p) {
    case '{':
        (*p)++;
        json_ws_(p);
        if (**p == '}') {
            (*p)++;
            return 1;
        }
        for (;;) {
            json_ws_(p);
            if (!json_string_(p))
                return 0;
            json_ws_(p);
            if (**p != ':')
                return 0;
            (*p)++;
            if (!json_value_(p, depth + 1))
                return 0;
            json_ws_(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == '}') {
                (*p)++;
                return 1;
            }
            return 0;
        }
    case '[':
        (*p)++;
        json_ws_(p);
        if (**p == ']') {
            (*p)++;
            return 1;
        }
        for (;;) {
            if (!json_value_(p, depth + 1))
                return 0;
            json_ws_(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == ']') {
                (*p)++;
                return 1;
            }
            return 0;
        }
    case '"':
        return json_string_(p);
    case 't':
        if (strncmp(*p, "true", 4) != 0)
            return 0;
        *p += 4;
        return 1;
    case 'f':
        if (strncmp(*p, "false", 5) != 0)
            return 0;
        *p += 5;
        return 1;
    case 'n':
        if (strncmp(*p, "null", 4) != 0)
            return 0;
        *p += 4;
        return 1;
    default:
        return json_number_(p);
    }
}

/* 1 when `text` is exactly one valid JSON value (surrounding whitespace allowed). */
static inline int json_valid(const char *text) {
    const char *p = text;
    if (text == NULL || !json_value_(&p, 0))
        return 0;
    json_ws_(&p);
    return *p == '\0';
}

/* 1 when `text` is a JSON object (valid, and starts with '{'). */
static inline int json_is_object(const char *text) {
    const char *p = text;
    if (!json_valid(text))
        return 0;
    json_ws_(&p);
    return *p == '{';
}

/* 1 when `text` contains `needle` */
static inline int contains(const char *text, const char *needle) {
    return text != NULL && needle != NULL && strstr(text, needle) != NULL;
}

/* |a - b| <= tol * max(1, |b|) */
static inline int near(double a, double b, double tol) {
    double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;
    return fabs(a - b) <= tol * scale;
}

#endif /* VECSTORE_TEST_CHECK_H */
