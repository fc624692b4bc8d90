// ipcsweep-testkit: creates, operates on and holds System V IPC objects for the
// integration and e2e tests. Never installed; tests run it only inside private
// IPC namespaces (unshare --ipc). Each command prints what it created, one per line.
//
//   sem-create   [--key K] [--nsems N] [--mode M] [--as-uid U] [--count C]   print set ids
//   sem-op       --id ID [--num N] [--delta D] [--undo] [--hold]             semop, then optionally stay alive
//   sem-wait     --id ID [--num N] [--zero]                                  block in semop (ncnt / zcnt)
//   sem-setval   --id ID [--num N] --value V
//   sem-chown    --id ID --uid U [--gid G] [--mode M]                        IPC_SET: a new owner (the creator stays)
//   shm-create   [--key K] [--size S] [--mode M] [--as-uid U] [--count C]
//   shm-attach   --id ID [--hold] [--write TEXT [--offset N]]                attach (and write at N), then stay alive
//   msg-create   [--key K] [--mode M] [--as-uid U] [--count C]
//   msg-send     --id ID [--type T] [--text S | --size N [--seed S]] [--count C]   --size: N pattern bytes (0..255, with NULs and newlines)
//   msg-dump     --id ID                                                     receive every message: "TYPE LENGTH FNV1A64" per line
//   shm-fill     --id ID --size N [--seed S]                                 attach and write N pattern bytes
//   shm-dump     --id ID                                                     attach read-only, print "SIZE FNV1A64" of all its bytes
//   msg-recv     --id ID                                                      receive one message (IPC_NOWAIT), then exit
//   msg-recv-thread --id ID                                                  a thread blocks in msgrcv; the process stays alive
//   hold                                                                     stay alive until killed
import CSysVIPC

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = Array("ipcsweep-testkit: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail("usage: ipcsweep-testkit COMMAND [options]") }
let (options, flags): ([String: String], Set<String>) = {
    var options: [String: String] = [:]
    var flags: Set<String> = []
    let args = Array(arguments.dropFirst())
    var i = 0
    while i < args.count {
        let a = args[i]
        guard a.hasPrefix("--") else { fail("unexpected argument \(a)") }
        let name = String(a.dropFirst(2))
        if ["undo", "hold", "zero"].contains(name) {
            flags.insert(name)
            i += 1
        } else {
            guard i + 1 < args.count else { fail("\(a) needs a value") }
            options[name] = args[i + 1]
            i += 2
        }
    }
    return (options, flags)
}()

func int(_ name: String, _ def: Int? = nil) -> Int {
    if let v = options[name] {
        if v.hasPrefix("0x"), let h = UInt32(v.dropFirst(2), radix: 16) { return Int(Int32(bitPattern: h)) }
        if let n = Int(v) { return n }
        if v.hasPrefix("0"), let o = Int(v, radix: 8) { return o }
        fail("--\(name) \(v): not a number")
    }
    if let def { return def }
    fail("--\(name) is required")
}

func mode(_ def: Int) -> Int32 {
    guard let v = options["mode"] else { return Int32(def) }
    guard let o = Int32(v, radix: 8) else { fail("--mode \(v): not octal") }
    return o
}

func check(_ rc: Int32, _ what: String) -> Int32 {
    if rc < 0 { fail("\(what): errno \(errno)") }
    return rc
}

func dropPrivileges() {
    guard let u = options["as-uid"], let uid = UInt32(u) else { return }
    let gid = options["as-gid"].flatMap(UInt32.init) ?? uid
    _ = check(setgroups(0, nil), "setgroups")
    _ = check(setgid(gid), "setgid \(gid)")
    _ = check(setuid(uid), "setuid \(uid)")
}

func holdForever() -> Never {
    while true { pause() }
}

/// N bytes of a pattern that holds every byte value, NULs and newlines included.
func pattern(_ n: Int, seed: Int) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ $0 >> 8) }
}

/// FNV-1a 64 of bytes, in hex: the test's own digest, independent of ipcsweep's checksum.
func fnv<C: Sequence<UInt8>>(_ bytes: C) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(h, radix: 16)
}

let key = key_t(int("key", 0))
let count = int("count", 1)
let ipcCreat: Int32 = 0o1000

