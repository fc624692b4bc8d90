/// The fields of a `clean` result: the object's own fields (from `ObjectFields`) and what became of it.
/// Drives the clean table, its CSV, its JSON `results` and `clean --columns`.
public enum CleanFields {
    public typealias F = Field<CleanResult>

    /// The object fields the clean document carries by default (the rest are there for `--columns`): what names
    /// the object (id and key; a POSIX object's name, path, inode and size), its owner and its verdict.
    static let objectFieldsInDocument: Set<String> = ["type", "id", "key", "owner", "creator", "verdict", "reasons",
                                                      "name", "path", "inode", "size"]

    public static let table = FieldTable<CleanResult>(
        fields: ObjectFields.table.fields.filter { $0.name != "reason" }.map { f in
            f.lifted(inDefaultJSON: objectFieldsInDocument.contains(f.name), ResultClassification.self)
        } + own,
        defaultColumns: ["type", "id", "key", "owner", "verdict", "outcome", "reason"],
        kindOf: { $0.classification.object.kind })

    /// A clean result's classification, for the object fields.
    enum ResultClassification: RowPart {
        static func with<T>(_ r: CleanResult, _ body: (Classification) throws -> T) rethrows -> T {
            try body(r.classification)
        }
    }

    static func outcomeColor(_ r: CleanResult) -> String? {
        switch r.outcome {
        case .removed: return "32"
        case .planned: return "36"
        case .failed: return "31;1"
        case .skipped: return r.isProblem ? "33" : nil
        }
    }

    public static let own: [F] = [
        F("outcome", "OUTCOME", help: "removed, planned (dry run), skipped or failed.", layout: ColumnLayout(minWidth: 7),
          jsonKeys: ["outcome"],
          text: { r, _ in Table.Cell(r.outcome.rawValue, color: outcomeColor(r)) },
          json: { r, w, _ in
              w.key("outcome")
              w.string(r.outcome.rawValue)
          }),
        F("reason", "REASON", help: "What happened and why, in plain words; for skips and failures what to do.",
          layout: ColumnLayout(flexible: true, minWidth: 20), jsonKeys: ["reason"],
          text: { r, _ in Table.Cell(r.reason) },
          json: { r, w, _ in
              w.key("reason")
              w.string(r.reason)
          }),
        F.flag("planned", "PLANNED", help: "Whether it was eligible for removal (orphaned, or suspect with --include-suspect).",
               key: "planned") { $0.planned },
        F.flag("already-gone", "GONE", help: "Skipped because it no longer existed (not a failure).", key: "alreadyGone") {
            $0.alreadyGone
        },
        F("changes", "CHANGES", help: "What the re-check found changed since planned.",
          layout: ColumnLayout(flexible: true, minWidth: 8), jsonKeys: ["changes"],
          text: { r, _ in Table.Cell(r.changes.isEmpty ? "-" : r.changes.joined(separator: "; ")) },
          json: { r, w, _ in
              w.key("changes")
              w.strings(r.changes)
          }),
        F("saved-to", "SAVED-TO", help: "The file its messages or bytes were saved to (--save-to).",
          layout: ColumnLayout(flexible: true, minWidth: 8), jsonKeys: ["savedTo"],
          text: { r, _ in Table.Cell(r.savedTo ?? "-") },
          json: { r, w, _ in
              w.key("savedTo")
              w.string(r.savedTo)
          }),
    ]
}

/// The document `clean --format json` prints (schemaVersion 1), streamed through the one writer:
/// dryRun, exitStatus, interrupted, lock, results (each written by `CleanFields.table`), schemaVersion,
/// scope, summary (counts of the whole run), warnings.
public struct CleanDocument {
    public var run: CleanRun
    /// The results listed (`--quiet` lists only planned objects; the summary still counts the whole run).
    public var shown: [CleanResult]
    public var users: UserDirectory
    public var scope: String?
    public var warnings: [String]
    public var lockPath: String?
    /// The IPC namespace cleaned (`--namespace`); nil: the tool's own (no `namespace` member).
    public var namespace: IPCNamespaceInfo?
    public var fields: FieldTable<CleanResult>.JSONSelection

    public init(run: CleanRun, shown: [CleanResult]? = nil, users: UserDirectory, scope: String?, warnings: [String],
                lockPath: String?, namespace: IPCNamespaceInfo? = nil,
                fields: FieldTable<CleanResult>.JSONSelection = .documented) {
        self.namespace = namespace
        self.run = run
        self.shown = shown ?? run.results
        self.users = users
        self.scope = scope
        self.warnings = warnings
        self.lockPath = lockPath
        self.fields = fields
    }

    /// Writes the document (with its final newline) to `sink`, in pieces.
    public func write(pretty: Bool, flushThreshold: Int = 1 << 16, to sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        JSONStreamWriter.document(pretty: pretty, flushThreshold: flushThreshold, to: sink) { write(to: &$0) }
    }

    private func write(to w: inout JSONStreamWriter) {
        let ctx = RenderContext(users: users, now: 0)
        let objectWriter = CleanFields.table.objectWriter(fields)
        let n = run.counts
        w.beginObject()
        w.key("dryRun")
        w.bool(run.dryRun)
        w.key("exitStatus")
        w.int(run.exitStatus)
        w.key("interrupted")
        if let i = run.interruption {
            w.beginObject()
            w.key("pid")
            w.int(i.senderPid)
            w.key("signal")
            w.string(i.name)
            w.key("signo")
            w.int(i.signo)
            w.key("uid")
            w.int(i.senderUid)
            w.endObject()
        } else {
            w.null()
        }
        w.key("lock")
        w.string(lockPath)
        if let ns = namespace {
            w.key("namespace")
            w.namespace(ns)
        }
        w.key("results")
        w.beginArray()
        for r in shown {
            w.element()
            objectWriter.write(r, to: &w, context: ctx)
            w.flushIfNeeded()
        }
        w.endArray()
        w.key("schemaVersion")
        w.int(jsonSchemaVersion)
        w.key("scope")
        w.string(scope)
        w.key("summary")
        w.beginObject()
        w.key("alreadyGone")
        w.int(n.alreadyGone)
        w.key("changed")
        w.int(n.changed)
        w.key("failed")
        w.int(n.failed)
        w.key("matched")
        w.int(run.results.count)
        w.key("notAttempted")
        w.int(n.notAttempted)
        w.key("notEligible")
        w.int(n.notEligible)
        w.key("openedDuringRemoval")
        w.int(n.openedDuringRemoval)
        w.key("planned")
        w.int(run.results.count - n.notEligible)
        w.key("removed")
        w.int(n.removed)
        w.key("skipped")
        w.int(n.skipped)
        w.key("wouldRemove")
        w.int(n.planned)
        w.endObject()
        w.key("warnings")
        w.strings(warnings)
        w.endObject()
    }

    /// The whole document as bytes (tests).
    public func bytes(pretty: Bool = false) -> [UInt8] {
        JSONStreamWriter.documentBytes { write(pretty: pretty, to: $0) }
    }
}

extension JSONStreamWriter {
    /// `{"inode": N, "owner": S, "pid": N|null}` (`--namespace`, `--all-namespaces`).
    mutating func namespace(_ ns: IPCNamespaceInfo) {
        beginObject()
        key("inode")
        int(ns.inode)
        key("owner")
        string(ns.owner)
        key("pid")
        if let pid = ns.pid { int(pid) } else { null() }
        endObject()
    }
}
