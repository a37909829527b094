/*
 * C11 test of libtaskgroup through include/taskgroup.h: every entry point with good and bad
 * input. Built by ffi/tests/c_programs.rs with -std=c11 -Wall -Wextra -Werror -pedantic, and
 * run under valgrind by scripts/ffi-check.sh (no leaks, no invalid reads: freed and wrong
 * handles are refused without being read).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskgroup.h"

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            failures++;                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                     \
    do {                                                                                 \
        tg_status got_ = (expr);                                                         \
        checks++;                                                                        \
        if (got_ != (expected)) {                                                        \
            failures++;                                                                  \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u: %s\n", __FILE__,   \
                    __LINE__, #expr, (unsigned)got_, tg_status_message(got_),            \
                    (unsigned)(expected), last_error());                                 \
        }                                                                                \
    } while (0)

/* The detailed message of the last failure on this thread (static buffer). */
static const char *last_error(void) {
    static char buf[1024];
    size_t needed = 0;
    if (tg_last_error_message(buf, sizeof buf, &needed) != TG_STATUS_OK) {
        return "(message too long)";
    }
    return buf;
}

#define N 6

/* Two planted groups {0,1,2} and {3,4,5}. */
static int planted_group(size_t task) { return task < 3 ? 0 : 1; }

static void planted_matrix(double *t) {
    for (size_t u = 0; u < N; u++) {
        for (size_t v = 0; v < N; v++) {
            t[u * N + v] = planted_group(u) == planted_group(v) ? 1.0 : 0.1;
        }
    }
}

/* A simulated trainer: a task scores higher with partners from its own group. */
static double simulated_score(size_t task, const uint32_t *subset, size_t len) {
    double s = 1.0 + 0.01 * (double)task;
    for (size_t p = 0; p < len; p++) {
        if (subset[p] != task) {
            s += (planted_group(task) == planted_group(subset[p]) ? 0.5 : -0.3) / (double)len;
        }
    }
    return s;
}

static void test_version_and_messages(void) {
    CHECK(strcmp(taskgroup_version(), TASKGROUP_VERSION) == 0);
    CHECK(strcmp(tg_status_message(TG_STATUS_OK), "ok") == 0);
    CHECK(strstr(tg_status_message(TG_STATUS_NON_FINITE), "NaN") != NULL);
    CHECK(strcmp(tg_status_message(9999), "unknown status") == 0);
    CHECK(TG_STATUS_OK == 0);
}

