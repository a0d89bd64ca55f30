/* The example phone driven step-wise: the CWMP engine inside the phone's own poll() loop.
 *
 *   phone_poll TABLE.toml STATE_DIR ACS_URL [SESSIONS]
 *
 * The library does no I/O here: it says "POST this", "persist this", "wake me at T"; this
 * program owns the socket, the clock and the files. It exits after SESSIONS sessions have
 * ended (0 or absent: runs until SIGTERM/SIGINT, which also wake the loop through a pipe).
 *
 * HTTP is deliberately minimal: plain http://, one connection per POST (`Connection:
 * close`), no authentication. The engine decides the rest: each SEND_POST says where to POST
 * (a followed redirect), which Cookie to send and how long to wait; the response goes back
 * with its Set-Cookie and Location headers (cwmp_engine_http_response_ex). Firmware uses its
 * own HTTP stack (with TLS and Digest) at the same place in the loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cwmp_agent.h"
#include "phone_store.h"

#define MAX_RESPONSE (4u << 20)

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    (void)!write(sig_pipe[1], "x", 1);
    errno = saved;
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall(void) { return (int64_t)time(NULL); }

/* One HTTP exchange in flight. */
struct http {
    int fd;              /* -1 when idle */
    int connected;
    char *out;           /* request bytes */
    size_t out_len, out_done;
    char *in;            /* response bytes */
    size_t in_len, in_cap;
    /* The response's Set-Cookie values and Location, handed to the engine, which keeps the
     * session's cookies and decides redirects. */
    char set_cookie[4][256];
    size_t set_cookies;
    char location[512];
};

static void http_close(struct http *h) {
    if (h->fd >= 0) close(h->fd);
    h->fd = -1;
    free(h->out);
    free(h->in);
    h->out = h->in = NULL;
    h->out_len = h->out_done = h->in_len = h->in_cap = 0;
}

/* Splits http://host[:port]/path. Returns 0 or -1. */
static int parse_url(const char *url, char *host, size_t hsize, char *port, size_t psize,
                     const char **path) {
    if (strncmp(url, "http://", 7) != 0) return -1;
    const char *h = url + 7, *slash = strchr(h, '/'), *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    size_t hlen = (size_t)((colon ? colon : end) - h);
    if (hlen == 0 || hlen >= hsize) return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (colon) {
        size_t plen = (size_t)(end - colon - 1);
        if (plen == 0 || plen >= psize) return -1;
        memcpy(port, colon + 1, plen);
        port[plen] = '\0';
    } else {
        snprintf(port, psize, "80");
    }
    *path = slash ? slash : "/";
    return 0;
}

/* Starts a POST: a non-blocking connect and the request bytes. Returns 0 or -1. */
static int http_start(struct http *h, const cwmp_output *o) {
    char host[256], port[16];
    const char *path;
    if (parse_url(o->url, host, sizeof host, port, sizeof port, &path) != 0) return -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) return -1;
    h->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (h->fd < 0) {
        freeaddrinfo(ai);
        return -1;
    }
    fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK);
    int rc = connect(h->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc != 0 && errno != EINPROGRESS) return -1;
    h->connected = rc == 0;
    size_t cap = 1024 + o->data_len;
    h->out = malloc(cap);
    if (h->out == NULL) return -1;
    int n = snprintf(h->out, cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n%s%s%s%s%s\r\n",
                     path, host, port, o->data_len,
                     o->data ? "Content-Type: text/xml; charset=\"utf-8\"\r\n" : "",
                     o->soap_action ? "SOAPAction:\r\n" : "",
                     o->cookie ? "Cookie: " : "", o->cookie ? o->cookie : "", o->cookie ? "\r\n" : "");
    if (n < 0 || (size_t)n >= cap - o->data_len) return -1;
    if (o->data_len > 0) memcpy(h->out + n, o->data, o->data_len);
    h->out_len = (size_t)n + o->data_len;
    return 0;
}

/* The response is complete (the server closed): its status and body; Set-Cookie and
 * Location kept for the engine. Returns the status, or -1 when it is not HTTP. */
