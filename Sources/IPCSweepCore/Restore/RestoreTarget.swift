import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where `restore` creates objects: the tool's own IPC namespace and /dev/shm, or (`restore --namespace`) another
/// IPC namespace, with the /dev/shm of a process in it.
///
/// System V objects and POSIX queues are created on a thread inside that IPC namespace (msgget, shmget and
/// mq_open act on the caller's IPC namespace); POSIX files in the process's /dev/shm, reached through
/// /proc/PID/root one component at a time without following links (as `clean --namespace` walks it).
public struct RestoreTarget: Sendable {
    /// The thread inside the target namespace; nil: the tool's own.
    public var namespace: IPCNamespaceThread?
    /// The target's IPC namespace inode (nil when it cannot be read).
    public var inode: UInt64?
    /// A process of the target (its /dev/shm), when one was given.
    public var pid: Int32?
    /// The shm tmpfs as the tool opens it: /dev/shm, or /proc/PID/root/dev/shm.
    public var shmPath: String
    /// The mountinfo that describes it, and its mount point there.
    public var mountInfoPath: String
    public var shmMountPoint: String

    /// The tool's own namespace and /dev/shm.
    public static func own() -> RestoreTarget {
        RestoreTarget(namespace: nil, inode: FileIO.readLink("/proc/self/ns/ipc").flatMap(ProcessProbe.namespaceInode), pid: nil,
                      shmPath: PosixIPCScanner.defaultShmRoot, mountInfoPath: "/proc/self/mountinfo",
                      shmMountPoint: PosixIPCScanner.defaultShmRoot)
    }

    /// Another namespace (`--namespace PID|PATH`): with a pid, its /dev/shm as well; with a namespace file, System
    /// V objects and POSIX queues only.
    public static func namespace(_ thread: IPCNamespaceThread, procRoot: String = "/proc") -> RestoreTarget {
        let pid = Int32(thread.target)
        return RestoreTarget(namespace: thread, inode: thread.inode, pid: pid,
                             shmPath: pid.map { "\(procRoot)/\($0)/root\(PosixIPCScanner.defaultShmRoot)" } ?? "",
                             mountInfoPath: pid.map { "\(procRoot)/\($0)/mountinfo" } ?? "",
                             shmMountPoint: PosixIPCScanner.defaultShmRoot)
    }

    /// "IPC namespace 4026532201 (pid 812)", or "this IPC namespace (4026531839)".
    public var label: String {
        guard namespace != nil else { return "this IPC namespace" + (inode.map { " (\($0))" } ?? "") }
        return "IPC namespace \(inode.map(String.init) ?? "?")" + (pid.map { " (pid \($0))" } ?? "")
    }

    /// Runs `body` inside the target IPC namespace.
    func perform<R>(_ body: () -> R) -> R { namespace.map { $0.perform(body) } ?? body() }

    /// A note when the save came from another IPC namespace than the target's (the file's `ipc-namespace`).
    func namespaceNote(_ file: SaveFile) -> String? {
        guard let saved = file.value("ipc-namespace").flatMap({ UInt64($0) }), let inode, saved != inode else { return nil }
        return "saved from IPC namespace \(saved), restored into \(label)"
    }
}

/// How `restore` runs: who it runs as, where it creates, progress, and the file calls (injected in tests).
public struct RestoreOptions: Sendable {
    /// Run as root: saved owners and groups are restored, queue capacities raised.
    public var privileged: Bool
    public var target: RestoreTarget
    /// The target namespace's limits (msgmax, msgmnb, shmmax); nil: not known.
    public var limits: KernelLimits?
    public var progress: SaveProgress?
    /// The syscall seam: queues, System V objects, owners.
    public var kernel: any KernelCalls
    /// The file calls of saves and restores (by default the same seam's).
    public var syscalls: any SaveSyscalls

    public init(privileged: Bool, target: RestoreTarget = .own(), limits: KernelLimits? = nil, progress: SaveProgress? = nil,
                kernel: any KernelCalls = Kernel.live, syscalls: (any SaveSyscalls)? = nil) {
        self.privileged = privileged
        self.target = target
        self.limits = limits
        self.progress = progress
        self.kernel = kernel
        self.syscalls = syscalls ?? KernelSaveSyscalls(kernel: kernel)
    }
}
