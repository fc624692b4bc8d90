/// The `list`/`orphans`/`show` JSON document written straight to bytes, byte for byte what
/// `JSONOutput.render(ObjectListJSON(...))` prints (keys in sorted order, same fields, same nulls).
///
/// JSONEncoder builds the whole tree and then the whole string: for 40,000 objects that was most of
/// the run time and hundreds of MiB. This writer streams in 64 KiB pieces and caches what repeats
/// (user and group names, ISO-8601 times). `ObjectJSONStreamTests` holds it to JSONEncoder's output.
extension ObjectListJSON {
    /// Writes the document (with its final newline) to `sink`, in pieces.
    public func stream(flushThreshold: Int = 1 << 16, to sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        var w = JSONStreamWriter(flushThreshold: flushThreshold, sink: sink)
        let cache = ObjectJSONCache(users: users)
        w.beginObject()
        w.key("objects")
        w.beginArray()
        for c in objects {
            w.element()
            cache.write(c, to: &w)
            w.flushIfNeeded()
        }
        for c in posix {
            w.element()
            PosixRender.stream(PosixRender.json(c, users: users), to: &w)
            w.flushIfNeeded()
        }
        w.endArray()
        w.key("schemaVersion")
        w.int(jsonSchemaVersion)
        w.key("scope")
        if let scope {
            w.beginObject()
            w.key("description")
            w.string(scope.description)
            w.key("exclusive")
            w.bool(scope.exclusive)
            w.key("pids")
            w.beginArray()
            for pid in scope.members.sorted() {
                w.element()
                w.int(pid)
            }
            w.endArray()
            w.endObject()
        } else {
            w.null()
        }
        w.key("source")
        w.string(source)
        w.key("warnings")
        w.beginArray()
        for text in warnings {
            w.element()
            w.string(text)
        }
        w.endArray()
        w.endObject()
        w.raw([10])
        w.flush()
    }

    /// The whole document as bytes (tests, small documents).
    public func streamedBytes() -> [UInt8] {
        var out: [UInt8] = []
        stream { out.append(contentsOf: $0) }
        return out
    }
}

/// Values that repeat across objects, kept as ready JSON bytes, and the writer of one object.
///
/// Objects always sit at the same depth of the document (`objects` array, depth 2), so the text between
/// values (comma, newline, indentation, quoted key, " : ") is written as one literal per member, and a
/// whole owner/group object is cached per id. The test suite holds the result to JSONEncoder's.
final class ObjectJSONCache {
    let users: UserDirectory
    private var owners = DirectMappedCache<UInt32>(slots: 1024)
    private var groups = DirectMappedCache<UInt32>(slots: 1024)
    private var userNames = DirectMappedCache<UInt32>(slots: 1024)
    private var isoTimes = DirectMappedCache<Int64>(slots: 4096)

    init(users: UserDirectory) { self.users = users }

    /// The user name as a JSON value (quoted, or null).
    private func userJSON(_ uid: UInt32) -> [UInt8] {
        userNames.value(for: uid) { users.userName($0).map(JSONStreamWriter.quoted) ?? Array("null".utf8) }
    }

    /// `{"uid" : N, "user" : NAME}` at depth 3, as JSONEncoder indents it.
    private func ownerJSON(_ uid: UInt32) -> [UInt8] {
        owners.value(for: uid) { uid in
            var b = Array("{\n\(String(repeating: " ", count: 8))\"uid\" : \(uid),\n\(String(repeating: " ", count: 8))\"user\" : ".utf8)
            b += users.userName(uid).map(JSONStreamWriter.quoted) ?? Array("null".utf8)
            b += Array("\n\(String(repeating: " ", count: 6))}".utf8)
            return b
        }
    }

    /// `{"gid" : N, "group" : NAME}` at depth 3.
    private func groupJSON(_ gid: UInt32) -> [UInt8] {
        groups.value(for: gid) { gid in
            var b = Array("{\n\(String(repeating: " ", count: 8))\"gid\" : \(gid),\n\(String(repeating: " ", count: 8))\"group\" : ".utf8)
            b += users.groupName(gid).map(JSONStreamWriter.quoted) ?? Array("null".utf8)
            b += Array("\n\(String(repeating: " ", count: 6))}".utf8)
            return b
        }
    }

