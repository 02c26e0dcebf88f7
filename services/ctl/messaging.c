/* messaging.c — the broker session that trivselctl publish, tail and status share. */
#include "messaging.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const tr_config_var_t client_vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL,
     "the broker's ZeroMQ endpoint"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "the broker's CURVE public key (a file)"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "this client's CURVE secret key (a file: NAME.key)"},
};

void ctl_session_print_env(FILE *out)
{
    tr_config_print_help(client_vars, sizeof client_vars / sizeof client_vars[0], out);
}

const char *ctl_error_code_name(Trivsel__Broker__ErrorCode code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&trivsel__broker__error_code__descriptor, (int)code);
    return v ? v->name : "ERROR_UNKNOWN";
}

void ctl_print_refusal(const Trivsel__Broker__Error *e)
{
    fprintf(stderr, "trivselctl: refused by the broker (%s): %s\n", ctl_error_code_name(e->code),
            e->reason && e->reason[0] ? e->reason : "no reason given");
}

void ctl_subscription_name(const char *prefix, char name[CTL_SUBSCRIPTION_NAME_MAX + 1])
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    for (char *p = host; *p; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '-';
        *p = ok ? c : '-';
    }
    /* prefix (5) + "-" + host + "-" + a pid (an int: at most 11 characters) fits in 64 with 46
     * for the host. */
    snprintf(name, CTL_SUBSCRIPTION_NAME_MAX + 1, "%.5s-%.46s-%d", prefix, host, (int)getpid());
}

int ctl_parse_timeout(const char *command, const char *text, uint64_t *ms)
{
    int64_t v = 0;
    tr_error_t err = {0};
    if (tr_config_parse_duration(text, &v, &err) < 0 || v <= 0) {
        fprintf(stderr,
                "trivselctl %s: invalid --timeout \"%s\": must be a positive duration, e.g. 30s, "
                "2m, 500ms\n",
                command, text);
        return -1;
    }
    *ms = (uint64_t)v;
    return 0;
}

static void welcome_cb(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg)
{
    ctl_session_t *s = arg;
    s->welcomed = true;
    if (s->welcome_cb && !s->finished)
        s->welcome_cb(c, w, s->arg);
}

static void error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    ctl_session_t *s = arg;
    if (s->finished)
        return;
    if (s->error_cb) {
        s->error_cb(c, e, s->arg);
        return;
    }
    ctl_print_refusal(e);
    ctl_session_finish(s, 1);
}

static void timer_cb(uv_timer_t *t)
{
    ctl_session_t *s = t->data;
    if (s->timeout_cb)
        s->timeout_cb(s);
    else
        ctl_session_finish(s, 1);
}

/* A CURVE key in Z85 is 40 characters; key gets it. The message names var and the file. */
static int take_key(const char *buf, const char *var, const char *path, char key[41])
{
    if (strlen(buf) != 40) {
        if (var)
            fprintf(stderr,
                    "trivselctl: %s=\"%s\" is not valid: the file must hold a CURVE key of 40 Z85 "
                    "characters\n",
                    var, path);
        else
            fprintf(stderr,
                    "trivselctl: the key file \"%s\" does not hold a CURVE key of 40 Z85 "
                    "characters\n",
                    path);
        return -1;
    }
    memcpy(key, buf, 41);
    return 0;
}

int ctl_key_read(const char *path, char key[41])
{
    char buf[128] = "";
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "trivselctl: cannot read the key file \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    int rc = take_key(buf, NULL, path, key);
    memset(buf, 0, sizeof buf);
    return rc;
}

/* Reads a key file named by a FILE variable. */
static int read_key(const tr_config_t *cfg, const char *var, char key[41])
{
    char buf[128] = "";
    tr_error_t err = {0};
    int rc = -1;
    if (tr_config_read_file(cfg, var, buf, sizeof buf, &err) < 0)
        fprintf(stderr, "trivselctl: %s\n", err.message);
    else
        rc = take_key(buf, var, tr_config_string(cfg, var), key);
    memset(buf, 0, sizeof buf);
    return rc;
}

int ctl_session_open(ctl_session_t *s, const char *command, uint64_t timeout_ms,
                     ctl_session_cb timeout_cb)
{
    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    char server_key[41], secret_key[41];
    int rc = -1;
    s->command = command;
    if (tr_config_load(client_vars, sizeof client_vars / sizeof client_vars[0], tr_config_getenv,
                       NULL, &cfg, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        return -1;
    }
    snprintf(s->address, sizeof s->address, "%s", tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"));
    if (read_key(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE", server_key) < 0 ||
        read_key(cfg, "TRIVSEL_CLIENT_KEY_FILE", secret_key) < 0)
        goto out;
    if (uv_loop_init(&s->loop) != 0) {
        fprintf(stderr, "trivselctl: cannot start the event loop\n");
        goto out;
    }
    char client_name[64];
    snprintf(client_name, sizeof client_name, "trivselctl %s", command);
    tr_bclient_options_t opts = {.endpoint = s->address,
                                 .server_public_key = server_key,
                                 .secret_key = secret_key,
                                 .client_name = client_name,
                                 .retry_ms = 1000};
    if (tr_bclient_new(&s->loop, &opts, &s->client, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        uv_loop_close(&s->loop);
        goto out;
    }
    tr_bclient_on_welcome(s->client, welcome_cb, s);
    tr_bclient_on_error(s->client, error_cb, s);
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
    s->timeout_cb = timeout_cb;
    if (timeout_ms)
        uv_timer_start(&s->timer, timer_cb, timeout_ms, 0);
    rc = 0;
out:
    memset(secret_key, 0, sizeof secret_key);
    tr_config_destroy(&cfg);
    return rc;
}

void ctl_session_after(ctl_session_t *s, uint64_t delay_ms, ctl_session_cb cb)
{
    s->timeout_cb = cb;
    uv_timer_start(&s->timer, timer_cb, delay_ms, 0);
}

void ctl_session_finish(ctl_session_t *s, int code)
{
    if (s->finished)
        return;
    s->finished = true;
    s->exit_code = code;
    uv_stop(&s->loop);
}

int ctl_session_run(ctl_session_t *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    tr_bclient_close(s->client, NULL, NULL);
    s->client = NULL;
    uv_close((uv_handle_t *)&s->timer, NULL);
    if (s->close_cb)
        s->close_cb(s);
    /* What is left: the client's and the command's handles closing. */
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&s->loop) != 0)
        fprintf(stderr, "trivselctl: warning: handles left open at exit\n");
    fflush(stdout);
    return s->exit_code;
}
