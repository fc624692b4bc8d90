// The floor of each ipcsweep command (SPEC "Performance targets", issue 20): a C program that makes only the
// reads and calls the command cannot avoid, with no classification output, no report and no second thread.
// What is left when everything but the kernel (and the bookkeeping that picks the reads) is free.
//
//   floor list [--json]   the reads of `ipcsweep list` (table), or of `list --format json` with --json
//   floor clean           the reads and calls of `ipcsweep clean --yes --type sem`
//   floor posix-list [--json]            the reads of `ipcsweep list --type posix` (or with --format json)
//   floor posix-clean [--yes] [--prefix P]  the reads and calls of `ipcsweep clean --dry-run --type posix` (with
//                         --yes: of `clean --yes --type posix`, which removes), of the entries named P* only
//   options: --lock PATH (clean's lock file; default /run/ipcsweep.lock), --clock PATH (the kept clock pair;
//            default /run/ipcsweep.clock), --window SECONDS (inheritance window, default 5), --quiet
//
// What a verdict needs, and so what the floor reads (SPEC "Verdicts", Sources/IPCSweepCore/Classify):
//
// Objects. System V sets: SEM_INFO, SEM_STAT_ANY per index, then per semaphore GETPID (a live recorded
// pid is direct evidence), GETNCNT and GETZCNT (waiters are); GETALL once per set only for --json, which
// prints the values. Segments and queues: one read each of /proc/sysvipc/shm and /proc/sysvipc/msg (every
// field a verdict or the output needs: perms, owners, times, cpid/lpid, nattch, lspid/lrpid, qnum, rss).
// Owner names (getpwuid per distinct uid and creator uid: the table's OWNER column, the JSON's users) and,
// for --json, group names (getgrgid per distinct gid and cgid). POSIX: the /dev/shm directory (empty in
// the benchmark; the mqueue mount is looked up in mountinfo).
//
// Visibility (fail closed): /proc/self/mountinfo (hidepid, subset=pid) and /proc/self/ns/ipc (which
// processes share the namespace). The clock-step pair kept in /run (one read) and two clock_gettime.
//
// Processes, per process, decided from the objects first:
// - /proc/PID/status, always: real and effective uid and gid, Groups, CapEff (reachability by ipcperms and
//   by the root rule), State, PPid, NSpid. Nothing cheaper gives the real uid or the groups (the owner of
//   /proc/PID is the effective uid, or root for a non-dumpable process).
// - /proc/PID/stat (start time, comm) and one readlink of /proc/PID/ns/ipc only for a process that could
//   reach an object without kernel-level evidence (waiters, nattch > 0, queued messages), or whose pid
//   an object recorded; and stat of the parent of such a process when the parent was not read and the
//   process may fall in an inheritance window (re-parented or not is decided by the parent's start and comm).
// - /proc/PID/maps only for a live process of the namespace that could map an attached segment (same rule
//   as ipcsweep: open mode bits, privileged, unreadable, or uid/euid an owner or creator of one).
// - /proc/PID/cgroup (the unit of a shown holder) only with --json, and only for the holders (live recorded
//   pids, attachers) and the processes that could be listed as possible holders (they reach an object
//   without direct evidence and started before its last activity + 1 s + the inheritance window).
// - ns/mnt, exe, fd: never here (no POSIX object, no --exe scope).
// - Recorded pids not in the directory listing (thread ids): /proc/PID/status for the thread group id.
//
// clean: the lock (open + flock), SEM_INFO and SEM_STAT_ANY per index (the plan: no per-semaphore read),
// the process table as above (no cgroup, no maps), owner names, then per planned set (no possible holder):
// IPC_STAT by id (the re-check), GETPID, GETNCNT and GETZCNT per semaphore (what decides that it is still
// orphaned: no live recorded pid, no waiter), and IPC_RMID. No GETALL: the report prints no values.
//
// POSIX (posix-list, posix-clean): the shared memory directory (/dev/shm) and the mqueue mount (looked up in
// mountinfo), listed with getdents. Per regular entry (its type from getdents): openat (O_NOFOLLOW|O_NONBLOCK),
// fcntl(F_SETLEASE, F_WRLCK) (the kernel's answer to "open or mapped anywhere?"), fstat under it (owner, mode,
// times; the entry opened is the one leased), fgetxattr of its access ACL (named users and groups reach it), a
// queue's state (one read: QSIZE, NOTIFY_PID), F_SETLEASE F_UNLCK and close. Then the process table as above
// (status always; stat and ns for the processes that reach an object without direct evidence), and, only when
// some lease was not granted, every live process's descriptors (the fd directory, fstatat per descriptor:
// device and inode) and mappings (maps): a granted lease answers for its object, a refused one needs its holder
// named. Owner names per distinct uid (and group names with --json); with --json the cgroup of the holders and
// of the processes that could be listed as possible holders.
// posix-clean: the lock, the listing above (with owner names: the plan's table), then per planned object (lease
// granted, no possible holder) the re-check on the directory's descriptor kept open: openat, F_SETLEASE F_WRLCK,
// fstat (the same inode and times as planned), fgetxattr (the access may have changed); with --yes the removal
// under the lease as `clean` makes it: fstatat of the name (still this inode), renameat2(RENAME_NOREPLACE) to a
// hidden name, fstatat of that name, F_GETLEASE (nobody opened it meanwhile), unlinkat, F_GETLEASE again; then
// F_SETLEASE F_UNLCK and close.
//
// It prints to standard error what it read (counts per file kind), unless --quiet.
// Built and run by Tests/bench/bench.sh and Tests/bench/startup.sh inside their private namespaces.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <mqueue.h>
#include <time.h>
#include <unistd.h>

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static int json, quiet;
static double window = 5;
static long n_status, n_stat, n_ns, n_cgroup, n_maps, n_threads, n_semctl, n_names, n_parents;