    private func isoJSON(_ t: Int64) -> [UInt8] {
        isoTimes.value(for: t) { TimeFormat.iso8601($0).map(JSONStreamWriter.quoted) ?? Array("null".utf8) }
    }

    /// A holders array at depth 3 (its members at depth 4, their fields at depth 5).
    private func holders(_ w: inout JSONStreamWriter, _ list: [Holder]) {
        if list.isEmpty {
            w.fragment("[\n\n      ]")
            return
        }
        w.fragment("[")
        for (n, h) in list.enumerated() {
            if n > 0 { w.fragment(",") }
            w.fragment("\n        {\n          \"command\" : ")
            w.string(h.command)
            w.fragment(",\n          \"pid\" : ")
            w.int(h.pid)
            switch h.relation {
            case .attached: w.fragment(",\n          \"relation\" : \"attached\",\n          \"uid\" : ")
            case .recorded: w.fragment(",\n          \"relation\" : \"recorded\",\n          \"uid\" : ")
            case .possible: w.fragment(",\n          \"relation\" : \"possible\",\n          \"uid\" : ")
            }
            w.int(h.uid)
            w.fragment(",\n          \"unit\" : ")
            w.string(h.unit)
            w.fragment(",\n          \"user\" : ")
            w.raw(userJSON(h.uid))
            w.fragment("\n        }")
        }
        w.fragment("\n      ]")
    }

    /// The evidence array at depth 3 (entries at depth 4, their members at depth 5), as `EvidenceJSON` encodes it.
    private func evidence(_ w: inout JSONStreamWriter, _ list: [Evidence]) {
        if list.isEmpty {
            w.fragment("[\n\n      ]")
            return
        }
        w.fragment("[")
        for (n, e) in list.enumerated() {
            w.fragment(n == 0 ? "\n        {" : ",\n        {")
            var first = true
            e.forEachJSONField { key, value in
                w.fragment(first ? "\n          " : ",\n          ")
                first = false
                w.plainString(key)
                w.fragment(" : ")
                switch value {
                case .int(let v): w.int(v)
                case .string(let v): w.string(v)
                case .bool(let v): w.bool(v)
                case .null: w.null()
                }
            }
            w.fragment("\n        }")
        }
        w.fragment("\n      ]")
    }

    /// A string array at depth 3 (reasons).
    private func strings(_ w: inout JSONStreamWriter, _ list: [String]) {
        if list.isEmpty {
            w.fragment("[\n\n      ]")
            return
        }
        w.fragment("[")
        for (n, text) in list.enumerated() {
            w.fragment(n == 0 ? "\n        " : ",\n        ")
            w.string(text)
        }
        w.fragment("\n      ]")
    }

    private func optionalInt<T: BinaryInteger>(_ w: inout JSONStreamWriter, _ v: T?) {
        if let v { w.int(v) } else { w.null() }
    }

