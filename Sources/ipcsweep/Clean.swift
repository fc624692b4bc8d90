import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Remove orphans that match the filters, after re-checking each one.",
        discussion: """
            Only objects judged orphaned are removed (and suspect ones with --include-suspect); in-use and unknown \
            objects are never removed: remove those deliberately with ipcrm(1). Each object is stat'ed again by id \
            immediately before IPC_RMID and skipped as "changed since planned" on any difference. Runs are \
            serialised with flock(2) on /run/ipcsweep.lock (/run/ipcsweep-ipcns-INODE.lock with --namespace). Removals and failures are logged to syslog \
            (LOG_AUTHPRIV, tag ipcsweep).

            Exit status: 0 removed everything planned, or nothing to do; 1 runtime error (lock not taken, \
            confirmation refused, unreadable state); 4 something planned was skipped (changed since planned, \
            kept for its messages) or failed (objects already gone do not count); 128+N stopped by signal N \
            (130 SIGINT, 143 SIGTERM) after finishing the object in hand.
            """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("dry-run"), help: "Print the plan and change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .customLong("yes")], help: "Remove without asking (needed when standard input is not a terminal).")
    var yes = false

    @Flag(name: .customLong("include-suspect"), help: "Also remove objects judged suspect (possible holders exist but none provably uses them).")
    var includeSuspect = false

    @Flag(name: .customLong("discard-messages"), help: "Remove message queues that still hold messages, dropping the messages.")
    var discardMessages = false

    @Option(name: .customLong("save-to"), help: ArgumentHelp("Before removing, save each queue's messages and each segment's bytes to a file in DIR (created if missing; mode 0600 files, written atomically).", valueName: "DIR"),
            completion: .directory)
    var saveTo: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print nothing when there is nothing to clean, and only planned objects otherwise (for ExecStopPost=).")
    var quiet = false

    @Option(name: .customLong("lock-file"), help: ArgumentHelp("Lock this file instead of /run/ipcsweep.lock (or its fallbacks).", valueName: "PATH"),
            completion: .file())
    var lockFile: String?

    @Option(name: .customLong("lock-wait"), help: ArgumentHelp("How long to wait for another clean to finish before giving up.", valueName: "DURATION"))
    var lockWait: String = "10s"

    func validate() throws {
        if TimeFormat.parseDuration(lockWait) == nil {
            throw ValidationError("--lock-wait \(lockWait): not a duration; give a number with s, m or h (e.g. 30s)")
        }
        try requireNonEmpty("--save-to", saveTo.map { [$0] } ?? [], what: "a directory")
        try requireNonEmpty("--lock-file", lockFile.map { [$0] } ?? [], what: "a file path")
        if source.procRoot != "/proc" && !dryRun {
            throw ValidationError("--proc \(source.procRoot): a procfs copy does not describe this kernel's objects; clean removes only from the live /proc (use --dry-run to see the plan for the copy)")
        }
    }

    func run() throws {
        let users = UserDirectory()
        let sel = try filters.selection(users: users)
        let interactive = !yes && !dryRun
        if !interactive { CleanSignals.install() }
        if let dir = saveTo, !dryRun { try prepareSaveDirectory(dir) }
        let ns = try namespace.open(procRoot: source.procRoot)

        // Plan under the lock (one per IPC namespace), so that two cleaners never work from the same plan.
        var lock: CleanLock?
        if !dryRun && !interactive { lock = try takeLock(namespace: ns?.inode) }

        let inspection = try inspect(source: source, kinds: sel.sysvKinds, posixKinds: sel.posix.kinds,
                                     posixExplicit: sel.posixExplicit, scope: scope, namespace: ns, users: users)
        let matched = inspection.classifications.filter { sel.matches($0, now: inspection.now) }
        let posixMatched = inspection.posix.filter { sel.posix.matches($0, now: inspection.now) }
        let policy = CleanPolicy(includeSuspect: includeSuspect, discardMessages: discardMessages,
                                 saveTo: saveTo, dryRun: dryRun)
        let plan = CleanPlanner(policy: policy).plan(matched)
        let posixRemover = PosixRemover(policy: policy)
        let posixPlan = posixRemover.plan(posixMatched)

        if interactive && (plan.contains(where: \.goesAhead) || posixPlan.contains(where: \.goesAhead)) {
            try confirm(plan, posix: posixPlan, users: users)
            CleanSignals.install()
            lock = try takeLock(namespace: ns?.inode)
        }

        let kernel: any RemovalKernel = ns.map { NamespacedRemovalKernel(namespace: $0) } ?? LiveRemovalKernel()
        let remover = Remover(kernel: kernel, policy: policy)
        remover.pendingSignal = CleanSignals.pending
        var journal: CleanSyslog?
        if !dryRun {
            let log = CleanSyslog(users: users)
            remover.log = { log.log($0) }
            journal = log
        }
        #if DEBUG
        remover.beforeRecheck = TestHook.fromEnvironment()
        posixRemover.beforeRecheck = TestHook.posixFromEnvironment()
        #endif
        var run = remover.run(plan)
        posixRemover.pendingSignal = CleanSignals.pending
        if !dryRun {
            let log = CleanSyslog(users: users)
            posixRemover.log = { log.log($0) }
        }
        let posixRun = posixRemover.run(posixPlan, interruption: run.interruption)
        run.posixResults = posixRun.results
        run.interruption = posixRun.interruption
        lock?.release()
        // A signal that came when nothing (more) was to be started still makes the run exit non-zero.
        if run.interruption == nil, let s = CleanSignals.pending() { run.interruption = s }

        // What was removed stays removed when the report cannot be written: say so on stderr and in the journal.
        if let journal, run.counts.removed + run.counts.failed > 0 {
            OutputSink.standardOutput.onFailure = { [run] failure in
                let text = CleanSyslog.lostReportMessage(run, failure)
                journal.note(text, error: true)
                return text
            }
        }
        try report(run, inspection: inspection, users: users, lockPath: lock?.path)
        retainUntilExit(inspection, matched, plan, run, posixPlan)
        if let s = run.interruption {
            let done = run.counts.removed
            warn("stopped by \(s.description) after \(done) removal\(done == 1 ? "" : "s"); the object in hand was finished, the rest were not attempted; run clean again to continue")
        }
        let status = run.exitStatus
        if status != 0 { throw ExitCode(status) }
    }

    /// Creates the --save-to directory (mode 0700) when missing, and checks that it is a writable directory.
    func prepareSaveDirectory(_ dir: String) throws {
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw CLIError("--save-to \(dir): cannot create the directory: \(String(cString: strerror(errno))); give an existing writable directory")
        }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CLIError("--save-to \(dir): not a directory; give a writable directory")
        }
        if access(dir, W_OK | X_OK) != 0 {
            throw CLIError("--save-to \(dir): not writable by this user; give a writable directory")
        }
    }

    func takeLock(namespace: UInt64?) throws -> CleanLock {
        let env = ["TMPDIR": ProcessEnv.get("TMPDIR"), "XDG_RUNTIME_DIR": ProcessEnv.get("XDG_RUNTIME_DIR")]
            .compactMapValues { $0 }
        let paths = lockFile.map { [$0] } ?? CleanLock.candidatePaths(euid: geteuid(), environment: env, namespace: namespace)
        do {
            return try CleanLock.acquire(paths: paths, wait: TimeFormat.parseDuration(lockWait) ?? 10,
                                         stop: { CleanSignals.pending()?.description })
        } catch {
            throw CLIError(error.description)
        }
    }

    /// On a terminal: show what will go and ask. Otherwise refuse (nothing has been changed).
    func confirm(_ plan: [PlanEntry], posix: [PosixPlanEntry], users: UserDirectory) throws {
        let going = plan.filter(\.goesAhead)
        let posixGoing = posix.filter(\.goesAhead)
        let total = going.count + posixGoing.count
        guard isatty(0) == 1 else {
            throw CLIError("refusing to remove \(total) object\(total == 1 ? "" : "s") without confirmation: standard input is not a terminal; give --yes to remove them, or --dry-run to see the plan")
        }
        let preview = CleanRun(results: going.map {
            CleanResult(classification: $0.classification, outcome: .planned,
                        reason: $0.classification.reasons.first ?? "", planned: true)
        }, interruption: nil, dryRun: true, posixResults: posixGoing.map {
            PosixCleanResult(classification: $0.classification, outcome: .planned,
                             reason: $0.classification.reasons.first ?? "", planned: true)
        })
        writeStandardError(CleanReport.table(preview.results, posix: preview.posixResults, users: users)
            .render(width: Terminal.width, headings: true, color: output.useColor))
        writeStandardError("Remove these \(total) object\(total == 1 ? "" : "s")? Each is re-checked first. [y/N] ")
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(0, &byte, 1) == 1 && byte != 10 { line.append(byte) }
        let answer = String(decoding: line.filter { $0 != 32 && $0 != 9 && $0 != 13 }, as: UTF8.self).lowercased()
        guard answer == "y" || answer == "yes" else {
            throw CLIError("nothing removed: not confirmed")
        }
    }

    func report(_ run: CleanRun, inspection: Inspection, users: UserDirectory, lockPath: String?) throws {
        if quiet && !run.hadWork && run.interruption == nil { return }
        let shown = quiet ? run.results.filter(\.planned) : run.results
        let shownPosix = quiet ? run.posixResults.filter(\.planned) : run.posixResults
        switch output.format {
        case .json:
            emit(try JSONOutput.render(CleanReportJSON(run: run, users: users, scope: inspection.scope,
                                                       warnings: inspection.warnings, lockPath: lockPath,
                                                       namespace: inspection.namespace)
                .withResults(shown, posix: shownPosix)))
        case .csv:
            emit(CleanReport.table(shown, posix: shownPosix, users: users).csv(headings: !output.noHeadings))
        case .table:
            if !shown.isEmpty || !shownPosix.isEmpty {
                emit(CleanReport.table(shown, posix: shownPosix, users: users)
                    .render(width: Terminal.width, headings: !output.noHeadings, color: output.useColor))
            }
            let ns = inspection.namespace.map { "IPC namespace \($0.inode) (\($0.owner)): " } ?? ""
            emit(ns + CleanReport.summary(run) + "\n")
        }
    }
}

