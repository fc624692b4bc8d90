import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Lists POSIX IPC objects: the regular files of the /dev/shm mount (named semaphores are `sem.NAME`) and of
/// the mqueue mount, each with fstatat(2) (AT_SYMLINK_NOFOLLOW) relative to a descriptor of its root directory,
/// its access ACL and, for a queue, its state.
///
/// The roots are parameters (paths, and the mountinfo that describes them) so that they can point into another
/// mount namespace (`/proc/PID/root/dev/shm` with `/proc/PID/mountinfo`). The mqueue mount is found in
/// mountinfo when not given; the tool never mounts anything. Only the root directory itself is read: symbolic
/// links, subdirectories, entries of other filesystems mounted below the root and anything but regular files
/// are listed as ignored and never followed.
public struct PosixIPCScanner: Sendable {
    /// Where POSIX shared memory and named semaphores live (default /dev/shm).
    public var shmRoot: String
    /// Where the mqueue filesystem is mounted; nil: the first mqueue mount in `mountInfoPath` (/dev/mqueue first).
    public var mqueueRoot: String?
    /// The mountinfo that describes both roots.
    public var mountInfoPath: String
    /// Another process's root (`/proc/PID/root`) that both roots are inside, for another mount namespace; nil: the
    /// tool's own root. Inside it, every component of a root is opened with O_NOFOLLOW: a symbolic link in that
    /// namespace (which would resolve against the tool's own root) is never followed.
    public var processRoot: String?
    /// The kernel calls (a fake in unit tests).
    public var kernel: any KernelCalls = Kernel.live
    /// Ask each object for a write lease (`PosixLeases`), where the caller may: the kernel's answer to whether
    /// any process has it open or mapped.
    public var takeLeases = true
    /// The objects wanted (`InspectionOptions.selection`); nil: every one. An entry the filter rules out by its
    /// name or kind is not read at all, one it rules out by its owner gets no lease or ACL read: their cost is that
    /// of the directory listing (and a stat). `--idle-for` and `--verdict` are left to the caller (they need the
    /// time of the run and the verdict).
    public var selection: ObjectFilter?

    /// The default shm root (glibc's shm_open and sem_open use /dev/shm).
    public static let defaultShmRoot = "/dev/shm"
    /// Where the mqueue filesystem is normally mounted; preferred when several mqueue mounts exist.
    public static let defaultMqueueRoot = "/dev/mqueue"

    public init(shmRoot: String = PosixIPCScanner.defaultShmRoot, mqueueRoot: String? = nil,
                mountInfoPath: String = "/proc/self/mountinfo", processRoot: String? = nil) {
        self.shmRoot = shmRoot
        self.mqueueRoot = mqueueRoot
        self.mountInfoPath = mountInfoPath
        self.processRoot = processRoot
    }

    /// This scanner (its kernel, leases and selection) in process `pid`'s mount namespace: its /dev/shm and
    /// mqueue mount, read through /proc/PID/root as its /proc/PID/mountinfo describes them.
    public func ofProcess(_ pid: Int32, procRoot: String = Procfs.live) -> PosixIPCScanner {
        var s = PosixIPCScanner(mountInfoPath: "\(procRoot)/\(pid)/mountinfo", processRoot: "\(procRoot)/\(pid)/root")
        s.kernel = kernel
        s.takeLeases = takeLeases
        s.selection = selection
        return s
    }

