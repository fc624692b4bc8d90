import ArgumentParser
import IPCSweepCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension AuditFindingClass: ChoiceArgument {}

extension AuditRequest.Format: ChoiceArgument {}

/// The report for cron, monitoring and people: reads everything, hands it to `Auditor.report`, renders, writes.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "Report for cron, monitoring and humans: counts, verdicts, limits and headroom, insecure objects.",
        discussion: """
            Counts objects per type, verdict and owner; lists every orphan and suspect with its decisive reason; \
            compares the kernel limits (SEMMNI, SEMMNS, SEMMSL, SHMMNI, SHMALL, SHMMAX, MSGMNI, ...) with their usage \
            and says how many more leaks of the size the orphans show fit; flags objects readable or writable beyond \
            their owner (System V mode bits, and the mode and POSIX ACL of /dev/shm and /dev/mqueue entries) and \
            objects whose owner has no passwd entry. With --state FILE it reports what changed since the previous run.

            Text output is empty with --quiet-if-clean when there is nothing to report (for cron). JSON and Prometheus \
            output are always complete. --output writes atomically (temporary file in the same directory, fsync, rename).

            Exit status: 0 success; 3 when a finding of a --fail-on class exists; 1 on error.

            Examples:
              ipcsweep audit --quiet-if-clean                    (cron: mail only when something is wrong)
              ipcsweep audit --format prometheus --output /var/lib/prometheus/node-exporter/ipcsweep.prom
              ipcsweep audit --fail-on orphaned --fail-on limits (a monitoring check)
            """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var allNamespaces: AllNamespacesOption

    @Option(name: .customLong("logind-conf"), help: ArgumentHelp("Judge RemoveIPC= from this logind.conf (its drop-ins in FILE.d), or from a root directory holding etc/systemd/logind.conf and the logind.conf.d directories, instead of the host's (/etc/systemd/logind.conf, /etc, /run, /usr/local/lib and /usr/lib/systemd/logind.conf.d).", valueName: "FILE|DIR"),
            completion: .file())
    var logindConf: String?

    @Option(name: .customLong("login-defs"), help: ArgumentHelp("Compare SYS_UID_MAX of FILE instead of /etc/login.defs with the system uid boundary systemd-logind was built with (system_uid_max in systemd.pc); FILE counts only where that systemd reads login.defs at run time.", valueName: "FILE"),
            completion: .file())
    var loginDefs: String?

    @Option(help: "Output format: text (people, cron mail), json or prometheus (node_exporter textfile collector).")
    var format: AuditRequest.Format = .text

    @Option(name: .customLong("output"), help: ArgumentHelp("Write the report to FILE atomically instead of standard output.", valueName: "FILE"),
            completion: .file())
    var outputFile: String?

    @Option(name: .customLong("state"), help: ArgumentHelp("Compare with the previous audit kept in FILE (new orphans, orphans gone, growth per day), then update FILE atomically.", valueName: "FILE"),
            completion: .file())
    var stateFile: String?

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Exit 3 when a finding of this class exists: orphaned, suspect, limits (a limit at or above the warning threshold), insecure, or removeipc (RemoveIPC=yes and systemd-logind would destroy objects of a non-system user at its last logout) (repeatable).", valueName: "CLASS"))
    var failOn: [AuditFindingClass] = []

    @Flag(name: .customLong("quiet-if-clean"), help: "Print nothing in text format when there is nothing to report.")
    var quietIfClean = false

    @Option(name: .customLong("warn-at"), help: ArgumentHelp("Usage at which a limit is reported as warning, in percent (above 0, at most 100).", valueName: "PERCENT"))
    var warnAt = Percentage(fraction: 0.80)

    @Option(name: .customLong("critical-at"), help: ArgumentHelp("Usage at which a limit is reported as critical, in percent (above 0, at most 100).", valueName: "PERCENT"))
    var criticalAt = Percentage(fraction: 0.95)

    @Flag(help: "Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).")
    var pretty = false

    @Option(name: .customLong("shm-root"), help: ArgumentHelp("Where POSIX shared memory and named semaphores live.", valueName: "DIR"),
            completion: .directory)
    var shmRoot: String = PosixIPCScanner.defaultShmRoot

    @Option(name: .customLong("mqueue-root"), help: ArgumentHelp("Where the mqueue filesystem is mounted (default: the mqueue mount /proc/self/mountinfo lists; the report says when there is none).", valueName: "DIR"),
            completion: .directory)
    var mqueueRoot: String?

    @Flag(name: .customLong("no-posix"), help: "Do not look at POSIX IPC objects under --shm-root and --mqueue-root.")
    var noPosix = false

    func validate() throws {
        try requireNonEmpty("--output", outputFile.map { [$0] } ?? [], what: "a file path")
        try requireNonEmpty("--state", stateFile.map { [$0] } ?? [], what: "a file path")
        try requireNonEmpty("--shm-root", [shmRoot], what: "a directory")
        try requireNonEmpty("--mqueue-root", mqueueRoot.map { [$0] } ?? [], what: "a directory")
        if warnAt.fraction > criticalAt.fraction {
            throw ValidationError("--warn-at \(warnAt) is above --critical-at \(criticalAt); the warning threshold must not exceed the critical one")
        }
        if allNamespaces.allNamespaces, let s = stateFile {
            throw ValidationError("--state \(s) keeps the orphans of one IPC namespace; with --all-namespaces give none, or audit each namespace with --namespace and its own --state file")
        }
        if let p = logindConf, p.isEmpty { throw ValidationError("--logind-conf needs a file or a directory") }
        if let p = loginDefs, p.isEmpty { throw ValidationError("--login-defs needs a file") }
        if let o = outputFile, let s = stateFile, o == s {
            throw ValidationError("--output and --state are both \(o); give the state its own file")
        }
    }

    /// --output names something that is not a regular file: refused, nothing written.
    static func notRegularOutput(_ path: String, _ error: FileError) -> CLIError {
        CLIError("--output \(path): \(error.problem ?? "not a regular file"); the report replaces its target, so it must be a regular file or absent: nothing was written (leave out --output to print to standard output)")
    }

    func run() throws {
        // Refused before any work: a target that is not a regular file (directory, device, FIFO, socket).
        if let path = outputFile, let mode = FileIO.fileMode(path), (mode & S_IFMT) != S_IFREG {
            throw Self.notRegularOutput(path, FileError(path: path, operation: "replace", errno: .invalidArgument,
                                                        problem: "not a regular file (\(FileIO.typeName(mode)))"))
        }
        let users = UserDirectory()
        let filter = try filters.filter(users: users)
        let posix = PosixIPCScanner(shmRoot: shmRoot, mqueueRoot: mqueueRoot)
        // Every System V kind is read: the limits count every object of the namespace, whatever the filters.
        let inspections = try inspectNamespaces(source: source, kinds: noPosix ? IPCKind.sysv : Set(IPCKind.allCases),
                                                posixExplicit: filters.posixExplicit, scope: scope, namespace: namespace,
                                                all: allNamespaces, users: users, posixScanner: posix,
                                                processReads: .whole)
        try checkConfigPaths()
        // RemoveIPC=: logind cleans the IPC namespace it runs in (those of the visible systemd-logind processes, or
        // the tool's own when none is visible), with the system uid boundary it was built with.
        let own = FileIO.readLink("/proc/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
        let loginds = (inspections.first?.processes.byPid.values.filter { $0.comm == "systemd-logind" && !$0.isDeadOrZombie } ?? [])
            .sorted { $0.pid < $1.pid }
        let logindNamespaces = Set(loginds.compactMap(\.ipcNamespace))
        let judged: (UInt64?) -> Bool = { ns in logindNamespaces.isEmpty ? ns == own : ns.map(logindNamespaces.contains) ?? false }
        let logind = loginds.first { $0.ipcNamespace == own } ?? loginds.first
        var configWarnings: [String] = []
        let boundary = SystemUidBoundary.detect(loginDefs: loginDefs, logindPid: logind?.pid, procRoot: source.procRoot)
        let removeIPC = LogindConfig.effective(logindConf: logindConf, boundary: boundary, warnings: &configWarnings)
        configWarnings.forEach(warn)
        let request = AuditRequest(
            filter: filter, format: format, pretty: pretty || (outputFile == nil && Terminal.stdoutIsTerminal),
            outputFile: outputFile, stateFile: stateFile, failOn: Set(failOn), quietIfClean: quietIfClean,
            thresholds: AuditThresholds(warning: warnAt.fraction, critical: criticalAt.fraction), posix: !noPosix,
            allNamespaces: allNamespaces.allNamespaces)
        let environment = AuditEnvironment(
            inspect: { inspections[0] },
            limits: { try IPCProbe(procRoot: source.procRoot).limits() },
            scanPosix: { posix.scan() },
            readFile: { path throws(FileError) in try FileIO.read(path, limit: FileIO.Limit.state) },
            writeAtomically: { bytes, path throws(FileError) in try FileIO.writeAtomically(bytes, to: path) },
            stdout: { bytes in bytes.withUnsafeBytes { OutputSink.standardOutput.write($0) } },
            warn: { warn($0) }, names: NameLookup(users), pageSize: Int64(max(1, sysconf(Int32(_SC_PAGESIZE)))),
            inspections: { inspections },
            namespaceLimits: { result in
                try IPCProbe(procRoot: source.procRoot, namespace: result.namespaceThread).limits()
            },
            removeIPC: { result in judged(result.namespace?.inode ?? own) ? removeIPC : nil },
            walkShm: { ShmTreeWalker().walk($0) },
            openAtomically: { path throws(FileError) in try AtomicOutput.file(path) })
        let status: Int32
        do { status = try AuditSession(request: request, environment: environment).run() } catch let e as AuditSessionError {
            if let path = e.notRegularOutput, let error = e.fileError { throw Self.notRegularOutput(path, error) }
            throw CLIError(e.description)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// --logind-conf must be a directory or a regular file, --login-defs a regular file (never a FIFO or a device).
    private func checkConfigPaths() throws {
        func kind(_ path: String) -> mode_t? {
            var st = stat()
            return stat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
        }
        if let p = logindConf {
            guard let k = kind(p) else { throw CLIError("--logind-conf \(p): no such file or directory; give a logind.conf or a root directory holding etc/systemd/logind.conf") }
            guard k == S_IFDIR || k == S_IFREG else { throw CLIError("--logind-conf \(p): not a regular file or directory; give a logind.conf or a root directory holding etc/systemd/logind.conf") }
        }
        if let p = loginDefs {
            guard let k = kind(p) else { throw CLIError("--login-defs \(p): no such file; give a login.defs file") }
            guard k == S_IFREG else { throw CLIError("--login-defs \(p): not a regular file; give a login.defs file") }
        }
    }
}