    /// One object, keys in the order `.sortedKeys` gives (all lower-case-led ASCII keys: byte order).
    func write(_ c: Classification, to w: inout JSONStreamWriter) {
        let o = c.object
        let p = o.perm
        let last = o.lastActivity
        switch o {
        case .sem(let s):
            w.fragment("{\n      \"creator\" : ")
            w.raw(ownerJSON(p.cuid))
            w.fragment(",\n      \"creatorGroup\" : ")
            w.raw(groupJSON(p.cgid))
            w.fragment(",\n      \"ctime\" : ")
            w.int(o.ctime)
            w.fragment(",\n      \"ctimeISO\" : ")
            w.raw(isoJSON(o.ctime))
            w.fragment(",\n      \"detailError\" : ")
            w.string(s.detailError)
            groupThroughMode(&w, c, last)
            w.fragment(",\n      \"nsems\" : ")
            w.int(s.nsems)
            w.fragment(",\n      \"otime\" : ")
            w.int(s.otime)
            w.fragment(",\n      \"otimeISO\" : ")
            w.raw(isoJSON(s.otime))
            ownerThroughPossibleHolders(&w, c)
            w.fragment(",\n      \"reasons\" : ")
            strings(&w, c.reasons)
            w.fragment(",\n      \"semaphores\" : ")
            if let sems = s.semaphores {
                if sems.isEmpty {
                    w.fragment("[\n\n      ]")
                } else {
                    w.fragment("[")
                    for (n, sem) in sems.enumerated() {
                        w.fragment(n == 0 ? "\n        {\n          \"ncnt\" : " : ",\n        {\n          \"ncnt\" : ")
                        w.int(sem.ncnt)
                        w.fragment(",\n          \"num\" : ")
                        w.int(n)
                        w.fragment(",\n          \"pid\" : ")
                        w.int(sem.pid)
                        w.fragment(",\n          \"value\" : ")
                        w.int(sem.value)
                        w.fragment(",\n          \"zcnt\" : ")
                        w.int(sem.zcnt)
                        w.fragment("\n        }")
                    }
                    w.fragment("\n      ]")
                }
            } else {
                w.null()
            }
            typeAndVerdict(&w, c)
        case .shm(let s):
            w.fragment("{\n      \"atime\" : ")
            w.int(s.atime)
            w.fragment(",\n      \"atimeISO\" : ")
            w.raw(isoJSON(s.atime))
            w.fragment(",\n      \"cpid\" : ")
            w.int(s.cpid)
            w.fragment(",\n      \"creator\" : ")
            w.raw(ownerJSON(p.cuid))
            w.fragment(",\n      \"creatorGroup\" : ")
            w.raw(groupJSON(p.cgid))
            w.fragment(",\n      \"ctime\" : ")
            w.int(o.ctime)
            w.fragment(",\n      \"ctimeISO\" : ")
            w.raw(isoJSON(o.ctime))
            w.fragment(",\n      \"dtime\" : ")
            w.int(s.dtime)
            w.fragment(",\n      \"dtimeISO\" : ")
            w.raw(isoJSON(s.dtime))
            groupThroughLastActivityISO(&w, c, last)
            w.fragment(",\n      \"locked\" : ")
            w.bool(s.locked)
            w.fragment(",\n      \"lpid\" : ")
            w.int(s.lpid)
            w.fragment(",\n      \"markedForRemoval\" : ")
            w.bool(s.markedForRemoval)
            w.fragment(",\n      \"mode\" : ")
            w.int(p.mode)
            namespace(&w, c)
            w.fragment(",\n      \"nattch\" : ")
            w.int(s.nattch)
            ownerThroughPossibleHolders(&w, c)
            w.fragment(",\n      \"reasons\" : ")
            strings(&w, c.reasons)
            w.fragment(",\n      \"rss\" : ")
            optionalInt(&w, s.rss)
            w.fragment(",\n      \"size\" : ")
            w.int(s.size)
            w.fragment(",\n      \"swap\" : ")
            optionalInt(&w, s.swap)
            typeAndVerdict(&w, c)
        case .msg(let q):
            w.fragment("{\n      \"cbytes\" : ")
            w.int(q.cbytes)
            w.fragment(",\n      \"creator\" : ")
            w.raw(ownerJSON(p.cuid))
            w.fragment(",\n      \"creatorGroup\" : ")
            w.raw(groupJSON(p.cgid))
            w.fragment(",\n      \"ctime\" : ")
            w.int(o.ctime)
            w.fragment(",\n      \"ctimeISO\" : ")
            w.raw(isoJSON(o.ctime))
            groupThroughLastActivityISO(&w, c, last)
            w.fragment(",\n      \"lrpid\" : ")
            w.int(q.lrpid)
            w.fragment(",\n      \"lspid\" : ")
            w.int(q.lspid)
            w.fragment(",\n      \"mode\" : ")
            w.int(p.mode)
            namespace(&w, c)
            ownerThroughPossibleHolders(&w, c)
            w.fragment(",\n      \"qbytes\" : ")
            optionalInt(&w, q.qbytes)
            w.fragment(",\n      \"qnum\" : ")
            w.int(q.qnum)
            w.fragment(",\n      \"reasons\" : ")
            strings(&w, c.reasons)
            w.fragment(",\n      \"rtime\" : ")
            w.int(q.rtime)
            w.fragment(",\n      \"rtimeISO\" : ")
            w.raw(isoJSON(q.rtime))
            w.fragment(",\n      \"stime\" : ")
            w.int(q.stime)
            w.fragment(",\n      \"stimeISO\" : ")
            w.raw(isoJSON(q.stime))
            typeAndVerdict(&w, c)
        }
        w.fragment("\n    }")
    }

