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

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// Every blind spot of a live procfs (none for a procfs copy given with --proc).
    public func blindSpots() -> [BlindSpot] {
        let me = (try? FileIO.read("\(procRoot)/self/status", limit: FileIO.Limit.procfs, requireRegular: false)).flatMap(ProcessProbe.parseStatus)
        let mountinfo = (try? FileIO.readText("\(procRoot)/self/mountinfo", limit: FileIO.Limit.procfs, requireRegular: false)) ?? ""
        let ipc = FileIO.readLink("\(procRoot)/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
        let pid = FileIO.readLink("\(procRoot)/self/ns/pid").flatMap(ProcessProbe.namespaceInode)
        let procPid = FileIO.readLink("\(procRoot)/1/ns/pid").flatMap(ProcessProbe.namespaceInode)
        let point = realPath(procRoot) ?? procRoot
        return Self.blindSpots(mountinfo: mountinfo, procMountPoint: point, caller: me, ipcNamespace: ipc,
                               pidNamespace: pid, procfsInitPidNamespace: procPid)
    }

    /// The pure decision: `caller` is the tool's own /proc/self/status (nil: unreadable, so not exempt);
    /// `procfsInitPidNamespace` is the pid namespace of pid 1 of the procfs in use (nil when unreadable): when
    /// that is the initial one, the procfs shows every process although the tool runs in a child pid namespace.
    public static func blindSpots(mountinfo: String, procMountPoint: String, caller: ProcessProbe.StatusFields?,
                                  ipcNamespace: UInt64?, pidNamespace: UInt64?,
                                  procfsInitPidNamespace: UInt64? = nil) -> [BlindSpot] {
        var out: [BlindSpot] = []
        if let options = procMountOptions(mountinfo: mountinfo, mountPoint: procMountPoint) {
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
        }
        if ipcNamespace == initialIPCNamespace, let pid = pidNamespace, pid != initialPidNamespace,
           procfsInitPidNamespace != initialPidNamespace {
            out.append(.hostIPCInChildPidNamespace(pidNamespace: pid))
        }
        return out
    }

    /// The blind spots when another IPC namespace than the tool's own is inspected: the pid-namespace rule is
    /// judged for that namespace (the host's IPC namespace from a child pid namespace), and a namespace none of
    /// whose processes is visible from a child pid namespace (entered through a bind-mounted namespace file) is
    /// blind too; the procfs rules (hidepid, subset=pid) stay as they are. As for the tool's own namespace,
    /// a procfs of the initial pid namespace (`procfsInitPidNamespace`, of its pid 1) shows every process. Pure.
    public static func blindSpots(_ own: [BlindSpot], inspecting ipc: UInt64, hasVisibleProcess: Bool,
                                  pidNamespace: UInt64?, procfsInitPidNamespace: UInt64? = nil) -> [BlindSpot] {
        var out = own.filter {
            if case .hostIPCInChildPidNamespace = $0 { return false }
            return true
        }
        guard let pid = pidNamespace, pid != initialPidNamespace, procfsInitPidNamespace != initialPidNamespace else {
            return out
        }
        if ipc == initialIPCNamespace {
            out.append(.hostIPCInChildPidNamespace(pidNamespace: pid))
        } else if !hasVisibleProcess {
            out.append(.namespaceWithoutVisibleProcess(ipcNamespace: ipc, pidNamespace: pid))
        }
        return out
    }

    /// The super options of the topmost `proc` mount at `mountPoint` in a mountinfo text, or nil when none is.
    /// Line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    static func procMountOptions(mountinfo: String, mountPoint: String) -> String? {
        var found: String?
        for line in mountinfo.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 10, unescape(f[4]) == mountPoint, let dash = f.firstIndex(of: "-"), dash + 3 < f.count,
                  f[dash + 1] == "proc" else { continue }
            found = String(f[dash + 3])  // later lines are mounted on top of earlier ones
        }
        return found
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 4 <= b.count, let v = UInt8(String(decoding: b[(i + 1)..<(i + 4)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
