/* See phone_store.h. */
#define _POSIX_C_SOURCE 200809L
#include "phone_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { STR, BOOL, UINT };

struct item_desc {
    const char *key;
    enum kind kind;
    size_t offset;
    size_t size;
};

#define FIELD(k, kind, f) { k, kind, offsetof(struct phone_values, f), sizeof(((struct phone_values *)0)->f) }

/* The items of phone_table.toml (`source = "item"` rows). */
static const struct item_desc ITEMS[] = {
    FIELD("serial-number", STR, serial_number),
    FIELD("software-version", STR, software_version),
    FIELD("provisioning-code", STR, provisioning_code),
    FIELD("acs-url", STR, acs_url),
    FIELD("acs-username", STR, acs_username),
    FIELD("acs-password", STR, acs_password),
    FIELD("periodic-enable", BOOL, periodic_enable),
    FIELD("periodic-interval", UINT, periodic_interval),
    FIELD("cr-url", STR, cr_url),
    FIELD("cr-username", STR, cr_username),
    FIELD("cr-password", STR, cr_password),
    FIELD("ntp-enable", BOOL, ntp_enable),
    FIELD("ntp-server", STR, ntp_server),
};
#define N_ITEMS (sizeof ITEMS / sizeof ITEMS[0])

static int find_item(const char *key) {
    for (size_t i = 0; i < N_ITEMS; i++)
        if (strcmp(ITEMS[i].key, key) == 0) return (int)i;
    return -1;
}

/* Formats item i of v into out (size bytes). */
static void format_item(const struct phone_values *v, size_t i, char *out, size_t size) {
    const char *base = (const char *)v + ITEMS[i].offset;
    switch (ITEMS[i].kind) {
    case STR: snprintf(out, size, "%s", base); break;
    case BOOL: snprintf(out, size, "%s", *(const int *)base ? "true" : "false"); break;
    case UINT: snprintf(out, size, "%u", *(const unsigned *)base); break;
    }
}

/* Sets item i from text (NULL = unset). Returns 0, or -1 when it does not fit the field. */
static int store_item(struct phone_values *v, size_t i, const char *text) {
    char *base = (char *)v + ITEMS[i].offset;
    if (text == NULL) {
        v->present &= ~(1u << i);
        memset(base, 0, ITEMS[i].size);
        return 0;
    }
    switch (ITEMS[i].kind) {
    case STR:
        if (strlen(text) >= ITEMS[i].size) return -1;
        memcpy(base, text, strlen(text) + 1);
        break;
    case BOOL: *(int *)base = strcmp(text, "true") == 0 || strcmp(text, "1") == 0; break;
    case UINT: {
        char *end;
        unsigned long n = strtoul(text, &end, 10);
        if (*text == '\0' || *end != '\0' || n > 0xFFFFFFFFul) return -1;
        *(unsigned *)base = (unsigned)n;
        break;
    }
    }
    v->present |= 1u << i;
    return 0;
}

static int store_extra(struct phone_values *v, const char *key, const char *value) {
    size_t k;
    for (k = 0; k < v->n_extra; k++)
        if (strcmp(v->extra[k].key, key) == 0) break;
    if (value == NULL) {
        if (k < v->n_extra) v->extra[k] = v->extra[--v->n_extra];
        return 0;
    }
    if (strlen(key) >= sizeof v->extra[0].key || strlen(value) >= sizeof v->extra[0].value) return -1;
    if (k == v->n_extra) {
        if (v->n_extra == PHONE_MAX_EXTRA) return -1;
        v->n_extra++;
    }
    snprintf(v->extra[k].key, sizeof v->extra[k].key, "%s", key);
    snprintf(v->extra[k].value, sizeof v->extra[k].value, "%s", value);
    return 0;
}

static int set_key(struct phone_values *v, const char *key, const char *value) {
    int i = find_item(key);
    if (i >= 0) return store_item(v, (size_t)i, value);
    if (strncmp(key, "cwmp:", 5) == 0) return store_extra(v, key, value);
    return -1;
}

