/// The direct evidence of a POSIX object: live processes with a descriptor (/proc/PID/fd) or a mapping
/// (/proc/PID/maps) of it, matched by device and inode, a write lease the kernel refused (held by a process the
/// tool cannot see), and a queue's live NOTIFY_PID; and, when there is none, what could still hide a holder
/// (processes whose descriptors or mappings could not be read — unless a granted lease makes "no descriptor or
/// mapping anywhere" certain).
struct PosixEvidence: Sendable {
    let processes: ProcessTable
    /// Descriptors and mappings by object, from every live process of any namespace (a file's device and inode
    /// name it on the whole system), in pid order.
    let handles: [DeviceInode: [(ProcessRecord, PosixHandle)]]
    /// Live processes whose descriptors or mappings could not be read, in pid order.
    let unreadable: [ProcessRecord]

    init(processes: ProcessTable) {
        self.processes = processes
        // Only the processes with a handle or unreadable descriptors matter here: the others are not copied or sorted
        // (this is rebuilt with every classifier, also when no POSIX object is in view).
        let live = processes.byPid.values.filter {
            (!$0.posixHandles.isEmpty || $0.handlesUnreadable != nil) && !$0.isDeadOrZombie && $0.pid != processes.ownPid
        }.sorted { $0.pid < $1.pid }
        var index: [DeviceInode: [(ProcessRecord, PosixHandle)]] = [:]
        for p in live { for h in p.posixHandles { index[h.object, default: []].append((p, h)) } }
        handles = index
        unreadable = live.filter { $0.handlesUnreadable != nil }
    }

    /// Appends the object's direct evidence (descriptors and mappings grouped per process, a queue's
    /// notification, its messages) and the processes that hold it.
    func direct(_ o: PosixIPCObject, evidence: inout [Evidence], holders: inout [Holder]) {
        var perProcess: [Int32: (ProcessRecord, [Int32], [String])] = [:]
        for (p, h) in handles[o.identity] ?? [] {
            var e = perProcess[p.pid] ?? (p, [], [])
            if let fd = h.fd { e.1.append(fd) }
            if let m = h.mapping { e.2.append(m) }
            perProcess[p.pid] = e
        }
        for pid in perProcess.keys.sorted() {
            guard let (p, fds, maps) = perProcess[pid] else { continue }
            if !fds.isEmpty {
                evidence.append(.openDescriptor(holder: Holder(p, relation: .attached), fds: fds.sorted()))
                holders.append(Holder(p, relation: .fd, fds: fds.sorted()))
            }
            if !maps.isEmpty {
                evidence.append(.mapped(holder: Holder(p, relation: .attached), mappings: maps.count))
                holders.append(Holder(p, relation: .mapping, mappings: maps))
            }
        }
        // The kernel knows of a descriptor or mapping no visible process has.
        if o.lease == .refused && perProcess.isEmpty { evidence.append(.openElsewhere) }
        if let q = o.queue {
            if q.notifyPid > 0 {
                if let p = processes.process(forRecordedPid: q.notifyPid), !p.isDeadOrZombie, p.pid != processes.ownPid {
                    evidence.append(.queueNotification(holder: Holder(p, relation: .recorded)))
                    holders.append(Holder(p, relation: .notify))
                } else {
                    evidence.append(.notificationPidGone(pid: q.notifyPid))
                }
            }
            if q.hasMessages { evidence.append(.messages(count: UInt64(q.messages ?? 0), bytes: q.qsize)) }
        } else if o.kind == .posixMq {
            evidence.append(.queueStateUnreadable)
        }
    }

    /// Without direct evidence: that no descriptor or mapping exists (a granted lease: certain, whoever is
    /// unreadable), or that none was found and (fail closed) every process that could reach it whose descriptors
    /// or mappings are hidden from us.
    func undecided(_ o: PosixIPCObject, access: AccessControl, reaches: (ProcessRecord) -> Bool) -> [Evidence] {
        if o.lease == .granted { return [.leaseGranted] }
        var out: [Evidence] = [.noDescriptorOrMapping]
        for p in unreadable where reaches(p) && access.reachable(by: p) {
            out.append(.handlesUnreadable(pid: p.pid, command: p.comm, detail: p.handlesUnreadable ?? "unreadable"))
        }
        return out
    }

    /// The processes that hold it now, in words ("pid 812 (postgres) descriptor 5"), a holder only a refused
    /// lease tells of, and the reaching processes whose descriptors cannot be read (unless a lease was granted):
    /// what appeared since a plan that found none (clean's re-check).
    func holdersNow(_ o: PosixIPCObject, reaches: (ProcessRecord) -> Bool) -> [String] {
        var out: [String] = []
        for (p, h) in handles[o.identity] ?? [] {
            out.append("pid \(p.pid) (\(p.comm)) " + (h.fd.map { "descriptor \($0)" } ?? "mapping \(h.mapping ?? "")"))
        }
        if o.lease == .refused && out.isEmpty { out.append("a process this tool cannot see (a write lease was refused)") }
        if o.lease == .granted { return out }
        let access = AccessControl(o)
        for p in unreadable where reaches(p) && access.reachable(by: p) {
            out.append("pid \(p.pid) (\(p.comm)), whose descriptors cannot be read (\(p.handlesUnreadable ?? "unreadable"))")
        }
        return out
    }
}

extension AccessControl {
    /// A file's permission facts for the possible-holder rules: its owner and group stand for both owner and
    /// creator. Named ACL entries that the mask lets through grant access to users and groups the mode bits
    /// do not name: they count as the other bits (anyone may reach it), which errs toward "held".
    public init(_ o: PosixIPCObject) {
        var mode = o.mode & 0o777
        if mode & 0o070 != 0, o.acl?.contains(where: { ($0.tag == .user || $0.tag == .group) && $0.perms != 0 }) == true {
            mode |= 0o007
        }
        self.init(uid: o.uid, gid: o.gid, cuid: o.uid, cgid: o.gid, mode: mode)
    }

    /// Whether a process could reach it by the ipcperms rules (root, CAP_IPC_OWNER and unreadable credentials
    /// count as reaching).
    func reachable(by p: ProcessRecord) -> Bool {
        !p.credentialsKnown || p.isPrivileged || p.uid == uid || p.euid == uid || p.uid == cuid || p.euid == cuid
            || (groupCanReach && (p.inGroup(gid) || p.inGroup(cgid))) || anyoneCanReach
    }
}
