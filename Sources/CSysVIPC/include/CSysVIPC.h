// CSysVIPC: the few System V IPC calls Swift cannot make itself.
//
// semctl(2) is variadic and takes a `union semun`; the *_STAT_ANY and *_INFO
// commands are only visible with _GNU_SOURCE, which is defined in shim.c so it
// does not leak into Swift's other imports. Every function carries the `cipc_`
// prefix, returns what the syscall returns (-1 with errno set on failure), and
// copies kernel structures into flat structs with fixed-width fields.
#ifndef CSYSVIPC_H
#define CSYSVIPC_H

#include <stdint.h>
#include <sys/types.h>

/// The permission part common to all three kinds (struct ipc_perm).
typedef struct {
    int32_t key;
    uint32_t uid, gid, cuid, cgid;
    uint32_t mode;      // low 9 bits are permissions; shm adds SHM_DEST/SHM_LOCKED
} cipc_perm_t;

typedef struct {
    cipc_perm_t perm;
    int64_t otime, ctime;
    uint64_t nsems;
} cipc_sem_ds_t;

typedef struct {
    cipc_perm_t perm;
    uint64_t size;
    int64_t atime, dtime, ctime;
    int32_t cpid, lpid;
    uint64_t nattch;
} cipc_shm_ds_t;

typedef struct {
    cipc_perm_t perm;
    int64_t stime, rtime, ctime;
    uint64_t cbytes, qnum, qbytes;
    int32_t lspid, lrpid;
} cipc_msg_ds_t;

/// Kernel limits as the *_INFO / IPC_INFO commands report them.
typedef struct {
    int64_t semmsl, semmns, semopm, semmni;    // IPC_INFO on semctl
    int64_t shmmax, shmmni, shmall;            // IPC_INFO on shmctl
    int64_t msgmax, msgmnb, msgmni;            // IPC_INFO on msgctl
} cipc_limits_t;

// Highest index in use (the return of SEM_INFO / SHM_INFO / MSG_INFO), or -1.
int cipc_sem_max_index(void);
int cipc_shm_max_index(void);
int cipc_msg_max_index(void);

// Stat by index: `any` selects *_STAT_ANY (Linux 4.17+, no read permission
// needed) instead of *_STAT. Returns the object's full id, or -1 (EINVAL for an
// empty slot).
int cipc_sem_stat_index(int index, int any, cipc_sem_ds_t *out);
int cipc_shm_stat_index(int index, int any, cipc_shm_ds_t *out);
int cipc_msg_stat_index(int index, int any, cipc_msg_ds_t *out);

// Stat by id (IPC_STAT; needs read permission). 0 or -1.
int cipc_sem_stat_id(int semid, cipc_sem_ds_t *out);
int cipc_shm_stat_id(int shmid, cipc_shm_ds_t *out);
int cipc_msg_stat_id(int msqid, cipc_msg_ds_t *out);

/// One semaphore: GETALL's value and GETPID/GETNCNT/GETZCNT.
typedef struct {
    int32_t value, pid, ncnt, zcnt;
} cipc_sem_t;

// All of a set's per-semaphore detail in one call: GETALL, then GETPID, GETNCNT and GETZCNT for
// each of the `nsems` semaphores, into `out` (nsems entries). 0, or -1 with errno from the first
// call that failed.
int cipc_sem_detail(int semid, int nsems, cipc_sem_t *out);

// Per-semaphore detail. GETALL fills `values` (nsems entries).
int cipc_sem_getall(int semid, unsigned short *values);
int cipc_sem_getpid(int semid, int semnum);
int cipc_sem_getncnt(int semid, int semnum);
int cipc_sem_getzcnt(int semid, int semnum);
int cipc_sem_setval(int semid, int semnum, int value);

// IPC_RMID for each kind. 0 or -1.
int cipc_sem_rmid(int semid);
int cipc_shm_rmid(int shmid);
int cipc_msg_rmid(int msqid);

// IPC_SET (for `restore`): IPC_STAT, then set the owner uid/gid and the permission bits (mode & 0777) and, for
// a queue, msg_qbytes (its capacity; above kernel.msgmnb needs CAP_SYS_RESOURCE). 0 or -1 with errno.
int cipc_msg_set(int msqid, uint32_t uid, uint32_t gid, uint32_t mode, uint64_t qbytes);
int cipc_shm_set(int shmid, uint32_t uid, uint32_t gid, uint32_t mode);
// The same for a semaphore set (the tests hand a set to another owner: its creator stays).
int cipc_sem_set(int semid, uint32_t uid, uint32_t gid, uint32_t mode);

