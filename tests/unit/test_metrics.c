/* test_metrics.c — the registry and its Prometheus text rendering. */
#include "metrics.h"

#include "check.h"
#include "version.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The start time is the clock's; tests that compare whole renders pin it. */
static void pin_start_time(tr_metrics_t *m)
{
    tr_metric_set(tr_metrics_gauge(m, "process_start_time_seconds", "ignored: first help wins",
                                   NULL),
                  1717236000);
}

static void test_new_registry_renders_build_info_and_start_time(void)
{
    time_t before = time(NULL);
    tr_metrics_t *m = tr_metrics_new("intake");
    CHECK(m != NULL);
    tr_metric_t *start = tr_metrics_gauge(m, "process_start_time_seconds", "", NULL);
    CHECK(tr_metric_value(start) >= (double)before);
    CHECK(tr_metric_value(start) <= (double)time(NULL) + 1);

    pin_start_time(m);
    char *text = tr_metrics_render(m);
    CHECK_STR_EQ(text, "# HELP trivsel_build_info A metric with a constant 1 value labelled by the "
                       "service and version of trivsel.\n"
                       "# TYPE trivsel_build_info gauge\n"
                       "trivsel_build_info{service=\"intake\",version=\"" TR_VERSION "\"} 1\n"
                       "# HELP process_start_time_seconds Start time of the process since unix "
                       "epoch in seconds.\n"
                       "# TYPE process_start_time_seconds gauge\n"
                       "process_start_time_seconds 1717236000\n");
    free(text);
    tr_metrics_destroy(&m);
    CHECK(m == NULL);
}