static void test_group(void) {
    double t[N * N];
    planted_matrix(t);
    tg_options opts = tg_options_default();
    CHECK(opts.tolerance == 1e-6);
    CHECK(opts.max_iterations == 10000);
    CHECK(opts.rounding == TG_ROUNDING_ROBUST);
    CHECK(opts.local_search);
    CHECK(!opts.solve_to_tolerance);
    tg_k_search ks = tg_k_search_default();
    CHECK(ks.k_min == 1 && ks.k_max == 0 && ks.k_rule == TG_K_RULE_AVERAGE_DENSITY);

    uint32_t labels[N];
    tg_report report;
    CHECK_STATUS(tg_group(t, N, 2, &opts, labels, N, &report), TG_STATUS_OK);
    for (size_t i = 0; i < N; i++) {
        CHECK(labels[i] == (uint32_t)planted_group(i));
    }
    CHECK(report.n == N && report.k == 2 && report.num_groups == 2);
    CHECK(report.certified_optimal);
    /* Default: stop once the partition is certified optimal. */
    CHECK(report.solver_status == TG_SOLVER_STATUS_CERTIFIED);
    CHECK(fabs(report.value - 6.0) < 1e-9); /* 2 groups × (9 × 1.0) / 3 */
    CHECK(report.upper_bound >= report.value - 1e-6);
    CHECK(report.iterations > 0);

    /* solve_to_tolerance: the SDP to the tolerance, same partition and certificate. */
    tg_options full = opts;
    full.solve_to_tolerance = true;
    uint32_t labels_full[N];
    tg_report report_full;
    CHECK_STATUS(tg_group(t, N, 2, &full, labels_full, N, &report_full), TG_STATUS_OK);
    CHECK(report_full.solver_status == TG_SOLVER_STATUS_CONVERGED);
    CHECK(report_full.certified_optimal);
    CHECK(report_full.iterations >= report.iterations);
    for (size_t i = 0; i < N; i++) {
        CHECK(labels_full[i] == labels[i]);
    }

    /* NULL options = defaults; NULL report = not wanted. */
    CHECK_STATUS(tg_group(t, N, 3, NULL, labels, N, NULL), TG_STATUS_OK);

    /* Errors leave the outputs untouched and explain themselves. */
    uint32_t untouched[N] = {7, 7, 7, 7, 7, 7};
    t[1 * N + 2] = NAN;
    CHECK_STATUS(tg_group(t, N, 2, NULL, untouched, N, NULL), TG_STATUS_NON_FINITE);
    CHECK(strstr(last_error(), "row 1, column 2") != NULL);
    t[1 * N + 2] = 1.0;
    CHECK(untouched[0] == 7 && untouched[N - 1] == 7);

    /* The message buffer protocol: ask for the size, then read. */
    CHECK_STATUS(tg_group(t, N, 0, NULL, untouched, N, NULL), TG_STATUS_INVALID_K);
    size_t needed = 0;
    CHECK_STATUS(tg_last_error_message(NULL, 0, &needed), TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed > 10);
    char *msg = malloc(needed);
    CHECK(msg != NULL);
    if (msg != NULL) {
        CHECK_STATUS(tg_last_error_message(msg, needed, NULL), TG_STATUS_OK);
        CHECK(strlen(msg) + 1 == needed);
        CHECK(strstr(msg, "k = 0") != NULL);
        free(msg);
    }
    CHECK_STATUS(tg_group(t, N, N + 1, NULL, untouched, N, NULL), TG_STATUS_INVALID_K);
    CHECK_STATUS(tg_group(t, N, 2, NULL, untouched, N - 1, NULL), TG_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tg_group(NULL, N, 2, NULL, untouched, N, NULL), TG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(tg_group(t, N, 2, NULL, NULL, N, NULL), TG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(tg_group(t, 0, 1, NULL, untouched, N, NULL), TG_STATUS_EMPTY);
    CHECK_STATUS(tg_group(t, SIZE_MAX, 1, NULL, untouched, N, NULL), TG_STATUS_INVALID_ARGUMENT);
    CHECK(untouched[0] == 7);

    tg_options bad = tg_options_default();
    bad.rounding = 42;
    CHECK_STATUS(tg_group(t, N, 2, &bad, labels, N, NULL), TG_STATUS_INVALID_SETTING);
    bad = tg_options_default();
    bad.tolerance = 0.0;
    CHECK_STATUS(tg_group(t, N, 2, &bad, labels, N, NULL), TG_STATUS_INVALID_SETTING);
    CHECK(strstr(last_error(), "tolerance") != NULL);

    /* A success clears the last error. */
    CHECK_STATUS(tg_group(t, N, 2, NULL, labels, N, NULL), TG_STATUS_OK);
    CHECK(strcmp(last_error(), "") == 0);
}

static void test_group_auto(void) {
    double t[N * N];
    planted_matrix(t);
    tg_options opts = tg_options_default();
    tg_k_search ks = tg_k_search_default();
    ks.k_min = 2;
    ks.k_max = 4;
    ks.k_rule = TG_K_RULE_ELBOW;
    uint32_t labels[N];
    size_t k = 0;
    tg_report report;
    CHECK_STATUS(tg_group_auto(t, N, &opts, &ks, labels, N, &k, &report), TG_STATUS_OK);
    CHECK(k == 2 && report.k == 2);
    CHECK(labels[0] == 0 && labels[3] == 1);
    ks.k_max = N + 1;
    CHECK_STATUS(tg_group_auto(t, N, &opts, &ks, labels, N, &k, NULL), TG_STATUS_INVALID_K_RANGE);
    ks = tg_k_search_default();
    ks.k_rule = 7;
    CHECK_STATUS(tg_group_auto(t, N, NULL, &ks, labels, N, &k, NULL), TG_STATUS_INVALID_SETTING);
    CHECK_STATUS(tg_group_auto(t, N, NULL, NULL, labels, N, NULL, NULL), TG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(tg_group_auto(t, N, NULL, NULL, labels, N, &k, NULL), TG_STATUS_OK);

    /* The whole k table: ask for its size, then fill it. */
    ks = tg_k_search_default();
    ks.k_min = 1;
    ks.k_max = 4;
    ks.k_rule = TG_K_RULE_ELBOW;
    size_t num_rows = 0;
    CHECK_STATUS(tg_group_auto_table(t, N, NULL, &ks, labels, N, NULL, 0, &num_rows, NULL),
                 TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(num_rows == 4);
    tg_k_row rows[4];
    tg_k_choice choice;
    CHECK_STATUS(tg_group_auto_table(t, N, NULL, &ks, labels, N, rows, 4, &num_rows, &choice),
                 TG_STATUS_OK);
    CHECK(num_rows == 4 && choice.k == 2 && choice.k_by_elbow == 2);
    CHECK(rows[0].report.k == 1 && rows[3].report.k == 4 && rows[1].report.certified_optimal);
    CHECK(labels[0] == 0 && labels[3] == 1);
}

static void test_normalize(void) {
    /* Group {0,1,2} scores 100x larger than group {3,4,5}: degree normalisation evens it. */
    double t[N * N];
    planted_matrix(t);
    for (size_t u = 0; u < 3; u++) {
        for (size_t v = 0; v < N; v++) {
            t[u * N + v] *= 100.0;
        }
    }
    double out[N * N];
    CHECK_STATUS(tg_normalize(t, N, TG_NORMALIZATION_SYMMETRIC_DEGREE, out, N * N), TG_STATUS_OK);
    CHECK(out[0 * N + 1] == out[1 * N + 0]);
    uint32_t labels[N];
    CHECK_STATUS(tg_group(out, N, 2, NULL, labels, N, NULL), TG_STATUS_OK);
    for (size_t i = 0; i < N; i++) {
        CHECK(labels[i] == (uint32_t)planted_group(i));
    }
    CHECK_STATUS(tg_normalize(t, N, 99, out, N * N), TG_STATUS_INVALID_SETTING);
    CHECK_STATUS(tg_normalize(t, N, TG_NORMALIZATION_STANDARDIZE, out, N), TG_STATUS_BUFFER_TOO_SMALL);
}

/* Reports every pending request of the current step; returns the number reported. */
static size_t report_pending(tg_session *s) {
    size_t nreq = 0, ntasks = 0;
    tg_status st = tg_session_next_requests(s, NULL, 0, NULL, 0, &nreq, &ntasks);
    if (st == TG_STATUS_OK) {
        return 0; /* nothing pending */
    }
    CHECK(st == TG_STATUS_BUFFER_TOO_SMALL);
    tg_request *reqs = malloc(nreq * sizeof *reqs);
    uint32_t *tasks = malloc(ntasks * sizeof *tasks);
    double *scores = malloc(ntasks * sizeof *scores);
    CHECK(reqs != NULL && tasks != NULL && scores != NULL);
    size_t got_req = 0, got_tasks = 0;
    if (reqs != NULL && tasks != NULL && scores != NULL) {
        CHECK_STATUS(tg_session_next_requests(s, reqs, nreq, tasks, ntasks, &got_req, &got_tasks),
                     TG_STATUS_OK);
        CHECK(got_req == nreq && got_tasks == ntasks);
        for (size_t r = 0; r < got_req; r++) {
            const uint32_t *sub = tasks + reqs[r].first_task;
            for (size_t p = 0; p < reqs[r].num_tasks; p++) {
                scores[p] = simulated_score(sub[p], sub, reqs[r].num_tasks);
            }
            tg_report_outcome outcome = TG_REPORT_OUTCOME_ALREADY_RECORDED;
            CHECK_STATUS(tg_session_report(s, reqs[r].id, scores, reqs[r].num_tasks, &outcome),
                         TG_STATUS_OK);
            CHECK(outcome == TG_REPORT_OUTCOME_RECORDED);
            if (r == 0) {
                /* The same report again is harmless; other scores are a conflict. */
                CHECK_STATUS(tg_session_report(s, reqs[r].id, scores, reqs[r].num_tasks, &outcome),
                             TG_STATUS_OK);
                CHECK(outcome == TG_REPORT_OUTCOME_ALREADY_RECORDED);
                scores[0] += 1.0;
                CHECK_STATUS(tg_session_report(s, reqs[r].id, scores, reqs[r].num_tasks, NULL),
                             TG_STATUS_CONFLICTING_REPORT);
                scores[0] -= 1.0;
            }
        }
    }
    free(reqs);
    free(tasks);
    free(scores);
    return got_req;
}

/* Runs the session to its end; writes the final labels. */
static void finish_session(tg_session *s, uint32_t *labels) {
    tg_session_progress p;
    for (int guard = 0; guard < 100; guard++) {
        CHECK_STATUS(tg_session_get_progress(s, &p), TG_STATUS_OK);
        if (p.done) {
            break;
        }
        report_pending(s);
        tg_step_summary sum;
        CHECK_STATUS(tg_session_advance(s, &sum), TG_STATUS_OK);
        CHECK(sum.step == p.step);
    }
    size_t needed = 0, groups = 0;
    CHECK_STATUS(tg_session_groups(s, labels, N, &needed, &groups), TG_STATUS_OK);
    CHECK(needed == N && groups >= 1);
}

static void test_session(void) {
    tg_session_settings set = tg_session_settings_default(N, 3, 2);
    set.subset_size = 3;
    set.seed = 7;
    CHECK(set.higher_is_better && set.fill == TG_FILL_ROW_MEAN);
    CHECK(set.count_rule == TG_COUNT_RULE_SIGNIFICANT && set.estimator == TG_AFFINITY_ESTIMATOR_STANDARDIZED);

    tg_session *s = NULL;
    CHECK_STATUS(tg_session_new(&set, &s), TG_STATUS_OK);
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }
    tg_session_progress p;
    CHECK_STATUS(tg_session_get_progress(s, &p), TG_STATUS_OK);
    CHECK(p.n == N && p.step == 0 && p.num_steps == 2 && !p.done && p.pending > 0);

    /* Before the first advance no task has a group. */
    uint32_t labels[N];
    size_t needed = 0;
    CHECK_STATUS(tg_session_groups(s, labels, N, NULL, NULL), TG_STATUS_OK);
    CHECK(labels[0] == TG_NO_GROUP);
    CHECK_STATUS(tg_session_groups(s, labels, N - 1, &needed, NULL), TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed == N);

    /* Errors that change nothing. */
    CHECK_STATUS(tg_session_advance(s, NULL), TG_STATUS_STEP_INCOMPLETE);
    tg_request_id unknown = {9, 9};
    double one = 1.0;
    CHECK_STATUS(tg_session_report(s, unknown, &one, 1, NULL), TG_STATUS_UNKNOWN_REQUEST);
    tg_request_id first = {0, 0};
    /* Request ids as text: parsed by the library; out-of-range numbers are refused. */
    tg_request_id parsed = {7, 7};
    CHECK_STATUS(tg_request_id_parse("s1-23", 5, &parsed), TG_STATUS_OK);
    CHECK(parsed.step == 1 && parsed.index == 23);
    CHECK_STATUS(tg_request_id_parse("s4294967296-0", 13, &parsed), TG_STATUS_MALFORMED_REQUEST_ID);
    CHECK_STATUS(tg_request_id_parse("x0-1", 4, &parsed), TG_STATUS_MALFORMED_REQUEST_ID);
    CHECK(parsed.step == 1 && parsed.index == 23);
    CHECK_STATUS(tg_session_report(s, first, &one, 1, NULL), TG_STATUS_SCORE_COUNT_MISMATCH);
    double nan3[3] = {1.0, NAN, 1.0};
    CHECK_STATUS(tg_session_report(s, first, nan3, 3, NULL), TG_STATUS_NON_FINITE_SCORE);
    CHECK(strstr(last_error(), "score 1") != NULL);
    size_t nreq = 0, ntasks = 0;
    tg_request one_req;
    CHECK_STATUS(tg_session_next_requests(s, &one_req, 1, NULL, 0, &nreq, &ntasks),
                 TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(nreq == p.pending && ntasks == 3 * p.pending);

    /* Step 0, then a checkpoint in the middle of the session. */
    CHECK(report_pending(s) == p.pending);
    CHECK_STATUS(tg_session_advance(s, NULL), TG_STATUS_OK);
    size_t size = 0;
    CHECK_STATUS(tg_session_save(s, NULL, 0, &size), TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(size > 0);
    uint8_t *bytes = size > 0 ? malloc(size) : NULL;
    CHECK(bytes != NULL);
    tg_session *restored = NULL;
    if (bytes != NULL) {
        size_t written = 0;
        CHECK_STATUS(tg_session_save(s, bytes, size, &written), TG_STATUS_OK);
        CHECK(written == size);
        CHECK_STATUS(tg_session_load(bytes, size, &restored), TG_STATUS_OK);
        /* A truncated or corrupted checkpoint is refused. */
        tg_session *bad = NULL;
        CHECK_STATUS(tg_session_load(bytes, size / 2, &bad), TG_STATUS_CORRUPT_CHECKPOINT);
        bytes[size - 1] ^= 0x5a;
        CHECK_STATUS(tg_session_load(bytes, size, &bad), TG_STATUS_CORRUPT_CHECKPOINT);
        CHECK(bad == NULL);
        free(bytes);
    }

    /* Both the original and the restored session finish with the same groups. */
    uint32_t a[N], b[N];
    finish_session(s, a);
    CHECK(restored != NULL);
    if (restored != NULL) {
        finish_session(restored, b);
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK_STATUS(tg_session_free(restored), TG_STATUS_OK);
    }
    for (size_t i = 0; i < N; i++) {
        CHECK(a[i] == (uint32_t)planted_group(i));
    }
    CHECK_STATUS(tg_session_get_progress(s, &p), TG_STATUS_OK);
    CHECK(p.done && p.num_groups == 2 && p.tasks_seen == N);
    CHECK_STATUS(tg_session_advance(s, NULL), TG_STATUS_SESSION_DONE);
    CHECK_STATUS(tg_session_next_requests(s, NULL, 0, NULL, 0, &nreq, &ntasks), TG_STATUS_OK);
    CHECK(nreq == 0 && ntasks == 0);

    /* Handles: free(NULL) is a no-op; freed and wrong-kind handles are refused. */
    CHECK_STATUS(tg_session_free(NULL), TG_STATUS_OK);
    CHECK_STATUS(tg_session_free(s), TG_STATUS_OK);
    CHECK_STATUS(tg_session_get_progress(s, &p), TG_STATUS_INVALID_HANDLE);
    CHECK_STATUS(tg_session_free(s), TG_STATUS_INVALID_HANDLE);
    tg_affinity_builder *builder = NULL;
    CHECK_STATUS(tg_affinity_builder_new(N, &builder), TG_STATUS_OK);
    CHECK_STATUS(tg_session_get_progress((const tg_session *)(const void *)builder, &p),
                 TG_STATUS_INVALID_HANDLE);
    CHECK(strstr(last_error(), "another kind") != NULL);
    CHECK_STATUS(tg_affinity_builder_free(builder), TG_STATUS_OK);
    int not_a_handle = 0;
    CHECK_STATUS(tg_session_get_progress((const tg_session *)(const void *)&not_a_handle, &p),
                 TG_STATUS_INVALID_HANDLE);

    tg_session_settings bad = tg_session_settings_default(N, N + 1, 2);
    tg_session *none = NULL;
    CHECK_STATUS(tg_session_new(&bad, &none), TG_STATUS_INVALID_K);
    bad = tg_session_settings_default(N, 2, 2);
    bad.count_rule = 17;
    CHECK_STATUS(tg_session_new(&bad, &none), TG_STATUS_INVALID_SETTING);
    CHECK(none == NULL);
    CHECK_STATUS(tg_session_new(NULL, &none), TG_STATUS_NULL_ARGUMENT);
}

static void test_affinity_builder(void) {
    tg_affinity_builder *b = NULL;
    CHECK_STATUS(tg_affinity_builder_new(0, &b), TG_STATUS_EMPTY);
    CHECK(b == NULL);
    CHECK_STATUS(tg_affinity_builder_new(N, &b), TG_STATUS_OK);
    if (b == NULL) {
        return;
    }
    {
        double empty[N * N];
        CHECK_STATUS(tg_affinity_builder_compute(b, NULL, empty, N * N, NULL, 0, NULL),
                     TG_STATUS_NO_RECORDS);
    }
    const uint32_t subsets[4][3] = {{0, 1, 2}, {3, 4, 5}, {0, 1, 3}, {2, 4, 5}};
    for (size_t s = 0; s < 4; s++) {
        double scores[3];
        for (size_t p = 0; p < 3; p++) {
            scores[p] = simulated_score(subsets[s][p], subsets[s], 3);
        }
        CHECK_STATUS(tg_affinity_builder_add(b, subsets[s], 3, scores, 3), TG_STATUS_OK);
    }
    const uint32_t repeated[2] = {1, 1};
    const double two[2] = {1.0, 1.0};
    CHECK_STATUS(tg_affinity_builder_add(b, repeated, 2, two, 2), TG_STATUS_INVALID_SUBSET);
    CHECK_STATUS(tg_affinity_builder_add(b, subsets[0], 3, two, 2),
                 TG_STATUS_SCORE_COUNT_MISMATCH);

    double m[N * N];
    uint32_t cov[N * N];
    size_t needed = 0;
    CHECK_STATUS(tg_affinity_builder_compute(b, NULL, m, N, NULL, 0, &needed),
                 TG_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed == N * N);
    tg_aggregate_options ao = tg_aggregate_options_default();
    CHECK(ao.higher_is_better && ao.fill == TG_FILL_ROW_MIN);
    CHECK_STATUS(tg_affinity_builder_compute(b, &ao, m, N * N, cov, N * N, &needed),
                 TG_STATUS_OK);
    CHECK(cov[0 * N + 1] == 2); /* {0,1,2} and {0,1,3} */
    CHECK(m[0 * N + 1] > m[0 * N + 3]);

    /* The computed affinity groups the planted tasks. */
    uint32_t labels[N];
    CHECK_STATUS(tg_group(m, N, 2, NULL, labels, N, NULL), TG_STATUS_OK);
    for (size_t i = 0; i < N; i++) {
        CHECK(labels[i] == (uint32_t)planted_group(i));
    }

    ao.fill = 99;
    CHECK_STATUS(tg_affinity_builder_compute(b, &ao, m, N * N, NULL, 0, NULL),
                 TG_STATUS_INVALID_SETTING);
    CHECK_STATUS(tg_affinity_builder_free(b), TG_STATUS_OK);
    CHECK_STATUS(tg_affinity_builder_free(b), TG_STATUS_INVALID_HANDLE);
    CHECK_STATUS(tg_affinity_builder_free(NULL), TG_STATUS_OK);
}

int main(void) {
    test_version_and_messages();
    test_group();
    test_group_auto();
    test_normalize();
    test_session();
    test_affinity_builder();
    if (failures > 0) {
        fprintf(stderr, "taskgroup C test: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("taskgroup C test: all %d checks passed (library %s)\n", checks, taskgroup_version());
    return 0;
}
