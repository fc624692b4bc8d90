// libsystemd's sd-bus, for asking systemd when a unit's current invocation began (InactiveExitTimestamp).
// Debian: libsystemd-dev at build time. The binary does not link libsystemd: the functions used are
// defined in sdbus.c, which loads libsystemd.so.0 the first time one is called (see there).
#ifndef IPCSWEEP_CSYSTEMD_H
#define IPCSWEEP_CSYSTEMD_H
#include <systemd/sd-bus.h>
#endif
