import ArgumentParser
import IPCSweepCore

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "Show objects in depth: each semaphore's value, pid and waiters; the processes attached to a segment; a queue's depth; the verdict with all its evidence.")

    @Argument(help: ArgumentHelp("Ids of System V objects (an id may exist for several kinds; all are shown), or names or paths of POSIX objects (PostgreSQL.1234, /dev/shm/x, sem.NAME).", valueName: "ID|NAME"))
    var ids: [String]

    @Option(name: .customLong("type"), help: "Only this kind: sem, shm, msg, sysv, posix-shm, posix-sem, posix-mq or posix (repeatable).")
    var types: [TypeChoice] = []

    @OptionGroup var source: SourceOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try output.checkColumns(ObjectFields.table, kinds: TypeChoice.kinds(types), command: "show")
        if ids.isEmpty { throw ValidationError("give at least one id (see `ipcsweep list`)") }
    }

    /// Whether a POSIX object is the one named: its name, directory entry, path, or "/name".
    static func named(_ o: PosixIPCObject, _ n: String) -> Bool { o.name == n || o.entry == n || o.path == n || "/" + o.name == n }

    func run() throws {
        let users = UserDirectory()
        let kinds = TypeChoice.kinds(types)
        let numeric = Set(ids.compactMap { Int32($0) })
        let names = ids.filter { Int32($0) == nil }
        let read = kinds.filter { $0.isPosix ? !names.isEmpty : !numeric.isEmpty }
        let result = try inspect(source: source, kinds: read, posixExplicit: true, scope: scope,
                                 namespace: try namespace.open(procRoot: source.procRoot), users: users, processReads: .whole)
        let items = result.objects.filter { c in
            if let o = c.object.posix { return names.contains { Self.named(o, $0) } }
            return numeric.contains(c.object.id)
        }
        let missing = ids.filter { id in
            if let n = Int32(id) { return !items.contains { $0.object.family == .sysv && $0.object.id == n } }
            return !items.contains { $0.object.posix.map { Self.named($0, id) } ?? false }
        }
        if output.format == .table && output.columns == .defaults {
            let detail = ObjectDetail(users: users, processes: result.processes, now: result.now, color: output.useColor)
            emit(SafeText.joined(items.map(detail.render), separator: "\n"))
        } else {
            try ObjectOutput(output: output, users: users, inspection: result, defaultColumns: ObjectFields.orphansColumns,
                             kinds: kinds, command: "show").print(items)
        }
        if !missing.isEmpty {
            throw CLIError("no IPC object with id or name \(missing.joined(separator: ", ")) here; see `ipcsweep list`")
        }
    }
}