// ---------------------------------------------------------------- small helpers

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        perror("floor: realloc");
        exit(1);
    }
    return q;
}

// A map from a 32-bit key to a double (open addressing; the key 0xffffffff is "empty").
typedef struct {
    uint32_t *keys;
    double *vals;
    size_t cap, used;
} map_t;

static void map_put_max(map_t *m, uint32_t k, double v);

static size_t map_slot(const map_t *m, uint32_t k) {
    size_t i = (k * 2654435761u) & (m->cap - 1);
    while (m->keys[i] != UINT32_MAX && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

static void map_grow(map_t *m) {
    map_t n = {.cap = m->cap ? m->cap * 2 : 64};
    n.keys = xrealloc(NULL, n.cap * sizeof *n.keys);
    n.vals = xrealloc(NULL, n.cap * sizeof *n.vals);
    memset(n.keys, 0xff, n.cap * sizeof *n.keys);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != UINT32_MAX) map_put_max(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
}

static void map_put_max(map_t *m, uint32_t k, double v) {
    if (k == UINT32_MAX) return;
    if ((m->used + 1) * 2 > m->cap) map_grow(m);
    size_t i = map_slot(m, k);
    if (m->keys[i] == UINT32_MAX) {
        m->keys[i] = k;
        m->vals[i] = v;
        m->used++;
    } else if (v > m->vals[i]) {
        m->vals[i] = v;
    }
}

static int map_get(const map_t *m, uint32_t k, double *v) {
    if (!m->cap || k == UINT32_MAX) return 0;
    size_t i = map_slot(m, k);
    if (m->keys[i] != k) return 0;
    if (v) *v = m->vals[i];
    return 1;
}

static void map_clear(map_t *m) {
    if (m->cap) memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->used = 0;
}

// Reads a whole (procfs) file into a reused buffer: open, read until EOF, close. A file made by one show
// call (single_open: status, stat, cgroup) comes whole in the first read when it fits: no second read then.
static char *buf;
static size_t bufcap;

static ssize_t slurp_file(const char *path, int single) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (!bufcap) bufcap = 65536, buf = xrealloc(NULL, bufcap);
    size_t used = 0;
    for (;;) {
        if (used + 1 >= bufcap) bufcap *= 2, buf = xrealloc(buf, bufcap);
        ssize_t n = read(fd, buf + used, bufcap - used - 1);
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0) break;
        used += (size_t)n;
        if (single && used + 1 < bufcap) break;
    }
    close(fd);
    buf[used] = 0;
    return (ssize_t)used;
}

static ssize_t slurp(const char *path) { return slurp_file(path, 0); }
static ssize_t slurp_single(const char *path) { return slurp_file(path, 1); }

