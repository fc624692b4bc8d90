import ArgumentParser
import IPCSweepCore

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
        version: "0.1.0",
        subcommands: [List.self, Show.self, Orphans.self, Clean.self, Audit.self]
    )
}

/// Runs an inspection with the shared options, printing its warnings (and, when POSIX kinds were asked for by
/// name, what the POSIX side could not see).
func inspect(source: SourceOptions, kinds: Set<IPCKind> = Set(IPCKind.allCases),
             posixKinds: Set<PosixIPCKind> = Set(PosixIPCKind.allCases), posixExplicit: Bool = false,
             scope: ScopeOptions, users: UserDirectory,
             posixScanner: PosixIPCScanner = PosixIPCScanner()) throws -> Inspection {
    do {
        let options = InspectionOptions(procRoot: source.procRoot, source: source.source, kinds: kinds,
                                        scope: scope.spec, inheritWindow: scope.inheritWindow, posixKinds: posixKinds,
                                        posixScanner: posixScanner)
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
