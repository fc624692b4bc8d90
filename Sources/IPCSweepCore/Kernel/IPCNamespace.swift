import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPC namespace as the reports name it: its nsfs inode and who owns it.
public struct IPCNamespaceInfo: Sendable, Equatable, Hashable {
    /// The inode of /proc/PID/ns/ipc (what `lsns -t ipc` shows as NS).
    public var inode: UInt64
    /// The cgroup or unit of its oldest process: `docker-ID.scope`, `libpod-ID.scope`, a kubepods pod slice,
    /// a unit with PrivateIPC=yes; `host` for the initial IPC namespace.
    public var owner: String
    /// Its oldest process (a host pid), when one was seen.
    public var pid: Int32?

    public init(inode: UInt64, owner: String, pid: Int32?) {
        self.inode = inode
        self.owner = owner
        self.pid = pid
    }

    /// The inode of the initial (host) IPC namespace, fixed by the kernel (PROC_IPC_INIT_INO).
    public static let initialInode: UInt64 = VisibilityProbe.initialIPCNamespace

    /// The owner of a namespace whose oldest process is `p`: `host` for the initial namespace; else the pod and
    /// container of a kubepods cgroup, the deepest `.service`/`.scope` of the cgroup path, the cgroup path itself,
    /// or "pid N (COMM)". Pure.
    public static func owner(inode: UInt64, oldest p: ProcessRecord?) -> String {
        if inode == initialInode { return "host" }
        guard let p else { return "no process seen" }
        guard let cgroup = p.cgroup, cgroup != "/" else { return "pid \(p.pid) (\(p.comm))" }
        let parts = cgroup.split(separator: "/").map(String.init)
        if let k = parts.firstIndex(where: { $0.hasPrefix("kubepods") }) {
            // systemd driver: kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podUID.slice/cri-containerd-ID.scope;
            // cgroupfs driver: kubepods/besteffort/podUID/ID.
            if let pod = parts.last(where: { $0.hasPrefix("kubepods") && $0.contains("-pod") }) {
                return pod + (SystemdUnit.unit(ofCgroup: cgroup).map { "/" + $0 } ?? "")
            }
            return parts[k...].joined(separator: "/")
        }
        return SystemdUnit.unit(ofCgroup: cgroup) ?? cgroup
    }

    /// Live before zombie; then the earlier start (then the lower pid).
    static func isOlder(_ a: ProcessRecord, than b: ProcessRecord) -> Bool {
        if a.isDeadOrZombie != b.isDeadOrZombie { return !a.isDeadOrZombie }
        return (a.startTime, a.pid) < (b.startTime, b.pid)
    }

    /// The namespaces of the processes in `table`, each with its oldest live process (host pids), by inode.
    /// One pass over the table.
    public static func all(in table: ProcessTable) -> [IPCNamespaceInfo] {
        var oldest: [UInt64: ProcessRecord] = [:]
        for p in table.byPid.values {
            guard let ns = p.ipcNamespace else { continue }
            if let o = oldest[ns], !isOlder(p, than: o) { continue }
            oldest[ns] = p
        }
        return oldest.keys.sorted().map { ns in
            let p = oldest[ns]
            return IPCNamespaceInfo(inode: ns, owner: owner(inode: ns, oldest: p), pid: p?.pid)
        }
    }
}

/// A failure to open or enter an IPC namespace, naming the target and saying what to do.
public struct NamespaceError: Error, CustomStringConvertible {
    public var description: String
}

/// A dedicated thread that has entered another IPC namespace (setns(fd, CLONE_NEWIPC)) and runs work there.
///
/// The kernel answers semctl/shmctl/msgctl, shmat, and /proc/sysvipc/* and /proc/sys/kernel/* files opened by
/// this thread for its namespace; the rest of the process stays in its own. setns of an IPC namespace is allowed
/// in a multithreaded process (only the calling thread moves). Work is handed over one closure at a time and
/// the caller waits for it: everything that must see the namespace runs through `perform`.
///
/// `@unchecked Sendable`: its mutable members (`job`, `jobDone`, `stopping`, `entered`) are read and written only
/// with `mutex` held (pthread mutex and condition variable: the handshake between the callers and the thread),
/// callers are serialised by `callers`, and `thread` is set in `init` before the object is shared.
public final class IPCNamespaceThread: @unchecked Sendable {
    /// The namespace's inode (st_ino of the namespace file).
    public let inode: UInt64
    /// What the user gave (a pid or a path), for messages.
    public let target: String

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    /// Serialises callers of `perform`.
    private let callers: UnsafeMutablePointer<pthread_mutex_t>
    private var job: (() -> Void)?
    private var jobDone = false
    private var stopping = false
    private var entered: Errno??  // nil: not yet; .some(nil): entered; .some(e): setns failed
    private var thread: pthread_t?

