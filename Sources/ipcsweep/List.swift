import ArgumentParser
import IPCSweepCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "List every object with owner, mode, size, times, recorded pids and verdict.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var allNamespaces: AllNamespacesOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try output.checkColumns(ObjectFields.table, kinds: filters.kinds, command: "list")
    }

    func run() throws {
        let users = UserDirectory()
        let filter = try filters.filter(users: users)
        guard let result = try inspectFiltered(filter, filters: filters, source: source, scope: scope,
                                               namespace: namespace, all: allNamespaces, users: users) else { return }
        let items = result.objects
        try ObjectOutput(output: output, users: users, inspection: result, kinds: filters.kinds, command: "list").print(items)
        retainUntilExit(result, items)
    }
}

/// Prints classified objects of every kind as table, JSON or CSV (list, orphans, show), all from `ObjectFields.table`.
struct ObjectOutput {
    var output: OutputOptions
    var users: UserDirectory
    var inspection: Inspection
    /// The columns when `--columns` is not given.
    var defaultColumns: [String] = ObjectFields.table.defaultColumns
    /// The kinds asked for (`--type`), against which `--columns` is checked.
    var kinds: Set<IPCKind>
    var command: String

    func print(_ items: [Classification], summary: SafeText? = nil) throws {
        let fields = FieldTable(fields: ObjectFields.table.fields, defaultColumns: defaultColumns,
                                kindOf: { $0.object.kind })
        do throws(ColumnError) {
            switch output.format {
            case .json:
                let doc = ObjectDocument(objects: items, users: users, scope: inspection.scope, warnings: inspection.warnings,
                                         source: inspection.snapshot.source,
                                         fields: try fields.jsonFields(output.columns, kinds: kinds, command: command))
                doc.write(pretty: output.prettyJSON) { OutputSink.standardOutput.write($0) }
            case .csv:
                let columns = ObjectFields.csvColumns(try fields.columns(output.columns, kinds: kinds, command: command),
                                                      of: fields, for: items, selection: output.columns) { ObjectFields.RowFact($0) }
                let ctx = RenderContext(users: users, now: inspection.now, style: .csv)
                OutputSink.standardOutput.write(fields.table(items, columns: columns, context: ctx).csv(headings: !output.noHeadings))
            case .table:
                let columns = ObjectFields.tableColumns(try fields.columns(output.columns, kinds: kinds, command: command),
                                                        of: fields, for: items, selection: output.columns) { ObjectFields.RowFact($0) }
                let width = Terminal.width
                let ctx = RenderContext(users: users, now: inspection.now, style: .table(absoluteTimes: true))
                var table = fields.table(items, columns: columns, context: ctx)
                // Absolute times only where space allows.
                if let w = width, table.naturalWidth(headings: !output.noHeadings) > w {
                    ctx.style = .table(absoluteTimes: false)
                    ctx.resetTimes()
                    table = fields.table(items, columns: columns, context: ctx)
                }
                if !items.isEmpty {
                    table.render(width: width, headings: !output.noHeadings, color: output.useColor) {
                        OutputSink.standardOutput.write($0)
                    }
                }
                // A cell per column and row: freed by the exit, as the results are.
                retainUntilExit(table)
                if let summary { emit(summary + "\n") }
            }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
