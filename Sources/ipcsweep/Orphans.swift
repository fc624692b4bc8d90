import ArgumentParser
import IPCSweepCore

struct Orphans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orphans",
        _superCommandName: IPCSweep.fastPathName,
        abstract: "List the objects judged orphaned or suspect, each with its reasons.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var allNamespaces: AllNamespacesOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try output.checkColumns(ObjectFields.table, kinds: filters.kinds, command: "orphans")
    }

    func run() throws {
        let users = UserDirectory()
        var filter = try filters.filter(users: users)
        let wanted: Set<Verdict> = [.orphaned, .suspect]
        filter.verdicts = filter.verdicts.isEmpty ? wanted : filter.verdicts.intersection(wanted)
        guard let result = try inspectFiltered(filter, filters: filters, source: source, scope: scope,
                                               namespace: namespace, all: allNamespaces, users: users) else { return }
        let items = result.objects
        // Counted in place (a filtered array would copy every orphaned classification).
        var orphaned = 0
        for i in items.indices where items[i].verdict == .orphaned { orphaned += 1 }
        let suspect = items.count - orphaned
        var summary: SafeText = "\(orphaned) orphaned, \(suspect) suspect"
        if suspect > 0 && result.scope == nil {
            summary += "; give --unit, --pidfile or --exe to settle suspects"
        } else if items.isEmpty {
            summary = "no orphaned or suspect objects"
        }
        try ObjectOutput(output: output, users: users, inspection: result, defaultColumns: ObjectFields.orphansColumns,
                         kinds: filters.kinds, command: "orphans")
            .print(items, summary: summary)
        retainUntilExit(result, items)
    }
}
