import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct IPCSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipcsweep",
        abstract: "Find and safely remove System V and POSIX IPC objects that crashed processes left behind.",
        discussion: """
            ipcsweep lists System V semaphore sets, shared memory segments and message queues, and POSIX shared \
            memory, named semaphores and message queues (/dev/shm and the mqueue mount), decides for each \
            whether a live process still uses it (in-use, orphaned, suspect or unknown, with the evidence), \
            and removes orphans only after re-checking them.
            """,
        version: ipcsweepVersion,
        subcommands: [List.self, Show.self, Orphans.self, Clean.self, Audit.self, Restore.self]
    )

    /// ArgumentParser's main, with every message written through the output sink: help, version and completion
    /// scripts go to standard output (a failed write is an error there too), errors to standard error; then
    /// standard output is closed and checked (`OutputSink.finish`) before the exit status is returned.
    /// The super-command name of every subcommand (see `parsedSubcommand`).
    static let fastPathName = "ipcsweep"

    static func main() {
        OutputSink.prepare()
        // Swift reads the arguments from /proc/self/cmdline: none at all means /proc is not mounted here, or is
        // another pid namespace's (nsenter into a mount namespace but not its pid namespace), where this process
        // has no entry. Without them the request is unknown (ArgumentParser would print the help and exit 0, and
        // a `clean` in a unit would look done), and without its own /proc no verdict could be made: a runtime
        // error that says so.
        if CommandLine.arguments.isEmpty {
            writeStandardError("Error: cannot read the command line from /proc/self/cmdline: /proc is not mounted here or belongs to another pid namespace; enter a pid namespace together with a mount namespace whose /proc is its own (nsenter -p -m), or run it from the host with --namespace PID\n")
            Glibc.exit(1)
        }
        // `ipcsweep --version` alone is answered before ArgumentParser builds its command tree (most of the
        // start-up time of --version; scripts and package checks call it often).
        if CommandLine.arguments.count == 2 && CommandLine.arguments[1] == "--version" {
            OutputSink.standardOutput.write(ipcsweepVersion + "\n")
            OutputSink.standardOutput.finish()
            Glibc.exit(0)
        }
        var status: Int32 = 0
        do {
            var command = try parsedSubcommand() ?? parseAsRoot()
            try command.run()
        } catch {
            let text = fullMessage(for: error)
            status = exitCode(for: error).rawValue
            if !text.isEmpty {
                // Help, version and completion scripts are the program's own text; an error message may carry a
                // value (a name, a path): escaped where it leaves, line by line (usage text has several lines).
                if status == 0 {
                    OutputSink.standardOutput.write(text + "\n")
                } else {
                    writeStandardError((error is CLIError ? TextEscape.escaped(text) : TextEscape.escapedLines(text)) + "\n")
                }
            }
        }
        OutputSink.standardOutput.finish()
        Glibc.exit(status)
    }

    /// `ipcsweep SUBCOMMAND ARGUMENTS` parsed by the subcommand's own command tree, when that gives a command to
    /// run. Parsing through the whole tree costs ArgumentParser's reflection over every subcommand's options (a
    /// third of a small `list`'s instructions); a subcommand alone parses the same arguments the same way (the
    /// root has no options of its own). Anything else — help, completion scripts, an error, another first
    /// argument — is nil: the whole tree parses it again, so its messages and usage are the tree's.
    static func parsedSubcommand() -> ParsableCommand? {
        // Each subcommand names this as its super-command (`_superCommandName`, which ArgumentParser reads only
        // where that command is the root, i.e. here): then its own parse does not first try its arguments as a
        // `--generate-completion-script` request (two more parsers, an eighth of a small `list`). Such a request
        // is then an unknown option here, so the whole tree parses it, as any other error.

        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first,
              let sub = configuration.subcommands.first(where: { $0.configuration.commandName == name })
        else { return nil }
        // Only the subcommand itself (not a command ArgumentParser adds, such as `help`).
        guard let command = try? sub.parseAsRoot(Array(arguments.dropFirst())), type(of: command) == sub else { return nil }
        return command
    }
}

/// The version `--version` prints; the Debian package's version (debian/changelog) must match it.
let ipcsweepVersion = "0.1.0"

