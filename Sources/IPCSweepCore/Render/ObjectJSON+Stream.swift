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

/// Values that repeat across objects, kept as ready JSON bytes.
final class ObjectJSONCache {
    let users: UserDirectory
    private var userNames: [UInt32: [UInt8]] = [:]
    private var groupNames: [UInt32: [UInt8]] = [:]
    private var isoTimes: [Int64: [UInt8]] = [:]

    init(users: UserDirectory) { self.users = users }

    private func userJSON(_ uid: UInt32) -> [UInt8] {
        if let b = userNames[uid] { return b }
        let b = users.userName(uid).map(JSONStreamWriter.quoted) ?? Array("null".utf8)
        userNames[uid] = b
        return b
    }

    private func groupJSON(_ gid: UInt32) -> [UInt8] {
        if let b = groupNames[gid] { return b }
        let b = users.groupName(gid).map(JSONStreamWriter.quoted) ?? Array("null".utf8)
        groupNames[gid] = b
        return b
    }

    private func isoJSON(_ t: Int64) -> [UInt8] {
        if let b = isoTimes[t] { return b }
        let b = TimeFormat.iso8601(t).map(JSONStreamWriter.quoted) ?? Array("null".utf8)
        if isoTimes.count > 4096 { isoTimes.removeAll(keepingCapacity: true) }
        isoTimes[t] = b
        return b
    }

    private func who(_ w: inout JSONStreamWriter, user uid: UInt32) {
        w.beginObject()
        w.key("uid")
        w.int(uid)
        w.key("user")
        w.raw(userJSON(uid))
        w.endObject()
    }

    private func who(_ w: inout JSONStreamWriter, group gid: UInt32) {
        w.beginObject()
        w.key("gid")
        w.int(gid)
        w.key("group")
        w.raw(groupJSON(gid))
        w.endObject()
    }

    private func holders(_ w: inout JSONStreamWriter, _ list: [Holder]) {
        w.beginArray()
        for h in list {
            w.element()
            w.beginObject()
            w.key("command")
            w.string(h.command)
            w.key("pid")
            w.int(h.pid)
            w.key("relation")
            w.string(h.relation.rawValue)
            w.key("uid")
            w.int(h.uid)
            w.key("unit")
            w.string(h.unit)
            w.key("user")
            w.raw(userJSON(h.uid))
            w.endObject()
        }
        w.endArray()
    }

    /// One object, keys in the order `.sortedKeys` gives (all lower-case-led ASCII keys: byte order).
    func write(_ c: Classification, to w: inout JSONStreamWriter) {
        let o = c.object
        let p = o.perm
        let last = o.lastActivity
        // Members shared by every kind, each emitted where it falls in sorted order.
        func creatorThroughCtimeISO() {
            w.key("creator"); who(&w, user: p.cuid)
            w.key("creatorGroup"); who(&w, group: p.cgid)
            w.key("ctime"); w.int(o.ctime)
            w.key("ctimeISO"); w.raw(isoJSON(o.ctime))
        }
        func groupThroughLastActivityISO() {
            w.key("group"); who(&w, group: p.gid)
            w.key("holders"); holders(&w, c.holders)
            w.key("id"); w.int(o.id)
            w.key("key"); w.int(p.key)
            w.key("keyHex"); w.string(IPCTextFormat.hexKey(p.key))
            w.key("lastActivity"); w.int(last)
            w.key("lastActivityISO"); w.raw(isoJSON(last))
        }
        func ownerThroughPossibleHolders() {
            w.key("owner"); who(&w, user: p.uid)
            w.key("perms"); w.string(IPCTextFormat.octal(p.permissionBits))
            w.key("possibleHolders"); holders(&w, c.possibleHolders)
        }
        func reasons() {
            w.key("reasons")
            w.beginArray()
            for r in c.reasons {
                w.element()
                w.string(r)
            }
            w.endArray()
        }
        func typeAndVerdict() {
            w.key("type"); w.string(o.kind.rawValue)
            w.key("verdict"); w.string(c.verdict.rawValue)
        }
        func optionalInt<T: BinaryInteger>(_ v: T?) {
            if let v { w.int(v) } else { w.null() }
        }

        w.beginObject()
        switch o {
        case .sem(let s):
            creatorThroughCtimeISO()
            w.key("detailError"); w.string(s.detailError)
            groupThroughLastActivityISO()
            w.key("mode"); w.int(p.mode)
            w.key("nsems"); w.int(s.nsems)
            w.key("otime"); w.int(s.otime)
            w.key("otimeISO"); w.raw(isoJSON(s.otime))
            ownerThroughPossibleHolders()
            reasons()
            w.key("semaphores")
            if let sems = s.semaphores {
                w.beginArray()
                for (n, sem) in sems.enumerated() {
                    w.element()
                    w.beginObject()
                    w.key("ncnt"); w.int(sem.ncnt)
                    w.key("num"); w.int(n)
                    w.key("pid"); w.int(sem.pid)
                    w.key("value"); w.int(sem.value)
                    w.key("zcnt"); w.int(sem.zcnt)
                    w.endObject()
                }
                w.endArray()
            } else {
                w.null()
            }
            typeAndVerdict()
        case .shm(let s):
            w.key("atime"); w.int(s.atime)
            w.key("atimeISO"); w.raw(isoJSON(s.atime))
            w.key("cpid"); w.int(s.cpid)
            creatorThroughCtimeISO()
            w.key("dtime"); w.int(s.dtime)
            w.key("dtimeISO"); w.raw(isoJSON(s.dtime))
            groupThroughLastActivityISO()
            w.key("locked"); w.bool(s.locked)
            w.key("lpid"); w.int(s.lpid)
            w.key("markedForRemoval"); w.bool(s.markedForRemoval)
            w.key("mode"); w.int(p.mode)
            w.key("nattch"); w.int(s.nattch)
            ownerThroughPossibleHolders()
            reasons()
            w.key("rss"); optionalInt(s.rss)
            w.key("size"); w.int(s.size)
            w.key("swap"); optionalInt(s.swap)
            typeAndVerdict()
        case .msg(let q):
            w.key("cbytes"); w.int(q.cbytes)
            creatorThroughCtimeISO()
            groupThroughLastActivityISO()
            w.key("lrpid"); w.int(q.lrpid)
            w.key("lspid"); w.int(q.lspid)
            w.key("mode"); w.int(p.mode)
            ownerThroughPossibleHolders()
            w.key("qbytes"); optionalInt(q.qbytes)
            w.key("qnum"); w.int(q.qnum)
            reasons()
            w.key("rtime"); w.int(q.rtime)
            w.key("rtimeISO"); w.raw(isoJSON(q.rtime))
            w.key("stime"); w.int(q.stime)
            w.key("stimeISO"); w.raw(isoJSON(q.stime))
            typeAndVerdict()
        }
        w.endObject()
    }
}
