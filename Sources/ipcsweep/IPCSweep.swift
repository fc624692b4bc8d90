import ArgumentParser
import IPCSweepCore

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
        version: "0.1.0",
        subcommands: [List.self, Show.self, Orphans.self, Clean.self, Audit.self]
    )
}

/// Runs an inspection with the shared options, printing its warnings.
func inspect(source: SourceOptions, kinds: Set<IPCKind> = Set(IPCKind.allCases), scope: ScopeOptions,
             users: UserDirectory) throws -> Inspection {
    do {
        let options = InspectionOptions(procRoot: source.procRoot, source: source.source,
                                        kinds: kinds.isEmpty ? Set(IPCKind.allCases) : kinds, scope: scope.spec,
                                        inheritWindow: scope.inheritWindow)
        let result = try Inspector.inspect(options, users: users)
        result.warnings.forEach(warn)
        return result
    } catch let e as ProbeError {
        throw CLIError(e.description)
    }
}
