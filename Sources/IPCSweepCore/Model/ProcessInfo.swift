/// One process as read from /proc/PID/{stat,status,cgroup,exe,ns/ipc}.
public struct ProcessRecord: Sendable, Equatable {
    public var pid: Int32
    public var ppid: Int32
    /// The state letter of /proc/PID/stat field 3 (R, S, D, Z, X, ...); "?" when stat could not be read.
    public var state: Character
    public var uid: UInt32
    public var euid: UInt32
    /// Real and effective gid (/proc/PID/status `Gid:`).
    public var gid: UInt32
    public var egid: UInt32
    /// Supplementary groups (/proc/PID/status `Groups:`).
    public var groups: [UInt32]
    /// Effective capabilities (/proc/PID/status `CapEff:`).
    public var capEff: UInt64
    /// False when /proc/PID/status could not be read (permission, hidepid): uid, gids and capabilities are
    /// then unknown and the process counts as able to reach every object.
    public var credentialsKnown: Bool
    /// False when /proc/PID/stat could not be read: state and start are then unknown (start 0, the boot:
    /// it counts as existing at every last activity).
    public var statKnown: Bool
    /// Whether it is the init (pid 1) of a pid namespace, its own or a nested one (/proc/PID/status `NSpid:`).
    public var isNamespaceInit: Bool
    public var comm: String
    /// Target of /proc/PID/exe; nil when unreadable (kernel thread, permission).
    public var exe: String?
    /// Start instant in epoch seconds, from stat field 22 and the precise boot instant.
    public var startTime: Double
    /// The cgroup path systemd placed it in (name=systemd v1 line, else the v2 `0::` line).
    public var cgroup: String?
    /// The inode of /proc/PID/ns/ipc; nil when unreadable.
    public var ipcNamespace: UInt64?
    /// The inode of /proc/PID/ns/mnt (which /dev/shm and mqueue mount it reaches); nil when unreadable.
    public var mountNamespace: UInt64? = nil
    /// shmids this process maps (/proc/PID/maps `/SYSV%08x` lines); empty when maps were not read.
    public var attachedSegments: [Int32]
    /// The POSIX IPC objects it holds open (/proc/PID/fd) or maps (/proc/PID/maps); empty when not read.
    public var posixHandles: [PosixHandle]
    /// Why its descriptors or mappings could not be read (permission), when they could not.
    public var handlesUnreadable: String?
    /// The /proc files the probe looked at for it (read, or found unreadable). A verdict reads only what it needs
    /// (`ProcessNeeds`): without `.stat` only status was read, the start is unknown (0, as for an unreadable
    /// stat), the command is status's `Name:` and the namespaces are unread; without `.cgroup` the unit is unread.
    public var files: Files = .all