switch command {
case "sem-create":
    dropPrivileges()
    for n in 0..<count {
        let k = key == 0 ? 0 : key + key_t(n)
        print(check(semget(k, Int32(int("nsems", 1)), ipcCreat | mode(0o600)), "semget"))
    }
case "sem-op":
    var op = sembuf(sem_num: UInt16(int("num", 0)), sem_op: Int16(int("delta", 1)),
                    sem_flg: flags.contains("undo") ? Int16(SEM_UNDO) : 0)
    _ = check(semop(Int32(int("id")), &op, 1), "semop")
    if flags.contains("hold") { holdForever() }
case "sem-wait":
    var op = sembuf(sem_num: UInt16(int("num", 0)), sem_op: flags.contains("zero") ? 0 : -1, sem_flg: 0)
    _ = check(semop(Int32(int("id")), &op, 1), "semop")
    holdForever()
case "sem-setval":
    _ = check(cipc_sem_setval(Int32(int("id")), Int32(int("num", 0)), Int32(int("value"))), "semctl SETVAL")
case "sem-chown":
    let uid = UInt32(int("uid"))
    _ = check(cipc_sem_set(Int32(int("id")), uid, UInt32(int("gid", Int(uid))), UInt32(mode(0o600))), "semctl IPC_SET")
case "shm-create":
    dropPrivileges()
    for n in 0..<count {
        let k = key == 0 ? 0 : key + key_t(n)
        print(check(shmget(k, int("size", 4096), ipcCreat | mode(0o600)), "shmget"))
    }
case "shm-attach":
    guard let p = shmat(Int32(int("id")), nil, 0), p != UnsafeMutableRawPointer(bitPattern: -1) else {
        fail("shmat: errno \(errno)")
    }
    if let text = options["write"] {
        let bytes = Array(text.utf8)
        (p + int("offset", 0)).copyMemory(from: bytes, byteCount: bytes.count)
    }
    if flags.contains("hold") { holdForever() }
case "msg-create":
    dropPrivileges()
    for n in 0..<count {
        let k = key == 0 ? 0 : key + key_t(n)
        print(check(msgget(k, ipcCreat | mode(0o600)), "msgget"))
    }
case "msg-send":
    let text = options["size"] != nil ? pattern(int("size"), seed: int("seed", 0)) : Array((options["text"] ?? "hello").utf8)
    var buf = [UInt8](repeating: 0, count: MemoryLayout<Int>.size + text.count)
    let type = int("type", 1)
    withUnsafeBytes(of: type) { buf.replaceSubrange(0..<MemoryLayout<Int>.size, with: $0) }
    buf.replaceSubrange(MemoryLayout<Int>.size..., with: text)
    for _ in 0..<count {
        _ = check(msgsnd(Int32(int("id")), &buf, text.count, 0), "msgsnd")
    }
case "msg-dump":
    let id = Int32(int("id"))
    var buf = [UInt8](repeating: 0, count: MemoryLayout<Int>.size + (1 << 20))
    while true {
        let n = buf.withUnsafeMutableBytes { msgrcv(id, $0.baseAddress, (1 << 20), 0, IPC_NOWAIT) }
        if n < 0 { if errno == ENOMSG { break }; fail("msgrcv: errno \(errno)") }
        let type = buf.withUnsafeBytes { $0.loadUnaligned(as: Int.self) }
        let body = buf[MemoryLayout<Int>.size..<(MemoryLayout<Int>.size + n)]
        print("\(type) \(n) \(fnv(body))")
    }
case "shm-fill":
    guard let p = shmat(Int32(int("id")), nil, 0), p != UnsafeMutableRawPointer(bitPattern: -1) else {
        fail("shmat: errno \(errno)")
    }
    let bytes = pattern(int("size"), seed: int("seed", 0))
    p.copyMemory(from: bytes, byteCount: bytes.count)
    shmdt(p)
case "shm-dump":
    let id = Int32(int("id"))
    var ds = cipc_shm_ds_t()
    _ = check(cipc_shm_stat_id(id, &ds), "shmctl IPC_STAT")
    guard let p = shmat(id, nil, Int32(SHM_RDONLY)), p != UnsafeMutableRawPointer(bitPattern: -1) else {
        fail("shmat: errno \(errno)")
    }
    print("\(ds.size) \(fnv(UnsafeRawBufferPointer(start: p, count: Int(ds.size))))")
    shmdt(p)
case "msg-recv":
    var buf = [UInt8](repeating: 0, count: MemoryLayout<Int>.size + 8192)
    _ = check(Int32(truncatingIfNeeded: msgrcv(Int32(int("id")), &buf, 8192, 0, Int32(IPC_NOWAIT))), "msgrcv")
case "msg-recv-thread":
    startReceiverThread(queue: Int32(int("id")))
    holdForever()
case "hold":
    holdForever()
default:
    fail("unknown command \(command)")
}
