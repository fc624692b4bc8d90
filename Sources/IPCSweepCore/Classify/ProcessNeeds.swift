/// Which processes a verdict can look at beyond their credentials, decided from the objects before the processes
/// are read (issue 20: read only what a verdict needs).
///
/// `/proc/PID/status` (uids, groups, capabilities, state, parent) is read for every process when there is an object
/// in view (`readsNothing`: none otherwise): nothing cheaper says
/// whether a process could reach an object (the owner of /proc/PID is its effective uid, or root: it can add a
/// process but never rule one out). A process whose credentials reach no object in view (`mayReach`) is never a
/// possible holder, so its start, command name and IPC namespace (`stat`, `ns/ipc`) are read only when the
/// evidence names it anyway (`evidencePids`: a recorded pid, a holder by mapping, descriptor or notification, the
/// parent of a process that may be re-parented). `cgroup` is read for the holders a verdict shows, after it
/// (the unit is shown, it never decides; `Classification.fillUnits`), except with a scope, which selects by it.
///
/// The rule is the possible-holder finder's (`PossibleHolderFinder.reachRule`) taken over every object at once:
/// a process may reach one of the objects exactly when `reachRule` gives a rule for one of them (tested on
/// randomised snapshots against a whole read).
public struct ProcessNeeds: Sendable, Equatable {
    /// Owner and creator uids of every object.
    var uids: Set<UInt32> = []
    /// Owner and creator gids of the objects whose group bits grant access.
    var groupGids: Set<UInt32> = []
    /// Some object's other bits grant access: every process with known credentials may reach it.
    var anyone = false
    /// Some object is root's: root processes, and those with CAP_IPC_OWNER, count by the root rule.
    var rootObject = false
    /// There is an object at all (without one, no process can hold anything).
    var anyObject = false

    /// The needs of these objects' permissions (System V as listed, POSIX files as scanned), without a scope
    /// (a scope selects processes by cgroup, executable and ancestry: the table is then read whole).
    public init(accesses: some Sequence<AccessControl>) {
        add(accesses)
    }

    /// The needs of the objects of a snapshot (as listed: the permissions are all it reads) and of POSIX objects.
    public init(_ snapshot: IPCSnapshot, posix: [PosixIPCObject]) {
        add(snapshot.semaphoreSets.lazy.map { AccessControl($0.perm) })
        add(snapshot.segments.lazy.map { AccessControl($0.perm) })
        add(snapshot.queues.lazy.map { AccessControl($0.perm) })
        add(posix.lazy.map { AccessControl($0) })
    }

    private mutating func add(_ accesses: some Sequence<AccessControl>) {
        for a in accesses {
            anyObject = true
            uids.insert(a.uid)
            uids.insert(a.cuid)
            if a.groupCanReach {
                groupGids.insert(a.gid)
                groupGids.insert(a.cgid)
            }
            anyone = anyone || a.anyoneCanReach
            rootObject = rootObject || a.rootObject
        }
    }

    /// The needs of these objects.
    public init(objects: some Sequence<IPCObject>) {
        self.init(accesses: objects.lazy.map(\.access))
    }

    /// No object is in view: no process can be a holder or a possible holder, and no evidence names one, so the
    /// table is not read at all (not even status). Nothing else of a read for the verdicts uses it: the blind
    /// spots come from the mount and the namespaces, and a scope or `--namespace` reads the table whole.
    public var readsNothing: Bool { !anyObject }

    /// Whether a process with these credentials (from /proc/PID/status) could reach one of the objects, by the
    /// rules of `PossibleHolderFinder.reachRule` without a scope. Unreadable credentials reach everything.
    public func mayReach(_ p: ProcessRecord) -> Bool {
        guard anyObject else { return false }
        guard p.credentialsKnown else { return true }
        if p.isRoot { return rootObject }
        if uids.contains(p.uid) || uids.contains(p.euid) || anyone { return true }
        if !groupGids.isEmpty && (groupGids.contains(p.gid) || groupGids.contains(p.egid) || p.groups.contains(where: groupGids.contains)) {
            return true
        }
        return p.hasIPCOwner && rootObject
    }

    /// Whether every process that may reach an object with this access was read as one that may reach some object
    /// (`mayReach` of these needs is true wherever `mayReach` of that one object's needs is). False for an object
    /// whose owner, group or mode changed after these needs were taken (IPC_SET, chown, chmod between the plan and a
    /// re-check of `clean`): its possible holders may be among the processes known only by their status.
    public func covers(_ a: AccessControl) -> Bool {
        uids.contains(a.uid) && uids.contains(a.cuid)
            && (!a.groupCanReach || (groupGids.contains(a.gid) && groupGids.contains(a.cgid)))
            && (!a.anyoneCanReach || anyone) && (!a.rootObject || rootObject)
    }

    /// The pids the evidence of a snapshot's objects and of POSIX objects names besides the possible holders, each
    /// of which needs its start, command name and namespace: the recorded pids (and the thread groups they resolve
    /// to), a queue's notification pid, and the processes that map a segment or hold a POSIX object (or whose
    /// descriptors could not be read).
    public static func evidencePids(of snapshot: IPCSnapshot, posix: [PosixIPCObject], in table: ProcessTable) -> Set<Int32> {
        var out = holderPids(in: table)
        out.formUnion(recordedPids(of: snapshot.semaphoreSets, in: table))
        out.formUnion(recordedPids(of: snapshot.segments, in: table))
        out.formUnion(recordedPids(of: snapshot.queues, in: table))
        out.formUnion(recordedPids(of: posix.lazy.map(IPCObject.posix), in: table))
        return out
    }

    /// The recorded pids of these objects (and the thread groups they resolve to), and a queue's notification pid.
    public static func recordedPids(of objects: some Sequence<some RecordedPidSource>, in table: ProcessTable) -> Set<Int32> {
        var out: Set<Int32> = []
        func note(_ pid: Int32) {
            guard pid > 0 else { return }
            out.insert(pid)
            if let tgid = table.threadGroups[pid] { out.insert(tgid) }
        }
        for o in objects {
            o.forEachRecordedPid { note($0.pid) }
            if let pid = o.notifyPid { note(pid) }
        }
        return out
    }

    /// The processes that map a segment or hold a POSIX object, or whose descriptors could not be read.
    public static func holderPids(in table: ProcessTable) -> Set<Int32> {
        var out: Set<Int32> = []
        for p in table.byPid.values
        where !p.attachedSegments.isEmpty || !p.posixHandles.isEmpty || p.handlesUnreadable != nil {
            out.insert(p.pid)
        }
        return out
    }
}

extension PossibleHolderFinder {
    /// Whether a process can reach an object with these permissions (the kernel's `ipcperms`), and by which rule:
    /// unreadable credentials reach everything; root counts only by the root rule (`rootRule`: a root object
    /// without a scope, a member of the scope with one); a non-root process by its uid, its groups, the other
    /// bits, and with CAP_IPC_OWNER also by the root rule. nil: it cannot reach it.
    static func reachRule(_ p: ProcessRecord, _ access: AccessControl, rootRule: Bool) -> ReachRule? {
        if !p.credentialsKnown { return .unreadableStatus }
        if p.isRoot { return rootRule ? .root : nil }
        if p.uid == access.uid || p.euid == access.uid { return .ownerUID }
        if p.uid == access.cuid || p.euid == access.cuid { return .creatorUID }
        if access.groupCanReach, p.inGroup(access.gid) || p.inGroup(access.cgid) { return .groupAccess }
        if access.anyoneCanReach { return .otherAccess }
        return p.hasIPCOwner && rootRule ? .ipcOwner : nil
    }
}
