/// What `audit` was asked for: the options, already parsed.
public struct AuditRequest: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, json, prometheus }

    public var filter: ObjectFilter
    public var format: Format
    public var pretty: Bool
    /// `--output FILE`: replaced atomically instead of writing standard output.
    public var outputFile: String?
    /// `--state FILE`: compared with, then replaced atomically.
    public var stateFile: String?
    public var failOn: Set<AuditFindingClass>
    public var quietIfClean: Bool
    public var thresholds: AuditThresholds
    /// Scan /dev/shm and /dev/mqueue.
    public var posix: Bool
    /// The System V kinds the filters select (nil: those of `filter`, every kind when it names none).
    public var sysvKinds: Set<IPCKind>?
    /// The POSIX objects the filters select (nil: every POSIX object is counted, none is classified).
    public var posixFilter: PosixFilter?
    /// `--all-namespaces`: one report per IPC namespace (JSON: the `namespaces` document).
    public var allNamespaces: Bool

    public init(filter: ObjectFilter = ObjectFilter(), format: Format = .text, pretty: Bool = false, outputFile: String? = nil,
                stateFile: String? = nil, failOn: Set<AuditFindingClass> = [], quietIfClean: Bool = false,
                thresholds: AuditThresholds = AuditThresholds(), posix: Bool = true,
                sysvKinds: Set<IPCKind>? = nil, posixFilter: PosixFilter? = nil, allNamespaces: Bool = false) {
        self.allNamespaces = allNamespaces
        self.sysvKinds = sysvKinds
        self.posixFilter = posixFilter
        self.filter = filter
        self.format = format
        self.pretty = pretty
        self.outputFile = outputFile
        self.stateFile = stateFile
        self.failOn = failOn
        self.quietIfClean = quietIfClean
        self.thresholds = thresholds
        self.posix = posix
    }
}

/// The side effects of an audit, injected so that each step and its order are unit-tested.
public struct AuditEnvironment {
    /// Reads the objects and processes and classifies (every kind: limits count every object).
    public var inspect: () throws -> Inspection
    /// Reads the kernel limits.
    public var limits: () throws -> KernelLimits
    /// Scans /dev/shm and /dev/mqueue.
    public var scanPosix: () -> [PosixScanResult]
    /// Reads a file whole (the state file).
    public var readFile: (String) throws(FileError) -> [UInt8]
    /// Replaces a file atomically (the report with --output, the state).
    public var writeAtomically: ([UInt8], String) throws(FileError) -> Void
    /// Writes standard output.
    public var stdout: ([UInt8]) throws -> Void
    /// A one-line warning on standard error.
    public var warn: (String) -> Void
    public var names: NameLookup
    /// sysconf(_SC_PAGESIZE).
    public var pageSize: Int64
    /// Several IPC namespaces (`--namespace`, `--all-namespaces`): every inspection to report on; nil: `inspect`.
    public var inspections: (() throws -> [Inspection])? = nil
    /// The kernel limits of an inspection's namespace (nil: `limits`).
    public var namespaceLimits: ((Inspection) throws -> KernelLimits)? = nil
    /// The effective RemoveIPC= when it applies to an inspection's namespace (logind's own); nil: not judged.
    public var removeIPC: (Inspection) -> RemoveIPCSetting? = { _ in nil }
    /// Walks a /dev/shm root for the entries that are not POSIX objects (`ShmTreeWalker`); asked only when
    /// RemoveIPC= is on for that namespace.
    public var walkShm: (String) -> ShmTree = { ShmTree(root: $0) }

