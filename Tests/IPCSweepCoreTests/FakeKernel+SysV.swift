import CSysVIPC
import Foundation
import SystemPackage
@testable import IPCSweepCore

/// The System V calls of `FakeKernel`: objects in `objects`, queued messages, segment bytes and attachments.
extension FakeKernel {
    func ipcMaxIndex(_ kind: IPCKind) -> Result<Int32, Errno> { .failure(.noFunction) }
    func semStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_sem_ds_t), Errno> { .failure(.invalidArgument) }
    func shmStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_shm_ds_t), Errno> { .failure(.invalidArgument) }
    func msgStat(index: Int32, any: Bool) -> Result<(id: Int32, ds: cipc_msg_ds_t), Errno> { .failure(.invalidArgument) }

    private func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> {
        if let e = statErrors[ref] { return .failure(e) }
        guard let o = objects[ref] else { return .failure(.invalidArgument) }
        statCount[ref, default: 0] += 1
        afterStat?(self, ref, statCount[ref] ?? 0)
        return .success(o)
    }

    private static func perm(_ p: IPCPermissions) -> cipc_perm_t {
        cipc_perm_t(key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode)
    }

    func semStat(id: Int32) -> Result<cipc_sem_ds_t, Errno> {
        lock.withLock {
            stat(IPCObjectRef(kind: .sem, id: id)).flatMap { o in
                guard case .sem(let s) = o else { return .failure(.invalidArgument) }
                return .success(cipc_sem_ds_t(perm: Self.perm(s.perm), otime: s.otime, ctime: s.ctime, nsems: UInt64(s.nsems)))
            }
        }
    }

    func shmStat(id: Int32) -> Result<cipc_shm_ds_t, Errno> {
        lock.withLock {
            stat(IPCObjectRef(kind: .shm, id: id)).flatMap { o in
                guard case .shm(let s) = o else { return .failure(.invalidArgument) }
                return .success(cipc_shm_ds_t(perm: Self.perm(s.perm), size: s.size, atime: s.atime, dtime: s.dtime, ctime: s.ctime,
                                              cpid: s.cpid, lpid: s.lpid, nattch: s.nattch))
            }
        }
    }

    func msgStat(id: Int32) -> Result<cipc_msg_ds_t, Errno> {
        lock.withLock {
            stat(IPCObjectRef(kind: .msg, id: id)).flatMap { o in
                guard case .msg(let q) = o else { return .failure(.invalidArgument) }
                return .success(cipc_msg_ds_t(perm: Self.perm(q.perm), stime: q.stime, rtime: q.rtime, ctime: q.ctime,
                                              cbytes: q.cbytes, qnum: q.qnum, qbytes: q.qbytes ?? 0, lspid: q.lspid, lrpid: q.lrpid))
            }
        }
    }

    func semDetail(id: Int32, into buffer: UnsafeMutableBufferPointer<cipc_sem_t>) -> Result<Void, Errno> {
        lock.withLock {
            guard case .sem(let s)? = objects[IPCObjectRef(kind: .sem, id: id)] else { return .failure(.invalidArgument) }
            for (n, sem) in (s.semaphores ?? []).enumerated() where n < buffer.count {
                buffer[n] = cipc_sem_t(value: sem.value, pid: sem.pid, ncnt: sem.ncnt, zcnt: sem.zcnt)
            }
            return .success(())
        }
    }

    func ipcRemove(_ kind: IPCKind, id: Int32) -> Result<Void, Errno> {
        lock.withLock {
            let ref = IPCObjectRef(kind: kind, id: id)
            if let e = removeErrors[ref] { return .failure(e) }
            guard objects.removeValue(forKey: ref) != nil else { return .failure(.invalidArgument) }
            removedOrder.append(ref)
            return .success(())
        }
    }

    func msgCopy(id: Int32, index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        lock.withLock {
            if let copyError { return .failure(copyError) }
            guard objects[IPCObjectRef(kind: .msg, id: id)] != nil else { return .failure(.invalidArgument) }
            let m = messages[id] ?? []
            guard index < m.count else { return .failure(.noMessage) }
            let header = MemoryLayout<Int>.size
            guard buffer.count - header >= m[index].bytes.count else { return .failure(Errno(rawValue: E2BIG)) }
            buffer.storeBytes(of: m[index].type, toByteOffset: 0, as: Int.self)
            UnsafeMutableRawBufferPointer(rebasing: buffer[header...]).copyBytes(from: m[index].bytes)
            return .success(m[index].bytes.count)
        }
    }

    func shmAttach(id: Int32, readOnly: Bool) -> Result<UnsafeMutableRawPointer, Errno> {
        lock.withLock {
            let ref = IPCObjectRef(kind: .shm, id: id)
            guard case .shm(var s)? = objects[ref] else { return .failure(.invalidArgument) }
            clock += 1
            s.nattch += 1
            s.lpid = pid
            s.atime = clock
            objects[ref] = .shm(s)
            let size = Int(s.size)
            let base = UnsafeMutableRawPointer.allocate(byteCount: max(1, size), alignment: 16)
            let bytes = segmentBytes[id] ?? [UInt8](repeating: 0, count: size)
            bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: min(size, bytes.count)) }
            attachments[base] = (id, size)
            return .success(base)
        }
    }

    func shmDetach(_ address: UnsafeMutableRawPointer) -> Result<Void, Errno> {
        lock.withLock {
            guard let a = attachments.removeValue(forKey: address) else { return .failure(.invalidArgument) }
            segmentBytes[a.id] = Array(UnsafeRawBufferPointer(start: address, count: a.size))
            address.deallocate()
            let ref = IPCObjectRef(kind: .shm, id: a.id)
            if case .shm(var t)? = objects[ref] {
                t.nattch -= 1
                t.dtime = clock
                objects[ref] = .shm(t)
            }
            return .success(())
        }
    }

    func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        if let segmentSource = lock.withLock({ segmentSource }) { return segmentSource(segment, mapping) }
        return .success(SegmentData(source: MemoryDataSource(bytes: mapping, description: "its mapping"), fd: -1))
    }

    func ipcLimits() -> Result<cipc_limits_t, Errno> { .failure(.noFunction) }
    func msgGet(key: Int32, flags: Int32) -> Result<Int32, Errno> { .failure(.noFunction) }
    func shmGet(key: Int32, size: Int, flags: Int32) -> Result<Int32, Errno> { .failure(.noFunction) }
    func msgSend(id: Int32, type: Int, _ bytes: UnsafeRawBufferPointer) -> Result<Void, Errno> { .failure(.noFunction) }
    func msgSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32, qbytes: UInt64) -> Result<Void, Errno> { .failure(.noFunction) }
    func shmSet(id: Int32, uid: UInt32, gid: UInt32, mode: UInt32) -> Result<Void, Errno> { .failure(.noFunction) }
}
