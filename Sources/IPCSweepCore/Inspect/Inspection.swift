/// What to inspect and how.
public struct InspectionOptions: Sendable {
    public var procRoot: String
    public var source: IPCSource
    /// The kinds to inspect, of both families: the System V kinds are read from the kernel's tables, the POSIX
    /// kinds from the /dev/shm and mqueue mounts (none of them: the POSIX roots are not read).
    public var kinds: Set<IPCKind>
    public var scope: ScopeSpec
    /// `--inherit-window`: how long after an object's last activity a re-parented process may have inherited it.
    public var inheritWindow: Double
    /// Read every semaphore of every set (GETALL, GETPID, GETNCNT, GETZCNT). `clean` plans without it and
    /// reads each candidate whole once, as its re-check.
    public var semaphoreDetail: Bool
    /// Where the POSIX objects are read from (its roots are parameters: another mount namespace can be given).
    public var posixScanner: PosixIPCScanner
    /// Another IPC namespace to inspect (`--namespace`); nil: the tool's own. Its POSIX objects are those of the
    /// mount namespace of a process in it (/proc/PID/root).
    public var namespace: IPCNamespaceThread?
    /// `--all-processes-visible`: no process of another pid namespace shares the inspected IPC namespace.
    public var allProcessesVisible: Bool
    /// How much of each process is read.
    public var processReads: ProcessReads
    /// The objects wanted: the filter of list, orphans and clean; nil: every object (show, audit). What it rules
    /// out by what an object is (kind, owner, key, id, name) is dropped as soon as it is listed: no semaphore
    /// detail, no POSIX stat, ACL or lease, no process read for it. The caller still applies the whole filter
    /// (`--idle-for` and `--verdict` need the run's time and the verdict).
    public var selection: ObjectFilter?

    /// How much of each process an inspection reads.
    public enum ProcessReads: Sendable {
        /// What the verdicts need (`ProcessNeeds`: every process's status, the rest only for the processes that
        /// may reach an object or that the evidence names; units for the holders shown): list, orphans, clean.
        /// Without a scope and in the tool's own namespace; otherwise whole.
        case verdicts
        /// Every file of every process (`show` and `audit` tell about processes beyond the verdicts).
        case whole
    }

    public init(procRoot: String = Procfs.live, source: IPCSource = .auto, kinds: Set<IPCKind> = IPCKind.sysv,
                scope: ScopeSpec = ScopeSpec(), inheritWindow: Double = Classifier.defaultInheritWindow,
                semaphoreDetail: Bool = true, posixScanner: PosixIPCScanner = PosixIPCScanner(),
                namespace: IPCNamespaceThread? = nil, allProcessesVisible: Bool = false, processReads: ProcessReads = .verdicts,
                selection: ObjectFilter? = nil) {
        self.procRoot = procRoot
        self.source = source
        self.kinds = kinds
        self.scope = scope
        self.inheritWindow = inheritWindow
        self.semaphoreDetail = semaphoreDetail
        self.posixScanner = posixScanner
        self.namespace = namespace
        self.allProcessesVisible = allProcessesVisible
        self.processReads = processReads
        self.selection = selection
    }

    /// The POSIX scanner, reading the selection only.
    public var scanner: PosixIPCScanner {
        var s = posixScanner
        s.selection = selection
        return s
    }

    /// The System V probe of the tool's own namespace (or of `namespace` when given), reading the selection only.
    public func probe(kinds: Set<IPCKind>, semaphoreDetail: Bool, namespace: IPCNamespaceThread?) -> IPCProbe {
        var p = IPCProbe(procRoot: procRoot, kinds: kinds, semaphoreDetail: semaphoreDetail, namespace: namespace)
        p.selection = selection
        return p
    }

    /// Whether the process table is read for the verdicts only: asked for, without a scope (it selects by cgroup,
    /// executable and ancestry) and in the tool's own namespace (another namespace's processes are found by their
    /// ns/ipc).
    public var readsForVerdictsOnly: Bool { processReads == .verdicts && scope.isEmpty && namespace == nil }

    /// The System V kinds to read.
    public var sysvKinds: Set<IPCKind> { kinds.intersection(IPCKind.sysv) }
    /// The POSIX kinds to read.
    public var posixKinds: Set<IPCKind> { kinds.intersection(IPCKind.posix) }
    /// Whether procfs is the running system's (not a copy given with `--proc`).
    public var isLive: Bool { Procfs.isLive(procRoot) }
}

/// One complete look at the system: the objects of every kind asked for, the processes, the scope and every
/// verdict.
public struct Inspection: Sendable {
    /// The System V objects as read (every one of the kinds read: the audit's limits count them all).
    public var snapshot: IPCSnapshot
    public var processes: ProcessTable
    public var scope: ResolvedScope?
    /// Every object classified: System V by kind and id, then POSIX in path order.
    public var objects: [Classification]
    public var now: Double
    /// Everything worth telling the user that is not a verdict (skipped lines, stale pidfiles).
    public var warnings: [String]
    /// The POSIX roots as scanned (the /dev/shm mount and the mqueue mount): every object of them, or those the
    /// scanner's `selection` admits.
    public var posixScans: [PosixScanResult] = []
    /// What the POSIX side could not see, in words (an mqueue filesystem that is not mounted, a procfs copy).
    public var posixNotes: [String] = []
    /// The IPC namespace inspected, when it was chosen (`--namespace`, `--all-namespaces`); nil: the tool's own.
    public var namespace: IPCNamespaceInfo?
    /// The thread inside that namespace, for more reads there (its limits); nil for the tool's own namespace.
    public var namespaceThread: IPCNamespaceThread?
    /// The wall clock's steps measured for the run, and the note said when orphaned verdicts rest on an
    /// unmeasured stretch (it is among `warnings` too).
    public var clock = ClockSteps()
    public var clockNote: String? = nil