    /// Files of /proc/PID.
    public struct Files: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let status = Files(rawValue: 1)
        /// stat, and with it ns/ipc (and ns/mnt, exe when the probe reads them).
        public static let stat = Files(rawValue: 2)
        public static let cgroup = Files(rawValue: 4)
        public static let all: Files = [.status, .stat, .cgroup]
    }

    public init(pid: Int32, ppid: Int32, state: Character, uid: UInt32, euid: UInt32, gid: UInt32? = nil,
                egid: UInt32? = nil, groups: [UInt32] = [], capEff: UInt64 = 0, credentialsKnown: Bool = true,
                statKnown: Bool = true, isNamespaceInit: Bool = false, comm: String,
                exe: String? = nil, startTime: Double, cgroup: String? = nil,
                ipcNamespace: UInt64? = nil, attachedSegments: [Int32] = [], posixHandles: [PosixHandle] = [],
                handlesUnreadable: String? = nil) {
        self.pid = pid
        self.ppid = ppid
        self.state = state
        self.uid = uid
        self.euid = euid
        self.gid = gid ?? uid
        self.egid = egid ?? gid ?? uid
        self.groups = groups
        self.capEff = capEff
        self.credentialsKnown = credentialsKnown
        self.statKnown = statKnown
        self.isNamespaceInit = isNamespaceInit
        self.comm = comm
        self.exe = exe
        self.startTime = startTime
        self.cgroup = cgroup
        self.ipcNamespace = ipcNamespace
        self.attachedSegments = attachedSegments
        self.posixHandles = posixHandles
        self.handlesUnreadable = handlesUnreadable
    }

    /// Zombie or dead: holds nothing.
    public var isDeadOrZombie: Bool { state == "Z" || state == "X" || state == "x" }

    /// The systemd unit implied by the cgroup path: the deepest `.service` or `.scope` component.
    public var unit: String? { cgroup.flatMap(SystemdUnit.unit(ofCgroup:)) }

    /// Whether it runs with root's real or effective uid.
    public var isRoot: Bool { uid == 0 || euid == 0 }

    /// CAP_IPC_OWNER (bit 15) in its effective capabilities: the kernel lets it reach every object.
    public var hasIPCOwner: Bool { capEff & (1 << 15) != 0 }

    /// Root or CAP_IPC_OWNER: reaches every object, so the root rule decides whether it counts.
    public var isPrivileged: Bool { credentialsKnown && (isRoot || hasIPCOwner) }

    /// Whether one of its gids (real, effective, supplementary) is `gid`.
    public func inGroup(_ gid: UInt32) -> Bool { self.gid == gid || egid == gid || groups.contains(gid) }
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
    /// The inode of the IPC namespace being inspected: the tool's own, or the one `--namespace` names
    /// (then the processes in it are the possible holders). nil: unknown, every process counts.
    public var ownIPCNamespace: UInt64?
    /// The running ipcsweep's own pid as this procfs shows it: the one process that never counts as a holder.
    public var ownPid: Int32?
    /// What the tool cannot see of the processes sharing its IPC namespace (hidepid, pid namespaces).
    public var blindSpots: [BlindSpot]
    /// The boot instant (epoch seconds) the start times were converted with. Records added to the table later
    /// use it too: two reads of the clocks differ by a few microseconds, enough to make a parent that started in
    /// the same tick as its child look younger than it (then the child would look re-parented).
    public var bootInstant: Double?

    public init(processes: [ProcessRecord], threadGroups: [Int32: Int32] = [:], ownIPCNamespace: UInt64? = nil,
                ownPid: Int32? = nil, blindSpots: [BlindSpot] = [], bootInstant: Double? = nil) {
        var map: [Int32: ProcessRecord] = [:]
        map.reserveCapacity(processes.count)
        for p in processes { map[p.pid] = p }
        self.byPid = map
        self.threadGroups = threadGroups
        self.ownIPCNamespace = ownIPCNamespace
        self.ownPid = ownPid
        self.blindSpots = blindSpots
        self.bootInstant = bootInstant
    }

    /// The same facts about the table, with other records.
    public func replacingProcesses(_ processes: [ProcessRecord]) -> ProcessTable {
        ProcessTable(processes: processes, threadGroups: threadGroups, ownIPCNamespace: ownIPCNamespace,
                     ownPid: ownPid, blindSpots: blindSpots, bootInstant: bootInstant)
    }

    /// The same table with these records in place of those of their pids (files read after the table: a
    /// process's stat, its cgroup); a record of a pid the table does not have is left out. In place, without
    /// building the table again.
    public mutating func update(_ records: some Sequence<ProcessRecord>) {
        for r in records where byPid[r.pid] != nil { byPid[r.pid] = r }
    }

    /// The same table with these records added (processes found after it was read); a record of a pid the table
    /// has already is left out. In place: the time it takes is the new records', not the table's. Returns the
    /// records added.
    @discardableResult
    public mutating func insert(_ records: some Sequence<ProcessRecord>) -> [ProcessRecord] {
        var added: [ProcessRecord] = []
        for r in records where byPid[r.pid] == nil {
            byPid[r.pid] = r
            added.append(r)
        }
        return added
    }

    public var processes: [ProcessRecord] { byPid.values.sorted { $0.pid < $1.pid } }

    /// The process a recorded pid means: itself, or its thread group leader when it is a thread id.
    public func process(forRecordedPid pid: Int32) -> ProcessRecord? {
        if let p = byPid[pid] { return p }
        if let tgid = threadGroups[pid] { return byPid[tgid] }
        return nil
    }

    /// Whether a process is in the IPC namespace being inspected (unknown namespaces count as shared).
    public func sharesIPCNamespace(_ p: ProcessRecord) -> Bool {
        guard let own = ownIPCNamespace, let theirs = p.ipcNamespace else { return true }
        return own == theirs
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

/// Something that keeps the tool from seeing every process that shares its IPC namespace. While one exists,
/// no object is `orphaned`: objects without direct evidence are `unknown`.
public enum BlindSpot: Sendable, Hashable {
    /// procfs mounted with `hidepid=` (value as mounted: 1, 2, 4, noaccess, invisible, ptraceable) and the
    /// caller is neither privileged (CAP_SYS_PTRACE) nor in the mount's `gid=` group (nil: none given).
    case hidepid(mountPoint: String, value: String, gid: UInt32?)
    /// procfs mounted with `subset=pid`, for a caller that is not exempt.
    case subsetPid(mountPoint: String)
    /// The tool's IPC namespace is the host's (inode 4026531839) but its pid namespace is not the initial one:
    /// processes of the parent pid namespaces share the objects and are invisible.
    case hostIPCInChildPidNamespace(pidNamespace: UInt64)
    /// The tool runs in a pid namespace other than the initial one and inspects an IPC namespace other than the
    /// host's (nil: unreadable): processes of other pid namespaces may share it and /dev/shm (a Kubernetes pod's
    /// containers, `docker run --ipc=container:X`) and are invisible. Lifted by `--all-processes-visible`.
    case childPidNamespace(pidNamespace: UInt64, ipcNamespace: UInt64?)
    /// Another IPC namespace is inspected (`--namespace`, e.g. through a bind-mounted namespace file) from a
    /// child pid namespace, and no process of it is visible here: its processes may live in pid namespaces
    /// this one cannot see.
    case namespaceWithoutVisibleProcess(ipcNamespace: UInt64, pidNamespace: UInt64)
}
