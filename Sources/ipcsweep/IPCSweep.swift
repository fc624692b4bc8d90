import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct IPCSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipcsweep",
        abstract: "Find and safely remove System V IPC objects that crashed processes left behind.",
        discussion: """
            ipcsweep lists semaphore sets, shared memory segments and message queues, decides for each \
            whether a live process still uses it (in-use, orphaned, suspect or unknown, with the evidence), \
            and removes orphans only after re-checking them.
            """,
        version: ipcsweepVersion,
        subcommands: [List.self, Show.self, Orphans.self, Clean.self, Audit.self, Restore.self]
    )

    /// ArgumentParser's main, with every message written through the output sink: help, version and completion
    /// scripts go to standard output (a failed write is an error there too), errors to standard error; then
    /// standard output is closed and checked (`OutputSink.finish`) before the exit status is returned.
    static func main() {
        OutputSink.prepare()
        // `ipcsweep --version` alone is answered before ArgumentParser builds its command tree (most of the
        // start-up time of --version; scripts and package checks call it often).
        if CommandLine.arguments.count == 2 && CommandLine.arguments[1] == "--version" {
            emit(ipcsweepVersion + "\n")
            OutputSink.standardOutput.finish()
            Glibc.exit(0)
        }
        var status: Int32 = 0
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let text = fullMessage(for: error)
            status = exitCode(for: error).rawValue
            if !text.isEmpty {
                if status == 0 { emit(text + "\n") } else { writeStandardError(text + "\n") }
            }
        }
        OutputSink.standardOutput.finish()
        Glibc.exit(status)
    }
}

/// The version `--version` prints; the Debian package's version (debian/changelog) must match it.
let ipcsweepVersion = "0.1.0"

/// Runs an inspection with the shared options, printing its warnings.
func inspect(source: SourceOptions, kinds: Set<IPCKind> = Set(IPCKind.allCases), scope: ScopeOptions,
             users: UserDirectory) throws -> Inspection {
    do {
        let options = InspectionOptions(procRoot: source.procRoot, source: source.source,
                                        kinds: kinds.isEmpty ? Set(IPCKind.allCases) : kinds, scope: try scope.spec(),
                                        inheritWindow: scope.inheritWindow)
        let result = try Inspector.inspect(options, users: users)
        result.warnings.forEach(warn)
        return result
    } catch let e as ProbeError {
        throw CLIError(e.description)
    }
}
