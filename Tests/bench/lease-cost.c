// What write leases cost per POSIX object (issue 17), the calls alone: over every entry of a directory,
//   stat:   fstatat(AT_SYMLINK_NOFOLLOW)                                  (what the scan does without leases)
//   lease:  fstatat, openat(O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_NOCTTY), fstat, F_SETLEASE F_WRLCK, F_SETLEASE
//           F_UNLCK, close                                                (the scan with leases: PosixLeases.probe)
//   remove: openat, fstat, F_SETLEASE F_WRLCK, fstat, fstatat, renameat2 RENAME_NOREPLACE, fstatat, F_GETLEASE,
//           unlinkat, F_GETLEASE, F_SETLEASE F_UNLCK, close               (clean under the lease)
//   unlink: fstatat, unlinkat                                             (clean without a lease)
// Usage: lease-cost DIR stat|lease|remove|unlink; prints "MODE N SECONDS".
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: lease-cost DIR stat|lease|remove|unlink\n"); return 2; }
    signal(SIGIO, SIG_IGN);
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
    DIR *d = fdopendir(dup(dir));
    if (dir < 0 || !d) { perror(argv[1]); return 1; }
    char **names = NULL; size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) names = realloc(names, (cap = cap ? cap * 2 : 1024) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    const char *mode = argv[2];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t i = 0; i < n; i++) {
        struct stat st, held;
        if (fstatat(dir, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) { perror(names[i]); return 1; }
        if (!strcmp(mode, "stat")) continue;
        if (!strcmp(mode, "unlink")) { unlinkat(dir, names[i], 0); continue; }
        int fd = openat(dir, names[i], O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &held) < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) < 0) { perror(names[i]); return 1; }
        if (!strcmp(mode, "remove")) {
            char hidden[64];
            snprintf(hidden, sizeof hidden, ".removing.%lu", (unsigned long)held.st_ino);
            fstat(fd, &held);
            fstatat(dir, names[i], &st, AT_SYMLINK_NOFOLLOW);
            if (renameat2(dir, names[i], dir, hidden, RENAME_NOREPLACE) < 0) { perror("renameat2"); return 1; }
            fstatat(dir, hidden, &st, AT_SYMLINK_NOFOLLOW);
            if (fcntl(fd, F_GETLEASE) != F_WRLCK) { fprintf(stderr, "lease broken\n"); return 1; }
            unlinkat(dir, hidden, 0);
            fcntl(fd, F_GETLEASE);
        }
        fcntl(fd, F_SETLEASE, F_UNLCK);
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%s %zu %.6f\n", mode, n, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
