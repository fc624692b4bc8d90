import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

enum RestoreFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

/// `restore FILE...`: puts back what `clean --save-to` saved.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "Put back what clean --save-to saved: re-create each queue (every message, its type, in order) or segment (its data, holes left as holes).",
        discussion: """
            Every FILE is read and checked first, streamed through a fixed buffer whatever its size: a save file \
            (format version 3 with matching file and content checksums, or version 2 or 1), not truncated, its \
            records in order, its counts matching its body, sizes the target accepts (msgmax, msgmnb, shmmax, the \
            free space of the shm tmpfs). If any FILE fails a check, nothing is created. Then each object is \
            created with its saved key when that key is free (else with IPC_PRIVATE, key 0, and a note), filled \
            from the file read again (each message sent with its type in the saved order; each data extent copied \
            to its offset, holes never touched, so a restored 8 GiB segment with one page of data has one page \
            resident), verified (message count and bytes and every message's checksum read back with MSG_COPY; \
            the segment's content checksum) and given its saved mode, and, when run as root, its saved owner and \
            group. A restore that fails part-way removes what it created. The new ids are printed; the save files \
            are left as they are.

            POSIX saves (posix-shm, posix-sem, posix-mq) are re-created under their saved name: a file in the \
            /dev/shm tmpfs (created exclusively, sized, its data extents written, fsynced, its content checksum \
            read back), or a queue made with mq_open and its saved mq_maxmsg and mq_msgsize, each message sent \
            with its priority in the saved order and the count verified; then the saved mode and, as root, owner \
            and group. A name that is already taken is refused in the check, never overwritten: move the \
            existing object away first.

            --namespace PID creates them in the IPC namespace of that process (POSIX files in its /dev/shm, \
            reached through /proc/PID/root without following links); a note says when a save came from another \
            namespace. A restore that takes more than a second shows its progress on standard error when that is \
            a terminal (not with --quiet).

            Exit status: 0 every file restored; 1 a file was refused or a restore failed (the others are restored).

            Example:
              ipcsweep clean --yes --save-to /var/tmp/ipcsweep-saved
              ipcsweep restore /var/tmp/ipcsweep-saved/msg-32768-0x0000abcd-1700000000.ipcsweep
            """)

    @Argument(help: ArgumentHelp("Save files written by clean --save-to.", valueName: "FILE"), completion: .file())
    var files: [String] = []

    @Option(help: "Output format: table or json.")
    var format: RestoreFormat = .table

    @Flag(help: "Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).")
    var pretty = false

    @Flag(name: .customLong("no-headings"), help: "Print the table without its header line.")
    var noHeadings = false

    @Option(name: .customLong("namespace"), help: ArgumentHelp("Create the objects in the IPC namespace of this process (a host pid: System V objects and POSIX queues there, POSIX files in its /dev/shm, reached through /proc/PID/root without following links) or of this namespace file (System V objects and POSIX queues only) instead of the tool's own.", valueName: "PID|PATH"),
            completion: .file())
    var namespace: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Show no progress (a restore that takes more than a second shows its progress on standard error when that is a terminal).")
    var quiet = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one save file (written by clean --save-to DIR)") }
        try requireNonEmpty("FILE", files, what: "a save file path")
        if let n = namespace, n.isEmpty { throw ValidationError("--namespace needs a pid or a namespace file") }
    }

    func run() throws {
        let users = UserDirectory()
        let thread = try NamespaceOptions.open(namespace, procRoot: "/proc")
        let target = thread.map { RestoreTarget.namespace($0) } ?? .own()
        // The limits of the namespace the objects go to.
        let limits = target.namespace.map { t in t.perform { try? SysVKernel().limits().get() } } ?? (try? SysVKernel().limits().get())
        let options = RestoreOptions(privileged: geteuid() == 0, target: target, limits: limits,
                                     progress: progressReporter(quiet: quiet))
        var plans: [RestorePlan] = []
        var refused: [RestoreError] = []
        for path in files {
            do throws(RestoreError) { plans.append(try Restorer.load(path, options: options)) } catch { refused.append(error) }
        }
        var restored: [RestoredObject] = []
        var failed = refused
        if refused.isEmpty {
            for plan in plans {
                switch Restorer.restore(plan, options: options) {
                case .success(let r): restored.append(r)
                case .failure(let e): failed.append(e)
                }
            }
        }
        for r in restored {
            for note in r.notes { warn("\(r.path): \(note)") }
        }
        // The objects exist whether or not their report can be written: name them on standard error.
        if !restored.isEmpty {
            OutputSink.standardOutput.onFailure = { [restored] failure in
                let ids = restored.map { r in r.kind.isPosix ? "\(r.kind.rawValue) \(r.createdPath ?? "")" : "\(r.kind.rawValue) \(r.id)" }
                    .joined(separator: ", ")
                return "restore created \(ids) but could not write its report: \(failure.description)"
            }
        }
        switch format {
        case .json:
            RestoreReport.document(restored: restored, failed: failed, users: users)
                .document(pretty: pretty || Terminal.stdoutIsTerminal).withUnsafeBytes { OutputSink.standardOutput.write($0) }
        case .table:
            if restored.contains(where: { !$0.kind.isPosix }) {
                OutputSink.standardOutput.write(RestoreReport.table(restored, users: users)
                    .render(width: Terminal.width, headings: !noHeadings, color: false))
            }
            if restored.contains(where: { $0.kind.isPosix }) {
                OutputSink.standardOutput.write(RestoreReport.posixTable(restored, users: users)
                    .render(width: Terminal.width, headings: !noHeadings, color: false))
            }
        }
        guard failed.isEmpty else {
            for e in failed.dropLast() { writeStandardError("Error: \(TextEscape.escaped(e.description))\n") }
            let last = failed[failed.count - 1].description
            if !refused.isEmpty && !plans.isEmpty {
                throw CLIError("\(last) (\(plans.count) other file\(plans.count == 1 ? "" : "s") passed the checks but nothing was restored: fix or leave out the refused files)")
            }
            throw CLIError(last)
        }
    }
}