    public init(snapshot: IPCSnapshot, processes: ProcessTable, scope: ResolvedScope?, objects: [Classification],
                now: Double, warnings: [String], posixScans: [PosixScanResult] = [], posixNotes: [String] = [],
                namespace: IPCNamespaceInfo? = nil, namespaceThread: IPCNamespaceThread? = nil) {
        self.snapshot = snapshot
        self.processes = processes
        self.scope = scope
        self.objects = objects
        self.now = now
        self.warnings = warnings
        self.posixScans = posixScans
        self.posixNotes = posixNotes
        self.namespace = namespace
        self.namespaceThread = namespaceThread
    }
}

extension Inspector {
    /// What `inspect` reads before classifying: the objects, the resolved scope, and how to make the classifier.
    public struct Reading: Sendable {
        public var snapshot: IPCSnapshot
        public var processes: ProcessTable
        public var scope: ResolvedScope?
        public var now: Double
        public var warnings: [String]
        public var options: InspectionOptions
        /// The namespace's last allocated pid just before the table was completed (nil: not known).
        public var lastPid: Int64? = nil
        /// The POSIX roots as scanned (every object, or those its `selection` admits).
        public var posixScans: [PosixScanResult] = []
        /// The POSIX objects of the inspected kinds, in path order.
        public var posixObjects: [PosixIPCObject] = []
        /// What the POSIX side could not see, in words.
        public var posixNotes: [String] = []
        /// The IPC namespace read, when it was chosen (`--namespace`, `--all-namespaces`); nil: the tool's own.
        public var namespace: IPCNamespaceInfo? = nil
        /// The thread inside that namespace; nil for the tool's own namespace.
        public var namespaceThread: IPCNamespaceThread? = nil
        /// The POSIX filesystems each scanned mount namespace reaches, by its inode (for the possible holders).
        public var mountDevices: [UInt64: Set<UInt64>] = [:]
        /// The wall clock's steps measured for this run (nothing for a procfs copy).
        public var clock = ClockSteps()
        /// What the verdicts need of each process, when the table was read for them only (nil: read whole).
        public var processNeeds: ProcessNeeds? = nil

        public init(snapshot: IPCSnapshot, processes: ProcessTable, scope: ResolvedScope?, now: Double, warnings: [String],
                    options: InspectionOptions, posixObjects: [PosixIPCObject] = []) {
            self.snapshot = snapshot
            self.processes = processes
            self.scope = scope
            self.now = now
            self.warnings = warnings
            self.options = options
            self.posixObjects = posixObjects
        }

        /// Every object read: System V by kind and id, then POSIX in path order.
        public var objects: [IPCObject] {
            // Without POSIX objects the snapshot's own array (shared, not copied object by object).
            posixObjects.isEmpty ? snapshot.objects : snapshot.objects + posixObjects.map(IPCObject.posix)
        }

        /// The pure classifier over this process table, scope and clock.
        public var classifier: Classifier {
            Classifier(processes: processes, scope: scope, inheritWindow: options.inheritWindow, mountDevices: mountDevices,
                       clock: clock)
        }

        /// Said once per run when orphaned verdicts rest on a time where no clock step could be measured.
        public func clockNote(_ objects: [Classification]) -> String? {
            clock.uncoveredNote(orphanedLastActivities: objects.compactMap { $0.verdict == .orphaned ? $0.object.lastActivity : nil })
        }

        /// Every object classified, with its reasons worded (and its namespace, when chosen). A table read for the
        /// verdicts only gets the units of the holders shown first (`ProcessProbe.fillUnits`).
        public func classify(users: UserDirectory) -> [Classification] {
            classified(users: users).objects
        }

        /// `classify`, and the table with the cgroups it read.
        private func classified(users: UserDirectory) -> (objects: [Classification], processes: ProcessTable) {
            var results = classifier.classify(objects)
            var table = processes
            if processNeeds != nil {
                Inspector.processProbe(options, needs: processNeeds).fillUnits(&results, table: &table)
            }
            EvidenceText(users: users).fillReasons(&results)
            if let ns = namespace {
                for i in results.indices { results[i].namespace = ns }
            }
            return (results, table)
        }

        /// Everything classified.
        public func inspection(users: UserDirectory) -> Inspection {
            let (objects, processes) = classified(users: users)
            let note = clockNote(objects)
            var i = Inspection(snapshot: snapshot, processes: processes, scope: scope, objects: objects, now: now,
                               warnings: warnings + [note].compactMap { $0 }, posixScans: posixScans, posixNotes: posixNotes,
                               namespace: namespace, namespaceThread: namespaceThread)
            i.clock = clock
            i.clockNote = note
            return i
        }
    }
}
