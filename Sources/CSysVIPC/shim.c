#define _GNU_SOURCE
#include "CSysVIPC.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>
#include <mqueue.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static void copy_perm(const struct ipc_perm *p, cipc_perm_t *out) {
    out->key = (int32_t)p->__key;
    out->uid = p->uid;
    out->gid = p->gid;
    out->cuid = p->cuid;
    out->cgid = p->cgid;
    out->mode = p->mode;
}

static void copy_sem(const struct semid_ds *d, cipc_sem_ds_t *out) {
    copy_perm(&d->sem_perm, &out->perm);
    out->otime = (int64_t)d->sem_otime;
    out->ctime = (int64_t)d->sem_ctime;
    out->nsems = (uint64_t)d->sem_nsems;
}

static void copy_shm(const struct shmid_ds *d, cipc_shm_ds_t *out) {
    copy_perm(&d->shm_perm, &out->perm);
    out->size = (uint64_t)d->shm_segsz;
    out->atime = (int64_t)d->shm_atime;
    out->dtime = (int64_t)d->shm_dtime;
    out->ctime = (int64_t)d->shm_ctime;
    out->cpid = d->shm_cpid;
    out->lpid = d->shm_lpid;
    out->nattch = (uint64_t)d->shm_nattch;
}

static void copy_msg(const struct msqid_ds *d, cipc_msg_ds_t *out) {
    copy_perm(&d->msg_perm, &out->perm);
    out->stime = (int64_t)d->msg_stime;
    out->rtime = (int64_t)d->msg_rtime;
    out->ctime = (int64_t)d->msg_ctime;
    out->cbytes = (uint64_t)d->__msg_cbytes;
    out->qnum = (uint64_t)d->msg_qnum;
    out->qbytes = (uint64_t)d->msg_qbytes;
    out->lspid = d->msg_lspid;
    out->lrpid = d->msg_lrpid;
}

int cipc_sem_max_index(void) {
    struct seminfo info;
    union semun arg = {.__buf = &info};
    return semctl(0, 0, SEM_INFO, arg);
}

int cipc_shm_max_index(void) {
    struct shm_info info;
    return shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
}

int cipc_msg_max_index(void) {
    struct msginfo info;
    return msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
}

int cipc_sem_stat_index(int index, int any, cipc_sem_ds_t *out) {
    struct semid_ds d;
    union semun arg = {.buf = &d};
    int id = semctl(index, 0, any ? SEM_STAT_ANY : SEM_STAT, arg);
    if (id >= 0) copy_sem(&d, out);
    return id;
}

int cipc_shm_stat_index(int index, int any, cipc_shm_ds_t *out) {
    struct shmid_ds d;
    int id = shmctl(index, any ? SHM_STAT_ANY : SHM_STAT, &d);
    if (id >= 0) copy_shm(&d, out);
    return id;
}

int cipc_msg_stat_index(int index, int any, cipc_msg_ds_t *out) {
    struct msqid_ds d;
    int id = msgctl(index, any ? MSG_STAT_ANY : MSG_STAT, &d);
    if (id >= 0) copy_msg(&d, out);
    return id;
}

int cipc_sem_stat_id(int semid, cipc_sem_ds_t *out) {
    struct semid_ds d;
    union semun arg = {.buf = &d};
    int rc = semctl(semid, 0, IPC_STAT, arg);
    if (rc == 0) copy_sem(&d, out);
    return rc;
}

int cipc_shm_stat_id(int shmid, cipc_shm_ds_t *out) {
    struct shmid_ds d;
    int rc = shmctl(shmid, IPC_STAT, &d);
    if (rc == 0) copy_shm(&d, out);
    return rc;
}

int cipc_msg_stat_id(int msqid, cipc_msg_ds_t *out) {
    struct msqid_ds d;
    int rc = msgctl(msqid, IPC_STAT, &d);
    if (rc == 0) copy_msg(&d, out);
    return rc;
}

int cipc_sem_getall(int semid, unsigned short *values) {
    union semun arg = {.array = values};
    return semctl(semid, 0, GETALL, arg);
}

