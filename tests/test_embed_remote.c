/* Tests for src/embed/remote.c: the remote OpenAI-compatible embeddings type
 * against build/fakellm (a real server), plus a minimal in-test HTTP responder
 * for what fakellm does not do (checking the bearer key, malformed answers,
 * slow answers). */
#include "embed/embed.h"
#include "test.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- build/fakellm as a child process ---- */
static pid_t fake_pid;
static int fake_port;

static int start_fakellm(void)
{
    const char *root = getenv("SEMROUTER_ROOT"), *build = getenv("BUILD");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/fakellm", root ? root : ".", build ? build : "build");
    if (access(path, X_OK)) return -1;
    int fd[2];
    if (pipe(fd)) return -1;
    fake_pid = fork();
    if (fake_pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        execl(path, path, "--port", "0", "--quiet", "--model", "emb-model", "--embed-dim", "48",
              (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    const char *colon = strrchr(line, ':');
    fake_port = colon ? atoi(colon + 1) : 0;
    return fake_port > 0 ? 0 : -1;
}

static void stop_fakellm(void)
{
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
}

/* ---- a one-answer-per-connection HTTP responder ---- */
static int resp_fd, resp_port, resp_delay_ms;
static char resp_status[64] = "200 OK", resp_body[4096], last_request[8192];
static volatile int resp_stop;

static void *responder(void *arg)
{
    (void)arg;
    while (!resp_stop) {
        int c = accept(resp_fd, NULL, NULL);
        if (c < 0) break;
        size_t n = 0;
        ssize_t r;
        last_request[0] = 0;
        /* read headers, then Content-Length bytes of body */
        while (n < sizeof last_request - 1 &&
               (r = read(c, last_request + n, sizeof last_request - 1 - n)) > 0) {
            n += (size_t)r;
            last_request[n] = 0;
            char *h = strstr(last_request, "\r\n\r\n");
            char *cl = strcasestr(last_request, "content-length:");
            if (h && (!cl || (size_t)(h + 4 - last_request) + (size_t)atoi(cl + 15) <= n)) break;
        }
        if (resp_delay_ms) usleep((useconds_t)resp_delay_ms * 1000);
        char out[5000];
        int len = snprintf(out, sizeof out,
                           "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
                           "%zu\r\nConnection: close\r\n\r\n%s",
                           resp_status, strlen(resp_body), resp_body);
        if (write(c, out, (size_t)len) < 0) perror("write");
        close(c);
    }
    return NULL;
}

static pthread_t resp_thread;
static int start_responder(void)
{
    resp_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(resp_fd, (struct sockaddr *)&a, sizeof a) || listen(resp_fd, 8) ||
        getsockname(resp_fd, (struct sockaddr *)&a, &al))
        return -1;
    resp_port = ntohs(a.sin_port);
    return pthread_create(&resp_thread, NULL, responder, NULL);
}

static void stop_responder(void)
{
    resp_stop = 1;
    shutdown(resp_fd, SHUT_RDWR);
    close(resp_fd);
    pthread_join(resp_thread, NULL);
}

static double cosine(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void against_fakellm(void)
{
    if (start_fakellm()) SKIP("build/fakellm not available");
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/", fake_port);
    embed_options o = {.type = EMBED_REMOTE, .url = url, .remote_model = "emb-model"};
    embed_model *m = embed_load(&o, err, sizeof err);
    CHECK(m != NULL, "%s", err);
    if (!m) return;
    CHECK_EQ_INT(embed_dim(m), 48); /* learnt from the first answer */
    CHECK(strstr(embed_model_id(m), "remote-48:emb-model@") != NULL, "%s", embed_model_id(m));
    embed_state *s = embed_state_new(m);
    float a[48], b[48], c[48], batch[3 * 48];
    int nt = 0;
    CHECK(embed_text(m, s, "reset my password now", 21, a, &nt, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(nt, 4); /* fakellm counts words */
    CHECK_NEAR(cosine(a, a, 48), 1.0, 1e-5);
    CHECK(embed_text(m, s, "reset my password", 17, b, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(embed_text(m, s, "bake a cake", 11, c, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(cosine(a, b, 48) > cosine(a, c, 48), "shared words should score higher");
    const char *texts[3] = {"reset my password now", "bake a cake", "reset my password"};
    size_t lens[3] = {21, 11, 17};
    CHECK(embed_batch(m, s, texts, lens, 3, batch, err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(batch, a, sizeof a) == 0 && memcmp(batch + 48, c, sizeof c) == 0 &&
              memcmp(batch + 96, b, sizeof b) == 0,
          "batch rows differ from single calls");
    embed_state_free(s);
    embed_free(m);
    /* a dimension that does not match the server's is an error at embed time */
    o.dim = 64;
    m = embed_load(&o, err, sizeof err);
    s = embed_state_new(m);
    float v[64];
    CHECK(embed_text(m, s, "x", 1, v, NULL, err, sizeof err) == -1 && strstr(err, "48"), "%s", err);
    embed_state_free(s);
    embed_free(m);
    stop_fakellm();
    /* the server gone: a clear error */
    o.dim = 0;
    CHECK(embed_load(&o, err, sizeof err) == NULL && strstr(err, "failed"), "%s", err);
}

static void against_responder(void)
{
    if (start_responder()) SKIP("cannot listen on loopback");
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", resp_port);
    setenv("SEMROUTER_TEST_EMBED_KEY", "sk-test-123", 1);
    embed_options o = {.type = EMBED_REMOTE,
                       .url = url,
                       .remote_model = "m",
                       .api_key_env = "SEMROUTER_TEST_EMBED_KEY",
                       .dim = 3,
                       .timeout_ms = 300};
    embed_model *m = embed_load(&o, err, sizeof err);
    CHECK(m != NULL, "%s", err);
    if (!m) return;
    embed_state *s = embed_state_new(m);
    float v[3];
    int nt = 0;
    strcpy(resp_body, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
                      "\"embedding\":[3,0,4]}],\"usage\":{\"prompt_tokens\":7}}");
    CHECK(embed_text(m, s, "hi \"there\"", 10, v, &nt, err, sizeof err) == 0, "%s", err);
    CHECK_NEAR(v[0], 0.6, 1e-6); /* normalised */
    CHECK_NEAR(v[2], 0.8, 1e-6);
    CHECK_EQ_INT(nt, 7);
    CHECK(strstr(last_request, "POST /v1/embeddings ") != NULL, "request line: %.60s",
          last_request);
    CHECK(strstr(last_request, "Authorization: Bearer sk-test-123") != NULL, "no bearer key");
    CHECK(strstr(last_request, "\"input\":\"hi \\\"there\\\"\"") != NULL, "body: %s",
          strstr(last_request, "\r\n\r\n"));
    /* error answers and malformed bodies */
    strcpy(resp_status, "503 Service Unavailable");
    strcpy(resp_body, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}");
    CHECK(embed_text(m, s, "x", 1, v, NULL, err, sizeof err) == -1 && strstr(err, "503") &&
              strstr(err, "overloaded"),
          "%s", err);
    strcpy(resp_status, "200 OK");
    static const char *const bad[] = {"not json", "{\"data\":[]}",
                                      "{\"data\":[{\"embedding\":[1,2]}]}",
                                      "{\"data\":[{\"embedding\":[1,\"a\",2]}]}",
                                      "{\"data\":[{\"index\":5,\"embedding\":[1,2,3]}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(resp_body, bad[i]);
        CHECK(embed_text(m, s, "x", 1, v, NULL, err, sizeof err) == -1, "accepted %s", bad[i]);
    }
    /* a slow server: the timeout bounds the wait */
    strcpy(resp_body, "{\"data\":[{\"embedding\":[1,2,3]}]}");
    resp_delay_ms = 800;
    CHECK(embed_text(m, s, "x", 1, v, NULL, err, sizeof err) == -1 && strstr(err, "timed out"),
          "%s", err);
    resp_delay_ms = 0;
    embed_state_free(s);
    embed_free(m);
    unsetenv("SEMROUTER_TEST_EMBED_KEY");
    CHECK(embed_load(&o, err, sizeof err) == NULL && strstr(err, "SEMROUTER_TEST_EMBED_KEY"), "%s",
          err);
    o.url = "ftp://x";
    CHECK(embed_load(&o, err, sizeof err) == NULL && strstr(err, "http"), "%s", err);
    stop_responder();
}

/* The call in two halves (embed_remote_call / embed_remote_answer: the chat
 * pipeline makes the POST on its event loop): the same body, URL, key and
 * parsing as the blocking call, without any I/O here. */
static void split_call(void)
{
    char err[256];
    setenv("SEMROUTER_TEST_EMBED_KEY", "sk-split-9", 1);
    embed_options o = {.type = EMBED_REMOTE,
                       .url = "http://127.0.0.1:9/v1/",
                       .remote_model = "m-ü",
                       .api_key_env = "SEMROUTER_TEST_EMBED_KEY",
                       .dim = 3,
                       .timeout_ms = 1234};
    embed_model *m = embed_load(&o, err, sizeof err);
    CHECK(m != NULL, "%s", err);
    if (!m) return;
    const char *texts[2] = {"What’s “tide”? 🌊", "line\nbreak"};
    size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
    embed_remote_target t;
    buf b;
    buf_init(&b);
    CHECK_EQ_INT(embed_remote_call(m, texts, lens, 2, &t, &b), 0);
    CHECK(!strcmp(t.url, "http://127.0.0.1:9/v1/embeddings"), "%s", t.url);
    CHECK(t.auth_header && !strcmp(t.auth_header, "Authorization: Bearer sk-split-9"), "%s",
          t.auth_header ? t.auth_header : "(none)");
    CHECK_EQ_INT(t.timeout_ms, 1234);
    CHECK(b.data && !strcmp(b.data, "{\"model\":\"m-ü\",\"encoding_format\":\"float\",\"input\":"
                                    "[\"What’s “tide”? 🌊\",\"line\\nbreak\"]}"),
          "body %s", b.data ? b.data : "(null)");
    buf_free(&b);
    float v[6];
    /* rows by index (out of order), each normalised */
    const char *ans = "{\"data\":[{\"index\":1,\"embedding\":[0,0,2]},{\"index\":0,\"embedding\":[3,4,0]}]}";
    CHECK(embed_remote_answer(m, 200, ans, strlen(ans), 2, v, err, sizeof err) == 0, "%s", err);
    CHECK_NEAR(v[0], 0.6, 1e-6);
    CHECK_NEAR(v[1], 0.8, 1e-6);
    CHECK_NEAR(v[5], 1.0, 1e-6);
    const char *e503 = "{\"error\":{\"message\":\"overloaded\"}}";
    CHECK(embed_remote_answer(m, 503, e503, strlen(e503), 2, v, err, sizeof err) == -1 &&
              strstr(err, "503") && strstr(err, "overloaded"),
          "%s", err);
    const char *one = "{\"data\":[{\"index\":0,\"embedding\":[1,2,3]}]}";
    CHECK(embed_remote_answer(m, 200, one, strlen(one), 2, v, err, sizeof err) == -1 && strstr(err, "2 item"),
          "%s", err);
    const char *dims = "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[1,2]}]}";
    CHECK(embed_remote_answer(m, 200, dims, strlen(dims), 2, v, err, sizeof err) == -1 && strstr(err, "expected 3"),
          "%s", err);
    embed_free(m);
    unsetenv("SEMROUTER_TEST_EMBED_KEY");
    /* a local model has no such call */
    embed_options lo = {.type = EMBED_USE_LITE, .path = "models/use-lite"};
    embed_model *local = embed_load(&lo, err, sizeof err);
    if (local) {
        buf_init(&b);
        CHECK_EQ_INT(embed_remote_call(local, texts, lens, 1, &t, &b), -1);
        CHECK(embed_remote_answer(local, 200, one, strlen(one), 1, v, err, sizeof err) == -1 && strstr(err, "not a remote"),
              "%s", err);
        buf_free(&b);
        embed_free(local);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(against_fakellm);
    RUN(against_responder);
    RUN(split_call);
    TEST_MAIN_END();
}
