// The sd-bus functions ipcsweep calls, loaded from libsystemd.so.0 with dlopen() the first time one of
// them is called. Linking libsystemd would make every start pay for loading it and the six libraries
// it needs (libcap, libgcrypt, libgpg-error, liblzma, liblz4, libzstd, all bound at load time):
// `ipcsweep --version` took 1.6 times a one-line Swift program instead of 1.2, while sd-bus is used
// only for --unit scopes. Without libsystemd.so.0 each call fails with -ENOSYS, as an unreachable
// systemd does. The definitions are hidden, so they never stand in for libsystemd's own symbols.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#pragma GCC visibility push(hidden)
#include "CSystemd.h"

static void *libsystemd;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void load(void) { libsystemd = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL); }

static void *resolve(const char *name) {
    pthread_once(&loaded, load);
    return libsystemd ? dlsym(libsystemd, name) : NULL;
}

// ret name(params): calls libsystemd's name with args, or returns fail when it cannot be loaded.
#define FORWARD(ret, name, params, args, fail)                  \
    ret name params {                                            \
        static ret (*f) params;                                  \
        if (!f) f = (ret (*) params) resolve(#name);             \
        if (!f) return fail;                                     \
        return f args;                                           \
    }

FORWARD(int, sd_bus_new, (sd_bus **ret), (ret), -ENOSYS)
FORWARD(int, sd_bus_open_system, (sd_bus **ret), (ret), -ENOSYS)
FORWARD(int, sd_bus_set_address, (sd_bus *bus, const char *address), (bus, address), -ENOSYS)
FORWARD(int, sd_bus_start, (sd_bus *bus), (bus), -ENOSYS)
FORWARD(sd_bus *, sd_bus_flush_close_unref, (sd_bus *bus), (bus), NULL)
FORWARD(int, sd_bus_set_method_call_timeout, (sd_bus *bus, uint64_t usec), (bus, usec), -ENOSYS)
FORWARD(int, sd_bus_path_encode, (const char *prefix, const char *external_id, char **ret_path),
        (prefix, external_id, ret_path), -ENOSYS)
FORWARD(int, sd_bus_get_property_trivial,
        (sd_bus *bus, const char *destination, const char *path, const char *interface, const char *member,
         sd_bus_error *ret_error, char type, void *ret_ptr),
        (bus, destination, path, interface, member, ret_error, type, ret_ptr), -ENOSYS)

void sd_bus_error_free(sd_bus_error *e) {
    static void (*f)(sd_bus_error *);
    if (!f) f = (void (*)(sd_bus_error *)) resolve("sd_bus_error_free");
    if (f) f(e);
}

#pragma GCC visibility pop