int cipc_sem_detail(int semid, int nsems, cipc_sem_t *out) {
    if (nsems <= 0) return 0;
    unsigned short small[256];
    unsigned short *values = nsems <= 256 ? small : malloc(sizeof(unsigned short) * (size_t)nsems);
    if (!values) return -1;
    union semun arg = {.array = values};
    int rc = semctl(semid, 0, GETALL, arg);
    for (int n = 0; rc >= 0 && n < nsems; n++) {
        int pid = semctl(semid, n, GETPID);
        int ncnt = pid < 0 ? -1 : semctl(semid, n, GETNCNT);
        int zcnt = ncnt < 0 ? -1 : semctl(semid, n, GETZCNT);
        if (pid < 0 || ncnt < 0 || zcnt < 0) { rc = -1; break; }
        out[n].value = values[n];
        out[n].pid = pid;
        out[n].ncnt = ncnt;
        out[n].zcnt = zcnt;
    }
    if (values != small) {
        int saved = errno;
        free(values);
        errno = saved;
    }
    return rc < 0 ? -1 : 0;
}

int cipc_sem_getpid(int semid, int semnum) { return semctl(semid, semnum, GETPID); }
int cipc_sem_getncnt(int semid, int semnum) { return semctl(semid, semnum, GETNCNT); }
int cipc_sem_getzcnt(int semid, int semnum) { return semctl(semid, semnum, GETZCNT); }

int cipc_sem_setval(int semid, int semnum, int value) {
    union semun arg = {.val = value};
    return semctl(semid, semnum, SETVAL, arg);
}

int cipc_sem_rmid(int semid) { return semctl(semid, 0, IPC_RMID); }
int cipc_shm_rmid(int shmid) { return shmctl(shmid, IPC_RMID, NULL); }
int cipc_msg_rmid(int msqid) { return msgctl(msqid, IPC_RMID, NULL); }

int cipc_msg_set(int msqid, uint32_t uid, uint32_t gid, uint32_t mode, uint64_t qbytes) {
    struct msqid_ds d;
    if (msgctl(msqid, IPC_STAT, &d) != 0) return -1;
    d.msg_perm.uid = uid;
    d.msg_perm.gid = gid;
    d.msg_perm.mode = (unsigned short)(mode & 0777);
    d.msg_qbytes = (msglen_t)qbytes;
    return msgctl(msqid, IPC_SET, &d);
}

int cipc_shm_set(int shmid, uint32_t uid, uint32_t gid, uint32_t mode) {
    struct shmid_ds d;
    if (shmctl(shmid, IPC_STAT, &d) != 0) return -1;
    d.shm_perm.uid = uid;
    d.shm_perm.gid = gid;
    d.shm_perm.mode = (unsigned short)(mode & 0777);
    return shmctl(shmid, IPC_SET, &d);
}

int cipc_sem_set(int semid, uint32_t uid, uint32_t gid, uint32_t mode) {
    struct semid_ds d;
    union semun arg;
    arg.buf = &d;
    if (semctl(semid, 0, IPC_STAT, arg) != 0) return -1;
    d.sem_perm.uid = uid;
    d.sem_perm.gid = gid;
    d.sem_perm.mode = (unsigned short)(mode & 0777);
    return semctl(semid, 0, IPC_SET, arg);
}

int cipc_msg_send(int msqid, long mtype, const void *bytes, size_t len) {
    struct msgbuf *m = malloc(sizeof(long) + (len ? len : 1));
    if (!m) return -1;
    m->mtype = mtype;
    if (len) memcpy(m->mtext, bytes, len);
    int rc;
    do { rc = msgsnd(msqid, m, len, IPC_NOWAIT); } while (rc < 0 && errno == EINTR);
    int saved = errno;
    free(m);
    errno = saved;
    return rc;
}

