import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The real kernel inside another IPC namespace (`--namespace`): every System V call (and mq_open/mq_unlink,
/// which name queues of the namespace's mqueue mount) runs on the thread that entered that namespace; file
/// calls run where they are made (a file is reached through its path, whatever the IPC namespace).
public struct NamespacedKernelCalls: KernelCalls {
    public let namespace: IPCNamespaceThread
    private let inner: any KernelCalls

    public init(namespace: IPCNamespaceThread, inner: any KernelCalls = Kernel.live) {
        self.namespace = namespace
        self.inner = inner
    }

    public func openat(_ dir: Int32, _ path: String, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno> { inner.openat(dir, path, flags, mode) }
    public func close(_ fd: Int32) { inner.close(fd) }
    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> { inner.read(fd, into: buffer) }
    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> { inner.pread(fd, into: buffer, at: offset) }
    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> { inner.write(fd, from: buffer) }
    public func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno> { inner.pwrite(fd, from: buffer, at: offset) }
    public func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Result<Int64, Errno> { inner.lseek(fd, offset, whence) }
    public func fstat(_ fd: Int32) -> Result<stat, Errno> { inner.fstat(fd) }
    public func fstatat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<stat, Errno> { inner.fstatat(dir, path, flags) }
    public func fstatfsType(_ fd: Int32) -> Result<Int, Errno> { inner.fstatfsType(fd) }
    public func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno> { inner.fstatvfs(fd) }
    public func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno> { inner.ftruncate(fd, size) }
    public func unlinkat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<Void, Errno> { inner.unlinkat(dir, path, flags) }
    public func linkat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String, _ flags: Int32) -> Result<Void, Errno> {
        inner.linkat(oldDir, oldPath, newDir, newPath, flags)
    }
    public func renameat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        inner.renameat(oldDir, oldPath, newDir, newPath)
    }
    public func fcntl(_ fd: Int32, _ command: Int32, _ argument: Int32) -> Result<Int32, Errno> { inner.fcntl(fd, command, argument) }
    public func fsync(_ fd: Int32) -> Result<Void, Errno> { inner.fsync(fd) }
    public func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> { inner.fchmod(fd, mode) }
    public func fchown(_ fd: Int32, _ uid: UInt32, _ gid: UInt32) -> Result<Void, Errno> { inner.fchown(fd, uid, gid) }
    public func readlinkat(_ dir: Int32, _ path: String, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        inner.readlinkat(dir, path, into: buffer)
    }
    public func directoryEntries(_ fd: Int32) -> Result<[String], Errno> { inner.directoryEntries(fd) }
    public func makeTemporaryFile(in directory: String, base: String) -> Result<(fd: Int32, path: String), Errno> {
        inner.makeTemporaryFile(in: directory, base: base)
    }
    public func extendedAttributeSize(_ path: String, _ name: String) -> Result<Int, Errno> { inner.extendedAttributeSize(path, name) }
    public func extendedAttributeSize(fd: Int32, _ name: String) -> Result<Int, Errno> { inner.extendedAttributeSize(fd: fd, name) }
    public func setLease(_ fd: Int32, _ type: LeaseType) -> Result<Void, Errno> { inner.setLease(fd, type) }
    public func getLease(_ fd: Int32) -> Result<LeaseType, Errno> { inner.getLease(fd) }
    public func renameNoReplace(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        inner.renameNoReplace(oldDir, oldPath, newDir, newPath)
    }
    public var leaseCaller: LeaseCaller { inner.leaseCaller }
    public func mqGetAttributes(_ fd: Int32) -> Result<MQAttributes, Errno> { inner.mqGetAttributes(fd) }
    public func mqReceiveNow(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<(length: Int, priority: UInt32), Errno> {
        inner.mqReceiveNow(fd, into: buffer)
    }
    public func mqSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, priority: UInt32) -> Result<Void, Errno> { inner.mqSend(fd, bytes, priority: priority) }
    public func mqOpen(_ name: String, _ flags: Int32, _ mode: mode_t, _ attributes: MQAttributes?) -> Result<Int32, Errno> {
        namespace.perform { inner.mqOpen(name, flags, mode, attributes) }
    }
    public func mqUnlink(_ name: String) -> Result<Void, Errno> { namespace.perform { inner.mqUnlink(name) } }
    public func ipcMaxIndex(_ kind: IPCKind) -> Result<Int32, Errno> { namespace.perform { inner.ipcMaxIndex(kind) } }
    public func semStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_sem_ds_t), Errno> { namespace.perform { inner.semStat(index: index, any: any) } }
    public func shmStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_shm_ds_t), Errno> { namespace.perform { inner.shmStat(index: index, any: any) } }
    public func msgStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_msg_ds_t), Errno> { namespace.perform { inner.msgStat(index: index, any: any) } }
    public func semStat(id: Int32) -> Result<cipc_sem_ds_t, Errno> { namespace.perform { inner.semStat(id: id) } }
    public func shmStat(id: Int32) -> Result<cipc_shm_ds_t, Errno> { namespace.perform { inner.shmStat(id: id) } }
    public func msgStat(id: Int32) -> Result<cipc_msg_ds_t, Errno> { namespace.perform { inner.msgStat(id: id) } }
    public func semDetail(id: Int32, into buffer: UnsafeMutableBufferPointer<cipc_sem_t>) -> Result<Void, Errno> {
        namespace.perform { inner.semDetail(id: id, into: buffer) }
    }
    public func ipcRemove(_ kind: IPCKind, id: Int32) -> Result<Void, Errno> { namespace.perform { inner.ipcRemove(kind, id: id) } }
    public func msgCopy(id: Int32, index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        namespace.perform { inner.msgCopy(id: id, index: index, into: buffer) }
    }
    public func shmAttach(id: Int32, readOnly: Bool) -> Result<UnsafeMutableRawPointer, Errno> { namespace.perform { inner.shmAttach(id: id, readOnly: readOnly) } }
    public func shmDetach(_ address: UnsafeMutableRawPointer) -> Result<Void, Errno> { namespace.perform { inner.shmDetach(address) } }
    public func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        namespace.perform { inner.segmentData(segment, mapping: mapping) }
    }
    public func ipcLimits() -> Result<cipc_limits_t, Errno> { namespace.perform { inner.ipcLimits() } }
    public func msgGet(key: Int32, flags: Int32) -> Result<Int32, Errno> { namespace.perform { inner.msgGet(key: key, flags: flags) } }
    public func shmGet(key: Int32, size: Int, flags: Int32) -> Result<Int32, Errno> { namespace.perform { inner.shmGet(key: key, size: size, flags: flags) } }
    public func msgSend(id: Int32, type: Int, _ bytes: UnsafeRawBufferPointer) -> Result<Void, Errno> { namespace.perform { inner.msgSend(id: id, type: type, bytes) } }
    public func msgSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32, qbytes: UInt64) -> Result<Void, Errno> {
        namespace.perform { inner.msgSet(id: id, uid: uid, gid: gid, mode: mode, qbytes: qbytes) }
    }
    public func shmSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32) -> Result<Void, Errno> {
        namespace.perform { inner.shmSet(id: id, uid: uid, gid: gid, mode: mode) }
    }
    public var pid: Int32 { inner.pid }
    public func now() -> Int64 { inner.now() }
}
