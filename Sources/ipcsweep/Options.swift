import ArgumentParser
import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

extension Verdict: ChoiceArgument {}
extension IPCSource: ChoiceArgument {}
extension TimeSpan: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
extension Percentage: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
extension IPCKey: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
extension ColumnSelection: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { "the command's usual columns" }
}

/// A runtime failure whose text names the input and says what to do.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An option given an empty value (`--unit=`, `--pidfile ''`) is a usage error (exit 64) naming the option:
/// an empty name selects nothing, so it is always a mistake (an unset shell variable, a template with a blank).
func requireNonEmpty(_ option: String, _ values: [String], what: String) throws {
    if values.contains(where: { $0.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\n" } }) {
        throw ValidationError("\(option) needs a value: an empty one selects nothing; give \(what) (is a shell variable unset?)")
    }
}

/// `--proc`, `--source` and `--all-processes-visible`: where the state is read from, and what it can show.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("proc"), help: ArgumentHelp("Read procfs from DIR instead of /proc (tests, forensic copies).", valueName: "DIR"),
            completion: .directory)
    var procRoot: String = Procfs.live

    @Option(help: "Where IPC objects are read from: auto picks the faster source that works here (the *_STAT_ANY syscalls on a live system) and falls back to the other; proc parses /proc/sysvipc/*; syscall uses semctl/shmctl/msgctl.")
    var source: IPCSource = .auto

    @Flag(help: "State that no process of another pid namespace shares the inspected IPC namespace (a test namespace, a container whose IPC namespace no one else joins). Without it, a run from a child pid namespace decides nothing on process evidence alone: a Kubernetes pod's other containers share its IPC namespace and /dev/shm unseen.")
    var allProcessesVisible = false

    func validate() throws {
        try requireNonEmpty("--proc", [procRoot], what: "a directory")
    }
}

/// `--namespace`: which IPC namespace to inspect (list, show, orphans, clean, audit).
struct NamespaceOptions: ParsableArguments {
    @Option(name: .customLong("namespace"), help: ArgumentHelp("Inspect the IPC namespace of this process (a host pid) or of this namespace file (/proc/PID/ns/ipc, a bind mount such as /run/ipcns/NAME) instead of the tool's own; the possible holders are the processes in it.", valueName: "PID|PATH"),
            completion: .file())
    var namespace: String?

    func validate() throws {
        if let n = namespace, n.isEmpty { throw ValidationError("--namespace needs a pid or a namespace file") }
    }

    /// A thread inside the namespace; nil without --namespace or when it is the tool's own namespace.
    func open(procRoot: String) throws -> IPCNamespaceThread? { try Self.open(namespace, procRoot: procRoot) }

    /// A thread inside the namespace `target` names; nil for none or the tool's own (also `restore --namespace`).
    static func open(_ target: String?, procRoot: String) throws -> IPCNamespaceThread? {
        guard let target else { return nil }
        guard Procfs.isLive(procRoot) else {
            throw CLIError("--namespace \(target) reads the running kernel; it cannot be combined with --proc \(procRoot)")
        }
        do {
            let thread = try IPCNamespaceThread(target: target, procRoot: procRoot)
            let own = FileIO.readLink("/proc/self/ns/ipc").flatMap(ProcessProbe.namespaceInode)
            return thread.inode == own ? nil : thread
        } catch {
            throw CLIError(error.description)
        }
    }
}

/// `--all-namespaces` (list, orphans, audit).
struct AllNamespacesOption: ParsableArguments {
    @Flag(name: .customLong("all-namespaces"), help: "Inspect every IPC namespace a process is in (/proc/*/ns/ipc): the host's and each container's, each with its inode and owner (the unit or cgroup of its oldest process).")
    var allNamespaces = false
}

/// A `--type` value: one System V or POSIX kind, or a family of them.
enum TypeChoice: String, ExpressibleByArgument, CaseIterable {
    case sem, shm, msg, sysv
    case posixShm = "posix-shm", posixSem = "posix-sem", posixMq = "posix-mq", posix

    var kinds: Set<IPCKind> {
        switch self {
        case .sem: return [.sem]
        case .shm: return [.shm]
        case .msg: return [.msg]
        case .sysv: return IPCKind.sysv
        case .posixShm: return [.posixShm]
        case .posixSem: return [.posixSem]
        case .posixMq: return [.posixMq]
        case .posix: return IPCKind.posix
        }
    }

    /// The kinds a list of `--type` values selects: all six when none is given.
    static func kinds(_ types: [TypeChoice]) -> Set<IPCKind> {
        types.isEmpty ? Set(IPCKind.allCases) : types.reduce(into: []) { $0.formUnion($1.kinds) }
    }
}

