import ArgumentParser
import IPCSweepCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every object with owner, mode, size, times, recorded pids and verdict.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var allNamespaces: AllNamespacesOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        let users = UserDirectory()
        let sel = try filters.selection(users: users)
        let results = try inspectNamespaces(source: source, kinds: sel.sysvKinds, posixKinds: sel.posix.kinds,
                                            posixExplicit: sel.posixExplicit, scope: scope, namespace: namespace,
                                            all: allNamespaces, users: users)
        guard let result = results.merged else { return }
        let items = result.classifications.filter { sel.matches($0, now: result.now) }
        let posix = result.posix.filter { sel.posix.matches($0, now: result.now) }
        try ObjectOutput(output: output, users: users, inspection: result, withReason: false).print(items, posix: posix)
        retainUntilExit(result, items, posix)
    }
}

/// Prints classified objects as table, JSON or CSV (list and orphans).
struct ObjectOutput {
    var output: OutputOptions
    var users: UserDirectory
    var inspection: Inspection
    var withReason: Bool

    func print(_ items: [Classification], posix: [PosixClassification] = [], summary: String? = nil) throws {
        switch output.format {
        case .json:
            // Streamed: byte for byte what JSONOutput.render prints, in 64 KiB pieces.
            ObjectListJSON(objects: items, users: users, scope: inspection.scope, warnings: inspection.warnings,
                           source: inspection.snapshot.source, posix: posix).stream { OutputSink.standardOutput.write($0) }
        case .csv:
            let t = ObjectTable(users: users, now: inspection.now, withReason: withReason, forCSV: true).table(items, posix: posix)
            emit(t.csv(headings: !output.noHeadings))
        case .table:
            let width = Terminal.width
            var table = ObjectTable(users: users, now: inspection.now, withReason: withReason).table(items, posix: posix)
            // Absolute times only where space allows.
            if let w = width, table.render(width: nil, headings: true, color: false)
                .split(separator: "\n").contains(where: { $0.count > w }) {
                table = ObjectTable(users: users, now: inspection.now, withReason: withReason, absoluteTimes: false)
                    .table(items, posix: posix)
            }
            if !items.isEmpty || !posix.isEmpty { emit(table.render(width: width, headings: !output.noHeadings, color: output.useColor)) }
            if let summary { emit(summary + "\n") }
        }
    }
}