static int http_parse(struct http *h, const char **body, size_t *body_len) {
    if (h->in == NULL) return -1;
    h->in[h->in_len] = '\0';
    char *head_end = strstr(h->in, "\r\n\r\n");
    int status;
    if (head_end == NULL || sscanf(h->in, "HTTP/1.%*c %d", &status) != 1) return -1;
    *head_end = '\0';
    size_t content_length = (size_t)-1;
    h->set_cookies = 0;
    h->location[0] = '\0';
    for (char *line = strstr(h->in, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0) content_length = strtoul(line + 15, NULL, 10);
        if (strncasecmp(line, "Set-Cookie:", 11) == 0 && h->set_cookies < 4) {
            const char *v = line + 11;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\r");
            if (len < sizeof h->set_cookie[0]) {
                memcpy(h->set_cookie[h->set_cookies], v, len);
                h->set_cookie[h->set_cookies++][len] = '\0';
            }
        }
        if (strncasecmp(line, "Location:", 9) == 0) {
            const char *v = line + 9;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\r");
            if (len < sizeof h->location) {
                memcpy(h->location, v, len);
                h->location[len] = '\0';
            }
        }
    }
    *body = head_end + 4;
    *body_len = h->in_len - (size_t)(*body - h->in);
    if (content_length < *body_len) *body_len = content_length;
    return status;
}

/* Advances the exchange on poll readiness. Returns 1 when finished (the server closed),
 * 0 to keep polling, -1 on failure. */
