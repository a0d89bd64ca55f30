/* A small phone in C embedding the CWMP agent with the blocking API.
 *
 *   phone TABLE.toml STATE_DIR ACS_URL [CONNECTION_REQUEST_BIND]
 *
 * The parameter table comes from TABLE.toml; the phone's settings live in a C struct and in
 * STATE_DIR/config.txt, the agent's state in STATE_DIR/state.bin (both written atomically).
 * The agent runs on its own thread (cwmp_agent_run); the main thread handles signals:
 * SIGTERM/SIGINT stop the agent (cwmp_agent_stop), SIGUSR1 changes ProvisioningCode as the
 * phone's local menu would and reports it (cwmp_agent_value_changed). The agent's thread
 * ends when the agent does, so the library's per-thread data is released with it. A Reboot from the ACS
 * "reboots": the agent is freed and a new one boots from the persisted state.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwmp_agent.h"
#include "phone_store.h"

struct app {
    struct phone phone;
    pthread_mutex_t lock;   /* guards `agent`, `stopping` and the phone's values */
    cwmp_agent *agent;      /* the running agent, NULL between boots */
    int stopping;
    int local_changes;
};

/* ---- device callbacks (called on the agent's thread) ---- */

static int load_state(void *user, char *buf, size_t size, size_t *len) {
    struct app *a = user;
    return phone_load_state(&a->phone, buf, size, len);
}

static int persist_state(void *user, const uint8_t *data, size_t len) {
    struct app *a = user;
    return phone_save_state(&a->phone, data, len);
}

static void download(void *user, const cwmp_download *d) {
    struct app *a = user;
    /* This phone installs nothing: report the failure at once (a thread-safe call). */
    time_t now = time(NULL);
    fprintf(stderr, "phone: download of %s refused\n", d->url);
    cwmp_agent_transfer_complete(a->agent, d->command_key, 9010, "this phone installs no files",
                                 (int64_t)now, (int64_t)now);
}

static void reboot(void *user, const char *command_key) {
    (void)user;
    fprintf(stderr, "phone: reboot requested (CommandKey '%s')\n", command_key);
}

static void factory_reset(void *user) {
    (void)user;
    fprintf(stderr, "phone: factory reset requested\n");
}

/* The store callbacks lock the app so that the signal thread's local changes and the
 * agent's reads and commits never interleave. */
static int get(void *user, const char *key, char *buf, size_t size, size_t *len) {
    struct app *a = user;
    pthread_mutex_lock(&a->lock);
    int rc = phone_get(&a->phone, key, buf, size, len);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static int commit(void *user, const cwmp_item *items, size_t count, cwmp_refusals *refusals) {
    struct app *a = user;
    pthread_mutex_lock(&a->lock);
    int rc = phone_commit(&a->phone, items, count, refusals);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

/* ---- the agent thread: one agent per boot ---- */

struct boot_loop {
    struct app *app;
    cwmp_config config;
    cwmp_store_callbacks store;
    cwmp_device_callbacks device;
    pthread_t main_thread;
    int status;
};

static void *agent_thread(void *arg) {
    struct boot_loop *b = arg;
    struct app *a = b->app;
    for (int boot = 1;; boot++) {
        char err[512];
        cwmp_agent *agent = NULL;
        int rc = cwmp_agent_new(&b->config, &b->store, &b->device, &agent, err, sizeof err);
        if (rc != CWMP_OK) {
            fprintf(stderr, "phone: cwmp_agent_new: %d %s\n", rc, err);
            b->status = 1;
            break;
        }
        pthread_mutex_lock(&a->lock);
        a->agent = agent;
        a->phone.booted = time(NULL);
        if (a->stopping) cwmp_agent_stop(agent); /* a signal came during the boot */
        pthread_mutex_unlock(&a->lock);
        fprintf(stderr, "phone: boot %d\n", boot);

        rc = cwmp_agent_run(agent); /* blocks until stop, reboot or factory reset */
        if (rc < 0) {
            cwmp_agent_last_error(agent, err, sizeof err);
            fprintf(stderr, "phone: cwmp_agent_run: %d %s\n", rc, err);
            b->status = 1;
        }
        pthread_mutex_lock(&a->lock);
        a->agent = NULL;
        int stopping = a->stopping;
        pthread_mutex_unlock(&a->lock);
        cwmp_agent_free(agent);
        if (stopping || (rc != CWMP_EXIT_REBOOT && rc != CWMP_EXIT_FACTORY_RESET)) break;
        b->config.boot_reason = CWMP_BOOT_POWER_ON;
    }
    pthread_kill(b->main_thread, SIGUSR2); /* tell the main thread the agent is done */
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s TABLE.toml STATE_DIR ACS_URL [CONNECTION_REQUEST_BIND]\n", argv[0]);
        return 2;
    }
    char *table = phone_read_file(argv[1]);
    if (table == NULL) {
        perror("phone: table");
        return 1;
    }
    static struct app a; /* large (the struct holds every setting): not on the stack */
    pthread_mutex_init(&a.lock, NULL);
    if (phone_open(&a.phone, argv[2], argv[3], "C0FFEE000001") != 0) {
        perror("phone: state directory");
        free(table);
        return 1;
    }

    /* Signals are taken with sigwait on the main thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    static struct boot_loop b;
    b.app = &a;
    b.config.table_toml = table;
    b.config.connection_request_bind = argc > 4 ? argv[4] : NULL;
    b.store = (cwmp_store_callbacks){.user = &a, .get = get, .commit = commit};
    b.device = (cwmp_device_callbacks){
        .user = &a,
        .load_state = load_state,
        .persist_state = persist_state,
        .download = download,
        .reboot = reboot,
        .factory_reset = factory_reset,
    };
    b.main_thread = pthread_self();
    pthread_t agent;
    if (pthread_create(&agent, NULL, agent_thread, &b) != 0) {
        free(table);
        return 1;
    }

    /* The main thread: SIGUSR1 = a change in the phone's local menu, reported from this
     * thread while the agent runs on its own (cwmp_agent_value_changed is thread-safe);
     * SIGTERM/SIGINT = stop; SIGUSR2 = the agent thread finished. */
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR2) break;
        pthread_mutex_lock(&a.lock);
        if (sig == SIGUSR1) {
            char code[32];
            snprintf(code, sizeof code, "local-%d", ++a.local_changes);
            if (phone_set_local(&a.phone, "provisioning-code", code) == 0 && a.agent != NULL) {
                const char *names[] = {"provisioning-code"};
                int rc = cwmp_agent_value_changed(a.agent, names, 1);
                fprintf(stderr, "phone: local change of ProvisioningCode to %s reported (%d)\n", code, rc);
            }
        } else {
            a.stopping = 1;
            if (a.agent != NULL) cwmp_agent_stop(a.agent);
        }
        pthread_mutex_unlock(&a.lock);
    }
    pthread_join(agent, NULL);
    pthread_mutex_destroy(&a.lock);
    free(table);
    fprintf(stderr, "phone: stopped\n");
    return b.status;
}