// msgsnd of one message (mtype and `len` bytes, copied into a struct msgbuf) with IPC_NOWAIT: a full queue is
// EAGAIN, never a wait. 0 or -1 with errno.
int cipc_msg_send(int msqid, long mtype, const void *bytes, size_t len);

// Limits through IPC_INFO; fields the kernel did not report stay -1.
int cipc_limits(cipc_limits_t *out);

// setns(fd, CLONE_NEWIPC) for the calling thread only: afterwards semctl/shmctl/msgctl,
// shmat and files under /proc/sysvipc and /proc/sys/kernel opened by this thread see the IPC
// namespace `fd` refers to (allowed in a multithreaded process, unlike CLONE_NEWNS). 0 or -1.
int cipc_enter_ipc_namespace(int fd);

// ioctl(fd, NS_GET_NSTYPE): the CLONE_NEW* type of a namespace file (Linux 4.11+), or -1.
int cipc_namespace_type(int fd);
// CLONE_NEWIPC, for comparing with cipc_namespace_type.
int cipc_clone_newipc(void);

// Signal recording for a long-running loop: the handler (installed with
// SA_SIGINFO) only stores the signal number and the sender's pid and uid; the
// main loop polls cipc_pending_signal. Returns 0 or -1.
int cipc_record_signal(int signo);
/// 0 when no signal arrived; otherwise the first signal and its sender.
int cipc_pending_signal(int32_t *sender_pid, uint32_t *sender_uid);

// POSIX message queues (mq_* live in glibc's librt; since 2.34 in libc itself). `fd` is a queue descriptor:
// mq_open's, or open(2) of a file in an mqueue mount. mq_getattr; 0 or -1.
int cipc_mq_getattr(int fd, long *maxmsg, long *msgsize, long *curmsgs);
/// mq_timedreceive with a zero timeout into buf (len >= mq_msgsize); the length, or -1 (EAGAIN/ETIMEDOUT: empty).
long cipc_mq_receive_now(int fd, char *buf, unsigned long len, unsigned int *prio);
/// mq_send with priority prio (tests and restore); 0 or -1.
int cipc_mq_send(int fd, const char *buf, unsigned long len, unsigned int prio);
/// mq_open(name, oflag, mode, attr) with attr {maxmsg, msgsize} when maxmsg > 0, else NULL (restore); the descriptor or -1.
int cipc_mq_open(const char *name, int oflag, unsigned int mode, long maxmsg, long msgsize);
/// mq_unlink; 0 or -1.
int cipc_mq_unlink(const char *name);

// Write leases (fcntl F_SETLEASE / F_GETLEASE, GNU-only constants) and renameat2 RENAME_NOREPLACE.
/// The lease types: F_RDLCK, F_WRLCK, F_UNLCK.
int cipc_lease_read(void);
int cipc_lease_write(void);
int cipc_lease_none(void);
/// fcntl(fd, F_SETLEASE, type); 0 or -1. Before the first one, SIGIO (the lease-break signal, whose default
/// action ends the process) is ignored for the process: a break is read back with F_GETLEASE instead.
int cipc_set_lease(int fd, int type);
/// fcntl(fd, F_GETLEASE): the lease type held, or the type it is being broken to (F_RDLCK/F_UNLCK while a
/// break is pending); -1 on error.
int cipc_get_lease(int fd);
/// renameat2(olddir, oldpath, newdir, newpath, RENAME_NOREPLACE); 0 or -1 (EEXIST: the new name exists).
int cipc_rename_noreplace(int olddir, const char *oldpath, int newdir, const char *newpath);

// ThreadSanitizer annotations for a lock it cannot see (Synchronization.Mutex on Linux parks on a raw futex):
// a happens-before edge from each release to the next acquire of `addr`. No-ops unless the ThreadSanitizer
// runtime is linked in (`swift build --sanitize=thread`).
void cipc_tsan_acquire(void *addr);
void cipc_tsan_release(void *addr);

#endif
