import Foundation
import SystemPackage
@testable import IPCSweepCore

/// The write leases of `FakeKernel`, as fcntl(2) documents them: F_SETLEASE F_WRLCK is refused (EAGAIN) while
/// another open file description refers to the file — a process elsewhere (`heldElsewhere`) or another of the
/// tool's own descriptors —, an open by anyone breaks it (F_GETLEASE then says F_RDLCK); renameat2
/// RENAME_NOREPLACE moves a file and the descriptors open on it.
extension FakeKernel {
    func setLease(_ fd: Int32, _ type: LeaseType) -> Result<Void, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path else { return .failure(.badFileDescriptor) }
            if let e = failing("F_SETLEASE", p) { return .failure(e) }
            if type == .none {  // an unlinked file's descriptor too
                leased.removeValue(forKey: fd)
                brokenLeases.remove(fd)
                calls.append("unlease \(p)")
                return .success(())
            }
            guard let f = files[p] else { return .failure(.badFileDescriptor) }
            guard leaseCaller.mayLease(ownedBy: f.uid) else { return .failure(.permissionDenied) }
            if heldElsewhere.contains(p) || open.contains(where: { $0.key != fd && $0.value.path == p }) {
                return .failure(.resourceTemporarilyUnavailable)
            }
            leased[fd] = type
            calls.append("lease \(p)")
            return .success(())
        }
    }

    func getLease(_ fd: Int32) -> Result<LeaseType, Errno> {
        let hook: ((FakeKernel, String) -> Void)? = lock.withLock { onGetLease }
        if let hook, let p = lock.withLock({ open[fd]?.path }) { hook(self, p) }
        return lock.withLock {
            guard let p = open[fd]?.path else { return .failure(.badFileDescriptor) }
            if let e = failing("F_GETLEASE", p) { return .failure(e) }
            if brokenLeases.contains(fd) { return .success(.read) }
            return .success(leased[fd] ?? .none)
        }
    }

    func renameNoReplace(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        lock.withLock {
            let from = full(oldDir, oldPath), to = full(newDir, newPath)
            if let e = failing("renameat2", to) ?? failing("renameat2", from) { return .failure(e) }
            guard files[to] == nil else { return .failure(.fileExists) }
            guard let f = files.removeValue(forKey: from) else { return .failure(.noSuchFileOrDirectory) }
            files[to] = f
            for (fd, o) in open where o.path == from { open[fd] = (to, o.offset) }
            calls.append("rename \(from) -> \(to)")
            return .success(())
        }
    }

    /// A process elsewhere opens `path` now (breaking any lease on it), and keeps it open.
    func openElsewhere(_ path: String) {
        lock.withLock {
            heldElsewhere.insert(path)
            brokenLeases.formUnion(leased.keys.filter { open[$0]?.path == path })
        }
    }
}