/// Runs an inspection of the given kinds with the shared options (of `namespace`, a thread inside another IPC
/// namespace, when given), printing its warnings (and, when POSIX kinds were asked for by name, what the POSIX
/// side could not see). Another namespace's POSIX objects are those of its process's mount namespace.
func inspect(source: SourceOptions, kinds: Set<IPCKind>, posixExplicit: Bool = false, scope: ScopeOptions,
             namespace: IPCNamespaceThread? = nil, users: UserDirectory,
             posixScanner: PosixIPCScanner = PosixIPCScanner(),
             processReads: InspectionOptions.ProcessReads = .verdicts, selection: ObjectFilter? = nil) throws -> Inspection {
    do {
        let options = InspectionOptions(procRoot: source.procRoot, source: source.source, kinds: kinds,
                                        scope: try scope.spec(), inheritWindow: scope.inheritWindow,
                                        posixScanner: posixScanner, namespace: namespace,
                                        allProcessesVisible: source.allProcessesVisible, processReads: processReads,
                                        selection: selection)
        var result = try Inspector.inspect(options, users: users)
        result.warnings.forEach(warn)
        // What the POSIX side could not see (no mqueue mount, a procfs copy): said when POSIX kinds were asked for.
        if posixExplicit {
            result.posixNotes.forEach(warn)
            result.warnings += result.posixNotes
        }
        return result
    } catch let e as ProbeError {
        throw CLIError(e.description)
    }
}

/// `inspect` for `--namespace` and `--all-namespaces`: one inspection per IPC namespace (every namespace's
/// warnings printed once), or the one namespace chosen. Each namespace's POSIX objects are those of its mount
/// namespace (read through /proc/PID/root), each filesystem listed under one namespace only.
func inspectNamespaces(source: SourceOptions, kinds: Set<IPCKind>, posixExplicit: Bool = false,
                       scope: ScopeOptions, namespace: NamespaceOptions, all: AllNamespacesOption, users: UserDirectory,
                       posixScanner: PosixIPCScanner = PosixIPCScanner(),
                       processReads: InspectionOptions.ProcessReads = .verdicts, selection: ObjectFilter? = nil) throws -> [Inspection] {
    if all.allNamespaces {
        if let n = namespace.namespace {
            throw CLIError("--namespace \(n) and --all-namespaces exclude each other; give one")
        }
        do {
            let options = InspectionOptions(procRoot: source.procRoot, source: source.source, kinds: kinds,
                                            scope: try scope.spec(), inheritWindow: scope.inheritWindow,
                                            posixScanner: posixScanner, allProcessesVisible: source.allProcessesVisible,
                                            selection: selection)
            var results = try Inspector.inspectAll(options, users: users)
            if posixExplicit {
                for i in results.indices { results[i].warnings += results[i].posixNotes }
            }
            var seen: Set<String> = []
            for w in results.flatMap(\.warnings) where seen.insert(w).inserted { warn(w) }
            return results
        } catch let e as ProbeError {
            throw CLIError(e.description)
        }
    }
    return [try inspect(source: source, kinds: kinds, posixExplicit: posixExplicit, scope: scope,
                        namespace: try namespace.open(procRoot: source.procRoot), users: users, posixScanner: posixScanner,
                        processReads: processReads, selection: selection)]
}

/// What `list` and `orphans` show: the namespaces asked for, inspected, merged into one inspection and filtered
/// in place (the returned inspection holds the only reference to the objects); nil when there is none.
func inspectFiltered(_ filter: ObjectFilter, filters: FilterOptions, source: SourceOptions, scope: ScopeOptions,
                     namespace: NamespaceOptions, all: AllNamespacesOption, users: UserDirectory) throws -> Inspection? {
    var inspections = try inspectNamespaces(source: source, kinds: filter.selectableKinds,
                                            posixExplicit: filters.posixExplicit, scope: scope, namespace: namespace,
                                            all: all, users: users, selection: filter)
    guard var result = inspections.takeMerged() else { return nil }
    inspections = []
    result.keep(filter)
    return result
}

extension Inspection {
    /// Keeps the objects that pass `filter`, in place (no second array of classifications).
    mutating func keep(_ filter: ObjectFilter) {
        let now = self.now
        objects.removeAll { !filter.matches($0, now: now) }
    }
}

extension Array where Element == Inspection {
    /// `merged`, taking a single inspection out of the array, so that the caller holds the only reference to its
    /// objects (filtering them in place then copies none).
    mutating func takeMerged() -> Inspection? {
        count == 1 ? removeLast() : merged
    }

    /// Several namespaces' inspections as one: the objects in order, warnings once each. One inspection is itself
    /// (its objects are not copied: 40,000 classifications are 13 MB).
    var merged: Inspection? {
        guard var out = first else { return nil }
        if count == 1 { return out }
        out.objects = flatMap(\.objects)
        var seen: Set<String> = []
        out.warnings = flatMap(\.warnings).filter { seen.insert($0).inserted }
        return out
    }
}