    /// evidence, group, holders, id, key, keyHex, lastActivity, lastActivityISO.
    private func groupThroughLastActivityISO(_ w: inout JSONStreamWriter, _ c: Classification, _ last: Int64) {
        let o = c.object
        let p = o.perm
        w.fragment(",\n      \"evidence\" : ")
        evidence(&w, c.evidence)
        w.fragment(",\n      \"group\" : ")
        w.raw(groupJSON(p.gid))
        w.fragment(",\n      \"holders\" : ")
        holders(&w, c.holders)
        w.fragment(",\n      \"id\" : ")
        w.int(o.id)
        w.fragment(",\n      \"key\" : ")
        w.int(p.key)
        w.fragment(",\n      \"keyHex\" : ")
        w.hexString(p.unsignedKey, prefix: "0x", digits: 8)  // IPCTextFormat.hexKey
        w.fragment(",\n      \"lastActivity\" : ")
        w.int(last)
        w.fragment(",\n      \"lastActivityISO\" : ")
        w.raw(isoJSON(last))
    }

    /// groupThroughLastActivityISO, then mode (a set's keys run on to nsems).
    private func groupThroughMode(_ w: inout JSONStreamWriter, _ c: Classification, _ last: Int64) {
        groupThroughLastActivityISO(&w, c, last)
        w.fragment(",\n      \"mode\" : ")
        w.int(c.object.perm.mode)
        namespace(&w, c)
    }

    /// `"namespace" : {"inode", "owner", "pid"}` right after mode (its place in sorted order), when set.
    private func namespace(_ w: inout JSONStreamWriter, _ c: Classification) {
        guard let ns = c.namespace else { return }
        w.fragment(",\n      \"namespace\" : {\n        \"inode\" : ")
        w.int(ns.inode)
        w.fragment(",\n        \"owner\" : ")
        w.string(ns.owner)
        w.fragment(",\n        \"pid\" : ")
        optionalInt(&w, ns.pid)
        w.fragment("\n      }")
    }

    /// owner, perms, possibleHolders.
    private func ownerThroughPossibleHolders(_ w: inout JSONStreamWriter, _ c: Classification) {
        let p = c.object.perm
        w.fragment(",\n      \"owner\" : ")
        w.raw(ownerJSON(p.uid))
        w.fragment(",\n      \"perms\" : ")
        w.octalString(p.permissionBits, digits: 4)  // IPCTextFormat.octal
        w.fragment(",\n      \"possibleHolders\" : ")
        holders(&w, c.possibleHolders)
    }

    private func typeAndVerdict(_ w: inout JSONStreamWriter, _ c: Classification) {
        switch c.object.kind {
        case .sem: w.fragment(",\n      \"type\" : \"sem\"")
        case .shm: w.fragment(",\n      \"type\" : \"shm\"")
        case .msg: w.fragment(",\n      \"type\" : \"msg\"")
        }
        switch c.verdict {
        case .inUse: w.fragment(",\n      \"verdict\" : \"in-use\"")
        case .orphaned: w.fragment(",\n      \"verdict\" : \"orphaned\"")
        case .suspect: w.fragment(",\n      \"verdict\" : \"suspect\"")
        case .unknown: w.fragment(",\n      \"verdict\" : \"unknown\"")
        }
    }
}

/// A fixed-size cache indexed by the key's low bits (no hashing): a collision just recomputes.
struct DirectMappedCache<Key: FixedWidthInteger> {
    private var keys: [Key]
    private var values: [[UInt8]?]
    private let mask: Int

    /// `slots` must be a power of two.
    init(slots: Int) {
        keys = Array(repeating: 0, count: slots)
        values = Array(repeating: nil, count: slots)
        mask = slots - 1
    }

    mutating func value(for key: Key, _ make: (Key) -> [UInt8]) -> [UInt8] {
        let slot = Int(truncatingIfNeeded: key) & mask
        if keys[slot] == key, let v = values[slot] { return v }
        let v = make(key)
        keys[slot] = key
        values[slot] = v
        return v
    }
}
