import ArgumentParser
import IPCSweepCore

struct Orphans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orphans",
        abstract: "List the objects judged orphaned or suspect, each with its reasons.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var scope: ScopeOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var allNamespaces: AllNamespacesOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try output.checkColumns(ObjectFields.table, kinds: TypeChoice.kinds(filters.types).sysv, command: "orphans")
    }

    func run() throws {
        let users = UserDirectory()
        var sel = try filters.selection(users: users)
        let wanted: Set<Verdict> = [.orphaned, .suspect]
        sel.sysv.verdicts = sel.sysv.verdicts.isEmpty ? wanted : sel.sysv.verdicts.intersection(wanted)
        sel.posix.verdicts = sel.sysv.verdicts
        let results = try inspectNamespaces(source: source, kinds: sel.sysvKinds, posixKinds: sel.posix.kinds,
                                            posixExplicit: sel.posixExplicit, scope: scope, namespace: namespace,
                                            all: allNamespaces, users: users)
        guard let result = results.merged else { return }
        let items = result.classifications.filter { sel.matches($0, now: result.now) }
        let posix = result.posix.filter { sel.posix.matches($0, now: result.now) }
        let orphaned = items.filter { $0.verdict == .orphaned }.count + posix.filter { $0.verdict == .orphaned }.count
        let suspect = items.count + posix.count - orphaned
        var summary = "\(orphaned) orphaned, \(suspect) suspect"
        if suspect > 0 && result.scope == nil {
            summary += "; give --unit, --pidfile or --exe to settle suspects"
        } else if items.isEmpty && posix.isEmpty {
            summary = "no orphaned or suspect objects"
        }
        try ObjectOutput(output: output, users: users, inspection: result, defaultColumns: ObjectFields.orphansColumns,
                         kinds: sel.sysv.kinds, command: "orphans")
            .print(items, posix: posix, summary: summary)
        retainUntilExit(result, items, posix)
    }
}
