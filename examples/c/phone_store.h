/* The example phone's configuration: values in a C struct, kept in a file; the store
 * callbacks of the CWMP agent over it. Shared by phone.c (blocking API) and phone_poll.c
 * (step-wise API). */
#ifndef PHONE_STORE_H
#define PHONE_STORE_H

#include <stddef.h>
#include <time.h>
#include "cwmp_agent.h"

#define PHONE_MAX_EXTRA 96

/* The phone's own settings. A `present` bit per item: a cleared bit means "not set", and
 * the agent then uses the table's default (that is what a factory reset does). */
struct phone_values {
    char serial_number[32];
    char software_version[32];
    char provisioning_code[65];
    char acs_url[257];
    char acs_username[257];
    char acs_password[257];
    int periodic_enable;
    unsigned periodic_interval;
    char cr_url[257];
    char cr_username[257];
    char cr_password[257];
    int ntp_enable;
    char ntp_server[65];
    unsigned present; /* bit i = item i of the descriptor table is set */
    /* Keys the library stores in the phone (`cwmp:...`: attributes, ParameterKey). */
    struct { char key[192]; char value[96]; } extra[PHONE_MAX_EXTRA];
    size_t n_extra;
};

struct phone {
    struct phone_values v;
    char dir[512];          /* where config.txt and state.bin live */
    time_t booted;          /* for UpTime */
};

/* Loads dir/config.txt (absent: factory settings, with the ACS URL and serial number given).
 * Returns 0, or -1 with errno. */
int phone_open(struct phone *p, const char *dir, const char *acs_url, const char *serial);

/* Writes the configuration atomically (temp file, fsync, rename). 0 or -1. */
int phone_save(const struct phone *p, const struct phone_values *v);

/* Reads / writes dir/state.bin, the agent's opaque state (atomically). */
int phone_load_state(const struct phone *p, char *buf, size_t size, size_t *len);
int phone_save_state(const struct phone *p, const void *data, size_t len);

/* Sets one item the way the phone's local menu would (validated by the caller). */
int phone_set_local(struct phone *p, const char *key, const char *value);

/* The store callbacks; `user` must be the struct phone. */
int phone_get(void *user, const char *key, char *buf, size_t size, size_t *len);
int phone_commit(void *user, const cwmp_item *items, size_t count, cwmp_refusals *refusals);

/* Reads a whole file into a malloc'd NUL-terminated string (free it); NULL on error. */
char *phone_read_file(const char *path);

#endif