static double now_real(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// ---------------------------------------------------------------- objects

typedef struct {
    int id;
    uint32_t uid, gid, cuid, cgid, mode;
    double last;      // last activity (whole seconds)
    int direct;       // kernel-level evidence (waiters, nattch, messages) or a live recorded pid
    int attached;     // segment with nattch > 0
    int nsems;
    double ctime, otime;
    size_t pid0, npids;  // recorded pids in rec[]
    int posix;        // a POSIX object (its entry: pobjs[pobj_ix])
    size_t pobj_ix;
} obj_t;

typedef struct {
    int pid;
    double at;
} rec_t;

static obj_t *objs;
static size_t nobjs, capobjs;
static rec_t *rec;
static size_t nrec, caprec;

static obj_t *new_obj(void) {
    if (nobjs == capobjs) capobjs = capobjs ? capobjs * 2 : 1024, objs = xrealloc(objs, capobjs * sizeof *objs);
    obj_t *o = &objs[nobjs++];
    memset(o, 0, sizeof *o);
    o->pid0 = nrec;
    return o;
}

static void add_rec(obj_t *o, int pid, double at) {
    if (nrec == caprec) caprec = caprec ? caprec * 2 : 4096, rec = xrealloc(rec, caprec * sizeof *rec);
    rec[nrec++] = (rec_t){pid, at};
    o->npids++;
}

static double dmax(double a, double b) { return a > b ? a : b; }

// Per semaphore: GETPID, GETNCNT, GETZCNT (and GETALL once with --json). Returns -1 when the set is gone.
static int read_semaphores(obj_t *o) {
    unsigned short values[4096];
    if (json) {
        union semun arg = {.array = values};
        n_semctl++;
        if (o->nsems <= 4096 && semctl(o->id, 0, GETALL, arg) < 0) return -1;
    }
    double at = dmax(o->otime, o->ctime);
    for (int n = 0; n < o->nsems; n++) {
        int pid = semctl(o->id, n, GETPID);
        int ncnt = semctl(o->id, n, GETNCNT);
        int zcnt = semctl(o->id, n, GETZCNT);
        n_semctl += 3;
        if (pid < 0 || ncnt < 0 || zcnt < 0) return -1;
        if (ncnt > 0 || zcnt > 0) o->direct = 1;
        if (pid > 0) add_rec(o, pid, at);
    }
    return 0;
}

// SEM_INFO, then SEM_STAT_ANY per index; the per-semaphore reads unless planning (clean).
static void read_sets(int detail) {
    struct seminfo info;
    union semun arg = {.__buf = &info};
    int max = semctl(0, 0, SEM_INFO, arg);
    n_semctl++;
    for (int i = 0; i <= max; i++) {
        struct semid_ds ds;
        union semun a = {.buf = &ds};
        int id = semctl(i, 0, SEM_STAT_ANY, a);
        n_semctl++;
        if (id < 0) continue;
        obj_t *o = new_obj();
        o->id = id;
        o->uid = ds.sem_perm.uid, o->gid = ds.sem_perm.gid, o->cuid = ds.sem_perm.cuid, o->cgid = ds.sem_perm.cgid;
        o->mode = ds.sem_perm.mode & 0777;
        o->nsems = (int)ds.sem_nsems;
        o->ctime = (double)ds.sem_ctime, o->otime = (double)ds.sem_otime;
        o->last = dmax(o->ctime, o->otime);
        if (detail && read_semaphores(o) < 0) nobjs--;
    }
}

// /proc/sysvipc/shm or msg: columns found by the header's names, split on whitespace.
static void read_proc_kind(const char *path, int shm) {
    if (slurp(path) < 0) return;
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    if (!line) return;
    enum { MAXC = 32 };
    char *names[MAXC];
    int nc = 0;
    for (char *s2, *t = strtok_r(line, " \t", &s2); t && nc < MAXC; t = strtok_r(NULL, " \t", &s2)) names[nc++] = t;
    int col[16];
    const char *want_shm[] = {"shmid", "perms", "cpid", "lpid", "nattch", "uid", "gid", "cuid", "cgid", "atime", "dtime", "ctime"};
    const char *want_msg[] = {"msqid", "perms", "qnum", "lspid", "lrpid", "uid", "gid", "cuid", "cgid", "stime", "rtime", "ctime"};
    const char **want = shm ? want_shm : want_msg;
    for (int w = 0; w < 12; w++) {
        col[w] = -1;
        for (int c = 0; c < nc; c++)
            if (strcmp(names[c], want[w]) == 0) col[w] = c;
        if (col[w] < 0) return;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        long long v[MAXC];
        int c = 0;
        // Every column is decimal but perms, which is octal.
        for (char *s2, *t = strtok_r(line, " \t", &s2); t && c < MAXC; t = strtok_r(NULL, " \t", &s2), c++)
            v[c] = strtoll(t, NULL, c == col[1] ? 8 : 10);
        if (c < nc) continue;
        obj_t *o = new_obj();
        o->id = (int)v[col[0]];
        o->uid = (uint32_t)v[col[5]], o->gid = (uint32_t)v[col[6]], o->cuid = (uint32_t)v[col[7]], o->cgid = (uint32_t)v[col[8]];
        o->mode = (uint32_t)v[col[1]] & 0777;
        double t1 = (double)v[col[9]], t2 = (double)v[col[10]], ct = (double)v[col[11]];
        o->ctime = ct;
        o->last = dmax(ct, dmax(t1, t2));
        if (shm) {
            if (v[col[4]] > 0) o->direct = o->attached = 1;
            if (v[col[2]] > 0) add_rec(o, (int)v[col[2]], ct);
            if (v[col[3]] > 0) add_rec(o, (int)v[col[3]], o->last);
        } else {
            if (v[col[2]] > 0) o->direct = 1;
            if (v[col[3]] > 0) add_rec(o, (int)v[col[3]], dmax(t1, ct));
            if (v[col[4]] > 0) add_rec(o, (int)v[col[4]], dmax(t2, ct));
        }
    }
}

// getpwuid per distinct uid and creator uid; getgrgid per distinct gid and cgid with --json.
static void read_names(void) {
    map_t seen_u = {0}, seen_g = {0};
    for (size_t i = 0; i < nobjs; i++) {
        uint32_t us[2] = {objs[i].uid, objs[i].cuid}, gs[2] = {objs[i].gid, objs[i].cgid};
        for (int k = 0; k < 2; k++) {
            if (!map_get(&seen_u, us[k], NULL)) {
                map_put_max(&seen_u, us[k], 0);
                getpwuid(us[k]);
                n_names++;
            }
            if (json && !map_get(&seen_g, gs[k], NULL)) {
                map_put_max(&seen_g, gs[k], 0);
                getgrgid(gs[k]);
                n_names++;
            }
        }
    }
}

// ---------------------------------------------------------------- processes

typedef struct {
    int pid, ppid;
    char state;
    int creds;  // status read (credentials known)
    uint32_t uid, euid, gid, egid;
    uint32_t groups[64];
    int ngroups;
    uint64_t capeff;
    int nsinit;
    int statread;
    double start;
    char comm[32];
    int nsread;
    unsigned long long ipcns;
    int reach, holder;
} proc_t;

static proc_t *procs;
static size_t nprocs;
static int ownpid;
static unsigned long long ownns;
static double boot, hz;

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static proc_t *find_proc(int pid) {
    size_t lo = 0, hi = nprocs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (procs[mid].pid < pid) lo = mid + 1; else hi = mid;
    }
    return lo < nprocs && procs[lo].pid == pid ? &procs[lo] : NULL;
}

