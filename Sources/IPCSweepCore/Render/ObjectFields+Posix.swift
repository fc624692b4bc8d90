/// Text forms of POSIX objects' facts shared by the field table's cells, JSON and `show`.
enum PosixFields {
    /// "2026-11-21 01:02:03.123456789 (5 min ago)".
    static func when(_ t: FileTime, _ ctx: RenderContext) -> String {
        let frac = String(t.nanoseconds)
        return "\(TimeFormat.local(t.seconds)).\(String(repeating: "0", count: max(0, 9 - frac.count)) + frac) (\(TimeFormat.relative(t.seconds, now: ctx.now)))"
    }

    /// "user:1000:rw-,group_obj:rw-,..."
    static func acl(_ acl: [ACLEntry]) -> String {
        acl.map { e in
            "\(e.tag.rawValue)\(e.qualifier.map { ":\($0)" } ?? ""):\(e.perms & 4 != 0 ? "r" : "-")\(e.perms & 2 != 0 ? "w" : "-")\(e.perms & 1 != 0 ? "x" : "-")"
        }.joined(separator: ",")
    }

    /// "3 messages, 24 bytes (at most 10 messages of 8192 bytes)".
    static func queue(_ q: MessageQueueStatus) -> String {
        "\(q.messages.map { "\($0) message\($0 == 1 ? "" : "s"), " } ?? "")\(q.qsize) bytes"
            + (q.maxMessages.map { " (at most \($0) messages of \(q.messageSize ?? 0) bytes)" } ?? "")
    }
}

extension ObjectFields {
    static func posixObject<T>(_ f: @escaping @Sendable (PosixIPCObject) -> T?) -> @Sendable (IPCObject) -> T? {
        { if case .posix(let o) = $0 { return f(o) } else { return nil } }
    }

    /// A POSIX object's text field (a table cell and a JSON string).
    static func posixText(_ name: String, _ header: String, _ help: String, key: StaticString,
                          detail: (@Sendable (Classification, RenderContext) -> [(String, String)])? = nil,
                          _ value: @escaping @Sendable (PosixIPCObject) -> String) -> F {
        F(name, header, help: help, kinds: IPCKind.posix, layout: ColumnLayout(flexible: true, minWidth: 4), jsonKeys: [key],
          text: { c, _ in Table.Cell(posixObject(value)(c.object) ?? "-") },
          json: { c, w, _ in
              guard let v = posixObject(value)(c.object) else { return }
              w.key(key)
              w.string(v)
          }, detail: detail)
    }

    /// The fields only POSIX objects have.
    public static let posix: [F] = [
        posixText("name", "NAME", "A POSIX object's name, as programs pass it to shm_open, sem_open or mq_open (without the leading slash; a semaphore's without sem.).",
                  key: "name") { $0.name },
        posixText("path", "PATH", "A POSIX object's path, as this host reaches it (/proc/PID/root/... in another mount namespace).",
                  key: "path", detail: { c, _ in ifPosix(c.object) { [("path", $0.path)] } ?? [] }) { $0.path },
        posixText("device", "DEVICE", "The device (major:minor) of a POSIX object's filesystem.", key: "device") {
            "\($0.identity.major):\($0.identity.minor)"
        },
        number("inode", "INODE", "A POSIX object's inode.", IPCKind.posix, key: "inode",
               detail: { c, _ in
                   ifPosix(c.object) { [("inode", "\($0.identity.inode) on device \($0.identity.major):\($0.identity.minor)")] } ?? []
               }, posixObject { Int64(bitPattern: $0.identity.inode) }),
        number("blocks", "BLOCKS", "Memory a POSIX object really uses, in 512-byte blocks (st_blocks).", IPCKind.posix, key: "blocks",
               posixObject { $0.blocks }),
        number("used", "USED", "Memory really used, in bytes (SIZE counts the holes too): a segment's rss + swap (from /proc/sysvipc/shm; null when not known), a POSIX object's st_blocks x 512.",
               IPCKind.posix.union([.shm]), key: "usedBytes") { o in
            switch o {
            case .shm(let s): return s.usedBytes.map { Int64(clamping: $0) }
            case .posix(let p): return p.usedBytes
            default: return nil
            }
        },
        F("acl", "ACL", help: "A POSIX object's access ACL beyond its mode bits (JSON: [{tag, qualifier, perms}], null without one).",
          kinds: IPCKind.posix, layout: ColumnLayout(flexible: true, minWidth: 3), jsonKeys: ["acl"],
          text: { c, _ in Table.Cell(c.object.acl.map(PosixFields.acl) ?? "-") },
          json: { c, w, _ in
              guard c.object.family == .posix else { return }
              w.key("acl")
              guard let acl = c.object.acl else { return w.null() }
              w.beginArray()
              for e in acl {
                  w.element()
                  w.beginObject()
                  w.key("perms")
                  w.int(e.perms)
                  w.key("qualifier")
                  if let q = e.qualifier { w.int(q) } else { w.null() }
                  w.key("tag")
                  w.string(e.tag.rawValue)
                  w.endObject()
              }
              w.endArray()
          },
          detail: { c, _ in c.object.acl.map { [("acl", PosixFields.acl($0))] } ?? [] }),
        time("mtime", "MTIME", "A POSIX object's last modification (st_mtime; a queue's last send or receive).", IPCKind.posix,
             key: "mtime", iso: "mtimeISO", nanoseconds: "mtimeNanoseconds",
             detail: { c, ctx in ifPosix(c.object) { [("modified", PosixFields.when($0.mtimeNs, ctx))] } ?? [] }) {
            posixObject { $0.mtimeNs }($0) ?? FileTime(seconds: 0)
        },
        F("queue", "QUEUE", help: "A POSIX queue's state: messages and bytes queued, its limits, the process registered for its notification (JSON: {qsize, messages, maxMessages, messageSize, notify, signo, notifyPid}, null for files).",
          kinds: IPCKind.posix, layout: ColumnLayout(flexible: true, minWidth: 5), jsonKeys: ["queue"],
          text: { c, _ in Table.Cell(c.object.posix?.queue.map(PosixFields.queue) ?? "-") },
          json: { c, w, _ in
              guard let o = c.object.posix else { return }
              w.key("queue")
              guard let q = o.queue else { return w.null() }
              w.beginObject()
              w.key("maxMessages")
              if let v = q.maxMessages { w.int(v) } else { w.null() }
              w.key("messageSize")
              if let v = q.messageSize { w.int(v) } else { w.null() }
              w.key("messages")
              if let v = q.messages { w.int(v) } else { w.null() }
              w.key("notify")
              w.int(q.notify)
              w.key("notifyPid")
              w.int(q.notifyPid)
              w.key("qsize")
              w.int(q.qsize)
              w.key("signo")
              w.int(q.signo)
              w.endObject()
          },
          detail: { c, _ in
              guard let q = c.object.posix?.queue else { return [] }
              return [("queue", PosixFields.queue(q)),
                      ("notification", q.notifyPid > 0 ? "pid \(q.notifyPid) (NOTIFY \(q.notify), SIGNO \(q.signo))" : "none")]
          }),
    ]
}
