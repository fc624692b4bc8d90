import ArgumentParser
import IPCSweepCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension AuditFindingClass: ChoiceArgument {}

/// `audit --format`.
enum AuditOutputFormat: String, ChoiceArgument { case text, json, prometheus }

/// The report for cron, monitoring and people: reads everything, hands it to `Auditor.report`, renders, writes.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
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

    @Option(name: .customLong("login-defs"), help: ArgumentHelp("Read SYS_UID_MAX (the highest system uid, which RemoveIPC= spares) from FILE instead of /etc/login.defs (default 999 when absent).", valueName: "FILE"),
            completion: .file())
    var loginDefs: String?

    @Option(help: "Output format: text (people, cron mail), json or prometheus (node_exporter textfile collector).")
    var format: AuditOutputFormat = .text

    @Option(name: .customLong("output"), help: ArgumentHelp("Write the report to FILE atomically instead of standard output.", valueName: "FILE"),
            completion: .file())
    var outputFile: String?

    @Option(name: .customLong("state"), help: ArgumentHelp("Compare with the previous audit kept in FILE (new orphans, orphans gone, growth per day), then update FILE atomically.", valueName: "FILE"),
            completion: .file())
    var stateFile: String?

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Exit 3 when a finding of this class exists: orphaned, suspect, limits (a limit at or above the warning threshold), insecure, or removeipc (RemoveIPC=yes and a non-system user owns in-use or suspect objects) (repeatable).", valueName: "CLASS"))
    var failOn: [AuditFindingClass] = []

    @Flag(name: .customLong("quiet-if-clean"), help: "Print nothing in text format when there is nothing to report.")
    var quietIfClean = false

    @Option(name: .customLong("warn-at"), help: ArgumentHelp("Usage at which a limit is reported as warning, in percent (default 80).", valueName: "PERCENT"))
    var warnAt: String = "80"

    @Option(name: .customLong("critical-at"), help: ArgumentHelp("Usage at which a limit is reported as critical, in percent (default 95).", valueName: "PERCENT"))
    var criticalAt: String = "95"

    @Option(name: .customLong("shm-root"), help: ArgumentHelp("Where POSIX shared memory and named semaphores live.", valueName: "DIR"),
            completion: .directory)
    var shmRoot: String = PosixIPCScanner.defaultShmRoot

    @Option(name: .customLong("mqueue-root"), help: ArgumentHelp("Where the mqueue filesystem is mounted (default: the mqueue mount /proc/self/mountinfo lists; the report says when there is none).", valueName: "DIR"),
            completion: .directory)
    var mqueueRoot: String?

    @Flag(name: .customLong("no-posix"), help: "Do not look at POSIX IPC objects under --shm-root and --mqueue-root.")
    var noPosix = false

    /// "80", "80%", "80.5 %" -> 0.805; nil when not a percentage in (0, 100].
    static func parsePercent(_ text: String) -> Double? {
        var t = text.filter { $0 != " " }
        if t.hasSuffix("%") { t = String(t.dropLast()) }
        guard let v = Double(t), v > 0, v <= 100 else { return nil }
        return v / 100
    }

    func validate() throws {
        try requireNonEmpty("--output", outputFile.map { [$0] } ?? [], what: "a file path")
        try requireNonEmpty("--state", stateFile.map { [$0] } ?? [], what: "a file path")
        try requireNonEmpty("--shm-root", [shmRoot], what: "a directory")
        try requireNonEmpty("--mqueue-root", mqueueRoot.map { [$0] } ?? [], what: "a directory")
        guard let w = Self.parsePercent(warnAt) else {
            throw ValidationError("--warn-at \(warnAt): not a percentage; give a number above 0 and at most 100, e.g. 80")
        }
        guard let c = Self.parsePercent(criticalAt) else {
            throw ValidationError("--critical-at \(criticalAt): not a percentage; give a number above 0 and at most 100, e.g. 95")
        }
        if w > c {
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
        let names = NameLookup(users)
        let sel = try filters.selection(users: users)
        let filter = sel.sysv
        // Every System V kind is read: the limits count every object of the namespace, whatever the filters.
        let inspections = try inspectNamespaces(source: source, posixKinds: noPosix ? [] : Set(PosixIPCKind.allCases),
                                                posixExplicit: sel.posixExplicit, scope: scope, namespace: namespace,
                                                all: allNamespaces, users: users,
                                                posixScanner: PosixIPCScanner(shmRoot: shmRoot, mqueueRoot: mqueueRoot))

        try checkConfigPaths()
        // RemoveIPC=: logind cleans its own IPC namespace only (that of a visible systemd-logind, else ours).
        var configWarnings: [String] = []
        let removeIPC = LogindConfig.effective(logindConf: logindConf, loginDefs: loginDefs, warnings: &configWarnings)
        configWarnings.forEach(warn)
        let own = FileIO.readLink("/proc/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
        let logindNamespace = inspections.first?.processes.byPid.values
            .first { $0.comm == "systemd-logind" && !$0.isDeadOrZombie }?.ipcNamespace ?? own

        let (previous, stateNote, replaceState) = try readState()
        let kinds = sel.sysvKinds
        var reports: [AuditReport] = []
        for result in inspections {
            let items = result.classifications.filter { sel.matches($0, now: result.now) }
            let posixItems = result.posix.filter { sel.posix.matches($0, now: result.now) }
            let where_ = result.namespace.map { " of IPC namespace \($0.inode) (\($0.owner))" } ?? ""
            var limits: KernelLimits?
            var limitsError: String?
            do {
                limits = try IPCProbe(procRoot: source.procRoot, namespace: result.namespaceThread).limits()
            } catch {
                limitsError = "\(error)"
                warn("\(error); the report\(where_) has no kernel limits (check that \(source.procRoot)/sys/kernel is readable)")
            }
            // POSIX objects: those of the namespace's mount namespace (each filesystem in one report only).
            var posix: [PosixScanResult] = []
            if !noPosix {
                var byKind = filter
                byKind.kinds = Set(sel.posix.kinds.map(\.sysvKind))
                posix = Auditor.filter(result.posixScans, with: byKind).map { scan in
                    var s = scan
                    s.objects = scan.objects.filter { sel.posix.kinds.contains($0.kind) }
                    s.warnings = []  // already among the inspection's warnings
                    return s
                }
            }
            let inode = result.namespace?.inode ?? own
            var input = AuditInput(classifications: items, snapshot: result.snapshot, kinds: kinds, limits: limits,
                           limitsError: limitsError, pageSize: Int64(max(1, sysconf(Int32(_SC_PAGESIZE)))), posix: posix,
                           previousState: previous, stateNote: stateNote,
                           thresholds: AuditThresholds(warning: Self.parsePercent(warnAt) ?? 0.8,
                                                       critical: Self.parsePercent(criticalAt) ?? 0.95),
                           now: result.now, source: result.snapshot.source, scope: result.scope?.description,
                           warnings: result.warnings, namespace: result.namespace,
                           removeIPC: inode == logindNamespace ? removeIPC : nil)
            input.posixClassifications = posixItems
            reports.append(Auditor.report(input, names: names))
        }
        guard let report = reports.first else { throw CLIError("no IPC namespace could be inspected") }

        let text: String
        switch format {
        case .text:
            text = reports.map { AuditTextRenderer().render($0, quietIfClean: quietIfClean) }
                .filter { !$0.isEmpty }.joined(separator: "\n")
        case .json:
            text = try allNamespaces.allNamespaces ? JSONOutput.render(AuditJSON.document(reports)) : AuditJSON.render(report)
        case .prometheus: text = AuditPrometheus.render(reports)
        }
        if let path = outputFile {
            do { try FileIO.writeAtomically(Array(text.utf8), to: path) } catch {
                if error.isWrongType { throw Self.notRegularOutput(path, error) }
                throw CLIError("cannot write the report to \(path): \(error); check that its directory exists and is writable (nothing was left behind)")
            }
        } else {
            emit(text)
        }

        if let path = stateFile, replaceState {
            let next = AuditStateDiff.next(previous: previous, report: report)
            do { try FileIO.writeAtomically(try next.encoded(), to: path) } catch {
                throw CLIError("cannot write the audit state to \(path): \(error); check that its directory exists and is writable")
            }
        }

        let failing = Set(reports.flatMap(\.findingClasses)).intersection(failOn)
        if !failing.isEmpty {
            throw ExitCode(3)
        }
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

    /// The previous state (nil on the first run), a note for the report, and whether to write the state afterwards.
    /// A file that is not an ipcsweep state is refused before anything is written (see `AuditState.decode`).
    private func readState() throws -> (AuditState?, String?, Bool) {
        guard let path = stateFile else { return (nil, nil, false) }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: FileIO.Limit.state) } catch {
            if error.errno == .noSuchFileOrDirectory {
                return (nil, "No previous audit state in \(path): this audit is the baseline.", true)
            }
            if error.isWrongType || error.errno == .fileTooLarge {
                throw CLIError("--state \(path): \(error.problem ?? "\(error.errno)"), so not an ipcsweep audit state: left untouched; give the path of a state file of its own")
            }
            throw CLIError("cannot read the audit state \(path): \(error.errno); fix its permissions or give another --state file")
        }
        do { return (try AuditState.decode(bytes, path: path), nil, true) } catch {
            if !error.replaceable { throw CLIError(error.description) }
            warn(error.description)
            return (nil, "The audit state in \(path) was unreadable: this audit is a new baseline.", true)
        }
    }
}