static int is_root(const proc_t *p) { return p->uid == 0 || p->euid == 0; }
static int ipc_owner(const proc_t *p) { return (p->capeff >> 15) & 1; }
static int live(const proc_t *p) { return p->state != 'Z' && p->state != 'X' && p->state != 'x'; }

static void parse_ids(const char *line, uint32_t *a, uint32_t *b) {
    char *end;
    *a = (uint32_t)strtoul(line, &end, 10);
    *b = (uint32_t)strtoul(end, NULL, 10);
}

static int read_status(proc_t *p) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", p->pid);
    n_status++;
    if (slurp_single(path) < 0) return errno == ENOENT || errno == ESRCH ? -1 : 0;
    for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (!strncmp(l, "State:\t", 7)) p->state = l[7];
        else if (!strncmp(l, "PPid:\t", 6)) p->ppid = atoi(l + 6);
        else if (!strncmp(l, "Uid:\t", 5)) parse_ids(l + 5, &p->uid, &p->euid);
        else if (!strncmp(l, "Gid:\t", 5)) parse_ids(l + 5, &p->gid, &p->egid);
        else if (!strncmp(l, "Groups:\t", 8)) {
            char *s = l + 8, *end;
            p->ngroups = 0;
            for (;;) {
                unsigned long g = strtoul(s, &end, 10);
                if (end == s || p->ngroups == 64) break;
                p->groups[p->ngroups++] = (uint32_t)g;
                s = end;
            }
        } else if (!strncmp(l, "CapEff:\t", 8)) p->capeff = strtoull(l + 8, NULL, 16);
        else if (!strncmp(l, "NSpid:\t", 7)) {
            char *last = strrchr(l, '\t');
            char *nl = strchr(l, '\n');
            p->nsinit = last && (!nl || last < nl) && atoi(last + 1) == 1;
        }
    }
    p->creds = 1;
    return 1;
}

static void read_stat(proc_t *p) {
    if (p->statread) return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", p->pid);
    n_stat++;
    p->statread = 1;
    if (slurp_single(path) < 0) return;
    char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (!open_ || !close_) return;
    size_t n = (size_t)(close_ - open_ - 1);
    if (n >= sizeof p->comm) n = sizeof p->comm - 1;
    memcpy(p->comm, open_ + 1, n);
    p->comm[n] = 0;
    // Fields after the comm: 3 state, 4 ppid, ... 22 starttime.
    char *s = close_ + 2;
    p->state = *s;
    int field = 3;
    while (field < 22 && (s = strchr(s, ' '))) s++, field++;
    if (s) p->start = boot + strtoull(s, NULL, 10) / hz;
}

static void read_ns(proc_t *p) {
    if (p->nsread) return;
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/%d/ns/ipc", p->pid);
    n_ns++;
    p->nsread = 1;
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n > 0) {
        link[n] = 0;
        char *b = strchr(link, '[');
        if (b) p->ipcns = strtoull(b + 1, NULL, 10);
    }
}

static int same_ns(const proc_t *p) { return !p->nsread || !p->ipcns || !ownns || p->ipcns == ownns; }

// The objects without kernel-level evidence, by what reaches them: the latest last activity per owner or
// creator uid, per gid or cgid (group bits), of any object with other bits, and of root objects.
static map_t by_uid, by_gid;
static double any_last = -1, root_last = -1, min_last = -1, max_last = -1;

static void index_objects(void) {
    map_clear(&by_uid);
    map_clear(&by_gid);
    any_last = root_last = min_last = max_last = -1;
    for (size_t i = 0; i < nobjs; i++) {
        obj_t *o = &objs[i];
        if (o->direct) continue;
        map_put_max(&by_uid, o->uid, o->last);
        map_put_max(&by_uid, o->cuid, o->last);
        if (o->mode & 070) map_put_max(&by_gid, o->gid, o->last), map_put_max(&by_gid, o->cgid, o->last);
        if (o->mode & 007) any_last = dmax(any_last, o->last);
        if (o->uid == 0 || o->cuid == 0) root_last = dmax(root_last, o->last);
        if (min_last < 0 || o->last < min_last) min_last = o->last;
        max_last = dmax(max_last, o->last);
    }
}

