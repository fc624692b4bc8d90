import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file descriptor number.
public typealias FileDescriptorNumber = Int32

/// A POSIX message queue's attributes (struct mq_attr): mq_maxmsg, mq_msgsize, mq_curmsgs.
public struct MQAttributes: Sendable, Equatable {
    public var maxMessages: Int
    public var messageSize: Int
    public var currentMessages: Int

    public init(maxMessages: Int, messageSize: Int, currentMessages: Int = 0) {
        self.maxMessages = maxMessages
        self.messageSize = messageSize
        self.currentMessages = currentMessages
    }
}

/// A file lease's type (F_RDLCK, F_WRLCK, F_UNLCK).
public enum LeaseType: Sendable, Equatable {
    case read, write, none
}

/// Whom the kernel lets lease a file: its owner (the caller's fsuid, which is its euid), or a process with
/// CAP_LEASE (bit 28).
public struct LeaseCaller: Sendable, Equatable {
    public var euid: UInt32
    public var capLease: Bool

    public init(euid: UInt32, capLease: Bool) {
        self.euid = euid
        self.capLease = capLease
    }

    /// CAP_LEASE's bit in CapEff.
    public static let capLeaseBit: UInt64 = 1 << 28

    /// Whether it may lease a file owned by `uid`.
    public func mayLease(ownedBy uid: UInt32) -> Bool { capLease || uid == euid }
}

