import CACL
import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The real kernel.
public struct LiveKernelCalls: KernelCalls {
    public init() {}

    @inline(__always)
    static func value<T: BinaryInteger>(_ rc: T) -> Result<T, Errno> {
        rc < 0 ? .failure(Errno(rawValue: Glibc.errno)) : .success(rc)
    }

    @inline(__always)
    static func none(_ rc: Int32) -> Result<Void, Errno> {
        rc < 0 ? .failure(Errno(rawValue: Glibc.errno)) : .success(())
    }

    public func openat(_ dir: Int32, _ path: String, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno> {
        Self.value(Glibc.openat(dir, path, flags, mode))
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        Self.value(Glibc.read(fd, buffer.baseAddress, buffer.count))
    }

    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        Self.value(Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)))
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        Self.value(Glibc.write(fd, buffer.baseAddress, buffer.count))
    }

    public func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        Self.value(Glibc.pwrite(fd, buffer.baseAddress, buffer.count, off_t(offset)))
    }

    public func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Result<Int64, Errno> {
        Self.value(Int64(Glibc.lseek(fd, off_t(offset), whence)))
    }

    public func fstat(_ fd: Int32) -> Result<stat, Errno> {
        var st = stat()
        return Self.none(Glibc.fstat(fd, &st)).map { st }
    }

    public func fstatat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<stat, Errno> {
        var st = stat()
        return Self.none(Glibc.fstatat(dir, path, &st, flags)).map { st }
    }

    public func fstatfsType(_ fd: Int32) -> Result<Int, Errno> {
        var fs = statfs()
        return Self.none(CACL.fstatfs(fd, &fs)).map { Int(fs.f_type) }
    }

    public func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno> {
        var vfs = statvfs()
        return Self.none(Glibc.fstatvfs(fd, &vfs)).map { vfs }
    }

    public func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno> { Self.none(Glibc.ftruncate(fd, off_t(size))) }

    public func unlinkat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<Void, Errno> {
        Self.none(Glibc.unlinkat(dir, path, flags))
    }

    public func linkat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String, _ flags: Int32) -> Result<Void, Errno> {
        Self.none(Glibc.linkat(oldDir, oldPath, newDir, newPath, flags))
    }

    public func renameat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        Self.none(Glibc.renameat(oldDir, oldPath, newDir, newPath))
    }

    public func fcntl(_ fd: Int32, _ command: Int32, _ argument: Int32) -> Result<Int32, Errno> {
        Self.value(Glibc.fcntl(fd, command, argument))
    }

    public func fsync(_ fd: Int32) -> Result<Void, Errno> { Self.none(Glibc.fsync(fd)) }

    public func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> { Self.none(Glibc.fchmod(fd, mode)) }

    public func fchown(_ fd: Int32, _ uid: UInt32, _ gid: UInt32) -> Result<Void, Errno> { Self.none(Glibc.fchown(fd, uid, gid)) }

    public func readlinkat(_ dir: Int32, _ path: String, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        guard let base = buffer.baseAddress else { return .success(0) }
        return Self.value(Glibc.readlinkat(dir, path, base.assumingMemoryBound(to: CChar.self), buffer.count))
    }

    public func directoryEntries(_ fd: Int32) -> Result<[String], Errno> {
        let listing = Glibc.dup(fd)
        guard listing >= 0 else { return .failure(Errno(rawValue: Glibc.errno)) }
        guard let d = fdopendir(listing) else {
            let e = Errno(rawValue: Glibc.errno)
            Glibc.close(listing)
            return .failure(e)
        }
        defer { closedir(d) }
        // The dup shares the directory offset with `fd`: start from the beginning.
        rewinddir(d)
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    public func makeTemporaryFile(in directory: String, base: String) -> Result<(fd: Int32, path: String), Errno> {
        var template = Array("\(directory)/.\(base).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { return .failure(Errno(rawValue: Glibc.errno)) }
        _ = Glibc.fcntl(fd, F_SETFD, FD_CLOEXEC)
        return .success((fd, String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
    }

    public func extendedAttributeSize(_ path: String, _ name: String) -> Result<Int, Errno> {
        Self.value(lgetxattr(path, name, nil, 0))
    }

    public func extendedAttributeSize(fd: Int32, _ name: String) -> Result<Int, Errno> {
        Self.value(fgetxattr(fd, name, nil, 0))
    }

    public func setLease(_ fd: Int32, _ type: LeaseType) -> Result<Void, Errno> {
        Self.none(cipc_set_lease(fd, Self.leaseValue(type)))
    }

    public func getLease(_ fd: Int32) -> Result<LeaseType, Errno> {
        let v = cipc_get_lease(fd)
        if v < 0 { return .failure(Errno(rawValue: Glibc.errno)) }
        return .success(v == cipc_lease_write() ? .write : v == cipc_lease_read() ? .read : .none)
    }

    static func leaseValue(_ type: LeaseType) -> Int32 {
        switch type {
        case .read: return cipc_lease_read()
        case .write: return cipc_lease_write()
        case .none: return cipc_lease_none()
        }
    }

    public func renameNoReplace(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        Self.none(cipc_rename_noreplace(oldDir, oldPath, newDir, newPath))
    }

    public var leaseCaller: LeaseCaller { Self.caller }

    /// The process's credentials do not change while it runs: read once.
    private static let caller: LeaseCaller = {
        let status = (try? FileIO.read("/proc/self/status", limit: FileIO.Limit.procfs, requireRegular: false))
            .flatMap(ProcessProbe.parseStatus)
        return LeaseCaller(euid: geteuid(), capLease: (status?.capEff ?? 0) & LeaseCaller.capLeaseBit != 0)
    }()

    public func mqGetAttributes(_ fd: Int32) -> Result<MQAttributes, Errno> {
        var maxmsg = 0, msgsize = 0, cur = 0
        return Self.none(cipc_mq_getattr(fd, &maxmsg, &msgsize, &cur))
            .map { MQAttributes(maxMessages: maxmsg, messageSize: msgsize, currentMessages: cur) }
    }

    public func mqReceiveNow(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<(length: Int, priority: UInt32), Errno> {
        var prio: UInt32 = 0
        let n = cipc_mq_receive_now(fd, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), UInt(buffer.count), &prio)
        return Self.value(n).map { (Int($0), prio) }
    }

    public func mqSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, priority: UInt32) -> Result<Void, Errno> {
        Self.none(cipc_mq_send(fd, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt(bytes.count), priority))
    }

    public func mqOpen(_ name: String, _ flags: Int32, _ mode: mode_t, _ attributes: MQAttributes?) -> Result<Int32, Errno> {
        Self.value(cipc_mq_open(name, flags, UInt32(mode), attributes?.maxMessages ?? 0, attributes?.messageSize ?? 0))
    }

    public func mqUnlink(_ name: String) -> Result<Void, Errno> { Self.none(cipc_mq_unlink(name)) }

    public func ipcMaxIndex(_ kind: IPCKind) -> Result<Int32, Errno> {
        switch kind {
        case .sem: return Self.value(cipc_sem_max_index())
        case .shm: return Self.value(cipc_shm_max_index())
        case .msg: return Self.value(cipc_msg_max_index())
        default: return .failure(.invalidArgument)
        }
    }

    public func semStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_sem_ds_t), Errno> {
        var ds = cipc_sem_ds_t()
        return Self.value(cipc_sem_stat_index(index, any ? 1 : 0, &ds)).map { ($0, ds) }
    }

    public func shmStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_shm_ds_t), Errno> {
        var ds = cipc_shm_ds_t()
        return Self.value(cipc_shm_stat_index(index, any ? 1 : 0, &ds)).map { ($0, ds) }
    }

    public func msgStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_msg_ds_t), Errno> {
        var ds = cipc_msg_ds_t()
        return Self.value(cipc_msg_stat_index(index, any ? 1 : 0, &ds)).map { ($0, ds) }
    }

    public func semStat(id: Int32) -> Result<cipc_sem_ds_t, Errno> {
        var ds = cipc_sem_ds_t()
        return Self.none(cipc_sem_stat_id(id, &ds)).map { ds }
    }

    public func shmStat(id: Int32) -> Result<cipc_shm_ds_t, Errno> {
        var ds = cipc_shm_ds_t()
        return Self.none(cipc_shm_stat_id(id, &ds)).map { ds }
    }

    public func msgStat(id: Int32) -> Result<cipc_msg_ds_t, Errno> {
        var ds = cipc_msg_ds_t()
        return Self.none(cipc_msg_stat_id(id, &ds)).map { ds }
    }

    public func semDetail(id: Int32, into buffer: UnsafeMutableBufferPointer<cipc_sem_t>) -> Result<Void, Errno> {
        guard let base = buffer.baseAddress else { return .success(()) }
        return Self.none(cipc_sem_detail(id, Int32(buffer.count), base))
    }

    public func ipcRemove(_ kind: IPCKind, id: Int32) -> Result<Void, Errno> {
        switch kind {
        case .sem: return Self.none(cipc_sem_rmid(id))
        case .shm: return Self.none(cipc_shm_rmid(id))
        case .msg: return Self.none(cipc_msg_rmid(id))
        default: return .failure(.invalidArgument)
        }
    }

    public func msgCopy(id: Int32, index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let msgCopy: Int32 = 0o40000  // MSG_COPY, hidden behind __USE_GNU
        let header = MemoryLayout<Int>.size
        return Self.value(msgrcv(id, buffer.baseAddress, max(0, buffer.count - header), index, msgCopy | IPC_NOWAIT))
    }

    public func shmAttach(id: Int32, readOnly: Bool) -> Result<UnsafeMutableRawPointer, Errno> {
        guard let base = shmat(id, nil, readOnly ? Int32(SHM_RDONLY) : 0), base != UnsafeMutableRawPointer(bitPattern: -1) else {
            return .failure(Errno(rawValue: Glibc.errno))
        }
        return .success(base)
    }

    public func shmDetach(_ address: UnsafeMutableRawPointer) -> Result<Void, Errno> { Self.none(shmdt(address)) }

    public func ipcLimits() -> Result<cipc_limits_t, Errno> {
        var l = cipc_limits_t()
        return Self.none(cipc_limits(&l)).map { l }
    }

    public func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        SegmentData.open(segment: segment, mapping: mapping, usage: { SegmentData.usage(ofSegment: segment.id) })
    }

    public func msgGet(key: Int32, flags: Int32) -> Result<Int32, Errno> { Self.value(msgget(key, flags)) }

    public func shmGet(key: Int32, size: Int, flags: Int32) -> Result<Int32, Errno> { Self.value(shmget(key, size, flags)) }

    public func msgSend(id: Int32, type: Int, _ bytes: UnsafeRawBufferPointer) -> Result<Void, Errno> {
        Self.none(cipc_msg_send(id, type, bytes.baseAddress, bytes.count))
    }

    public func msgSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32, qbytes: UInt64) -> Result<Void, Errno> {
        Self.none(cipc_msg_set(id, uid, gid, mode, qbytes))
    }

    public func shmSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32) -> Result<Void, Errno> {
        Self.none(cipc_shm_set(id, uid, gid, mode))
    }

    public var pid: Int32 { getpid() }

    public func now() -> Int64 { Int64(time(nil)) }
}

/// The kernel a component uses unless a test injects another.
public enum Kernel {
    /// The real kernel.
    public static let live: any KernelCalls = LiveKernelCalls()
}