// The latest last activity of an object without direct evidence that this process could reach (-1: none).
static double reach_last(const proc_t *p) {
    if (!p->creds) return max_last;  // unreadable credentials reach every object
    double best = -1, v;
    if (is_root(p)) return root_last;
    uint32_t ids[2] = {p->uid, p->euid};
    for (int k = 0; k < 2; k++)
        if (map_get(&by_uid, ids[k], &v)) best = dmax(best, v);
    if (by_gid.used) {
        if (map_get(&by_gid, p->gid, &v)) best = dmax(best, v);
        if (map_get(&by_gid, p->egid, &v)) best = dmax(best, v);
        for (int g = 0; g < p->ngroups; g++)
            if (map_get(&by_gid, p->groups[g], &v)) best = dmax(best, v);
    }
    best = dmax(best, any_last);
    if (ipc_owner(p)) best = dmax(best, root_last);
    return best;
}

static map_t recorded;  // recorded pids (value unused)

static void read_processes(void) {
    DIR *d = opendir("/proc");
    if (!d) {
        perror("floor: /proc");
        exit(1);
    }
    int *pids = NULL;
    size_t np = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        if (np == cap) cap = cap ? cap * 2 : 1024, pids = xrealloc(pids, cap * sizeof *pids);
        pids[np++] = atoi(e->d_name);
    }
    closedir(d);
    qsort(pids, np, sizeof *pids, cmp_int);
    procs = xrealloc(NULL, np * sizeof *procs);
    index_objects();
    for (size_t i = 0; i < np; i++) {
        if (pids[i] == ownpid) continue;
        proc_t *p = &procs[nprocs];
        memset(p, 0, sizeof *p);
        p->pid = pids[i];
        p->uid = p->euid = p->gid = p->egid = UINT32_MAX;
        if (read_status(p) < 0) continue;
        nprocs++;
        p->reach = reach_last(p) >= 0;
        if (p->reach || map_get(&recorded, (uint32_t)p->pid, NULL)) {
            read_stat(p);
            read_ns(p);
        }
    }
    free(pids);
    // Parents of processes that may fall in an inheritance window: their start and comm decide re-parenting.
    for (size_t i = 0; i < nprocs; i++) {
        proc_t *p = &procs[i];
        if (!p->reach || !p->statread || p->ppid <= 1 || p->start < min_last + 1) continue;
        proc_t *q = find_proc(p->ppid);
        if (q && !q->statread) read_stat(q), n_parents++;
    }
}

// A recorded pid that is alive in the namespace and not provably younger than the recording.
static proc_t *live_recorded(int pid, double at) {
    proc_t *p = find_proc(pid);
    if (!p) {
        // A thread id: /proc/PID/status gives its thread group. Once per pid (an exited pid is recorded by many
        // objects).
        static map_t tried;  // pid -> thread group id (0: none)
        double tgid = 0;
        if (!map_get(&tried, (uint32_t)pid, &tgid)) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/status", pid);
            n_threads++;
            if (slurp_single(path) >= 0) {
                char *t = strstr(buf, "Tgid:\t");
                if (t) tgid = atoi(t + 6);
            }
            map_put_max(&tried, (uint32_t)pid, tgid);
        }
        p = tgid > 0 ? find_proc((int)tgid) : NULL;
        if (!p) return NULL;
    }
    if (!p->statread) read_stat(p);
    if (!p->nsread) read_ns(p);
    return live(p) && same_ns(p) && p->start < at + 1 ? p : NULL;
}

// /proc/PID/maps of the processes that could map an attached segment; marks the mapping ones as holders.
static void read_maps(void) {
    map_t owners = {0};
    int open_mode = 0, any = 0;
    for (size_t i = 0; i < nobjs; i++) {
        if (!objs[i].attached) continue;
        any = 1;
        map_put_max(&owners, objs[i].uid, 0);
        map_put_max(&owners, objs[i].cuid, 0);
        if (objs[i].mode & 066) open_mode = 1;
    }
    if (!any) return;
    for (size_t i = 0; i < nprocs; i++) {
        proc_t *p = &procs[i];
        if (!live(p)) continue;
        if (!(open_mode || !p->creds || is_root(p) || ipc_owner(p) || map_get(&owners, p->uid, NULL) ||
              map_get(&owners, p->euid, NULL)))
            continue;
        read_ns(p);
        if (!same_ns(p)) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/maps", p->pid);
        n_maps++;
        if (slurp(path) < 0) continue;
        if (strstr(buf, "/SYSV")) {
            p->holder = 1;
            if (!p->statread) read_stat(p);
        }
    }
    free(owners.keys);
    free(owners.vals);
}

static void read_cgroup(proc_t *p) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", p->pid);
    n_cgroup++;
    slurp_single(path);
}

// ---------------------------------------------------------------- the commands

static void common_reads(const char *clock_path) {
    char link[64];
    // Visibility: procfs mount options, the own IPC namespace. The clock pair.
    slurp("/proc/self/mountinfo");
    ssize_t n = readlink("/proc/self/ns/ipc", link, sizeof link - 1);
    if (n > 0) {
        link[n] = 0;
        char *b = strchr(link, '[');
        if (b) ownns = strtoull(b + 1, NULL, 10);
    }
    struct stat st;
    if (lstat(clock_path, &st) == 0) slurp(clock_path);
    struct timespec r, bt;
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_BOOTTIME, &bt);
    boot = (r.tv_sec + r.tv_nsec / 1e9) - (bt.tv_sec + bt.tv_nsec / 1e9);
    hz = (double)sysconf(_SC_CLK_TCK);
    if (hz <= 0) hz = 100;
}