    public init(inspect: @escaping () throws -> Inspection, limits: @escaping () throws -> KernelLimits,
                scanPosix: @escaping () -> [PosixScanResult],
                readFile: @escaping (String) throws(FileError) -> [UInt8],
                writeAtomically: @escaping ([UInt8], String) throws(FileError) -> Void,
                stdout: @escaping ([UInt8]) throws -> Void, warn: @escaping (String) -> Void,
                names: NameLookup, pageSize: Int64,
                inspections: (() throws -> [Inspection])? = nil,
                namespaceLimits: ((Inspection) throws -> KernelLimits)? = nil,
                removeIPC: @escaping (Inspection) -> RemoveIPCSetting? = { _ in nil },
                walkShm: @escaping (String) -> ShmTree = { ShmTree(root: $0) }) {
        self.walkShm = walkShm
        self.inspections = inspections
        self.namespaceLimits = namespaceLimits
        self.removeIPC = removeIPC
        self.inspect = inspect
        self.limits = limits
        self.scanPosix = scanPosix
        self.readFile = readFile
        self.writeAtomically = writeAtomically
        self.stdout = stdout
        self.warn = warn
        self.names = names
        self.pageSize = pageSize
    }
}

/// A failure that ends an audit: one line naming the file and what to do.
public struct AuditSessionError: Error, CustomStringConvertible, Equatable {
    public var description: String
    /// The `--output` path, when the report could not replace it because it is not a regular file.
    public var notRegularOutput: String? = nil
    public var fileError: FileError? = nil
}

/// The `audit` sequence: inspect, limits, POSIX scan, read the state, build the report, write the report,
/// then (only after the report is out) replace the state, and decide the exit status.
///
/// Ordering rules (each a unit test in `AuditSessionTests`): a state file that cannot be read, is not an
/// ipcsweep state, or is newer than this version, ends the audit before anything is written; the state is replaced only after the report was
/// written, so a failed report write leaves the previous state for the next run to compare with; `--fail-on`
/// decides the status after both, and a finding never stops the report or the state from being written.
public struct AuditSession {
    public var request: AuditRequest
    public var environment: AuditEnvironment

    public init(request: AuditRequest, environment: AuditEnvironment) {
        self.request = request
        self.environment = environment
    }

    /// Runs the audit; returns the exit status (0, or 3 for a `--fail-on` finding).
    public func run() throws -> Int32 {
        let env = environment
        let results = try env.inspections?() ?? [env.inspect()]
        var reads: [(limits: KernelLimits?, limitsError: String?, posix: [PosixScanResult])] = []
        for result in results {
            var limits: KernelLimits?
            var limitsError: String?
            do { limits = try env.namespaceLimits?(result) ?? env.limits() } catch {
                limitsError = "\(error)"
                let where_ = result.namespace.map { " of IPC namespace \($0.inode) (\($0.owner))" } ?? ""
                env.warn("\(error); the report\(where_) has no kernel limits")
            }
            reads.append((limits, limitsError, posixScans(result)))
        }

        let (previous, stateNote, replaceState) = try readState()
        let kinds = request.sysvKinds ?? (request.filter.kinds.isEmpty ? Set(IPCKind.allCases) : request.filter.kinds)
        var reports: [AuditReport] = []
        for (result, read) in zip(results, reads) {
            let items = result.classifications.filter {
                (request.sysvKinds?.contains($0.object.kind) ?? true) && request.filter.matches($0, now: result.now)
            }
            var input = AuditInput(classifications: items, snapshot: result.snapshot, kinds: kinds, limits: read.limits,
                                   limitsError: read.limitsError, pageSize: env.pageSize, posix: read.posix,
                                   previousState: previous, stateNote: stateNote, thresholds: request.thresholds,
                                   now: result.now, source: result.snapshot.source, scope: result.scope?.description,
                                   warnings: result.warnings, namespace: result.namespace, removeIPC: env.removeIPC(result))
            if let pf = request.posixFilter { input.posixClassifications = result.posix.filter { pf.matches($0, now: result.now) } }
            if input.removeIPC?.enabled == true, let shm = read.posix.first(where: { $0.kind == .shm && $0.scanned }) {
                let filter = request.posixFilter ?? PosixFilter()
                var tree = env.walkShm(shm.root)
                tree.entries = tree.entries.filter(filter.matches)
                input.shmTree = tree
            }
            input.clock = result.clock
            input.clockNote = result.clockNote
            reports.append(Auditor.report(input, names: env.names))
        }
        guard let report = reports.first else { throw AuditSessionError(description: "no IPC namespace could be inspected") }

        let bytes: [UInt8]
        switch request.format {
        case .text:
            bytes = Array(reports.map { AuditTextRenderer().render($0, quietIfClean: request.quietIfClean) }
                .filter { !$0.isEmpty }.joined(separator: "\n").utf8)
        case .json:
            bytes = request.allNamespaces ? AuditJSON.document(reports).document(pretty: request.pretty)
                : AuditJSON.render(report, pretty: request.pretty)
        case .prometheus: bytes = Array(AuditPrometheus.render(reports).utf8)
        }
        if let path = request.outputFile {
            do throws(FileError) { try env.writeAtomically(bytes, path) } catch {
                throw AuditSessionError(description: "cannot write the report to \(path): \(error); check that its directory exists and is writable (nothing was left behind)",
                                        notRegularOutput: error.isWrongType ? path : nil, fileError: error)
            }
        } else {
            try env.stdout(bytes)
        }

        if let path = request.stateFile, replaceState {
            let next = AuditStateDiff.next(previous: previous, report: report)
            let encoded: [UInt8]
            do { encoded = try next.encoded() } catch {
                throw AuditSessionError(description: "cannot encode the audit state for \(path): \(error)")
            }
            do throws(FileError) { try env.writeAtomically(encoded, path) } catch {
                throw AuditSessionError(description: "cannot write the audit state to \(path): \(error); check that its directory exists and is writable")
            }
        }
        return Set(reports.flatMap(\.findingClasses)).isDisjoint(with: request.failOn) ? 0 : 3
    }

