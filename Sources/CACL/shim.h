// libacl, for reading the POSIX ACLs of /dev/shm and /dev/mqueue entries (ipcsweep audit).
// Debian: libacl1-dev. Only the headers: the system-library target links -lacl through pkg-config.
// Also <sys/vfs.h> for statfs(2) f_type (is /dev/mqueue an mqueue mount?), which Swift's Glibc module lacks.
#ifndef IPCSWEEP_CACL_SHIM_H
#define IPCSWEEP_CACL_SHIM_H
#include <sys/types.h>
#include <sys/acl.h>
#include <acl/libacl.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#endif