#if DEBUG
/// Debug builds only: IPCSWEEP_TEST_BEFORE_RMID=COMMAND runs `/bin/sh -c COMMAND` before each object's re-check
/// (with IPCSWEEP_TEST_TYPE, IPCSWEEP_TEST_ID and IPCSWEEP_TEST_SEQ set), or only before the Nth object when
/// IPCSWEEP_TEST_BEFORE_RMID_AT=N, so that integration tests can change an object between plan and removal.
enum TestHook {
    static func fromEnvironment() -> ((Int, IPCObjectRef) -> Void)? {
        guard let command = ProcessEnv.get("IPCSWEEP_TEST_BEFORE_RMID"), !command.isEmpty else { return nil }
        let at = ProcessEnv.get("IPCSWEEP_TEST_BEFORE_RMID_AT").flatMap(Int.init)
        return { seq, ref in
            if let at, at != seq { return }
            setenv("IPCSWEEP_TEST_TYPE", ref.kind.rawValue, 1)
            setenv("IPCSWEEP_TEST_ID", String(ref.id), 1)
            setenv("IPCSWEEP_TEST_SEQ", String(seq), 1)
            var pid: pid_t = 0
            let args = ["/bin/sh", "-c", command]
            var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { return }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    /// The same hook for POSIX objects, before each object's re-check: IPCSWEEP_TEST_TYPE is the kind
    /// (posix-shm, ...), IPCSWEEP_TEST_NAME the name and IPCSWEEP_TEST_PATH the path.
    static func posixFromEnvironment() -> ((Int, PosixIPCObject) -> Void)? {
        guard let run = fromEnvironment() else { return nil }
        return { seq, o in
            setenv("IPCSWEEP_TEST_NAME", o.name, 1)
            setenv("IPCSWEEP_TEST_PATH", o.path, 1)
            run(seq, IPCObjectRef(kind: o.kind.sysvKind, id: -1))
        }
    }
}
#endif
