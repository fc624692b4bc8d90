import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "Remove orphans that match the filters, after re-checking each one.",
        discussion: """
            Only objects judged orphaned are removed (and suspect ones with --include-suspect); in-use and unknown \
            objects are never removed: remove those deliberately with ipcrm(1). The plan reads each object's stat; \
            immediately before IPC_RMID each one is read again, whole (every semaphore of a set), skipped as \
            "changed since planned" on any difference, and decided from that read. Runs are \
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

    @Option(name: .customLong("save-to"), help: ArgumentHelp("Before removing, save each queue's messages and each segment's or POSIX file's data to a file in DIR (created if missing; mode 0600 files, streamed, checked against DIR's free space, in place only when complete).", valueName: "DIR"),
            completion: .directory)
    var saveTo: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print nothing when there is nothing to clean, and only planned objects otherwise (for ExecStopPost=); no progress.")
    var quiet = false

    @Option(name: .customLong("lock-file"), help: ArgumentHelp("Lock this file instead of /run/ipcsweep.lock (or its fallbacks).", valueName: "PATH"),
            completion: .file())
    var lockFile: String?

    @Option(name: .customLong("lock-wait"), help: ArgumentHelp("How long to wait for another clean to finish before giving up (30s, 2m).", valueName: "DURATION"))
    var lockWait = TimeSpan(seconds: 10)

    func validate() throws {
        try output.checkColumns(CleanFields.table, kinds: filters.kinds, command: "clean")
        try requireNonEmpty("--save-to", saveTo.map { [$0] } ?? [], what: "a directory")
        try requireNonEmpty("--lock-file", lockFile.map { [$0] } ?? [], what: "a file path")
        if !Procfs.isLive(source.procRoot) && !dryRun {
            throw ValidationError("--proc \(source.procRoot): a procfs copy does not describe this kernel's objects; clean removes only from the live /proc (use --dry-run to see the plan for the copy)")
        }
    }

    func run() throws {
        let users = UserDirectory()
        let filter = try filters.filter(users: users)
        let policy = CleanPolicy(includeSuspect: includeSuspect, discardMessages: discardMessages, saveTo: saveTo,
                                 dryRun: dryRun)
        let scopeSpec = try scope.spec()
        let ns = try namespace.open(procRoot: source.procRoot)
        let posixExplicit = filters.posixExplicit
        let options = { (detail: Bool) in
            InspectionOptions(procRoot: source.procRoot, source: source.source, kinds: filter.selectableKinds, scope: scopeSpec,
                              inheritWindow: scope.inheritWindow, semaphoreDetail: detail, namespace: ns,
                              allProcessesVisible: source.allProcessesVisible, selection: filter)
        }
        let journal = dryRun ? nil : CleanSyslog(users: users)
        let saver = saveWriter(namespace: ns)
        let clockNoted = NoteSet()
        let environment = CleanEnvironment(
            read: { detail in
                do {
                    var r = try Inspector.read(options(detail))
                    r.warnings.forEach(warn)
                    // What the POSIX side could not see: said when POSIX kinds were asked for.
                    if posixExplicit {
                        r.posixNotes.forEach(warn)
                        r.warnings += r.posixNotes
                    }
                    return r
                } catch let e as ProbeError {
                    throw CLIError(e.description)
                }
            },
            classify: { reading in
                let c = reading.classify(users: users)
                // Said once per run (a confirmed run reads twice).
                if let note = reading.clockNote(c), clockNoted.insert(note) { warn(note) }
                return c
            },
            decider: { reading in
                let d = CleanDecider(reading: reading, users: users, watchBirths: Procfs.isLive(source.procRoot))
                return CleanDecision(holdersMayHaveChanged: { d.holdersMayHaveChanged() }) {
                    let r = d.decide($0)
                    return (r.classification, r.changes)
                }
            },
            prepareSaveDirectory: prepareSaveDirectory,
            lock: {
                // One lock per IPC namespace.
                let l = try takeLock(namespace: ns?.inode)
                return (l.path, { l.release() })
            },
            installSignals: { CleanSignals.install() },
            confirm: { try confirm($0, users: users) },
            pipeline: { policy in
                // In another IPC namespace every System V call runs on the thread inside it.
                let kernel: any KernelCalls = ns.map { NamespacedKernelCalls(namespace: $0) } ?? Kernel.live
                var pipeline = CleanPipeline(policy: policy, kernel: kernel)
                pipeline.saver = saver
                pipeline.pendingSignal = { CleanSignals.pending() }
                if let journal {
                    pipeline.log = { journal.log($0) }
                }
                #if DEBUG
                pipeline.beforeRecheck = TestHook.fromEnvironment()
                if let hook = TestHook.beforeUnlink() { pipeline.posix = PosixBackend(kernel: kernel, beforeUnlink: hook) }
                #endif
                return pipeline
            })
        let session = CleanSession(request: CleanRequest(filter: filter, policy: policy, confirm: !yes && !dryRun),
                                   environment: environment)
        let result = try session.run()
        var run = result.run
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

        try report(run, reading: result.reading, users: users, lockPath: result.lockPath)
        retainUntilExit(result, run)
        if let s = run.interruption {
            let done = run.counts.removed
            warn("stopped by \(s.description) after \(done) removal\(done == 1 ? "" : "s"); the object in hand was finished, the rest were not attempted; run clean again to continue")
        }
        let status = run.exitStatus
        if status != 0 { throw ExitCode(status) }
    }

    /// The writer of --save-to files, shared by both families: progress on a terminal (not with --quiet), the IPC
    /// namespace the objects come from (recorded in each file).
    func saveWriter(namespace ns: IPCNamespaceThread?) -> ObjectSaver {
        var saver = ObjectSaver()
        saver.progress = progressReporter(quiet: quiet)
        saver.namespace = ns?.inode ?? FileIO.readLink("/proc/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
        #if DEBUG
        saver.stageHook = SaveTestHook.fromEnvironment()
        #endif
        return saver
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
            return try CleanLock.acquire(paths: paths, wait: lockWait.seconds,
                                         stop: { CleanSignals.pending()?.description })
        } catch {
            throw CLIError(error.description)
        }
    }

    /// On a terminal: show what will go and ask. Otherwise refuse (nothing has been changed).
    func confirm(_ plan: [PlanEntry], users: UserDirectory) throws {
        let going = plan.filter(\.goesAhead)
        let total = going.count
        guard isatty(0) == 1 else {
            throw CLIError("refusing to remove \(total) object\(total == 1 ? "" : "s") without confirmation: standard input is not a terminal; give --yes to remove them, or --dry-run to see the plan")
        }
        let preview = going.map {
            CleanResult(classification: $0.classification, status: .wouldRemove, reason: $0.classification.reasons.first ?? "")
        }
        let t = CleanFields.table
        let ctx = RenderContext(users: users, now: 0, style: .table(absoluteTimes: false))
        let columns = ObjectFields.tableColumns((try? t.columns(.defaults, kinds: [], command: "clean")) ?? [], of: t,
                                                for: preview, selection: .defaults) { ObjectFields.RowFact($0.classification) }
        // The table escapes its cells; the question is the program's own.
        writeStandardError(t.table(preview, columns: columns, context: ctx)
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

    /// The report in the chosen format, from `CleanFields` (JSON streamed in pieces).
    func report(_ run: CleanRun, reading: ReadingFacts, users: UserDirectory, lockPath: String?) throws {
        if quiet && !run.hadWork && run.interruption == nil { return }
        let shown = quiet ? run.results.filter(\.planned) : run.results
        let t = CleanFields.table
        let kinds = filters.kinds
        do throws(ColumnError) {
            switch output.format {
            case .json:
                CleanDocument(run: run, shown: shown, users: users, scope: reading.scope?.description,
                              warnings: reading.warnings, lockPath: lockPath, namespace: reading.namespace,
                              fields: try t.jsonFields(output.columns, kinds: kinds, command: "clean"))
                    .write(pretty: output.prettyJSON) { OutputSink.standardOutput.write($0) }
            case .csv:
                let ctx = RenderContext(users: users, now: reading.now, style: .csv)
                let columns = ObjectFields.csvColumns(try t.columns(output.columns, kinds: kinds, command: "clean"), of: t,
                                                      for: shown, selection: output.columns) { ObjectFields.RowFact($0.classification) }
                OutputSink.standardOutput.write(t.table(shown, columns: columns, context: ctx).csv(headings: !output.noHeadings))
            case .table:
                if !shown.isEmpty {
                    let ctx = RenderContext(users: users, now: reading.now, style: .table(absoluteTimes: false))
                    let columns = ObjectFields.tableColumns(try t.columns(output.columns, kinds: kinds, command: "clean"),
                                                            of: t, for: shown, selection: output.columns) { ObjectFields.RowFact($0.classification) }
                    let table = t.table(shown, columns: columns, context: ctx)
                    table.render(width: Terminal.width, headings: !output.noHeadings, color: output.useColor) {
                        OutputSink.standardOutput.write($0)
                    }
                    // A cell per column and row: freed by the exit, as the results are.
                    retainUntilExit(table)
                }
                let ns: SafeText = reading.namespace.map { "IPC namespace \($0.inode) (\($0.owner)): " } ?? ""
                emit("\(ns)\(run.summary)\n")
            }
        } catch {
            throw CLIError(error.description)
        }
    }
}

#if DEBUG
/// Debug builds only: IPCSWEEP_TEST_BEFORE_RMID=COMMAND runs `/bin/sh -c COMMAND` before each object's re-check
/// (with IPCSWEEP_TEST_TYPE, IPCSWEEP_TEST_ID and IPCSWEEP_TEST_SEQ set; for a POSIX object also
/// IPCSWEEP_TEST_NAME and IPCSWEEP_TEST_PATH), or only before the Nth object when IPCSWEEP_TEST_BEFORE_RMID_AT=N,
/// so that integration tests can change an object between plan and removal.
enum TestHook {
    static func fromEnvironment() -> (@Sendable (Int, IPCObject) -> Void)? {
        guard let command = ProcessEnv.get("IPCSWEEP_TEST_BEFORE_RMID"), !command.isEmpty else { return nil }
        let at = ProcessEnv.get("IPCSWEEP_TEST_BEFORE_RMID_AT").flatMap(Int.init)
        return { seq, o in
            if let at, at != seq { return }
            setenv("IPCSWEEP_TEST_TYPE", o.kind.rawValue, 1)
            setenv("IPCSWEEP_TEST_ID", String(o.id), 1)
            setenv("IPCSWEEP_TEST_SEQ", String(seq), 1)
            if let p = o.posix {
                setenv("IPCSWEEP_TEST_NAME", p.name, 1)
                setenv("IPCSWEEP_TEST_PATH", p.path, 1)
            }
            spawn(command)
        }
    }

    /// IPCSWEEP_TEST_BEFORE_UNLINK: a command run between a POSIX object's re-check under its lease and its
    /// removal, with IPCSWEEP_TEST_NAME and IPCSWEEP_TEST_PATH set (a race: something opens it just then).
    static func beforeUnlink() -> (@Sendable (PosixIPCObject) -> Void)? {
        guard let command = ProcessEnv.get("IPCSWEEP_TEST_BEFORE_UNLINK"), !command.isEmpty else { return nil }
        return { o in
            setenv("IPCSWEEP_TEST_NAME", o.name, 1)
            setenv("IPCSWEEP_TEST_PATH", o.path, 1)
            spawn(command)
        }
    }

    /// Runs `/bin/sh -c COMMAND` and waits for it.
    static func spawn(_ command: String) {
        var pid: pid_t = 0
        let args = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
#endif

/// Notes already said in this run.
final class NoteSet: Sendable {
    private let seen = Locked(Set<String>())
    /// Whether `note` is new (and now said).
    func insert(_ note: String) -> Bool { seen.withLock { $0.insert(note).inserted } }
}
