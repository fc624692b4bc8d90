import FoundationEssentials

/// One orphan as remembered between audits. Its identity is (type, id, key, ctime): a reused id is a new orphan.
public struct OrphanRecord: Codable, Sendable, Hashable {
    /// "sem", "shm" or "msg".
    public var type: String
    public var id: Int32
    /// The key as the kernel stores it (signed 32-bit).
    public var key: Int32
    /// Change time (epoch seconds); part of the identity.
    public var ctime: Int64
    /// Owner uid.
    public var uid: UInt32
    /// When an audit first saw it orphaned (epoch seconds).
    public var firstSeen: Int64

    public init(type: String, id: Int32, key: Int32, ctime: Int64, uid: UInt32, firstSeen: Int64) {
        self.type = type
        self.id = id
        self.key = key
        self.ctime = ctime
        self.uid = uid
        self.firstSeen = firstSeen
    }

    /// The identity that survives between audits.
    public struct Identity: Hashable, Sendable {
        public var type: String
        public var id: Int32
        public var key: Int32
        public var ctime: Int64
    }

    public var identity: Identity { Identity(type: type, id: id, key: key, ctime: ctime) }

    /// "sem 32768 (key 0x0000162e)".
    public var description: String { "\(type) \(id) (key \(IPCTextFormat.hexKey(key)))" }
}

extension AuditObject {
    /// The identity of this object in the state file.
    public var identity: OrphanRecord.Identity {
        OrphanRecord.Identity(type: kind.rawValue, id: id, key: key, ctime: ctime)
    }
}

/// What `audit --state FILE` keeps between runs: the orphans seen and the usage of each pool limit.
public struct AuditState: Codable, Sendable, Equatable {
    /// The version this build writes and reads.
    public static let currentSchemaVersion = 1
    /// The value of `format` that marks a file as an ipcsweep audit state (files written before it existed are
    /// recognised by decoding as a complete state).
    public static let magic = "ipcsweep-audit-state"

    /// Always `AuditState.magic` in files this version writes.
    public var format: String?
    public var schemaVersion: Int
    /// When it was written (epoch seconds).
    public var writtenAt: Int64
    /// The same instant as ISO-8601 (for people reading the file).
    public var writtenAtISO: String?
    public var orphans: [OrphanRecord]
    /// Usage of each pool limit by name (SEMMNI, SEMMNS, SHMMNI, SHMALL, MSGMNI).
    public var limitUsage: [String: Int64]
    /// An older sample (up to a day old) that growth rates are measured from, so that audits a few minutes apart
    /// still give a steady rate; nil until the second audit.
    public var rateBase: RateSample?

    /// Orphan count and pool usage at one moment.
    public struct RateSample: Codable, Sendable, Equatable {
        public var at: Int64
        public var orphans: Int
        public var limitUsage: [String: Int64]
        public init(at: Int64, orphans: Int, limitUsage: [String: Int64]) {
            self.at = at
            self.orphans = orphans
            self.limitUsage = limitUsage
        }
    }

    public init(schemaVersion: Int = AuditState.currentSchemaVersion, writtenAt: Int64, orphans: [OrphanRecord],
                limitUsage: [String: Int64], rateBase: RateSample? = nil) {
        self.format = AuditState.magic
        self.schemaVersion = schemaVersion
        self.writtenAt = writtenAt
        self.writtenAtISO = TimeFormat.iso8601(writtenAt)
        self.orphans = orphans
        self.limitUsage = limitUsage
        self.rateBase = rateBase
    }

    /// This state as a rate sample.
    public var sample: RateSample { RateSample(at: writtenAt, orphans: orphans.count, limitUsage: limitUsage) }

    /// The sample rates are measured from: the kept base, or this state itself.
    public var rateOrigin: RateSample { rateBase ?? sample }

