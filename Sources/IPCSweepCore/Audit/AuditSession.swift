/// What `audit` was asked for: the options, already parsed.
public struct AuditRequest: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, json, prometheus }

    /// The one filter, over every kind.
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
    /// `--all-namespaces`: one report per IPC namespace (JSON: the `namespaces` document).
    public var allNamespaces: Bool

    public init(filter: ObjectFilter = ObjectFilter(), format: Format = .text, pretty: Bool = false, outputFile: String? = nil,
                stateFile: String? = nil, failOn: Set<AuditFindingClass> = [], quietIfClean: Bool = false,
                thresholds: AuditThresholds = AuditThresholds(), posix: Bool = true, allNamespaces: Bool = false) {
        self.allNamespaces = allNamespaces
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
    /// Replaces a file atomically (the state).
    public var writeAtomically: ([UInt8], String) throws(FileError) -> Void
    /// Opens a file to be replaced atomically by bytes written in pieces (the report with --output): it appears
    /// whole at `commit`, or not at all. By default the pieces are gathered, then `writeAtomically`.
    public var openAtomically: (String) throws(FileError) -> AtomicOutput
    /// Writes standard output (called once per piece of the report, in order).
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
                walkShm: @escaping (String) -> ShmTree = { ShmTree(root: $0) },
                openAtomically: ((String) throws(FileError) -> AtomicOutput)? = nil) {
        self.walkShm = walkShm
        self.openAtomically = openAtomically ?? { path in AtomicOutput.gathered { bytes throws(FileError) in try writeAtomically(bytes, path) } }
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

/// A file being written in pieces that replaces its path atomically at `commit` (the report with `--output`); dropped
/// uncommitted, nothing of it is left (`AtomicFileWriter`).
public struct AtomicOutput {
    public var put: ([UInt8]) throws(FileError) -> Void
    public var commit: () throws(FileError) -> Void

    public init(put: @escaping ([UInt8]) throws(FileError) -> Void, commit: @escaping () throws(FileError) -> Void) {
        self.put = put
        self.commit = commit
    }

    /// The pieces gathered, then written whole at `commit` (tests' fake environments).
    public static func gathered(_ write: @escaping ([UInt8]) throws(FileError) -> Void) -> AtomicOutput {
        final class Pieces { var bytes: [UInt8] = [] }
        let pieces = Pieces()
        return AtomicOutput(put: { pieces.bytes += $0 }, commit: { () throws(FileError) in try write(pieces.bytes) })
    }

    /// A live file (`AtomicFileWriter`, mode 0644 as `FileIO.writeAtomically`).
    public static func file(_ path: String) throws(FileError) -> AtomicOutput {
        let writer = try AtomicFileWriter(path: path)
        return AtomicOutput(put: { bytes throws(FileError) in try writer.write(bytes) },
                            commit: { () throws(FileError) in try writer.commit(mode: 0o644) })
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
        // The System V kinds audited: their limits are judged (every object of them counts, whatever the filters).
        let kinds = request.filter.selectableKinds.intersection(IPCKind.sysv)
        var reports: [AuditReport] = []
        for (result, read) in zip(results, reads) {
            let items = result.objects.filter { request.filter.matches($0, now: result.now) }
            var input = AuditInput(objects: items, snapshot: result.snapshot, kinds: kinds, limits: read.limits,
                                   limitsError: read.limitsError, pageSize: env.pageSize, posix: read.posix,
                                   previousState: previous, stateNote: stateNote, thresholds: request.thresholds,
                                   now: result.now, source: result.snapshot.source, scope: result.scope?.description,
                                   warnings: result.warnings, namespace: result.namespace, removeIPC: env.removeIPC(result))
            if input.removeIPC?.enabled == true, let shm = read.posix.first(where: { $0.kind == .posixShm && $0.scanned }) {
                var tree = env.walkShm(shm.root)
                tree.entries = tree.entries.filter { request.filter.matches($0) }
                input.shmTree = tree
            }
            input.clock = result.clock
            input.clockNote = result.clockNote
            reports.append(Auditor.report(input, names: env.names))
        }
        guard let report = reports.first else { throw AuditSessionError(description: "no IPC namespace could be inspected") }

        // The report in pieces, each handed to `put` (false: stop): a JSON document of tens of thousands of objects is
        // handed on as it is written, about 64 KiB at a time, never held whole.
        func produce(_ put: ([UInt8]) -> Bool) {
            switch request.format {
            case .text:
                _ = put(Array(reports.map { AuditTextRenderer().render($0, quietIfClean: request.quietIfClean).text }
                    .filter { !$0.isEmpty }.joined(separator: "\n").utf8))
            case .json:
                let document = request.allNamespaces ? AuditJSON.document(reports) : AuditJSON.document(report)
                withoutActuallyEscaping(put) { put in
                    var going = true
                    JSONStreamWriter.document(pretty: request.pretty, to: { piece in
                        if going { going = put(Array(piece)) }
                    }) { $0.value(document) }
                }
            case .prometheus: _ = put(Array(AuditPrometheus.render(reports).utf8))
            }
        }
        if let path = request.outputFile {
            do throws(FileError) {
                let out = try env.openAtomically(path)
                var failed: FileError?
                produce { piece in
                    do throws(FileError) { try out.put(piece) } catch { failed = error }
                    return failed == nil
                }
                if let failed { throw failed }
                try out.commit()
            } catch {
                throw AuditSessionError(description: "cannot write the report to \(path): \(error); check that its directory exists and is writable (nothing was left behind)",
                                        notRegularOutput: error.isWrongType ? path : nil, fileError: error)
            }
        } else {
            var failed: (any Error)?
            produce { piece in
                do { try env.stdout(piece) } catch { failed = error }
                return failed == nil
            }
            if let failed { throw failed }
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

    /// The POSIX roots of an inspection: its own scan when it read one (its warnings were said with the
    /// inspection's), else `scanPosix` (the tool's own mount namespace; another namespace whose POSIX objects were
    /// not located gets none). The objects audited are the inspection's, after the filters.
    private func posixScans(_ result: Inspection) -> [PosixScanResult] {
        let env = environment
        guard request.posix && (result.namespace == nil || !result.posixScans.isEmpty || env.inspections == nil) else { return [] }
        if !result.posixScans.isEmpty {
            return result.posixScans.map { scan in
                var s = scan
                s.warnings = []
                return s
            }
        }
        let scans = env.scanPosix()
        scans.flatMap(\.warnings).forEach(env.warn)
        return scans
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
