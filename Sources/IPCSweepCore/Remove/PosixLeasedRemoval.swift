import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The removal of a POSIX object whose write lease `clean` holds since the fresh read. While it is held, no
/// process can open the file without breaking it (the open waits), and none had it open or mapped when it was
/// granted. The steps:
///
/// 1. Re-check: fstat(2) of the leased descriptor against the fresh read (size, times, owner, mode) and
///    fstatat(2) of the name (the same device and inode).
/// 2. A file of /dev/shm is moved to a hidden name in the same directory (renameat2 RENAME_NOREPLACE), so that
///    it keeps a name: the kernel never links an unlinked file back (linkat of /proc/self/fd/N, or AT_EMPTY_PATH,
///    of a file with no links fails), so a name is put back only if it was never unlinked.
/// 3. The lease is read back (F_GETLEASE): broken means a process opened the file since the lease was taken —
///    it waits in open(2) now. The name is moved back and the object reported "opened during removal, restored".
/// 4. Else the hidden name is unlinked; the lease and the descriptor are released afterwards (`release`).
///
/// The mqueue filesystem has neither links nor renames: a queue's lease is read back just before its unlinkat;
/// broken, it is left in place (its drained messages put back). A break that comes after the last read-back (an
/// open that looked the name up before it went, and reached the lease only after) cannot be undone: the result
/// says so.
extension PosixCandidate {
    /// The hidden name a file has between its re-check and its removal.
    var hiddenName: String { ".ipcsweep-removing.\(kernel.pid).\(object.identity.inode)" }

    func removeUnderLease(_ fd: Int32) -> RemoveStep {
        if let stop = recheckUnderLease(fd) { return stop }
        beforeUnlink?(object)
        if object.kind != .posixMq {
            switch kernel.renameNoReplace(dir, object.entry, dir, hiddenName) {
            case .success:
                return removeHidden(fd)
            case .failure(let e) where e == .invalidArgument || e == .notSupported || e == .noFunction:
                break  // a filesystem without renameat2's flags: as a queue, read back just before the unlink
            case .failure(let e):
                return .failed(e, during: "renameat2", note: nil)
            }
        }
        if !leases.intact(fd) {
            let note = putBack()
            return .openedDuringRemoval("a process opened it while it was being removed: it was left in place"
                                        + (note.map { "; " + $0 } ?? ""))
        }
        switch kernel.unlinkat(dir, object.entry, 0) {
        case .success: break
        case .failure(let e): return .failed(e, during: "unlinkat", note: putBack())
        }
        return afterUnlink(fd)
    }

    /// Step 1: the leased file is still the fresh read, and its name still names it; nil when so, else the step
    /// that ends the removal (changed, or a failed call).
    private func recheckUnderLease(_ fd: Int32) -> RemoveStep? {
        let held: stat
        switch kernel.fstat(fd) {
        case .success(let st): held = st
        case .failure(let e): return .failed(e, during: "fstat", note: putBack())
        }
        var now = PosixIPCObject(stat: held, like: object)
        // A drained queue's mtime is our own receive's.
        if drained != nil { now.mtimeNs = object.mtimeNs }
        var d = Recheck.posixDifferences(object, now)
        switch kernel.fstatat(dir, object.entry, AT_SYMLINK_NOFOLLOW) {
        case .success(let st) where UInt64(st.st_dev) != UInt64(held.st_dev) || UInt64(st.st_ino) != UInt64(held.st_ino):
            d.append("another file took its name (inode \(object.identity.inode) -> \(st.st_ino))")
        case .success: break
        case .failure(let e): return .failed(e, during: "fstatat", note: putBack())
        }
        if d.isEmpty { return nil }
        if let note = putBack() { d.append(note) }
        return .changed(d)
    }

    /// Steps 3 and 4, the file under its hidden name.
    private func removeHidden(_ fd: Int32) -> RemoveStep {
        let hidden = hiddenName
        let kept = "it is kept as \(object.directory)/\(hidden): rename it back to \(object.entry)"
        // Another file could have taken the name between the re-check and the rename: then that one moved.
        guard case .success(let st) = kernel.fstatat(dir, hidden, AT_SYMLINK_NOFOLLOW),
              UInt64(st.st_dev) == object.identity.device, UInt64(st.st_ino) == object.identity.inode else {
            if case .failure(let e) = kernel.renameNoReplace(dir, hidden, dir, object.entry) {
                return .failed(e, during: "renameat2", note: "another file took the name \(object.entry) just before its removal and was moved; \(kept)")
            }
            return .changed(["another file took its name just before its removal"])
        }
        if !leases.intact(fd) {
            switch kernel.renameNoReplace(dir, hidden, dir, object.entry) {
            case .success:
                return .openedDuringRemoval("a process opened it while it was being removed: its name was restored, nothing was removed")
            case .failure(let e):
                return .failed(e, during: "renameat2", note: "a process opened it while it was being removed, and its name could not be restored; \(kept)")
            }
        }
        switch kernel.unlinkat(dir, hidden, 0) {
        case .success: break
        case .failure(let e):
            let back = kernel.renameNoReplace(dir, hidden, dir, object.entry)
            if case .failure = back { return .failed(e, during: "unlinkat", note: kept) }
            return .failed(e, during: "unlinkat", note: nil)
        }
        return afterUnlink(fd)
    }

    /// A break read back after the unlink: the opener gets the file without a name, and nothing can give it back.
    private func afterUnlink(_ fd: Int32) -> RemoveStep {
        if leases.intact(fd) { return .removed }
        return .removedWithNote("a process opened it at the moment its name was removed: that process keeps it, unnamed, until it closes it (a file without links cannot be given its name back)")
    }
}