/* Writes path atomically: temp file, fsync, rename, fsync of the directory. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len) {
    char path[600], tmp[620];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) return -1;
    if (rename(tmp, path) != 0) return -1;
    int d = open(dir, O_RDONLY);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
    return 0;
}

int phone_save(const struct phone *p, const struct phone_values *v) {
    /* One "key<TAB>value" line per set key. Values never hold tabs or newlines here: the
     * commit callback refuses them. */
    size_t cap = 64 * 1024, used = 0;
    char *text = malloc(cap);
    if (text == NULL) return -1;
    char value[300];
    for (size_t i = 0; i < N_ITEMS; i++) {
        if (!(v->present & (1u << i))) continue;
        format_item(v, i, value, sizeof value);
        used += (size_t)snprintf(text + used, cap - used, "%s\t%s\n", ITEMS[i].key, value);
        if (used >= cap) goto too_big;
    }
    for (size_t k = 0; k < v->n_extra; k++) {
        used += (size_t)snprintf(text + used, cap - used, "%s\t%s\n", v->extra[k].key, v->extra[k].value);
        if (used >= cap) goto too_big;
    }
    int rc = write_atomic(p->dir, "config.txt", text, used);
    free(text);
    return rc;
too_big:
    free(text);
    return -1;
}

char *phone_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) buf[len] = '\0';
    return buf;
}

int phone_open(struct phone *p, const char *dir, const char *acs_url, const char *serial) {
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    p->booted = time(NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/config.txt", dir);
    char *text = phone_read_file(path);
    if (text == NULL) {
        /* Factory settings: what the phone's provisioning put in before the first boot. */
        if (set_key(&p->v, "acs-url", acs_url) || set_key(&p->v, "serial-number", serial) ||
            set_key(&p->v, "cr-username", "acs") || set_key(&p->v, "cr-password", "cr-secret"))
            return -1;
        return phone_save(p, &p->v);
    }
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (tab == NULL) continue;
        *tab = '\0';
        set_key(&p->v, line, tab + 1);
    }
    free(text);
    return 0;
}

int phone_set_local(struct phone *p, const char *key, const char *value) {
    struct phone_values next = p->v;
    if (set_key(&next, key, value) != 0 || phone_save(p, &next) != 0) return -1;
    p->v = next;
    return 0;
}

int phone_load_state(const struct phone *p, char *buf, size_t size, size_t *len) {
    char path[600];
    snprintf(path, sizeof path, "%s/state.bin", p->dir);
    char *text = phone_read_file(path);
    if (text == NULL) return CWMP_NOT_FOUND;
    *len = strlen(text);
    if (*len < size) memcpy(buf, text, *len);
    free(text);
    return CWMP_FOUND;
}

int phone_save_state(const struct phone *p, const void *data, size_t len) {
    return write_atomic(p->dir, "state.bin", data, len) == 0 ? CWMP_OK : -1;
}

static int copy_value(const char *value, char *buf, size_t size, size_t *len) {
    *len = strlen(value);
    if (*len < size) memcpy(buf, value, *len + 1);
    return CWMP_FOUND;
}

int phone_get(void *user, const char *key, char *buf, size_t size, size_t *len) {
    struct phone *p = user;
    if (strcmp(key, "Device.DeviceInfo.UpTime") == 0) {
        char up[24];
        snprintf(up, sizeof up, "%ld", (long)(time(NULL) - p->booted));
        return copy_value(up, buf, size, len);
    }
    int i = find_item(key);
    if (i >= 0) {
        if (!(p->v.present & (1u << i))) return CWMP_NOT_FOUND;
        char value[300];
        format_item(&p->v, (size_t)i, value, sizeof value);
        return copy_value(value, buf, size, len);
    }
    for (size_t k = 0; k < p->v.n_extra; k++)
        if (strcmp(p->v.extra[k].key, key) == 0) return copy_value(p->v.extra[k].value, buf, size, len);
    return CWMP_NOT_FOUND;
}

/* The phone's own check, beyond the table's types and ranges: an NTP server must be a host
 * name (letters, digits, '.', '-'). */
static int valid_host(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-'))
            return 0;
    return 1;
}

int phone_commit(void *user, const cwmp_item *items, size_t count, cwmp_refusals *refusals) {
    struct phone *p = user;
    struct phone_values next = p->v; /* all or nothing: apply to a copy */
    int refused = 0;
    for (size_t i = 0; i < count; i++) {
        const char *key = items[i].key, *value = items[i].value;
        if (value != NULL && strpbrk(value, "\t\n") != NULL) {
            cwmp_refuse(refusals, key, 9007, "tabs and line breaks are not stored");
            refused = 1;
        } else if (value != NULL && strcmp(key, "ntp-server") == 0 && !valid_host(value)) {
            cwmp_refuse(refusals, key, 9007, "NTPServer1 must be a host name");
            refused = 1;
        } else if (set_key(&next, key, value) != 0) {
            cwmp_refuse(refusals, key, 9007, "does not fit the phone's storage");
            refused = 1;
        }
    }
    if (refused) return CWMP_REFUSED;
    if (phone_save(p, &next) != 0) return -1; /* the file first: a crash keeps the old or new */
    p->v = next;
    return CWMP_OK;
}