static int http_step(struct http *h, short revents) {
    if (!h->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return -1;
        h->connected = 1;
    }
    if (h->out_done < h->out_len && (revents & POLLOUT)) {
        ssize_t n = send(h->fd, h->out + h->out_done, h->out_len - h->out_done, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (n > 0) h->out_done += (size_t)n;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (h->in_cap - h->in_len < 4096) {
            size_t cap = h->in_cap ? h->in_cap * 2 : 16384;
            if (cap > MAX_RESPONSE + 1) return -1;
            char *bigger = realloc(h->in, cap);
            if (bigger == NULL) return -1;
            h->in = bigger;
            h->in_cap = cap;
        }
        ssize_t n = recv(h->fd, h->in + h->in_len, h->in_cap - h->in_len - 1, 0);
        if (n == 0) return 1;
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        h->in_len += (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s TABLE.toml STATE_DIR ACS_URL [SESSIONS]\n", argv[0]);
        return 2;
    }
    int max_sessions = argc > 4 ? atoi(argv[4]) : 0;
    char *table = phone_read_file(argv[1]);
    static struct phone phone;
    if (table == NULL || phone_open(&phone, argv[2], argv[3], "C0FFEE000002") != 0) {
        perror("phone_poll: start");
        free(table);
        return 1;
    }
    if (pipe(sig_pipe) != 0) return 1;
    fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    cwmp_config config = {0};
    config.table_toml = table;
    cwmp_store_callbacks store = {.user = &phone, .get = phone_get, .commit = phone_commit};
    struct http http = {.fd = -1};
    int sessions = 0, status = 0, running = 1;

    while (running) { /* one iteration per boot */
        char err[512];
        static char state[1 << 16];
        size_t state_len = 0;
        if (phone_load_state(&phone, state, sizeof state, &state_len) != CWMP_FOUND || state_len >= sizeof state)
            state_len = 0;
        cwmp_engine *e = NULL;
        int rc = cwmp_engine_new(&config, &store, (const uint8_t *)state, state_len, mono_ms(), wall(), &e,
                                 err, sizeof err);
        if (rc != CWMP_OK) {
            fprintf(stderr, "phone_poll: cwmp_engine_new: %d %s\n", rc, err);
            status = 1;
            break;
        }
        phone.booted = time(NULL);
        fprintf(stderr, "phone_poll: boot\n");
        cwmp_engine_timeout(e, mono_ms(), wall());
        int reboot = 0;
        char download_key[64] = "";
        while (running && !reboot) {
            /* 1. Drain the outputs. After a POST, its response must go in first. */
            cwmp_output o;
            while (http.fd < 0 && cwmp_engine_poll_output(e, &o) == 1) {
                switch (o.kind) {
                case CWMP_OUT_SESSION_STARTED:
                    http_close(&http);
                    fprintf(stderr, "phone_poll: session %llu started\n", (unsigned long long)o.session_id);
                    break;
                case CWMP_OUT_SEND_POST:
                    if (http_start(&http, &o) != 0) {
                        http_close(&http);
                        cwmp_engine_http_failed(e, mono_ms(), wall(), "cannot connect");
                    }
                    break;
                case CWMP_OUT_SESSION_ENDED:
                    http_close(&http);
                    fprintf(stderr, "phone_poll: session %llu ended (%s)\n", (unsigned long long)o.session_id,
                            o.ok ? "ok" : "failed");
                    if (max_sessions > 0 && ++sessions >= max_sessions) running = 0;
                    break;
                case CWMP_OUT_PERSIST:
                    if (phone_save_state(&phone, o.data, o.data_len) != CWMP_OK)
                        fprintf(stderr, "phone_poll: persisting the state failed\n");
                    break;
                case CWMP_OUT_REBOOT:
                case CWMP_OUT_FACTORY_RESET:
                    fprintf(stderr, "phone_poll: %s\n", o.kind == CWMP_OUT_REBOOT ? "reboot" : "factory reset");
                    reboot = 1;
                    break;
                case CWMP_OUT_DOWNLOAD:
                    snprintf(download_key, sizeof download_key, "%s", o.download.command_key);
                    break;
                case CWMP_OUT_RESOLVE_STUN:
                    cwmp_engine_stun_resolved(e, mono_ms(), wall(), NULL); /* no STUN here */
                    break;
                default:
                    break; /* SEND_DATAGRAM: this phone has no UDP socket */
                }
                if (download_key[0]) { /* no installer: refuse once the output is handled */
                    cwmp_engine_transfer_complete(e, mono_ms(), wall(), download_key, 9010,
                                                  "this phone installs no files", wall(), wall());
                    download_key[0] = '\0';
                }
            }
            if (!running || reboot) break;

            /* 2. Wait for the socket, a signal or the engine's deadline. */
            uint64_t deadline;
            int timeout = -1;
            if (cwmp_engine_next_deadline(e, &deadline) == 1) {
                uint64_t now = mono_ms();
                timeout = deadline <= now ? 0 : (deadline - now > 60000 ? 60000 : (int)(deadline - now));
            }
            struct pollfd fds[2] = {{.fd = sig_pipe[0], .events = POLLIN}, {.fd = http.fd, .events = 0}};
            if (http.fd >= 0) fds[1].events = (short)(POLLIN | (http.out_done < http.out_len ? POLLOUT : 0));
            int n = poll(fds, http.fd >= 0 ? 2 : 1, timeout);
            if (n < 0 && errno != EINTR) {
                status = 1;
                break;
            }
            if (fds[0].revents & POLLIN) {
                fprintf(stderr, "phone_poll: signal\n");
                running = 0;
                break;
            }
            /* 3. Feed what happened. */
            if (http.fd >= 0 && fds[1].revents) {
                int r = http_step(&http, fds[1].revents);
                if (r != 0) {
                    const char *body = NULL;
                    size_t body_len = 0;
                    int code = r == 1 ? http_parse(&http, &body, &body_len) : -1;
                    if (code > 0) {
                        const char *cookies[4];
                        for (size_t i = 0; i < http.set_cookies; i++) cookies[i] = http.set_cookie[i];
                        cwmp_engine_http_response_ex(e, mono_ms(), wall(), (uint16_t)code, (const uint8_t *)body,
                                                     body_len, cookies, http.set_cookies,
                                                     http.location[0] ? http.location : NULL);
                    } else
                        cwmp_engine_http_failed(e, mono_ms(), wall(), "connection failed");
                    if (http.fd >= 0) close(http.fd);
                    http.fd = -1;
                    free(http.out);
                    free(http.in);
                    http.out = http.in = NULL;
                    http.out_len = http.out_done = http.in_len = http.in_cap = 0;
                }
            } else if (n == 0) {
                cwmp_engine_timeout(e, mono_ms(), wall());
            }
        }
        http_close(&http);
        cwmp_engine_free(e);
    }
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    free(table);
    fprintf(stderr, "phone_poll: stopped\n");
    return status;
}
