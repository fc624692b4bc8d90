#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds what keeps the tool from seeing every process that shares its IPC namespace (SPEC "Blind spots:
/// fail closed"): the procfs mount options (/proc/self/mountinfo) and the tool's own namespaces.
public struct VisibilityProbe: Sendable {
    /// The initial IPC and pid namespaces' inodes (PROC_IPC_INIT_INO, PROC_PID_INIT_INO).
    public static let initialIPCNamespace: UInt64 = 4_026_531_839
    public static let initialPidNamespace: UInt64 = 4_026_531_836
    /// CAP_SYS_PTRACE: what the kernel's hidepid check accepts instead of the `gid=` group.
    static let capSysPtrace: UInt64 = 1 << 19

    public var procRoot: String
    /// `--all-processes-visible`: the administrator states that no process of another pid namespace shares the
    /// inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins, the systemd
    /// sandbox). It lifts only the child-pid-namespace blind spot; never the default.
    public var allProcessesVisible: Bool

    public init(procRoot: String = Procfs.live, allProcessesVisible: Bool = false) {
        self.procRoot = procRoot
        self.allProcessesVisible = allProcessesVisible
    }

    /// Every blind spot of a live procfs for the tool's own IPC namespace, or for `inspecting` (another IPC
    /// namespace, `--namespace`/`--all-namespaces`) with whether a process of it is visible here.
    /// Reads /proc/self/status, /proc/self/mountinfo, /proc/self/ns/{ipc,pid} and /proc/1/ns/pid.
    public func blindSpots(inspecting: UInt64? = nil, hasVisibleProcess: Bool = true) -> [BlindSpot] {
        let me = (try? FileIO.read("\(procRoot)/self/status", limit: FileIO.Limit.procfs, requireRegular: false)).flatMap(ProcessProbe.parseStatus)
        let mountinfo = (try? FileIO.readText("\(procRoot)/self/mountinfo", limit: FileIO.Limit.procfs, requireRegular: false)) ?? ""
        let ipc = inspecting ?? FileIO.readLink("\(procRoot)/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
        let pid = FileIO.readLink("\(procRoot)/self/ns/pid").flatMap(ProcessProbe.namespaceInode)
        let procPid = FileIO.readLink("\(procRoot)/1/ns/pid").flatMap(ProcessProbe.namespaceInode)
        let point = realPath(procRoot) ?? procRoot
        return Self.procfsBlindSpots(mountinfo: mountinfo, procMountPoint: point, caller: me)
            + Self.pidNamespaceBlindSpots(ipcNamespace: ipc, pidNamespace: pid, procfsInitPidNamespace: procPid,
                                          allProcessesVisible: allProcessesVisible, hasVisibleProcess: hasVisibleProcess)
    }

    /// The procfs rules (pure): `hidepid=` or `subset=pid` on the procfs in use, for a caller that is not exempt
    /// (CAP_SYS_PTRACE, or a member of the mount's `gid=` group). `caller` is the tool's own /proc/self/status
    /// (nil: unreadable, so not exempt).
    public static func procfsBlindSpots(mountinfo: String, procMountPoint: String,
                                        caller: ProcessProbe.StatusFields?) -> [BlindSpot] {
        guard let options = procMountOptions(mountinfo: mountinfo, mountPoint: procMountPoint) else { return [] }
        var out: [BlindSpot] = []
        var hidepid: String?
        var gid: UInt32?
        var subset = false
        for o in options.split(separator: ",") {
            if o.hasPrefix("hidepid=") { hidepid = String(o.dropFirst(8)) }
            if o.hasPrefix("gid=") { gid = UInt32(o.dropFirst(4)) }
            if o == "subset=pid" { subset = true }
        }
        let privileged = caller.map { $0.capEff & capSysPtrace != 0 } ?? false
        let inGroup = gid.map { g in caller.map { $0.gid == g || $0.egid == g || $0.groups.contains(g) } ?? false } ?? false
        let exempt = privileged || inGroup
        if let h = hidepid, h != "0", h != "off", !exempt {
            out.append(.hidepid(mountPoint: procMountPoint, value: h, gid: gid))
        }
        if subset, !exempt { out.append(.subsetPid(mountPoint: procMountPoint)) }
        return out
    }

    /// The pid-namespace rule (pure), for the IPC namespace inspected (`ipcNamespace`; nil: unreadable). From
    /// the initial pid namespace, or through a procfs of it (`procfsInitPidNamespace`, pid 1's), every process is
    /// visible. From any other pid namespace, processes of other pid namespaces may share the IPC namespace and
    /// /dev/shm unseen: always so for the host's IPC namespace (its init lives in the initial pid namespace);
    /// for another one (a Kubernetes pod's sibling containers, `docker run --ipc=container:X`) unless the
    /// administrator states otherwise (`allProcessesVisible`); and then still when none of its processes is
    /// visible here (`hasVisibleProcess`, for a namespace entered through a namespace file).
    public static func pidNamespaceBlindSpots(ipcNamespace ipc: UInt64?, pidNamespace: UInt64?,
                                              procfsInitPidNamespace: UInt64?, allProcessesVisible: Bool,
                                              hasVisibleProcess: Bool = true) -> [BlindSpot] {
        guard let pid = pidNamespace, pid != initialPidNamespace, procfsInitPidNamespace != initialPidNamespace else {
            return []
        }
        if ipc == initialIPCNamespace { return [.hostIPCInChildPidNamespace(pidNamespace: pid)] }
        guard let ipc, allProcessesVisible else { return [.childPidNamespace(pidNamespace: pid, ipcNamespace: ipc)] }
        if !hasVisibleProcess { return [.namespaceWithoutVisibleProcess(ipcNamespace: ipc, pidNamespace: pid)] }
        return []
    }

    /// The super options of the topmost `proc` mount at `mountPoint` in a mountinfo text, or nil when none is
    /// (later lines are mounted on top of earlier ones).
    static func procMountOptions(mountinfo: String, mountPoint: String) -> String? {
        MountInfoLine.parse(mountinfo).last { $0.fsType == "proc" && $0.superOptions != nil && $0.mountPoint == mountPoint }?
            .superOptions
    }

    private func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