/// Filters shared by list, orphans, clean and audit: AND across options, OR within one; the same meaning for
/// every kind that has the field (`ObjectFilter`).
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("type"), help: "Only this kind: sem, shm, msg, sysv (all three), posix-shm, posix-sem, posix-mq or posix (all three) (repeatable).")
    var types: [TypeChoice] = []

    @Option(name: .customLong("name"), help: ArgumentHelp("Only POSIX objects whose name matches this glob, e.g. 'PostgreSQL.*' or 'torch_*' (repeatable; System V objects have no name).", valueName: "GLOB"))
    var names: [String] = []

    @Option(name: .customLong("user"), help: ArgumentHelp("Only objects whose owner or creator is this user (name or uid; repeatable).", valueName: "NAME|UID"))
    var users: [String] = []

    @Option(name: .customLong("key"), help: ArgumentHelp("Only System V objects with this key, hex 0x... or decimal (repeatable).", valueName: "KEY"))
    var keys: [IPCKey] = []

    @Option(name: .customLong("id"), help: ArgumentHelp("Only System V objects with this id (repeatable).", valueName: "ID"))
    var ids: [Int32] = []

    @Option(name: .customLong("verdict"), help: "Only this verdict: in-use, orphaned, suspect or unknown (repeatable).")
    var verdicts: [Verdict] = []

    @Option(name: .customLong("idle-for"), help: ArgumentHelp("Only objects with no activity for at least this long (90s, 15m, 2h, 7d).", valueName: "DURATION"))
    var idleFor: TimeSpan?

    func validate() throws {
        try requireNonEmpty("--user", users, what: "a user name or uid")
        if names.contains(where: \.isEmpty) { throw ValidationError("--name needs a glob, e.g. 'torch_*'") }
    }

    /// The kinds `--type` names (all six without it), against which `--columns` is checked.
    var kinds: Set<IPCKind> { TypeChoice.kinds(types) }

    /// Whether POSIX kinds were asked for by name (then "mqueue not mounted" is worth a warning).
    var posixExplicit: Bool { types.contains { !$0.kinds.isDisjoint(with: IPCKind.posix) } }

    /// The one filter, user names resolved to uids; an unknown user name is a one-line error.
    func filter(users directory: UserDirectory) throws -> ObjectFilter {
        var uids: Set<UInt32> = []
        for u in users {
            guard let uid = directory.uid(forUser: u) else {
                throw CLIError("--user \(u): no such user in the passwd database; give a login name or a numeric uid")
            }
            uids.insert(uid)
        }
        return ObjectFilter(kinds: types.isEmpty ? [] : kinds, uids: uids, keys: Set(keys.map(\.value)), ids: Set(ids),
                            names: names, verdicts: Set(verdicts), idleFor: idleFor?.seconds)
    }
}

/// Scope: who may be holding these objects.
struct ScopeOptions: ParsableArguments {
    @Option(name: .customLong("unit"), help: ArgumentHelp("Processes whose cgroup lies in this systemd unit (apache2 means apache2.service; repeatable).", valueName: "NAME"))
    var units: [String] = []

    @Option(name: .customLong("cgroup"), help: ArgumentHelp("Processes in this cgroup path or below it (repeatable).", valueName: "PATH"))
    var cgroups: [String] = []

    @Option(name: .customLong("pidfile"), help: ArgumentHelp("The process named in FILE and its descendants (repeatable).", valueName: "FILE"),
            completion: .file())
    var pidfiles: [String] = []

    @Option(name: .customLong("exe"), help: ArgumentHelp("Processes running this executable: a full path, or a name matched against the executable's basename and comm (repeatable).", valueName: "PATH|NAME"))
    var exes: [String] = []

    @Flag(help: "The scope is the only user of the matching owners' objects: processes outside it never count as possible holders.")
    var exclusive = false

    @Option(name: .customLong("inherit-window"), help: ArgumentHelp("A re-parented process that started up to this long after an object's last activity may have inherited it (a daemonising server) and counts as a possible holder (default 5s; 0 turns it off).", valueName: "DURATION"))
    var inheritWindowSpan: TimeSpan?

    /// `--inherit-window` in seconds.
    var inheritWindow: Double { inheritWindowSpan?.seconds ?? Classifier.defaultInheritWindow }

    func validate() throws {
        try requireNonEmpty("--unit", units, what: "a unit name")
        try requireNonEmpty("--cgroup", cgroups, what: "a cgroup path")
        try requireNonEmpty("--pidfile", pidfiles, what: "a pidfile path")
        try requireNonEmpty("--exe", exes, what: "an executable path or name")
        if exclusive && units.isEmpty && cgroups.isEmpty && pidfiles.isEmpty && exes.isEmpty {
            throw ValidationError("--exclusive needs a scope: give --unit, --cgroup, --pidfile or --exe")
        }
    }

    /// The scope with its pidfiles read; an unreadable pidfile is a one-line error.
    func spec() throws -> ScopeSpec {
        var files: [ScopeSpec.PidFile] = []
        for path in pidfiles {
            do { files.append(try ScopeSpec.readPidFile(path)) } catch { throw CLIError(error.description) }
        }
        return ScopeSpec(units: units, cgroups: cgroups, pidfiles: files, exes: exes, exclusive: exclusive)
    }
}

enum ObjectFormat: String, ChoiceArgument { case table, json, csv }
enum ColorChoice: String, ChoiceArgument { case auto, always, never }

/// --format, --columns, --pretty, --color, --no-headings.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: table, json or csv.")
    var format: ObjectFormat = .table

    @Option(name: [.customShort("o"), .customLong("columns")],
            help: ArgumentHelp("Columns (table, CSV) or fields (JSON) to show, comma-separated: LIST replaces the defaults, +LIST adds to them, all shows every field (see COLUMNS in the manual).", valueName: "LIST"))
    var columns: ColumnSelection = .defaults

    @Flag(help: "Indent JSON for people (the default on a terminal; otherwise JSON is compact, one line).")
    var pretty = false

    @Option(help: "Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @Flag(name: .customLong("no-headings"), help: "Print the table or CSV without its header line.")
    var noHeadings = false

    var useColor: Bool { Terminal.useColor(color) }
    /// Checks `--columns` against the command's fields and the kinds asked for (a usage error names the column).
    func checkColumns<Row>(_ table: FieldTable<Row>, kinds: Set<IPCKind>, command: String) throws {
        do {
            _ = try table.columns(columns, kinds: kinds, command: command)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Pretty JSON when asked, or on a terminal.
    var prettyJSON: Bool { pretty || Terminal.stdoutIsTerminal }
}
