import Foundation
import XCTest

@testable import IPCSweepCore

/// A fixed audit input: two sets of one www-data leak, a set of a deleted uid, a live root set, a world-writable
/// in-use segment, a suspect queue, a /dev/shm file with an ACL for nobody and a private named semaphore.
enum AuditSample {
    static let now: Double = 1_800_000_000  // 2027-01-15T08:00:00Z
    static let t0: Int64 = 1_799_990_000     // creation of the leaked sets
    static let t1: Int64 = 1_799_996_400     // the crash (SEM_UNDO at exit)

    static let names = NameLookup(
        user: { [0: "root", 33: "www-data", 65534: "nobody"][$0] },
        group: { [0: "root", 33: "www-data", 65534: "nogroup"][$0] })

    static func perm(key: Int32 = 0, uid: UInt32, gid: UInt32? = nil, mode: UInt32 = 0o600) -> IPCPermissions {
        IPCPermissions(key: key, uid: uid, gid: gid ?? uid, cuid: uid, cgid: gid ?? uid, mode: mode)
    }

    static let leaked1 = SemaphoreSet(id: 32768, perm: perm(key: 0, uid: 33), nsems: 1, otime: t1, ctime: t0,
                                      semaphores: [Semaphore(value: 1, pid: 4100, ncnt: 0, zcnt: 0)])
    static let leaked2 = SemaphoreSet(id: 32769, perm: perm(key: 0, uid: 33), nsems: 1, otime: 0, ctime: t0,
                                      semaphores: [Semaphore(value: 1, pid: 0, ncnt: 0, zcnt: 0)])
    static let ghost = SemaphoreSet(id: 5, perm: perm(key: 0x1234, uid: 4242), nsems: 3, otime: 0, ctime: t0 + 60,
                                    semaphores: Array(repeating: Semaphore(value: 0, pid: 0, ncnt: 0, zcnt: 0), count: 3))
    static let live = SemaphoreSet(id: 7, perm: perm(key: 0x1, uid: 0), nsems: 2, otime: t1 + 5, ctime: t1,
                                   semaphores: [Semaphore(value: 0, pid: 900, ncnt: 1, zcnt: 0),
                                                Semaphore(value: 1, pid: 900, ncnt: 0, zcnt: 0)])
    static let segment = SharedMemorySegment(id: 65536, perm: perm(key: 0x42, uid: 0, mode: 0o666), size: 65536,
                                             cpid: 900, lpid: 900, nattch: 1, atime: t1, dtime: 0, ctime: t0)
    static let queue = MessageQueue(id: 3, perm: perm(key: 0x77, uid: 33), cbytes: 12, qnum: 1, lspid: 0, lrpid: 0,
                                    stime: t1, rtime: 0, ctime: t0)

    static let snapshot = IPCSnapshot(semaphoreSets: [leaked1, leaked2, ghost, live], segments: [segment],
                                      queues: [queue], source: "syscall")

    static var classifications: [Classification] {
        let holder = Holder(ProcessRecord(pid: 812, ppid: 1, state: "S", uid: 33, euid: 33, comm: "php-fpm",
                                          startTime: Double(t0) - 100, cgroup: "/system.slice/php-fpm.service"),
                            relation: .possible)
        return [
            Classification(object: .sem(leaked1), verdict: .orphaned,
                           reasons: ["no live process of uid 33 (www-data) existed at the last activity (2027-01-15T06:20:00Z)",
                                     "last operator pid 4100 exited"]),
            Classification(object: .sem(leaked2), verdict: .orphaned,
                           reasons: ["no live process of uid 33 (www-data) existed at the last activity (2027-01-15T06:20:00Z)"]),
            Classification(object: .sem(ghost), verdict: .orphaned,
                           reasons: ["no live process of uid 4242 (4242) existed at the last activity (2027-01-15T05:34:20Z)"]),
            Classification(object: .sem(live), verdict: .inUse, reasons: ["semaphore 0 has 1 waiter"]),
            Classification(object: .shm(segment), verdict: .inUse, reasons: ["attached by pid 900 (postgres)"]),
            Classification(object: .msg(queue), verdict: .suspect,
                           reasons: ["possible holder: pid 812 php-fpm (www-data, php-fpm.service) started before the last use",
                                     "holds 1 message (12 bytes)"],
                           possibleHolders: [holder]),
        ]
    }

    static let limits = KernelLimits(semmsl: 250, semmns: 32000, semopm: 32, semmni: 5, shmmax: Int64.max,
                                     shmmni: 4096, shmall: 2_097_152, msgmax: 8192, msgmnb: 16384, msgmni: 32000)

    static let posix = [
        PosixScanResult(root: "/dev/shm", kind: .posixShm, scanned: true, objects: posixObjects),
        PosixScanResult(root: "/dev/mqueue", kind: .posixMq, scanned: false,
                        skipReason: "/dev/mqueue is not there (No such file or directory): the mqueue filesystem is not mounted, so POSIX message queues were not audited; mount it with `mount -t mqueue mqueue /dev/mqueue`"),
    ]

    static let posixObjects = [
        PosixIPCObject(path: "/dev/shm/data", kind: .posixShm, uid: 0, gid: 0, mode: 0o660, size: 3, mtime: t1,
                       acl: [ACLEntry(tag: .userObj, perms: 6), ACLEntry(tag: .user, qualifier: 65534, perms: 6),
                             ACLEntry(tag: .groupObj, perms: 0), ACLEntry(tag: .mask, perms: 6),
                             ACLEntry(tag: .other, perms: 0)]),
        PosixIPCObject(path: "/dev/shm/sem.private", kind: .posixSem, uid: 33, gid: 33, mode: 0o600, size: 32, mtime: t1),
    ]

    /// Every object of the sample, System V and POSIX (both POSIX objects are open somewhere: in-use).
    static var objects: [Classification] {
        classifications + posixObjects.map { Classification(object: .posix($0), verdict: .inUse, reasons: ["open"]) }
    }

    static func input(previous: AuditState? = nil, stateNote: String? = nil) -> AuditInput {
        AuditInput(objects: objects, snapshot: snapshot, limits: limits, pageSize: 4096, posix: posix,
                   previousState: previous, stateNote: stateNote, now: now, source: "syscall")
    }

    static func report(previous: AuditState? = nil, stateNote: String? = nil) -> AuditReport {
        Auditor.report(input(previous: previous, stateNote: stateNote), names: names)
    }

    /// A previous state 12 hours old that knew the ghost set and a set that is gone now.
    static var previousState: AuditState {
        AuditState(writtenAt: Int64(now) - 43200, orphans: [
            OrphanRecord(type: "sem", id: 5, key: 0x1234, ctime: t0 + 60, uid: 4242, firstSeen: Int64(now) - 86000),
            OrphanRecord(type: "sem", id: 4, key: 0, ctime: t0 - 500, uid: 33, firstSeen: Int64(now) - 86000),
        ], limitUsage: ["SEMMNI": 6, "SEMMNS": 9, "SHMMNI": 1, "SHMALL": 16, "MSGMNI": 1])
    }
}