// --json: the units (cgroup) of the holders and of the processes that could be listed as possible holders (of
// the namespace when `same_namespace`: System V objects; POSIX files are reached through the mount, from any).
static void read_units(int same_namespace) {
    index_objects();
    for (size_t i = 0; i < nprocs; i++) {
        proc_t *p = &procs[i];
        if (!live(p)) continue;
        if (p->holder) {
            read_cgroup(p);
            continue;
        }
        if (!p->reach || (same_namespace && !same_ns(p))) continue;
        double last = reach_last(p);
        if (last >= 0 && p->start < last + 1 + window) read_cgroup(p);
    }
}

static void list(void) {
    read_sets(1);
    read_proc_kind("/proc/sysvipc/shm", 1);
    read_proc_kind("/proc/sysvipc/msg", 0);
    DIR *shm = opendir("/dev/shm");  // POSIX shared memory and named semaphores
    if (shm) {
        while (readdir(shm)) {}
        closedir(shm);
    }
    for (size_t i = 0; i < nrec; i++) map_put_max(&recorded, (uint32_t)rec[i].pid, 0);
    read_processes();
    // Direct evidence by live recorded pids; their processes are holders.
    for (size_t i = 0; i < nobjs; i++)
        for (size_t k = 0; k < objs[i].npids; k++) {
            proc_t *p = live_recorded(rec[objs[i].pid0 + k].pid, rec[objs[i].pid0 + k].at);
            if (p) objs[i].direct = 1, p->holder = 1;
        }
    read_maps();
    read_names();
    if (json) read_units(1);
}

// Whether a set planned from its stat alone has a possible holder: a live process of the namespace that
// reaches it and existed at its last activity, or started within the window after it (re-parented or not:
// the floor does not refine that, which only makes it keep more).
static int has_possible_holder(const obj_t *o) {
    for (size_t i = 0; i < nprocs; i++) {
        const proc_t *p = &procs[i];
        if (!p->reach || !live(p) || !same_ns(p)) continue;
        if (p->statread && p->start >= o->last + 1 + window) continue;
        int r;
        if (!p->creds) r = 1;
        else if (is_root(p)) r = o->uid == 0 || o->cuid == 0;
        else {
            r = p->uid == o->uid || p->euid == o->uid || p->uid == o->cuid || p->euid == o->cuid || (o->mode & 007);
            if (!r && (o->mode & 070)) {
                uint32_t gs[2] = {o->gid, o->cgid};
                for (int k = 0; k < 2 && !r; k++) {
                    r = p->gid == gs[k] || p->egid == gs[k];
                    for (int g = 0; g < p->ngroups && !r; g++) r = p->groups[g] == gs[k];
                }
            }
            if (!r && ipc_owner(p)) r = o->uid == 0 || o->cuid == 0;
        }
        if (r) return 1;
    }
    return 0;
}

static long removed, kept;

static void clean(const char *lock_path) {
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock >= 0) flock(lock, LOCK_EX);
    read_sets(0);
    read_processes();
    read_names();
    // Whether a set has a possible holder depends on its owner key and its last activity: for owner-only sets
    // (uid == cuid, mode 0600 or less) a holder at an earlier activity is one at a later one too, and no holder
    // at a later one means none at an earlier one. Cache both per uid (many sets of one owner).
    map_t orphan_upto = {0}, held_from = {0};
    for (size_t i = 0; i < nobjs; i++) {
        obj_t *o = &objs[i];
        int simple = o->uid == o->cuid && !(o->mode & 077) && o->uid != 0;
        double t;
        int orphan;
        if (simple && map_get(&orphan_upto, o->uid, &t) && o->last <= t) orphan = 1;
        else if (simple && map_get(&held_from, o->uid, &t) && o->last >= -t) orphan = 0;
        else {
            orphan = !has_possible_holder(o);
            if (simple && orphan) map_put_max(&orphan_upto, o->uid, o->last);
            if (simple && !orphan) map_put_max(&held_from, o->uid, -o->last);  // the earliest, as a max of -last
        }
        if (!orphan) {
            kept++;
            continue;
        }
        // The re-check by id, the per-semaphore reads that decide it is still orphaned, the removal.
        struct semid_ds ds;
        union semun a = {.buf = &ds};
        n_semctl++;
        if (semctl(o->id, 0, IPC_STAT, a) < 0) continue;
        if ((double)ds.sem_ctime != o->ctime || (double)ds.sem_otime != o->otime) {
            kept++;
            continue;
        }
        size_t before = nrec;
        if (read_semaphores(o) < 0 || o->direct) {
            kept++;
            continue;
        }
        int held = 0;
        for (size_t k = before; k < nrec; k++)
            if (live_recorded(rec[k].pid, rec[k].at)) held = 1;
        if (held) {
            kept++;
            continue;
        }
        n_semctl++;
        if (semctl(o->id, 0, IPC_RMID) == 0) removed++;
    }
    if (lock >= 0) close(lock);
}