/// The one set of thin system-call wrappers the probe, the clean pipeline's backends and the restorer reach the
/// kernel through (as swift-system's `Internals/Syscalls.swift`): each method makes exactly one call (or, where
/// named, one fixed C-shim sequence) and returns its value or its errno, nothing more. The live implementation
/// is `LiveKernelCalls`; unit tests inject a fake so that error paths (EPERM after a queue was drained, ENOSPC
/// while saving, an object that vanishes between two calls) are tested without the kernel misbehaving.
///
/// Descriptors are plain numbers; `AT_FDCWD` means the working directory, as for the real calls.
public protocol KernelCalls: Sendable {
    // MARK: files
    /// openat(2).
    func openat(_ dir: Int32, _ path: String, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno>
    /// close(2); errors are not reported (there is nothing to do about them).
    func close(_ fd: Int32)
    /// read(2) (EINTR is returned, not retried).
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno>
    /// pread(2).
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno>
    /// write(2).
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> Result<Int, Errno>
    /// pwrite(2).
    func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno>
    /// lseek(2) (SEEK_DATA and SEEK_HOLE included).
    func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Result<Int64, Errno>
    /// fstat(2).
    func fstat(_ fd: Int32) -> Result<stat, Errno>
    /// fstatat(2).
    func fstatat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<stat, Errno>
    /// fstatfs(2): the filesystem's magic number.
    func fstatfsType(_ fd: Int32) -> Result<Int, Errno>
    /// fstatvfs(3): the size and free space of the filesystem.
    func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno>
    /// ftruncate(2).
    func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno>
    /// unlinkat(2).
    func unlinkat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<Void, Errno>
    /// linkat(2).
    func linkat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String, _ flags: Int32) -> Result<Void, Errno>
    /// renameat(2).
    func renameat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno>
    /// fcntl(2) with an integer argument.
    func fcntl(_ fd: Int32, _ command: Int32, _ argument: Int32) -> Result<Int32, Errno>
    /// fsync(2).
    func fsync(_ fd: Int32) -> Result<Void, Errno>
    /// fchmod(2).
    func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno>
    /// fchown(2).
    func fchown(_ fd: Int32, _ uid: UInt32, _ gid: UInt32) -> Result<Void, Errno>
    /// readlinkat(2) into `buffer`: the target's length.
    func readlinkat(_ dir: Int32, _ path: String, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno>
    /// The names in a directory (fdopendir of a dup(2) of `fd`, readdir(3) to the end), "." and ".." left out;
    /// `fd` stays open.
    func directoryEntries(_ fd: Int32) -> Result<[String], Errno>
    /// mkstemp(3) in a directory: a new file `directory/.base.XXXXXX`, created exclusively, mode 0600; its
    /// descriptor (close-on-exec) and path.
    func makeTemporaryFile(in directory: String, base: String) -> Result<(fd: Int32, path: String), Errno>
    /// lgetxattr(2) of `name` with no buffer: the value's size (0 or ENODATA when there is none).
    func extendedAttributeSize(_ path: String, _ name: String) -> Result<Int, Errno>
    /// fgetxattr(2) of `name` with no buffer, on an open descriptor (no path lookup).
    func extendedAttributeSize(fd: Int32, _ name: String) -> Result<Int, Errno>

    // MARK: write leases (the kernel's answer to "is this file open or mapped anywhere?")
    /// fcntl(F_SETLEASE): takes (`.write`) or releases (`.none`) a lease on an open file. Before the first lease the
    /// lease-break signal (SIGIO, which would end the process) is ignored: a break is read back with `getLease`.
    func setLease(_ fd: Int32, _ type: LeaseType) -> Result<Void, Errno>
    /// fcntl(F_GETLEASE): the lease held, or the type it is being broken to while a break is pending.
    func getLease(_ fd: Int32) -> Result<LeaseType, Errno>
    /// renameat2(2) with RENAME_NOREPLACE (EEXIST when the new name exists).
    func renameNoReplace(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno>
    /// Who the kernel lets take a lease: the caller's effective uid (geteuid(2)) and CAP_LEASE in its effective
    /// capabilities (/proc/self/status `CapEff:`).
    var leaseCaller: LeaseCaller { get }

    // MARK: POSIX message queues (a queue descriptor: mq_open's, or open(2) of a file of an mqueue mount)
    /// mq_getattr(3).
    func mqGetAttributes(_ fd: Int32) -> Result<MQAttributes, Errno>
    /// mq_timedreceive(3) with a zero timeout: the message's length and priority (EAGAIN/ETIMEDOUT: empty).
    func mqReceiveNow(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<(length: Int, priority: UInt32), Errno>
    /// mq_send(3) (a full queue on a non-blocking descriptor is EAGAIN).
    func mqSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, priority: UInt32) -> Result<Void, Errno>
    /// mq_open(3) with attributes {maxmsg, msgsize} when given (else the kernel's defaults).
    func mqOpen(_ name: String, _ flags: Int32, _ mode: mode_t, _ attributes: MQAttributes?) -> Result<Int32, Errno>
    /// mq_unlink(3).
    func mqUnlink(_ name: String) -> Result<Void, Errno>

    // MARK: System V
    /// SEM_INFO / SHM_INFO / MSG_INFO: the highest index in use, or -1.
    func ipcMaxIndex(_ kind: IPCKind) -> Result<Int32, Errno>
    /// SEM_STAT_ANY (or SEM_STAT) on an index: the set's full id and its semid_ds.
    func semStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_sem_ds_t), Errno>
    func shmStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_shm_ds_t), Errno>
    func msgStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_msg_ds_t), Errno>
    /// IPC_STAT by id (needs read permission).
    func semStat(id: Int32) -> Result<cipc_sem_ds_t, Errno>
    func shmStat(id: Int32) -> Result<cipc_shm_ds_t, Errno>
    func msgStat(id: Int32) -> Result<cipc_msg_ds_t, Errno>
    /// GETALL, then GETPID, GETNCNT, GETZCNT of every semaphore (the C shim's one sequence).
    func semDetail(id: Int32, into buffer: UnsafeMutableBufferPointer<cipc_sem_t>) -> Result<Void, Errno>
    /// IPC_RMID.
    func ipcRemove(_ kind: IPCKind, id: Int32) -> Result<Void, Errno>
    /// msgrcv(id, buffer, size, index, MSG_COPY | IPC_NOWAIT): the message at `index` copied, not received
    /// (`buffer` starts with its mtype); the length of its text.
    func msgCopy(id: Int32, index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno>
    /// shmat(2) at an address the kernel chooses.
    func shmAttach(id: Int32, readOnly: Bool) -> Result<UnsafeMutableRawPointer, Errno>
    /// shmdt(2).
    func shmDetach(_ address: UnsafeMutableRawPointer) -> Result<Void, Errno>
    /// The data of a segment attached at `mapping` (called while attached): its shmem file through
    /// /proc/self/map_files, or the mapping when its holes are negligible (`SegmentData.open`; rss and swap read in
    /// the segment's IPC namespace).
    func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure>
    /// IPC_INFO of all three kinds.
    func ipcLimits() -> Result<cipc_limits_t, Errno>
    /// msgget(2) / shmget(2).
    func msgGet(key: Int32, flags: Int32) -> Result<Int32, Errno>
    func shmGet(key: Int32, size: Int, flags: Int32) -> Result<Int32, Errno>
    /// msgsnd(2) of one message with IPC_NOWAIT.
    func msgSend(id: Int32, type: Int, _ bytes: UnsafeRawBufferPointer) -> Result<Void, Errno>
    /// IPC_SET of a queue's owner, mode and capacity (msg_qbytes).
    func msgSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32, qbytes: UInt64) -> Result<Void, Errno>
    /// IPC_SET of a segment's owner and mode.
    func shmSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32) -> Result<Void, Errno>

    // MARK: process
    /// getpid(2).
    var pid: Int32 { get }
    /// time(2): the current epoch second.
    func now() -> Int64
}