static void test_render_counter_with_labels_and_gauge(void)
{
    tr_metrics_t *m = tr_metrics_new("intake");
    pin_start_time(m);
    const char *help = "Underretninger received, by channel.";
    tr_metric_t *form = tr_metrics_counter(m, "trivsel_underretninger_received_total", help,
                                           "channel", "digital form", "tenant", "0101", NULL);
    tr_metric_t *school = tr_metrics_counter(m, "trivsel_underretninger_received_total", help,
                                             "channel", "school", "tenant", "0101", NULL);
    tr_metric_t *due = tr_metrics_gauge(m, "trivsel_triage_deadlines_pending",
                                        "Triage deadlines (24 hours) not yet met.", NULL);
    tr_metric_inc(form);
    tr_metric_inc(form);
    tr_metric_add(form, 3);
    tr_metric_inc(school);
    tr_metric_set(due, 7);
    tr_metric_add(due, -2.5);

    CHECK(tr_metric_value(form) == 5);
    CHECK(tr_metric_value(school) == 1);
    CHECK(tr_metric_value(due) == 4.5);
    char *text = tr_metrics_render(m);
    CHECK_STR_EQ(text, "# HELP trivsel_build_info A metric with a constant 1 value labelled by the "
                       "service and version of trivsel.\n"
                       "# TYPE trivsel_build_info gauge\n"
                       "trivsel_build_info{service=\"intake\",version=\"" TR_VERSION "\"} 1\n"
                       "# HELP process_start_time_seconds Start time of the process since unix "
                       "epoch in seconds.\n"
                       "# TYPE process_start_time_seconds gauge\n"
                       "process_start_time_seconds 1717236000\n"
                       "# HELP trivsel_underretninger_received_total Underretninger received, by "
                       "channel.\n"
                       "# TYPE trivsel_underretninger_received_total counter\n"
                       "trivsel_underretninger_received_total{channel=\"digital form\","
                       "tenant=\"0101\"} 5\n"
                       "trivsel_underretninger_received_total{channel=\"school\","
                       "tenant=\"0101\"} 1\n"
                       "# HELP trivsel_triage_deadlines_pending Triage deadlines (24 hours) not "
                       "yet met.\n"
                       "# TYPE trivsel_triage_deadlines_pending gauge\n"
                       "trivsel_triage_deadlines_pending 4.5\n");
    free(text);
    tr_metrics_destroy(&m);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *line = text; line && *line;) {
        n += strncmp(line, prefix, strlen(prefix)) == 0;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

static void test_help_and_type_once_per_name(void)
{
    tr_metrics_t *m = tr_metrics_new("docs");
    tr_metrics_counter(m, "trivsel_submissions_total", "Submissions.", "result", "accepted", NULL);
    tr_metrics_gauge(m, "trivsel_reports_overdue", "Status reports overdue.", NULL);
    tr_metrics_counter(m, "trivsel_submissions_total", "Submissions.", "result", "rejected", NULL);
    tr_metrics_counter(m, "trivsel_submissions_total", "Submissions.", "result", "duplicate", NULL);
    char *text = tr_metrics_render(m);
    CHECK_INT_EQ(count_lines_starting(text, "# HELP trivsel_submissions_total "), 1);
    CHECK_INT_EQ(count_lines_starting(text, "# TYPE trivsel_submissions_total counter\n"), 1);
    CHECK_INT_EQ(count_lines_starting(text, "trivsel_submissions_total{"), 3);
    /* The series of one name stay together even though another name came between them. */
    CHECK_STR_CONTAINS(text, "# TYPE trivsel_submissions_total counter\n"
                             "trivsel_submissions_total{result=\"accepted\"} 0\n"
                             "trivsel_submissions_total{result=\"rejected\"} 0\n"
                             "trivsel_submissions_total{result=\"duplicate\"} 0\n"
                             "# HELP trivsel_reports_overdue Status reports overdue.\n"
                             "# TYPE trivsel_reports_overdue gauge\n"
                             "trivsel_reports_overdue 0\n");
    free(text);
    tr_metrics_destroy(&m);
}

static void test_label_values_and_help_are_escaped(void)
{
    tr_metrics_t *m = tr_metrics_new("say \"hej\"\\\n");
    tr_metric_t *x = tr_metrics_counter(m, "trivsel_refused_total",
                                        "Refused messages.\nA \\ \"quoted\" help.", "reason",
                                        "field \"cpr\" is C:\\x\nsecond line", NULL);
    tr_metric_inc(x);
    char *text = tr_metrics_render(m);
    CHECK_STR_CONTAINS(text, "trivsel_build_info{service=\"say \\\"hej\\\"\\\\\\n\",version=\"");
    /* HELP escapes backslash and newline, but not quotes. */
    CHECK_STR_CONTAINS(text, "# HELP trivsel_refused_total Refused messages.\\nA \\\\ \"quoted\" "
                             "help.\n");
    CHECK_STR_CONTAINS(text, "trivsel_refused_total{reason=\"field \\\"cpr\\\" is C:\\\\x\\nsecond "
                             "line\"} 1\n");
    free(text);
    tr_metrics_destroy(&m);
}

static void test_same_series_returned_twice(void)
{
    tr_metrics_t *m = tr_metrics_new("ordering");
    tr_metric_t *a = tr_metrics_counter(m, "trivsel_orders_total", "Orders.", "supplier",
                                        "12345678", "state", "placed", NULL);
    tr_metric_t *b = tr_metrics_counter(m, "trivsel_orders_total", "Orders.", "supplier",
                                        "12345678", "state", "placed", NULL);
    tr_metric_t *reordered = tr_metrics_counter(m, "trivsel_orders_total", "Orders.", "state",
                                                "placed", "supplier", "12345678", NULL);
    tr_metric_t *other = tr_metrics_counter(m, "trivsel_orders_total", "Orders.", "supplier",
                                            "12345678", "state", "ended", NULL);
    tr_metric_t *plain = tr_metrics_gauge(m, "trivsel_budget_oere", "Budget.", NULL);
    CHECK(a != NULL);
    CHECK(a == b);
    CHECK(a == reordered);
    CHECK(a != other);
    CHECK(plain == tr_metrics_gauge(m, "trivsel_budget_oere", "Budget.", NULL));
    tr_metric_inc(a);
    tr_metric_inc(b);
    CHECK(tr_metric_value(reordered) == 2);
    CHECK(tr_metric_value(other) == 0);
    tr_metrics_destroy(&m);
}

static void test_values_render_exactly(void)
{
    tr_metrics_t *m = tr_metrics_new("ordering");
    struct {
        double value;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {1e-3, "0.001"},
        {-2.5, "-2.5"},
        {123456789012, "123456789012"},
        {9007199254740993.0, "9007199254740992"}, /* 2^53 + 1 is not a double */
        {1234567890123456.0, "1234567890123456"}, /* needs 16 digits to read back */
        {0.30000000000000004, "0.30000000000000004"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char index[4], line[128];
        snprintf(index, sizeof index, "%zu", i);
        tr_metric_set(tr_metrics_gauge(m, "value", "v", "case", index, NULL), cases[i].value);
        snprintf(line, sizeof line, "\nvalue{case=\"%zu\"} %s\n", i, cases[i].text);
        char *text = tr_metrics_render(m);
        CHECK_STR_CONTAINS(text, line);
        free(text);
    }
    tr_metrics_destroy(&m);
}

static void test_null_series_and_registry_are_harmless(void)
{
    tr_metric_inc(NULL);
    tr_metric_add(NULL, 2);
    tr_metric_set(NULL, 3);
    CHECK(tr_metric_value(NULL) == 0);
    tr_metrics_t *m = NULL;
    tr_metrics_destroy(&m);
    tr_metrics_destroy(NULL);
    CHECK(m == NULL);
}

/* Runs fn in a child and tells whether it died of an assertion (SIGABRT). */
static bool aborts(void (*fn)(tr_metrics_t *m))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) /* the assertion's message is expected */
            _exit(2);
        tr_metrics_t *m = tr_metrics_new("intake");
        fn(m);
        tr_metrics_destroy(&m);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void bad_name(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel-requests", "dash", NULL);
}
static void bad_label_name(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", "status code", "200", NULL);
}
static void reserved_label_name(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", "__name__", "x", NULL);
}
static void label_without_value(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", "code", NULL);
}
static void label_twice(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", "code", "1", "code", "2", NULL);
}
static void counter_then_gauge(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", NULL);
    tr_metrics_gauge(m, "trivsel_requests_total", "h", NULL);
}
static void other_label_names(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel_requests_total", "h", "code", "200", NULL);
    tr_metrics_counter(m, "trivsel_requests_total", "h", "path", "/", NULL);
}
static void counter_down(tr_metrics_t *m)
{
    tr_metric_add(tr_metrics_counter(m, "trivsel_requests_total", "h", NULL), -1);
}
static void counter_set(tr_metrics_t *m)
{
    tr_metric_set(tr_metrics_counter(m, "trivsel_requests_total", "h", NULL), 4);
}
static void fine(tr_metrics_t *m)
{
    tr_metrics_counter(m, "trivsel:requests_total", "h", "_code", "200", NULL);
}

static void test_programming_errors_are_assertions(void)
{
    CHECK(aborts(bad_name));
    CHECK(aborts(bad_label_name));
    CHECK(aborts(reserved_label_name));
    CHECK(aborts(label_without_value));
    CHECK(aborts(label_twice));
    CHECK(aborts(counter_then_gauge));
    CHECK(aborts(other_label_names));
    CHECK(aborts(counter_down));
    CHECK(aborts(counter_set));
    CHECK(!aborts(fine));
}

int main(void)
{
    CHECK_RUN(test_new_registry_renders_build_info_and_start_time);
    CHECK_RUN(test_render_counter_with_labels_and_gauge);
    CHECK_RUN(test_help_and_type_once_per_name);
    CHECK_RUN(test_label_values_and_help_are_escaped);
    CHECK_RUN(test_same_series_returned_twice);
    CHECK_RUN(test_values_render_exactly);
    CHECK_RUN(test_null_series_and_registry_are_harmless);
    CHECK_RUN(test_programming_errors_are_assertions);
    return check_done();
}
