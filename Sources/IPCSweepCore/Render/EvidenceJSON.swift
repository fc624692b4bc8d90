/// A scalar of an `evidence` JSON entry.
public enum EvidenceJSONValue: Sendable, Equatable {
    case int(Int64)
    case string(String)
    case bool(Bool)
    case null
}

extension Evidence {
    /// The members of its `evidence` JSON entry (the man page lists them): `kind` always; then, as they apply,
    /// `pid`, `recordedPid`, `role`, `command`, `uid`, `unit`, `rule`, `timing`, `reparented`, `startTime`,
    /// `startOffsetMs` (start minus the last activity second), `count`, `bytes`, `semaphore`, `detail`,
    /// `blindSpot`, `lastActivity`, `scope`, `exclusive`, `invocationStart`, `clockStep`, `source`, `since`, `stepMs`.
    ///
    /// Calls `body` once per member in sorted key order (as every ipcsweep document), without
    /// building anything: the object field table writes it.
    public func forEachJSONField(_ body: (StaticString, EvidenceJSONValue) -> Void) {
        func int(_ v: some BinaryInteger) -> EvidenceJSONValue { .int(Int64(v)) }
        func ms(_ seconds: Double) -> EvidenceJSONValue { .int(Int64((seconds * 1000).rounded())) }
        func seconds(_ t: Double) -> EvidenceJSONValue { .int(Int64(t.rounded(.down))) }
        func optional(_ s: String?) -> EvidenceJSONValue { s.map(EvidenceJSONValue.string) ?? .null }
        let kind = EvidenceJSONValue.string(self.kind)
        switch self {
        case .attached(let h):
            body("command", .string(h.command)); body("kind", kind); body("pid", int(h.pid)); body("uid", int(h.uid))
            body("unit", optional(h.unit))
        case .attachedInvisibly(let n):
            body("count", int(n)); body("kind", kind)
        case .openDescriptor(let h, let fds):
            body("command", .string(h.command)); body("count", int(fds.count))
            body("detail", .string(fds.map { "fd \($0)" }.joined(separator: ", "))); body("kind", kind)
            body("pid", int(h.pid)); body("uid", int(h.uid)); body("unit", optional(h.unit))
        case .mapped(let h, let n):
            body("command", .string(h.command)); body("count", int(n)); body("kind", kind); body("pid", int(h.pid))
            body("uid", int(h.uid)); body("unit", optional(h.unit))
        case .queueNotification(let h):
            body("command", .string(h.command)); body("kind", kind); body("pid", int(h.pid)); body("uid", int(h.uid))
            body("unit", optional(h.unit))
        case .handlesUnreadable(let pid, let command, let detail):
            body("command", .string(command)); body("detail", .string(detail)); body("kind", kind); body("pid", int(pid))
        case .queueStateUnreadable, .noDescriptorOrMapping, .openElsewhere, .leaseGranted:
            body("kind", kind)
        case .notificationPidGone(let pid):
            body("kind", kind); body("pid", int(pid))
        case .markedForRemoval:
            body("kind", kind)
        case .waiters(let n, let w):
            body("count", int(w)); body("kind", kind); body("semaphore", int(n))
        case .liveRecordedPid(let role, let rp, let h), .recordedPidZombie(let role, let rp, let h):
            body("command", .string(h.command)); body("kind", kind); body("pid", int(h.pid))
            body("recordedPid", int(rp)); body("role", .string(role.rawValue)); body("uid", int(h.uid))
            body("unit", optional(h.unit))
        case .detailUnreadable(let text):
            body("detail", .string(text)); body("kind", kind)
        case .recordedPidHidden(let role):
            body("kind", kind); body("role", .string(role.rawValue))
        case .blindSpot(let b):
            body("blindSpot", .string(b.name))
            switch b {
            case .hidepid(let mount, let value, _): body("detail", .string("\(mount) hidepid=\(value)"))
            case .subsetPid(let mount): body("detail", .string("\(mount) subset=pid"))
            case .hostIPCInChildPidNamespace(let ns): body("detail", .string("pid:[\(ns)]"))
            case .childPidNamespace(let pid, let ipc): body("detail", .string((ipc.map { "ipc:[\($0)] " } ?? "") + "pid:[\(pid)]"))
            case .namespaceWithoutVisibleProcess(let ipc, let pid): body("detail", .string("ipc:[\(ipc)] pid:[\(pid)]"))
            }
            body("kind", kind)
        case .possibleHolder(let h, let rule, let timing, let started, let last, let widened):
            body("clockStep", .bool(widened)); body("command", .string(h.command)); body("kind", kind); body("pid", int(h.pid))
            if case .inherited(let why) = timing { body("reparented", .string(why.rawValue)) } else { body("reparented", .null) }
            body("rule", .string(rule.rawValue)); body("startOffsetMs", ms(started - Double(last)))
            body("startTime", seconds(started)); body("timing", .string(timing.name)); body("uid", int(h.uid))
            body("unit", optional(h.unit))
        case .morePossibleHolders(let n):
            body("count", int(n)); body("kind", kind)
        case .noPossibleHolder(_, let last, let scope, let exclusive, _):
            body("exclusive", .bool(exclusive)); body("kind", kind); body("lastActivity", .int(last))
            body("scope", optional(scope))
        case .recordedPidExited(let role, let pid), .recordedPidIsThisRun(let role, let pid):
            body("kind", kind); body("pid", int(pid)); body("role", .string(role.rawValue))
        case .recordedPidInOtherNamespace(let role, let pid, let command):
            body("command", .string(command)); body("kind", kind); body("pid", int(pid)); body("role", .string(role.rawValue))
        case .recordedPidReused(let role, let pid, let command, let after):
            body("command", .string(command)); body("kind", kind); body("pid", int(pid)); body("role", .string(role.rawValue))
            body("startOffsetMs", ms(after))
        case .messages(let n, let bytes):
            body("bytes", int(bytes)); body("count", int(n)); body("kind", kind)
        case .inheritanceRuledOut(let unit, let began, let n):
            body("count", int(n)); body("invocationStart", seconds(began)); body("kind", kind)
            body("rule", .string("unit-invocation")); body("unit", .string(unit))
        case .inheritanceNotRuledOut(let unit, let why):
            switch why {
            case .invocationUnknown(let text):
                body("detail", .string("invocation start unknown: \(text)")); body("invocationStart", .null)
            case .invocationTooEarly(let t):
                body("detail", .string("invocation began before the last activity + 1 s")); body("invocationStart", seconds(t))
            case .olderProcess(let pid, let t):
                body("detail", .string("pid \(pid) is older than the invocation")); body("invocationStart", seconds(t))
            case .notAService:
                body("detail", .string("not a service")); body("invocationStart", .null)
            }
            body("kind", kind); body("unit", .string(unit))
        case .clockStep(let step, let r):
            body("detail", .string(ClockSteps.describe(r.source))); body("kind", kind); body("since", seconds(r.taken))
            body("source", .string(r.source.name)); body("stepMs", ms(step))
            if case .systemdUnit(let unit) = r.source { body("unit", .string(unit)) } else { body("unit", .null) }
        }
    }

    /// The members as a list, in the order `forEachJSONField` gives them (tests, small documents).
    public var jsonFields: [(key: String, value: EvidenceJSONValue)] {
        var out: [(key: String, value: EvidenceJSONValue)] = []
        forEachJSONField { k, v in out.append((k.description, v)) }
        return out
    }
}

extension JSONStreamWriter {
    /// An `evidence` array: one object per entry, members in sorted order.
    mutating func evidence(_ list: [Evidence]) {
        beginArray()
        for e in list {
            element()
            beginObject()
            e.forEachJSONField { key, value in
                self.key(key)
                switch value {
                case .int(let v): int(v)
                case .string(let v): string(v)
                case .bool(let v): bool(v)
                case .null: null()
                }
            }
            endObject()
        }
        endArray()
    }
}