// ---------------------------------------------------------------- POSIX objects

typedef struct {
    int dir;          // index in pdirs
    char name[256];
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    int granted, refused, mq;
} pobj_t;

static pobj_t *pobjs;
static size_t npobjs, cappobjs;
static const char *pdirs[2];
static int pdirfds[2] = {-1, -1};
static int npdirs;
static long n_open, n_lease, n_xattr, n_fds, n_fdstat, n_renames, n_unlinks;
static map_t unanswered;  // inode (low 32 bits) of the objects whose lease was not granted

// The mqueue mount point from mountinfo (read by common_reads into buf: read it again here, it is small).
static char mq_path[256];

static void find_mqueue(void) {
    if (slurp("/proc/self/mountinfo") < 0) return;
    for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        char *sep = strstr(l, " - mqueue ");
        char *nl = strchr(l, '\n');
        if (!sep || (nl && sep > nl)) continue;
        // Field 5 is the mount point.
        char *f = l;
        for (int k = 0; k < 4 && f; k++) f = strchr(f, ' '), f = f ? f + 1 : NULL;
        if (!f) continue;
        size_t n = strcspn(f, " ");
        if (n >= sizeof mq_path) continue;
        memcpy(mq_path, f, n);
        mq_path[n] = 0;
        return;
    }
}

static double ts(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

// One directory: every regular entry opened, leased, stat'ed, its ACL read (and a queue's state), let go.
static void scan_posix(const char *path, int mq, const char *prefix) {
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;
    int di = npdirs++;
    pdirs[di] = path;
    pdirfds[di] = dfd;
    DIR *d = fdopendir(dup(dfd));
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_REG) continue;  // tmpfs and mqueue give the type: no stat of other entries
        if (prefix && strncmp(e->d_name, prefix, strlen(prefix))) continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        n_open++;
        if (fd < 0) continue;
        int granted = fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
        int refused = !granted && errno == EAGAIN;
        n_lease++;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            if (granted) fcntl(fd, F_SETLEASE, F_UNLCK);
            close(fd);
            continue;
        }
        char acl[512];
        ssize_t acl_len = fgetxattr(fd, "system.posix_acl_access", acl, sizeof acl);
        n_xattr++;
        if (mq) {  // the state text (sets the queue's ctime, never its mtime) and mq_getattr (the messages)
            char state[128];
            struct mq_attr attr;
            if (read(fd, state, sizeof state) < 0) {}
            syscall(SYS_mq_getsetattr, fd, NULL, &attr);
        }
        if (granted) fcntl(fd, F_SETLEASE, F_UNLCK);
        close(fd);
        if (npobjs == cappobjs) cappobjs = cappobjs ? cappobjs * 2 : 1024, pobjs = xrealloc(pobjs, cappobjs * sizeof *pobjs);
        pobj_t *p = &pobjs[npobjs++];
        memset(p, 0, sizeof *p);
        p->dir = di;
        snprintf(p->name, sizeof p->name, "%s", e->d_name);
        p->dev = st.st_dev, p->ino = st.st_ino;
        p->mtime = st.st_mtim, p->ctime = st.st_ctim;
        p->granted = granted, p->refused = refused, p->mq = mq;
        obj_t *o = new_obj();
        o->posix = 1;
        o->pobj_ix = npobjs - 1;
        o->uid = o->cuid = st.st_uid, o->gid = o->cgid = st.st_gid;
        o->mode = st.st_mode & 0777;
        if (o->mode & 070 && acl_len > 0) o->mode |= 007;  // named entries reach it: as the other bits
        o->last = dmax(ts(st.st_mtim), ts(st.st_ctim));
        o->ctime = ts(st.st_ctim), o->otime = ts(st.st_mtim);
        o->direct = refused;  // a refused lease: held (its holder is named from /proc)
        if (!granted) map_put_max(&unanswered, (uint32_t)st.st_ino, 0);
    }
    closedir(d);
}

// Descriptors (fstatat per entry of /proc/PID/fd) and mappings (/proc/PID/maps, the inode field) of every live
// process, matched against the objects whose lease was not granted.
static void read_posix_handles(void) {
    if (!unanswered.used) return;
    for (size_t i = 0; i < nprocs; i++) {
        proc_t *p = &procs[i];
        if (!live(p)) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", p->pid);
        n_fds++;
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            DIR *d = fdopendir(dfd);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                struct stat st;
                n_fdstat++;
                if (fstatat(dfd, e->d_name, &st, 0) == 0 && map_get(&unanswered, (uint32_t)st.st_ino, NULL)) p->holder = 1;
            }
            if (d) closedir(d);
        }
        snprintf(path, sizeof path, "/proc/%d/maps", p->pid);
        n_maps++;
        if (slurp(path) < 0) continue;
        // "start-end perms offset dev inode path": the fifth field.
        for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
            char *f = l;
            for (int k = 0; k < 4 && f; k++) f = strchr(f, ' '), f = f ? f + 1 : NULL;
            if (!f) break;
            unsigned long ino = strtoul(f, NULL, 10);
            if (ino && map_get(&unanswered, (uint32_t)ino, NULL)) p->holder = 1;
        }
        if (p->holder && !p->statread) read_stat(p);
    }
}

