// libsystemd's sd-bus, for asking systemd when a unit's current invocation began (InactiveExitTimestamp).
// Debian: libsystemd-dev. Only the header: the system-library target links -lsystemd through pkg-config.
#ifndef IPCSWEEP_CSYSTEMD_SHIM_H
#define IPCSWEEP_CSYSTEMD_SHIM_H
#include <systemd/sd-bus.h>
#endif