int cipc_limits(cipc_limits_t *out) {
    memset(out, 0xff, sizeof *out); /* every field -1 until read */
    int ok = 0;
    struct seminfo si;
    union semun arg = {.__buf = &si};
    if (semctl(0, 0, IPC_INFO, arg) >= 0) {
        out->semmsl = si.semmsl;
        out->semmns = si.semmns;
        out->semopm = si.semopm;
        out->semmni = si.semmni;
        ok = 1;
    }
    struct shminfo shi;
    if (shmctl(0, IPC_INFO, (struct shmid_ds *)&shi) >= 0) {
        /* "unlimited" defaults exceed INT64_MAX: clamp instead of wrapping negative. */
        out->shmmax = shi.shmmax > (unsigned long)INT64_MAX ? INT64_MAX : (int64_t)shi.shmmax;
        out->shmmni = (int64_t)shi.shmmni;
        out->shmall = shi.shmall > (unsigned long)INT64_MAX ? INT64_MAX : (int64_t)shi.shmall;
        ok = 1;
    }
    struct msginfo mi;
    if (msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= 0) {
        out->msgmax = mi.msgmax;
        out->msgmnb = mi.msgmnb;
        out->msgmni = mi.msgmni;
        ok = 1;
    }
    return ok ? 0 : -1;
}

int cipc_enter_ipc_namespace(int fd) { return setns(fd, CLONE_NEWIPC); }

int cipc_namespace_type(int fd) { return ioctl(fd, NS_GET_NSTYPE); }

int cipc_clone_newipc(void) { return CLONE_NEWIPC; }

static volatile sig_atomic_t pending_signo = 0;
static volatile sig_atomic_t pending_pid = 0;
static volatile sig_atomic_t pending_uid = 0;

static void record(int signo, siginfo_t *info, void *ctx) {
    (void)ctx;
    if (pending_signo != 0) return; /* keep the first one */
    pending_pid = info ? info->si_pid : 0;
    pending_uid = info ? (sig_atomic_t)info->si_uid : 0;
    pending_signo = signo;
}

int cipc_record_signal(int signo) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = record;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

int cipc_pending_signal(int32_t *sender_pid, uint32_t *sender_uid) {
    int s = pending_signo;
    if (s != 0) {
        if (sender_pid) *sender_pid = pending_pid;
        if (sender_uid) *sender_uid = (uint32_t)pending_uid;
    }
    return s;
}

int cipc_mq_getattr(int fd, long *maxmsg, long *msgsize, long *curmsgs) {
    struct mq_attr a;
    if (mq_getattr((mqd_t)fd, &a) != 0) return -1;
    *maxmsg = a.mq_maxmsg;
    *msgsize = a.mq_msgsize;
    *curmsgs = a.mq_curmsgs;
    return 0;
}

long cipc_mq_receive_now(int fd, char *buf, unsigned long len, unsigned int *prio) {
    struct timespec zero = {0, 0};
    return (long)mq_timedreceive((mqd_t)fd, buf, (size_t)len, prio, &zero);
}

int cipc_mq_send(int fd, const char *buf, unsigned long len, unsigned int prio) {
    struct timespec zero = {0, 0};
    return mq_timedsend((mqd_t)fd, buf, (size_t)len, prio, &zero);
}

int cipc_mq_open(const char *name, int oflag, unsigned int mode, long maxmsg, long msgsize) {
    struct mq_attr a = {0};
    a.mq_maxmsg = maxmsg;
    a.mq_msgsize = msgsize;
    return (int)mq_open(name, oflag, (mode_t)mode, maxmsg > 0 ? &a : NULL);
}

int cipc_mq_unlink(const char *name) { return mq_unlink(name); }

int cipc_lease_read(void) { return F_RDLCK; }
int cipc_lease_write(void) { return F_WRLCK; }
int cipc_lease_none(void) { return F_UNLCK; }

static pthread_once_t lease_signal_once = PTHREAD_ONCE_INIT;
static void ignore_lease_break_signal(void) { signal(SIGIO, SIG_IGN); }

int cipc_set_lease(int fd, int type) {
    if (type != F_UNLCK) pthread_once(&lease_signal_once, ignore_lease_break_signal);
    return fcntl(fd, F_SETLEASE, type);
}

int cipc_get_lease(int fd) { return fcntl(fd, F_GETLEASE); }

int cipc_rename_noreplace(int olddir, const char *oldpath, int newdir, const char *newpath) {
    return renameat2(olddir, oldpath, newdir, newpath, RENAME_NOREPLACE);
}

// Weak: resolved only when the ThreadSanitizer runtime is linked into the executable.
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

void cipc_tsan_acquire(void *addr) {
    if (__tsan_acquire) __tsan_acquire(addr);
}

void cipc_tsan_release(void *addr) {
    if (__tsan_release) __tsan_release(addr);
}
