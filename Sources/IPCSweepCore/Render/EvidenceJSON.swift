/// A scalar of an `evidence` JSON entry.
public enum EvidenceJSONValue: Sendable, Equatable {
    case int(Int64)
    case string(String)
    case bool(Bool)
    case null
}

extension Evidence {
    /// The members of its `evidence` JSON entry, sorted by key (the man page lists them): `kind` always; then,
    /// as they apply, `pid`, `recordedPid`, `role`, `command`, `uid`, `unit`, `rule`, `timing`, `reparented`,
    /// `startTime`, `startOffsetMs` (start minus the last activity second), `count`, `bytes`, `semaphore`,
    /// `detail`, `blindSpot`, `lastActivity`, `scope`, `exclusive`, `invocationStart`.
    public var jsonFields: [(key: String, value: EvidenceJSONValue)] {
        var f: [(key: String, value: EvidenceJSONValue)] = [("kind", .string(kind))]
        func add(_ k: String, _ v: EvidenceJSONValue) { f.append((k, v)) }
        func process(_ h: Holder) {
            add("pid", .int(Int64(h.pid)))
            add("command", .string(h.command))
            add("uid", .int(Int64(h.uid)))
            add("unit", h.unit.map(EvidenceJSONValue.string) ?? .null)
        }
        func ms(_ seconds: Double) -> EvidenceJSONValue { .int(Int64((seconds * 1000).rounded())) }
        switch self {
        case .attached(let h): process(h)
        case .attachedInvisibly(let n): add("count", .int(Int64(n)))
        case .markedForRemoval: break
        case .waiters(let n, let w):
            add("semaphore", .int(Int64(n)))
            add("count", .int(Int64(w)))
        case .liveRecordedPid(let role, let rp, let h), .recordedPidZombie(let role, let rp, let h):
            add("role", .string(role.rawValue))
            add("recordedPid", .int(Int64(rp)))
            process(h)
        case .detailUnreadable(let text): add("detail", .string(text))
        case .recordedPidHidden(let role): add("role", .string(role.rawValue))
        case .blindSpot(let b):
            add("blindSpot", .string(b.name))
            switch b {
            case .hidepid(let mount, let value, _): add("detail", .string("\(mount) hidepid=\(value)"))
            case .subsetPid(let mount): add("detail", .string("\(mount) subset=pid"))
            case .hostIPCInChildPidNamespace(let ns): add("detail", .string("pid:[\(ns)]"))
            }
        case .possibleHolder(let h, let rule, let timing, let started, let last):
            process(h)
            add("rule", .string(rule.rawValue))
            add("timing", .string(timing.name))
            if case .inherited(let why) = timing { add("reparented", .string(why.rawValue)) } else { add("reparented", .null) }
            add("startTime", .int(Int64(started.rounded(.down))))
            add("startOffsetMs", ms(started - Double(last)))
        case .morePossibleHolders(let n): add("count", .int(Int64(n)))
        case .noPossibleHolder(_, let last, let scope, let exclusive, _):
            add("lastActivity", .int(last))
            add("scope", scope.map(EvidenceJSONValue.string) ?? .null)
            add("exclusive", .bool(exclusive))
        case .recordedPidExited(let role, let pid), .recordedPidIsThisRun(let role, let pid):
            add("role", .string(role.rawValue))
            add("pid", .int(Int64(pid)))
        case .recordedPidInOtherNamespace(let role, let pid, let command):
            add("role", .string(role.rawValue))
            add("pid", .int(Int64(pid)))
            add("command", .string(command))
        case .recordedPidReused(let role, let pid, let command, let after):
            add("role", .string(role.rawValue))
            add("pid", .int(Int64(pid)))
            add("command", .string(command))
            add("startOffsetMs", ms(after))
        case .messages(let n, let bytes):
            add("count", .int(Int64(n)))
            add("bytes", .int(Int64(bytes)))
        case .inheritanceRuledOut(let unit, let began, let n):
            add("unit", .string(unit))
            add("rule", .string("unit-invocation"))
            add("invocationStart", .int(Int64(began.rounded(.down))))
            add("count", .int(Int64(n)))
        case .inheritanceNotRuledOut(let unit, let why):
            add("unit", .string(unit))
            switch why {
            case .invocationUnknown(let text):
                add("detail", .string("invocation start unknown: \(text)"))
                add("invocationStart", .null)
            case .invocationTooEarly(let t):
                add("detail", .string("invocation began before the last activity + 1 s"))
                add("invocationStart", .int(Int64(t.rounded(.down))))
            case .olderProcess(let pid, let t):
                add("detail", .string("pid \(pid) is older than the invocation"))
                add("invocationStart", .int(Int64(t.rounded(.down))))
            case .notAService:
                add("detail", .string("not a service"))
                add("invocationStart", .null)
            }
        }
        return f.sorted { $0.key < $1.key }
    }
}

/// One `evidence` entry for JSONEncoder (ObjectJSON).
struct EvidenceJSON: Encodable {
    let e: Evidence
    struct K: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        for (k, v) in e.jsonFields {
            switch v {
            case .int(let n): try c.encode(n, forKey: K(stringValue: k))
            case .string(let s): try c.encode(s, forKey: K(stringValue: k))
            case .bool(let b): try c.encode(b, forKey: K(stringValue: k))
            case .null: try c.encodeNil(forKey: K(stringValue: k))
            }
        }
    }
}