    /// Opens `target` (a pid: /proc/PID/ns/ipc under `procRoot`; or a path to a namespace file, e.g. a bind
    /// mount under /run/ipcns) and starts a thread inside that namespace.
    public init(target: String, procRoot: String = Procfs.live) throws(NamespaceError) {
        self.target = target
        let isPid = !target.isEmpty && target.allSatisfy { $0.isASCII && $0.isNumber }
        let path = isPid ? "\(procRoot)/\(target)/ns/ipc" : target
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = Errno(rawValue: errno)
            if isPid && e == .noSuchFileOrDirectory {
                throw NamespaceError(description: "--namespace \(target): no process with pid \(target); give a running pid, /proc/PID/ns/ipc or a bind-mounted namespace file")
            }
            if e == .permissionDenied || e == .notPermitted {
                throw NamespaceError(description: "--namespace \(target): cannot open \(path): \(e); entering another IPC namespace needs root (CAP_SYS_ADMIN): run as root")
            }
            throw NamespaceError(description: "--namespace \(target): cannot open \(path): \(e); give a pid, /proc/PID/ns/ipc or a bind-mounted namespace file")
        }
        defer { close(fd) }
        guard cipc_namespace_type(fd) == cipc_clone_newipc() else {
            throw NamespaceError(description: "--namespace \(target): \(path) is not an IPC namespace file; give a pid, /proc/PID/ns/ipc or a bind mount of one")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw NamespaceError(description: "--namespace \(target): cannot stat \(path): \(Errno(rawValue: errno))")
        }
        inode = UInt64(st.st_ino)
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        callers = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        pthread_mutex_init(callers, nil)

        let nsfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        let context = Unmanaged.passRetained(Start(owner: self, fd: nsfd)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            guard let raw else { return nil }
            let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
            start.owner.serve(fd: start.fd)
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            close(nsfd)
            throw NamespaceError(description: "--namespace \(target): cannot start a thread: \(Errno(rawValue: rc))")
        }
        thread = t
        pthread_mutex_lock(mutex)
        while entered == nil { pthread_cond_wait(cond, mutex) }
        let failure = entered ?? nil
        pthread_mutex_unlock(mutex)
        if let failure {
            stop()
            let hint = failure == .notPermitted ? " (needs CAP_SYS_ADMIN: run as root)" : ""
            throw NamespaceError(description: "--namespace \(target): cannot enter IPC namespace \(inode): setns: \(failure)\(hint)")
        }
    }

    private final class Start {
        let owner: IPCNamespaceThread
        let fd: Int32
        init(owner: IPCNamespaceThread, fd: Int32) {
            self.owner = owner
            self.fd = fd
        }
    }

    deinit {
        stop()
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(callers)
        mutex.deallocate()
        cond.deallocate()
        callers.deallocate()
    }

    /// The thread's loop: enter the namespace, then run each job handed over until stopped.
    private func serve(fd: Int32) {
        let rc = cipc_enter_ipc_namespace(fd)
        let e = rc == 0 ? nil : Errno(rawValue: errno)
        close(fd)
        pthread_mutex_lock(mutex)
        entered = .some(e)
        pthread_cond_broadcast(cond)
        while e == nil {
            while job == nil && !stopping { pthread_cond_wait(cond, mutex) }
            if stopping { break }
            let work = job
            pthread_mutex_unlock(mutex)
            work?()
            pthread_mutex_lock(mutex)
            job = nil
            jobDone = true
            pthread_cond_broadcast(cond)
        }
        pthread_mutex_unlock(mutex)
    }

    private func stop() {
        guard let t = thread else { return }
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        pthread_join(t, nil)
        thread = nil
    }

    /// Runs `body` on the thread inside the namespace and returns its result; `meanwhile` runs on the calling
    /// thread at the same time (e.g. reading the process table while the objects are read).
    /// Work handed over from the namespace thread itself (the remover's re-check while it is attached to a
    /// segment it saves) runs at once: waiting for the thread would wait for itself.
    public func perform<R>(_ body: () -> R, meanwhile: () -> Void = {}) -> R {
        if let t = thread, pthread_equal(pthread_self(), t) != 0 {
            let r = body()
            meanwhile()
            return r
        }
        pthread_mutex_lock(callers)
        defer { pthread_mutex_unlock(callers) }
        var result: R?
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(mutex)
            job = { result = body() }
            jobDone = false
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
            meanwhile()
            pthread_mutex_lock(mutex)
            while !jobDone { pthread_cond_wait(cond, mutex) }
            pthread_mutex_unlock(mutex)
        }
        // The job always ran to completion before jobDone was set.
        guard let result else { preconditionFailure("namespace job finished without a result") }
        return result
    }

    /// `perform` for work that throws: the error is rethrown on the calling thread.
    public func performThrowing<R>(_ body: () throws -> R) throws -> R {
        try perform { Result { try body() } }.get()
    }
}
