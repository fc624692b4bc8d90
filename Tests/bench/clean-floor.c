// The floor of `ipcsweep clean` and `list`: only the syscalls their contracts need, in a C loop.
//
//   clean-floor clean   for every set: IPC_STAT by id (the re-check), GETALL, then GETPID, GETNCNT and
//                       GETZCNT per semaphore (what decides the verdict), then IPC_RMID
//   clean-floor list    SEM_INFO, then per index SEM_STAT_ANY and the same per-semaphore calls
//
// No process table, no classification, no output: what is left when everything but the kernel is free.
// Built and run by Tests/bench/bench.sh inside its private namespaces.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static long detail(int id, int nsems) {
    unsigned short values[4096];
    union semun arg = {.array = values};
    long calls = 0;
    if (nsems > 4096) nsems = 4096;
    if (semctl(id, 0, GETALL, arg) < 0) return calls + 1;
    calls++;
    for (int n = 0; n < nsems; n++) {
        semctl(id, n, GETPID);
        semctl(id, n, GETNCNT);
        semctl(id, n, GETZCNT);
        calls += 3;
    }
    return calls;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: clean-floor clean|list\n");
        return 2;
    }
    struct seminfo info;
    union semun arg = {.__buf = &info};
    int max = semctl(0, 0, SEM_INFO, arg);
    long calls = 1, sets = 0;
    for (int i = 0; i <= max; i++) {
        struct semid_ds ds;
        union semun a = {.buf = &ds};
        int id = semctl(i, 0, SEM_STAT_ANY, a);
        calls++;
        if (id < 0) continue;
        sets++;
        if (strcmp(argv[1], "clean") == 0) {
            // The plan's read above is the cheap stat; then the one full read and the removal.
            semctl(id, 0, IPC_STAT, a);
            calls += 1 + detail(id, (int)ds.sem_nsems);
            semctl(id, 0, IPC_RMID);
            calls++;
        } else {
            calls += detail(id, (int)ds.sem_nsems);
        }
    }
    fprintf(stderr, "clean-floor %s: %ld sets, %ld semctl calls\n", argv[1], sets, calls);
    return 0;
}