    /// The POSIX roots of an inspection, filtered by kind: its own scan when it read one (its warnings were said
    /// with the inspection's), else `scanPosix` (the tool's own mount namespace; another namespace whose POSIX objects were not located gets none).
    private func posixScans(_ result: Inspection) -> [PosixScanResult] {
        let env = environment
        var posix: [PosixScanResult] = []
        if request.posix && (result.namespace == nil || !result.posixScans.isEmpty || env.inspections == nil) {
            // The inspection's own POSIX scan when it read one (its warnings were said with the inspection's).
            let fromInspection = !result.posixScans.isEmpty
            var byKind = request.filter
            if let pf = request.posixFilter { byKind.kinds = Set(pf.kinds.map(\.sysvKind)) }
            posix = Auditor.filter(fromInspection ? result.posixScans : env.scanPosix(), with: byKind).map { scan in
                var s = scan
                if let pf = request.posixFilter { s.objects = scan.objects.filter { pf.kinds.contains($0.kind) } }
                if fromInspection { s.warnings = [] }
                return s
            }
            if !fromInspection { posix.flatMap(\.warnings).forEach(env.warn) }
        }
        return posix
    }

    /// The previous state (nil on the first run), a note for the report, and whether to write the state afterwards.
    func readState() throws(AuditSessionError) -> (AuditState?, String?, Bool) {
        guard let path = request.stateFile else { return (nil, nil, false) }
        let bytes: [UInt8]
        do throws(FileError) { bytes = try environment.readFile(path) } catch {
            if error.errno == .noSuchFileOrDirectory {
                return (nil, "No previous audit state in \(path): this audit is the baseline.", true)
            }
            if error.isWrongType || error.errno == .fileTooLarge {
                throw AuditSessionError(description: "--state \(path): \(error.problem ?? "\(error.errno)"), so not an ipcsweep audit state: left untouched; give the path of a state file of its own")
            }
            throw AuditSessionError(description: "cannot read the audit state \(path): \(error.errno); fix its permissions or give another --state file")
        }
        do { return (try AuditState.decode(bytes, path: path), nil, true) } catch {
            if !error.replaceable { throw AuditSessionError(description: error.description) }
            environment.warn(error.description)
            return (nil, "The audit state in \(path) was unreadable: this audit is a new baseline.", true)
        }
    }
}
