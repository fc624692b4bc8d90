import Foundation
import XCTest

/// Text other users control reaches no terminal raw, from any command or format, for System V and POSIX objects
/// alike: processes that name themselves with terminal escapes (OSC retitle, CSI clear, BEL, C1 CSI, a bidi
/// override, an invalid UTF-8 byte) hold a segment, a semaphore set and a /dev/shm file; a user whose passwd name
/// is made of escapes (a scratch passwd bound over /etc/passwd in the scenario's own mount namespace) owns
/// orphans; a POSIX object's name carries escapes, a newline and a bidi override. Every output of list, orphans,
/// show, clean (dry run and real, with its journal lines), audit, restore and the warnings and errors on standard
/// error is checked byte by byte.
final class HostileTextScenarioTests: XCTestCase {
    /// A process name: OSC "retitle the terminal", BEL, CSI "clear the screen" (14 bytes, under comm's 15).
    static let osc = #"$'\e]0;PWNED\a\e[2J'"#
    /// Another: a C1 CSI (U+009B), a right-to-left override, an invalid UTF-8 byte.
    static let c1 = #"$'\xc2\x9b2J\xe2\x80\xaeevil\xff'"#

    static let script = """
        mount -t tmpfs tmpfs /run
        cp /etc/passwd /run/passwd
        printf 'evil\\033[31m\\342\\200\\256\\302\\233\\377:x:4242:4242::/:/bin/false\\n' >> /run/passwd
        mount --bind /run/passwd /etc/passwd
        cp /etc/group /run/group
        printf 'grp\\033]0;G\\007:x:4242:\\n' >> /run/group
        mount --bind /run/group /etc/group
        cat > /run/hold.py <<'PY'
        # hold.py COMM WHAT ARG READY: name this process COMM (prctl PR_SET_NAME), then hold ARG: attach segment
        # ARG (shm), operate on set ARG (sem: its sempid), or keep /dev/shm/ARG open (fd).
        import ctypes, os, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        comm, what, arg, ready = os.fsencode(sys.argv[1]), sys.argv[2], os.fsencode(sys.argv[3]), sys.argv[4]
        libc.prctl(15, comm, 0, 0, 0)
        if what == "shm":
            libc.shmat.restype = ctypes.c_void_p
            if libc.shmat(int(arg), None, 0) in (None, ctypes.c_void_p(-1).value): raise OSError(ctypes.get_errno(), "shmat")
        elif what == "sem":
            class sembuf(ctypes.Structure):
                _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short), ("flg", ctypes.c_short)]
            if libc.semop(int(arg), ctypes.byref(sembuf(0, 1, 0)), 1) != 0: raise OSError(ctypes.get_errno(), "semop")
        else:
            keep = os.open(b"/dev/shm/" + arg, os.O_RDONLY)
        open(ready, "w").close()
        time.sleep(300)
        PY
        H=$'held\\e]0;T\\a\\e[2J\\xc2\\x9b1m\\xe2\\x80\\xaeA\\nB'
        O=$'orph\\e[2J\\xe2\\x80\\xaeC\\nD'
        M=$(ipcsweep-testkit shm-create --key 0x4401 --size 64)
        S=$(ipcsweep-testkit sem-create --key 0x4402)
        G=$(ipcsweep-testkit sem-create --key 0x4403 --as-uid 4242)
        Z=$(ipcsweep-testkit shm-create --key 0x4404 --size 32 --as-uid 4242)
        ipcsweep-testkit shm-attach --id $Z --write "saved bytes"
        echo held > "/dev/shm/$H"
        echo orphan > "/dev/shm/$O"; chown 4242:4242 "/dev/shm/$O"; chmod 600 "/dev/shm/$O"
        /usr/bin/python3 /run/hold.py \(osc) shm $M /run/r1 &
        /usr/bin/python3 /run/hold.py \(c1) sem $S /run/r2 &
        /usr/bin/python3 /run/hold.py \(osc) fd "$H" /run/r3 &
        while [ ! -e /run/r1 ] || [ ! -e /run/r2 ] || [ ! -e /run/r3 ]; do sleep 0.05; done
        run() { local name=$1; shift; set +e; "$@" > "$OUT/$name" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc"; set -e; }
        for f in table csv json; do
            run list.$f ipcsweep list --format $f
            run list-all.$f ipcsweep list --format $f -o all
            run orphans.$f ipcsweep orphans --format $f
            run dry.$f ipcsweep clean --dry-run --format $f
            run show.$f ipcsweep show $M $S $G "$H" --format $f
        done
        run show.txt ipcsweep show $M $S $G $Z "$H" "$O"
        run show-missing ipcsweep show "no$H"
        run user-missing ipcsweep list --user $'nosuch\\e]0;U\\a'
        run pidfile-warning ipcsweep list --pidfile $'/run/no\\e[2Jpid'
        run audit.text ipcsweep audit
        run audit.json ipcsweep audit --format json
        run audit.prom ipcsweep audit --format prometheus
        mkdir /run/save

        """ + Scenario.syslogListener + """
        run clean.table ipcsweep clean --yes --save-to /run/save
        wait $LISTENER
        cp "$OUT/syslog" "$OUT/journal"
        run restore.table ipcsweep restore /run/save/shm-*
        run restore-posix ipcsweep restore /run/save/posix-*
        run restore.json ipcsweep restore --format json /run/save/posix-*
        ls /run/save > "$OUT/saved-files"  # the save files' own names carry none of it
        """

