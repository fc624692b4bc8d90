import ArgumentParser
import IPCSweepCore

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show objects in depth: each semaphore's value, pid and waiters; the processes attached to a segment; a queue's depth; the verdict with all its evidence.")

    @Argument(help: "Ids of the objects to show (an id may exist for several kinds; all are shown).")
    var ids: [Int32]

    @Option(name: .customLong("type"), help: "Only this kind: sem, shm or msg (repeatable).")
    var types: [IPCKind] = []

    @OptionGroup var source: SourceOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try output.checkColumns(ObjectFields.table, kinds: Set(types), command: "show")
        if ids.isEmpty { throw ValidationError("give at least one id (see `ipcsweep list`)") }
    }

    func run() throws {
        let users = UserDirectory()
        let result = try inspect(source: source, kinds: Set(types), scope: scope, users: users)
        let wanted = Set(ids)
        let items = result.classifications.filter { wanted.contains($0.object.id) }
        let missing = ids.filter { id in !items.contains { $0.object.id == id } }
        if output.format == .table && output.columns == .defaults {
            let detail = ObjectDetail(users: users, processes: result.processes, now: result.now, color: output.useColor)
            emit(items.map(detail.render).joined(separator: "\n"))
        } else {
            try ObjectOutput(output: output, users: users, inspection: result, defaultColumns: ObjectFields.orphansColumns,
                             kinds: Set(types), command: "show").print(items)
        }
        if !missing.isEmpty {
            throw CLIError("no \(types.isEmpty ? "IPC object" : types.map(\.noun).joined(separator: " or ")) with id \(missing.map(String.init).joined(separator: ", ")) in this IPC namespace; see `ipcsweep list`")
        }
    }
}