    /// Opens a directory (O_RDONLY | O_DIRECTORY) given as a full path. A path inside another process's root
    /// (`/proc/PID/root/...`) is walked from that root one component at a time with O_NOFOLLOW, so that nothing
    /// in the other mount namespace can redirect it; any other path is opened as given. ELOOP: a component is a
    /// symbolic link.
    public static func openDirectory(_ path: String, kernel: any KernelCalls = Kernel.live) -> Result<Int32, Errno> {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "proc", parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[2] == "root" else {
            return kernel.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        }
        var fd = kernel.openat(AT_FDCWD, "/" + parts[0...2].joined(separator: "/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        for component in parts.dropFirst(3) {
            guard case .success(let dir) = fd else { return fd }
            defer { kernel.close(dir) }
            if component == ".." { return .failure(.invalidArgument) }
            fd = kernel.openat(dir, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
            // With O_DIRECTORY a symbolic link fails as ENOTDIR: say what it is.
            if case .failure(.notDirectory) = fd, case .success(let st) = kernel.fstatat(dir, String(component), AT_SYMLINK_NOFOLLOW),
               st.st_mode & S_IFMT == S_IFLNK {
                fd = .failure(.tooManySymbolicLinkLevels)
            }
        }
        return fd
    }

    /// Scans both roots: [shm, mqueue]. A root that is missing or not mounted is a result with `scanned == false`
    /// and the reason in words.
    public func scan() -> [PosixScanResult] {
        // procfs (not a regular file), bounded: a host with thousands of mounts has a mountinfo of a few MiB.
        let text = try? FileIO.readText(mountInfoPath, limit: 16 << 20, requireRegular: false)
        let mounts: [PosixMount] = text.map { Self.parseMountInfo($0) } ?? []
        var out = [scanRoot(shmRoot, kind: .posixShm, mounts: mounts)]
        if let mq = mqueueRoot {
            out.append(scanRoot(mq, kind: .posixMq, mounts: mounts))
        } else if let m = mounts.last(where: { $0.fsType == "mqueue" && $0.mountPoint == Self.defaultMqueueRoot })
                    ?? mounts.first(where: { $0.fsType == "mqueue" }) {
            out.append(scanRoot(m.mountPoint, kind: .posixMq, mounts: mounts))
        } else {
            out.append(PosixScanResult(
                root: Self.defaultMqueueRoot, kind: .posixMq, scanned: false,
                skipReason: "the mqueue filesystem is not mounted (no mqueue entry in \(mountInfoPath)): POSIX message queues were not inspected; mount it with `mount -t mqueue none \(Self.defaultMqueueRoot)` to see them"))
        }
        return out
    }

    // MARK: mountinfo

    /// The mounts of a mountinfo text (`MountInfoLine`) that name their device, in its order. Pure.
    public static func parseMountInfo(_ text: String) -> [PosixMount] {
        MountInfoLine.parse(text).compactMap { line in
            line.device.map { PosixMount(mountPoint: line.mountPoint, fsType: line.fsType, device: $0) }
        }
    }

    // MARK: one root

    /// Reads one root directory through a descriptor.
    func scanRoot(_ inner: String, kind: IPCKind, mounts: [PosixMount]) -> PosixScanResult {
        // `inner` as mountinfo names it; `root` as the tool reaches it.
        let root = processRoot.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + (inner.hasPrefix("/") ? inner : "/" + inner) } ?? inner
        let dir: Int32
        switch Self.openDirectory(root, kernel: kernel) {
        case .success(let fd): dir = fd
        case .failure(let e):
            if e == .tooManySymbolicLinkLevels, processRoot != nil {
                let objects = kind == .posixMq ? "POSIX message queues" : "POSIX shared memory and named semaphores"
                return PosixScanResult(root: root, kind: kind, scanned: false,
                                       skipReason: "\(root) is or passes through a symbolic link in that mount namespace: not followed (it would resolve against the host's root), so its \(objects) were not inspected; inspect them from inside the container")
            }
            let what = kind == .posixMq
                ? (e == .noSuchFileOrDirectory
                    ? "\(root) does not exist: the mqueue filesystem is not mounted there, so POSIX message queues were not inspected; mount it with `mount -t mqueue none \(root)` or give the --mqueue-root it is mounted on"
                    : "\(root) cannot be opened (\(e)): POSIX message queues were not inspected")
                : "\(root) cannot be opened (\(e)): POSIX shared memory and named semaphores were not inspected"
            return PosixScanResult(root: root, kind: kind, scanned: false, skipReason: what)
        }
        defer { kernel.close(dir) }
        let device: UInt64
        switch kernel.fstat(dir) {
        case .success(let st): device = UInt64(st.st_dev)
        case .failure(let e):
            return PosixScanResult(root: root, kind: kind, scanned: false, skipReason: "\(root): fstat failed (\(e))")
        }
        var mount = mounts.last { $0.device == device && $0.mountPoint == inner } ?? mounts.last { $0.device == device }
        var warnings: [String] = []
        if kind == .posixMq {
            if case .success(let type) = kernel.fstatfsType(dir), type != Self.mqueueMagic {
                return PosixScanResult(root: root, kind: kind, scanned: false,
                                       skipReason: "\(root) is not an mqueue filesystem: POSIX message queues were not inspected; mount it with `mount -t mqueue none \(root)`")
            }
        } else if mount == nil {
            warnings.append("\(root) is not a mount of its own in \(mountInfoPath): its objects were read, but its size and use are unknown")
        }
        if mount != nil, case .success(let vfs) = kernel.fstatvfs(dir) {
            let unit = UInt64(vfs.f_frsize)
            mount?.sizeBytes = UInt64(vfs.f_blocks) * unit
            mount?.usedBytes = (UInt64(vfs.f_blocks) - UInt64(vfs.f_bfree)) * unit
        }
        let names: [String]
        switch kernel.directoryEntries(dir) {
        case .success(let n): names = n
        case .failure(let e):
            return PosixScanResult(root: root, kind: kind, scanned: false,
                                   skipReason: "cannot list \(root): \(e); run as root to inspect it")
        }
        let reader = PosixObjectReader(kernel: kernel, directory: root, device: device, rootKind: kind,
                                       aclThroughDescriptor: processRoot != nil)
        let leases = takeLeases ? PosixLeases(kernel: kernel) : nil
        var objects: [PosixIPCObject] = []
        objects.reserveCapacity(names.count)
        var ignored: [String] = []
        for name in names where selection?.admits(posixEntry: name, rootKind: kind) ?? true {
            switch reader.look(dir: dir, entry: name) {
            case .object(var o, var warning):
                // Its name and kind were admitted above; its owner is known now.
                if let selection, !selection.admits(owner: o.perm) { continue }
                // The lease, then the ACL through its descriptor; let go before the next object.
                guard case .success(let leased) = reader.leaseAndACL(&o, dir: dir, leases: leases) else { continue }  // gone
                if let held = leased.held { leases?.release(held) }
                warning = leased.warning ?? warning
                objects.append(o)
                if let warning { warnings.append(warning) }
            case .ignored(let what): ignored.append(what)
            case .failed(.noSuchFileOrDirectory): continue  // vanished meanwhile
            case .failed: continue
            }
        }
        objects.sort { $0.path < $1.path }
        warnings += PosixLeases.notes(root: root, objects)
        return PosixScanResult(root: root, kind: kind, scanned: true, objects: objects, warnings: warnings,
                               mount: mount ?? PosixMount(mountPoint: root, fsType: kind == .posixMq ? "mqueue" : "?", device: device),
                               ignored: ignored.sorted())
    }

    /// The mqueue filesystem's magic number (statfs f_type).
    static let mqueueMagic = 0x1980_0202
}