    /// The bytes no output may carry: C0 controls but the line breaks, DEL, C1 controls (as UTF-8), the Unicode
    /// format controls that reorder text, invalid UTF-8, and a newline taken from a value.
    static func problems(_ d: Data) -> [String] {
        var out: [String] = []
        let b = [UInt8](d)
        if String(validating: b, as: UTF8.self) == nil { out.append("invalid UTF-8") }
        for (i, c) in b.enumerated() {
            if c < 0x20 && c != 0x0a && !(c == 0x0d && i + 1 < b.count && b[i + 1] == 0x0a) { out.append("byte 0x\(String(c, radix: 16)) at \(i)") }
            if c == 0x7f { out.append("DEL at \(i)") }
            if c == 0xc2, i + 1 < b.count, (0x80...0x9f).contains(b[i + 1]) { out.append("C1 control at \(i)") }
            if c == 0xe2, i + 2 < b.count, b[i + 1] == 0x80, (0xaa...0xae).contains(b[i + 2]) { out.append("bidi control at \(i)") }
        }
        let text = String(decoding: b, as: UTF8.self)
        for raw in ["A\nB", "C\nD"] where text.contains(raw) { out.append("a value's newline") }
        return out
    }

    func testHostileTextIsEscapedInEveryCommandAndFormat() throws {
        let s = try Scenario.run(Self.script)
        XCTAssertGreaterThan(s.files.count, 40)
        for (name, data) in s.files.sorted(by: { $0.key < $1.key }) where !["status", "ready", "syslog"].contains(name) {
            let p = Self.problems(data)
            XCTAssertTrue(p.isEmpty, "\(name): \(p.prefix(5)) in:\n\(String(decoding: data, as: UTF8.self).prefix(2000))")
        }
        // Not vacuous: the hostile text is there, escaped, in every kind of output.
        let commText = #"\x1b]0;PWNED\x07\x1b[2J"#
        let nameText = #"held\x1b]0;T\x07\x1b[2J\x9b1m\u{202e}A\x0aB"#
        // The invalid byte was decoded to U+FFFD where the name was read: harmless, shown as it is.
        let userText = #"evil\x1b[31m\u{202e}\x9b"# + "\u{fffd}"
        for (file, needle) in [("list.table", nameText), ("list.csv", nameText), ("list-all.table", commText),
                               ("orphans.table", userText), ("dry.table", nameText), ("show.txt", commText),
                               ("show.txt", nameText), ("show.txt", userText), ("show-missing.err", nameText),
                               ("user-missing.err", #"nosuch\x1b]0;U\x07"#), ("pidfile-warning.err", #"/run/no\x1b[2Jpid"#),
                               ("audit.text", userText), ("clean.table", userText), ("journal", userText),
                               ("restore.table", userText)] {
            let text = try s.file(file)
            XCTAssertTrue(text.contains(needle), "\(file) lacks \(needle):\n\(text.prefix(3000))")
        }
        // JSON carries the text itself, escaped by JSON: parsed back, it is the original.
        let objects = try XCTUnwrap(try s.json("list.json")["objects"] as? [[String: Any]])
        XCTAssertTrue(objects.contains { $0["name"] as? String == "held\u{1b}]0;T\u{7}\u{1b}[2J\u{9b}1m\u{202e}A\nB" }, "\(objects)")
        let holders = objects.flatMap { $0["holders"] as? [[String: Any]] ?? [] }.compactMap { $0["command"] as? String }
        XCTAssertTrue(holders.contains("\u{1b}]0;PWNED\u{7}\u{1b}[2J"), "\(holders)")
        XCTAssertTrue(holders.contains("\u{9b}2J\u{202e}evil\u{fffd}"), "\(holders)")
        let prom = try s.file("audit.prom")
        XCTAssertTrue(prom.contains(#"evil\\x1b[31m"#), prom)
        // The orphans of the hostile user went (the set, the segment, the POSIX file); the held ones stayed.
        let clean = try s.file("clean.table")
        XCTAssertTrue(clean.contains("removed 3"), clean)
        XCTAssertEqual(try s.file("clean.table.rc"), "0\n")
    }
}