static void posix_list(const char *prefix) {
    find_mqueue();
    scan_posix("/dev/shm", 0, prefix);
    if (mq_path[0]) scan_posix(mq_path, 1, prefix);
    read_processes();
    read_posix_handles();
    read_names();
    if (json) read_units(0);
}

static void posix_clean(const char *lock_path, int yes, const char *prefix) {
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock >= 0) flock(lock, LOCK_EX);
    posix_list(prefix);
    for (size_t i = 0; i < nobjs; i++) {
        obj_t *o = &objs[i];
        pobj_t *po = &pobjs[o->pobj_ix];
        if (!po->granted || has_possible_holder(o)) {
            kept++;
            continue;
        }
        // The re-check: the same inode and times, under a new lease; its ACL again.
        int dfd = pdirfds[po->dir];
        int fd = openat(dfd, po->name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        n_open++;
        if (fd < 0) continue;
        n_lease++;
        struct stat st;
        if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0 || fstat(fd, &st) < 0 || st.st_ino != po->ino ||
            ts(st.st_mtim) != ts(po->mtime) || (!po->mq && ts(st.st_ctim) != ts(po->ctime))) {
            kept++;
            close(fd);
            continue;
        }
        char acl[512];
        fgetxattr(fd, "system.posix_acl_access", acl, sizeof acl);
        n_xattr++;
        if (yes) {
            // The removal under the lease: the name still names it, moved to a hidden name, nobody opened it.
            struct stat at;
            char hidden[300];
            snprintf(hidden, sizeof hidden, ".ipcsweep-floor-%lu", (unsigned long)po->ino);
            if (fstatat(dfd, po->name, &at, AT_SYMLINK_NOFOLLOW) == 0 && at.st_ino == po->ino &&
                renameat2(dfd, po->name, dfd, hidden, RENAME_NOREPLACE) == 0) {
                n_renames++;
                if (fstatat(dfd, hidden, &at, AT_SYMLINK_NOFOLLOW) == 0 && at.st_ino == po->ino &&
                    fcntl(fd, F_GETLEASE) == F_WRLCK && unlinkat(dfd, hidden, 0) == 0) {
                    n_unlinks++;
                    removed++;
                    fcntl(fd, F_GETLEASE);
                }
            }
        } else {
            removed++;  // would remove
        }
        fcntl(fd, F_SETLEASE, F_UNLCK);
        close(fd);
    }
    if (lock >= 0) close(lock);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    const char *lock_path = "/run/ipcsweep.lock", *clock_path = "/run/ipcsweep.clock", *prefix = NULL;
    int yes = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "--lock") && i + 1 < argc) lock_path = argv[++i];
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc) clock_path = argv[++i];
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) window = atof(argv[++i]);
        else if (!strcmp(argv[i], "--yes")) yes = 1;
        else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) prefix = argv[++i];
        else {
            fprintf(stderr, "floor: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    ownpid = getpid();
    double t0 = now_real();
    common_reads(clock_path);
    if (!strcmp(mode, "list")) list();
    else if (!strcmp(mode, "clean")) clean(lock_path);
    else if (!strcmp(mode, "posix-list")) posix_list(prefix);
    else if (!strcmp(mode, "posix-clean")) posix_clean(lock_path, yes, prefix);
    else {
        fprintf(stderr, "usage: floor list [--json] | floor clean | floor posix-list [--json] | floor posix-clean [--yes] "
                        "[--prefix P]; options [--lock PATH] [--clock PATH] [--window S] [--quiet]\n");
        return 2;
    }
    if (!quiet) {
        fprintf(stderr,
                "floor %s%s: %zu objects, %zu processes; reads: status %ld, stat %ld (parents %ld), ns/ipc %ld, "
                "maps %ld, cgroup %ld, thread status %ld; semctl %ld; name lookups %ld",
                mode, json ? " --json" : "", nobjs, nprocs, n_status, n_stat, n_parents, n_ns, n_maps, n_cgroup,
                n_threads, n_semctl, n_names);
        if (!strncmp(mode, "posix", 5))
            fprintf(stderr, "; POSIX: opened %ld, leases %ld, ACLs %ld, fd directories %ld, descriptors %ld, renames %ld, unlinks %ld",
                    n_open, n_lease, n_xattr, n_fds, n_fdstat, n_renames, n_unlinks);
        if (!strcmp(mode, "clean") || !strcmp(mode, "posix-clean")) fprintf(stderr, "; removed %ld, kept %ld", removed, kept);
        else {
            long direct = 0;
            for (size_t i = 0; i < nobjs; i++) direct += objs[i].direct;
            fprintf(stderr, "; %ld with direct evidence", direct);
        }
        fprintf(stderr, "; %.1f ms\n", (now_real() - t0) * 1000);
    }
    return 0;
}