    /// Why a state file could not be used, naming the file and saying what to do.
    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
        /// True when the file is recognisably an ipcsweep audit state (its `format` says so) that is damaged:
        /// replacing it loses only the tool's own data. False for anything else, which must never be replaced.
        public var replaceable: Bool
    }

    /// Parses a state file's bytes; `path` only names the file in errors.
    ///
    /// A file is the tool's own when its `format` is `magic`, or (files written before `format` existed) when it
    /// decodes completely as a state with a `schemaVersion`. Anything else (another program's file, an audit
    /// report, text) is refused and must be left as it is.
    public static func decode(_ bytes: [UInt8], path: String) throws(DecodeError) -> AuditState {
        struct Marker: Decodable { var format: String?; var schemaVersion: Int? }
        let data = Data(bytes)
        let notOurs = "--state \(path) exists and is not an ipcsweep audit state"
        let advice = "left untouched; give the path of a state file of its own (a new one is created there)"
        guard let marker = try? JSONDecoder().decode(Marker.self, from: data) else {
            throw DecodeError(description: "\(notOurs) (not a JSON object): \(advice)", replaceable: false)
        }
        let marked = marker.format == magic
        if let f = marker.format, !marked {
            throw DecodeError(description: "\(notOurs) (its format is \"\(f.prefix(40))\"): \(advice)", replaceable: false)
        }
        guard let version = marker.schemaVersion else {
            throw DecodeError(description: marked ? "state file \(path) has no schemaVersion: it is damaged; starting a new baseline and replacing it"
                                  : "\(notOurs) (no schemaVersion): \(advice)", replaceable: marked)
        }
        if version > currentSchemaVersion {
            throw DecodeError(description: "state file \(path) has schemaVersion \(version), newer than this ipcsweep reads (\(currentSchemaVersion)): run the newer ipcsweep, or give another --state file", replaceable: false)
        }
        do { return try JSONDecoder().decode(AuditState.self, from: data) } catch {
            if marked {
                throw DecodeError(description: "state file \(path) is damaged (\(error)): starting a new baseline and replacing it", replaceable: true)
            }
            throw DecodeError(description: "\(notOurs) (a JSON document with a schemaVersion but not the fields of a state): \(advice)", replaceable: false)
        }
    }

    /// The file's bytes: pretty JSON with sorted keys and a final newline.
    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(self)) + [0x0A]
    }
}

/// The change between a previous state and the current report, and the next state to write.
public enum AuditStateDiff {
    /// Rates are given only over at least this many seconds (shorter spans extrapolate noise).
    public static let minimumRateSpan: Double = 600
    /// A rate base older than this is replaced by the previous audit's sample.
    public static let rateBaseMaxAge: Int64 = 86400

    /// New and gone orphans since the previous audit, and the net orphan growth per day since the rate origin; pure.
    public static func change(previous: AuditState, orphans: [AuditObject], now: Double) -> AuditChange {
        let before = Set(previous.orphans.map(\.identity))
        let current = Set(orphans.map(\.identity))
        let new = orphans.filter { !before.contains($0.identity) }
        let gone = previous.orphans.filter { !current.contains($0.identity) }
            .sorted { ($0.type, $0.id) < ($1.type, $1.id) }
        let elapsed = now - Double(previous.writtenAt)
        let origin = previous.rateOrigin
        let span = now - Double(origin.at)
        return AuditChange(
            previousAt: previous.writtenAt, elapsed: elapsed, previousOrphans: previous.orphans.count,
            currentOrphans: orphans.count, newOrphans: new, goneOrphans: gone,
            rateSince: span >= minimumRateSpan ? origin.at : nil,
            netGrowthPerDay: span >= minimumRateSpan ? Double(orphans.count - origin.orphans) / (span / 86400) : nil,
            newPerDay: elapsed >= minimumRateSpan ? Double(new.count) / (elapsed / 86400) : nil)
    }

    /// Usage growth per day of each pool limit since the rate origin (empty over less than `minimumRateSpan`).
    public static func growth(previous: AuditState, limits: [LimitUsage], now: Double) -> [String: Double] {
        let origin = previous.rateOrigin
        let span = now - Double(origin.at)
        guard span >= minimumRateSpan else { return [:] }
        var out: [String: Double] = [:]
        for l in limits where l.pool {
            if let used = l.used, let before = origin.limitUsage[l.name] { out[l.name] = Double(used - before) / (span / 86400) }
        }
        return out
    }

    /// The state to write after this audit: the current orphans (first-seen times carried over), pool usage, and the
    /// rate base (kept while younger than a day, else the previous audit's sample).
    public static func next(previous: AuditState?, report: AuditReport) -> AuditState {
        var firstSeen: [OrphanRecord.Identity: Int64] = [:]
        for o in previous?.orphans ?? [] { firstSeen[o.identity] = o.firstSeen }
        let now = Int64(report.generatedAt)
        let orphans = report.orphans.map { o in
            OrphanRecord(type: o.kind.rawValue, id: o.id, key: o.key, ctime: o.ctime, uid: o.uid,
                         firstSeen: firstSeen[o.identity] ?? now)
        }
        var usage: [String: Int64] = [:]
        for l in report.limits where l.pool { if let u = l.used { usage[l.name] = u } }
        var base: AuditState.RateSample?
        if let previous {
            if let kept = previous.rateBase, now - kept.at < rateBaseMaxAge { base = kept } else { base = previous.sample }
        }
        return AuditState(writtenAt: now, orphans: orphans, limitUsage: usage, rateBase: base)
    }
}
