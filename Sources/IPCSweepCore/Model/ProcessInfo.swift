/// One process as read from /proc/PID/{stat,status,cgroup,exe,ns/ipc}.
public struct ProcessRecord: Sendable, Equatable {
    public var pid: Int32
    public var ppid: Int32
    /// The state letter of /proc/PID/stat field 3 (R, S, D, Z, X, ...).
    public var state: Character
    public var uid: UInt32
    public var euid: UInt32
    public var comm: String
    /// Target of /proc/PID/exe; nil when unreadable (kernel thread, permission).
    public var exe: String?
    /// Start instant in epoch seconds, from stat field 22 and the precise boot instant.
    public var startTime: Double
    /// The cgroup path systemd placed it in (name=systemd v1 line, else the v2 `0::` line).
    public var cgroup: String?
    /// The inode of /proc/PID/ns/ipc; nil when unreadable.
    public var ipcNamespace: UInt64?
    /// shmids this process maps (/proc/PID/maps `/SYSV%08x` lines); empty when maps were not read.
    public var attachedSegments: [Int32]
    /// Real and effective gid and the supplementary groups (/proc/PID/status `Gid:`, `Groups:`); groups nil when unread.
    public var gid: UInt32
    public var egid: UInt32
    public var groups: [UInt32]?
    /// The POSIX IPC objects it holds open (/proc/PID/fd) or maps (/proc/PID/maps); empty when not read.
    public var posixHandles: [PosixHandle]
    /// Why its descriptors or mappings could not be read (permission), when they could not.
    public var handlesUnreadable: String?

    public init(pid: Int32, ppid: Int32, state: Character, uid: UInt32, euid: UInt32, comm: String,
                exe: String? = nil, startTime: Double, cgroup: String? = nil,
                ipcNamespace: UInt64? = nil, attachedSegments: [Int32] = [], gid: UInt32 = 0, egid: UInt32 = 0,
                groups: [UInt32]? = nil, posixHandles: [PosixHandle] = [], handlesUnreadable: String? = nil) {
        self.pid = pid
        self.ppid = ppid
        self.state = state
        self.uid = uid
        self.euid = euid
        self.comm = comm
        self.exe = exe
        self.startTime = startTime
        self.cgroup = cgroup
        self.ipcNamespace = ipcNamespace
        self.attachedSegments = attachedSegments
        self.gid = gid
        self.egid = egid
        self.groups = groups
        self.posixHandles = posixHandles
        self.handlesUnreadable = handlesUnreadable
    }

    /// Zombie or dead: holds nothing.
    public var isDeadOrZombie: Bool { state == "Z" || state == "X" || state == "x" }

    /// The systemd unit implied by the cgroup path: the deepest `.service` or `.scope` component.
    public var unit: String? { cgroup.flatMap(SystemdUnit.unit(ofCgroup:)) }

    /// Whether it runs with root's real or effective uid.
    public var isRoot: Bool { uid == 0 || euid == 0 }
}

/// One way a process holds a POSIX IPC object: an open descriptor or a mapping.
public struct PosixHandle: Sendable, Equatable, Hashable {
    /// The object's device and inode (from fstat of /proc/PID/fd/N, or the dev and inode fields of a maps line).
    public var object: DeviceInode
    /// The descriptor number, for an open descriptor.
    public var fd: Int32?
    /// The mapped address range ("7f12a000-7f12b000"), for a mapping.
    public var mapping: String?

    public init(object: DeviceInode, fd: Int32? = nil, mapping: String? = nil) {
        self.object = object
        self.fd = fd
        self.mapping = mapping
    }
}

/// Systemd unit names and cgroup paths.
public enum SystemdUnit {
    static let unitSuffixes = [".service", ".scope"]

    /// The deepest path component that names a service or scope, or nil.
    public static func unit(ofCgroup path: String) -> String? {
        path.split(separator: "/").reversed().first { c in unitSuffixes.contains { c.hasSuffix($0) } }
            .map(String.init)
    }

    /// `apache2` -> `apache2.service`; names with a unit suffix stay as they are.
    public static func normalize(_ name: String) -> String {
        let suffixes = [".service", ".scope", ".socket", ".slice", ".mount", ".timer", ".target", ".path", ".swap"]
        return suffixes.contains { name.hasSuffix($0) } ? name : name + ".service"
    }

    /// Whether the cgroup path lies in that unit (its own cgroup or a delegated sub-cgroup).
    public static func cgroup(_ path: String, isIn unit: String) -> Bool {
        path.split(separator: "/").contains { $0 == unit }
    }
}

/// All processes of one moment, indexed by pid and by uid.
public struct ProcessTable: Sendable, Equatable {
    public private(set) var byPid: [Int32: ProcessRecord]
    /// Threads that are not group leaders, resolved to their thread group id (only for pids asked about).
    public var threadGroups: [Int32: Int32]
    /// The tool's own IPC namespace inode.
    public var ownIPCNamespace: UInt64?

    public init(processes: [ProcessRecord], threadGroups: [Int32: Int32] = [:], ownIPCNamespace: UInt64? = nil) {
        var map: [Int32: ProcessRecord] = [:]
        map.reserveCapacity(processes.count)
        for p in processes { map[p.pid] = p }
        self.byPid = map
        self.threadGroups = threadGroups
        self.ownIPCNamespace = ownIPCNamespace
    }

    public var processes: [ProcessRecord] { byPid.values.sorted { $0.pid < $1.pid } }

    /// The process a recorded pid means: itself, or its thread group leader when it is a thread id.
    public func process(forRecordedPid pid: Int32) -> ProcessRecord? {
        if let p = byPid[pid] { return p }
        if let tgid = threadGroups[pid] { return byPid[tgid] }
        return nil
    }

    /// Whether a process shares the tool's IPC namespace (unknown namespaces count as shared).
    public func sharesIPCNamespace(_ p: ProcessRecord) -> Bool {
        guard let own = ownIPCNamespace, let theirs = p.ipcNamespace else { return true }
        return own == theirs
    }

    /// The pid and every ancestor of it present in the table.
    public func selfAndAncestors(of pid: Int32) -> Set<Int32> {
        var out: Set<Int32> = []
        var cur = pid
        while cur > 0, !out.contains(cur) {
            out.insert(cur)
            guard let p = byPid[cur] else { break }
            cur = p.ppid
        }
        return out
    }

    /// The pid and all its descendants.
    public func descendants(of root: Int32) -> Set<Int32> {
        var children: [Int32: [Int32]] = [:]
        for p in byPid.values { children[p.ppid, default: []].append(p.pid) }
        var out: Set<Int32> = []
        var stack = [root]
        while let cur = stack.popLast() {
            guard out.insert(cur).inserted else { continue }
            stack.append(contentsOf: children[cur] ?? [])
        }
        return out.filter { byPid[$0] != nil }
    }

    /// Processes that map each segment (from /proc/PID/maps), by shmid.
    public func attachers() -> [Int32: [ProcessRecord]] {
        var out: [Int32: [ProcessRecord]] = [:]
        for p in byPid.values where !p.attachedSegments.isEmpty && sharesIPCNamespace(p) {
            for id in Set(p.attachedSegments) { out[id, default: []].append(p) }
        }
        return out.mapValues { $0.sorted { $0.pid < $1.pid } }
    }
}
