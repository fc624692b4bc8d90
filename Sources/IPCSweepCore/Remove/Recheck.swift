/// The changes the tool's own read-only attach (`--save-to` of a segment) makes, which the re-check expects.
public struct OwnAttach: Sendable, Equatable {
    /// This process's pid: shmat and shmdt record it as `shm_lpid`.
    public var pid: Int32
    /// Still attached: `nattch` counts our mapping, and `dtime` must not have moved.
    public var attached: Bool
    /// The second just before our shmat: `atime` (and after a detach, `dtime`) are at least this.
    public var since: Int64

    public init(pid: Int32, attached: Bool, since: Int64) {
        self.pid = pid
        self.attached = attached
        self.since = since
    }
}

/// Compares an object as planned with a fresh stat of the same id, field by field. Pure.
///
/// Identity: key, uid, gid, cuid, cgid, mode, ctime; a segment's size and cpid; a set's nsems.
/// Idleness: operation times, recorded pids, `nattch`, waiters, semaphore values, queue depth.
public enum Recheck {
    /// Every difference in plain words ("semaphore 0: pid 812 -> 913"); empty when nothing changed.
    public static func differences(planned: IPCObject, current: IPCObject, ownAttach: OwnAttach? = nil) -> [String] {
        var out: [String] = []
        func cmp<T: Equatable>(_ name: String, _ a: T, _ b: T, _ show: (T) -> String = { "\($0)" }) {
            if a != b { out.append("\(name) \(show(a)) -> \(show(b))") }
        }
        // Nothing changed at all (the usual case): every field compared below is equal.
        if ownAttach == nil && planned == current { return [] }
        guard planned.kind == current.kind, planned.id == current.id else {
            return ["now \(current.ref), planned \(planned.ref)"]
        }
        if case .posix(let a) = planned, case .posix(let b) = current { return posixDifferences(a, b) }
        let p = planned.perm, c = current.perm
        cmp("key", p.key, c.key, IPCTextFormat.hexKey)
        cmp("owner uid", p.uid, c.uid)
        cmp("group gid", p.gid, c.gid)
        cmp("creator uid", p.cuid, c.cuid)
        cmp("creator gid", p.cgid, c.cgid)
        cmp("mode", p.mode, c.mode) { IPCTextFormat.octal($0) + ($0 & SHMModeFlag.dest != 0 && planned.kind == .shm ? " (marked for removal)" : "") }
        cmp("ctime", planned.ctime, current.ctime)

        switch (planned, current) {
        case (.sem(let a), .sem(let b)):
            cmp("nsems", a.nsems, b.nsems)
            cmp("otime", a.otime, b.otime)
            switch (a.semaphores, b.semaphores) {
            case (let x?, let y?) where x.count == y.count:
                for (n, (s, t)) in zip(x, y).enumerated() {
                    cmp("semaphore \(n): value", s.value, t.value)
                    cmp("semaphore \(n): pid", s.pid, t.pid)
                    cmp("semaphore \(n): waiters for increase (ncnt)", s.ncnt, t.ncnt)
                    cmp("semaphore \(n): waiters for zero (zcnt)", s.zcnt, t.zcnt)
                }
            case (_?, _?):
                break  // nsems differs, already said
            case (nil, _):
                break  // the plan did not read the semaphores: the fresh read decides
            case (_?, nil):
                out.append("per-semaphore pids and waiters could not be read again")
            }
        case (.shm(let a), .shm(let b)):
            cmp("size", a.size, b.size)
            cmp("creator pid", a.cpid, b.cpid)
            if let own = ownAttach {
                if b.lpid != own.pid { out.append("last attach/detach pid \(b.lpid), expected this ipcsweep (pid \(own.pid))") }
                let expected = a.nattch + (own.attached ? 1 : 0)
                if b.nattch != expected {
                    out.append("nattch \(a.nattch) -> \(b.nattch) (expected \(expected)\(own.attached ? ", counting this ipcsweep's own attach" : ""))")
                }
                if b.atime < own.since { out.append("atime \(b.atime), expected this ipcsweep's attach at \(own.since) or later") }
                if own.attached {
                    cmp("dtime", a.dtime, b.dtime)
                } else if b.dtime < own.since {
                    out.append("dtime \(b.dtime), expected this ipcsweep's detach at \(own.since) or later")
                }
            } else {
                cmp("last attach/detach pid", a.lpid, b.lpid)
                cmp("nattch", a.nattch, b.nattch)
                cmp("atime", a.atime, b.atime)
                cmp("dtime", a.dtime, b.dtime)
            }
        case (.msg(let a), .msg(let b)):
            cmp("messages", a.qnum, b.qnum)
            cmp("bytes queued", a.cbytes, b.cbytes)
            cmp("last sender pid", a.lspid, b.lspid)
            cmp("last receiver pid", a.lrpid, b.lrpid)
            cmp("stime", a.stime, b.stime)
            cmp("rtime", a.rtime, b.rtime)
            if let x = a.qbytes, let y = b.qbytes { cmp("capacity (qbytes)", x, y) }
        default:
            out.append("kind changed")
        }
        return out
    }

    /// A POSIX object's differences: another file under its name (device, inode), its size (a file's), its
    /// modification time, its change time (a file's: reading a queue's file, as the re-check does, sets it),
    /// owner, group and mode.
    static func posixDifferences(_ o: PosixIPCObject, _ now: PosixIPCObject) -> [String] {
        var d: [String] = []
        if now.identity != o.identity {
            d.append("another file now has its name (inode \(o.identity.inode) -> \(now.identity.inode))")
        }
        if now.size != o.size, o.kind != .posixMq { d.append("size \(o.size) -> \(now.size)") }
        if now.mtimeNs != o.mtimeNs { d.append("modified since planned (mtime)") }
        if o.kind != .posixMq, now.ctime != o.ctime { d.append("changed since planned (ctime)") }
        if now.uid != o.uid || now.gid != o.gid { d.append("owner \(o.uid):\(o.gid) -> \(now.uid):\(now.gid)") }
        if now.mode != o.mode { d.append("mode \(IPCTextFormat.octal(o.mode)) -> \(IPCTextFormat.octal(now.mode))") }
        return d
    }
}
