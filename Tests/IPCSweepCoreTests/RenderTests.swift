import Foundation
import XCTest
@testable import IPCSweepCore

/// Renderers on built classifications: exact text, so any change in the output is seen.
final class RenderTests: XCTestCase {
    let users = UserDirectory()
    let now: Double = 1_800_000_100

    func classification() -> Classification {
        let set = SemaphoreSet(id: 32769, perm: IPCPermissions(key: -559038737, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600),
                               nsems: 2, otime: 1_800_000_000, ctime: 1_799_990_000,
                               semaphores: [Semaphore(value: 1, pid: 4181, ncnt: 0, zcnt: 0),
                                            Semaphore(value: 0, pid: 0, ncnt: 0, zcnt: 0)])
        let evidence: [Evidence] = [
            .noPossibleHolder(access: AccessControl(set.perm), lastActivity: 1_800_000_000, scope: nil, exclusive: false,
                              inheritWindow: 5),
            .recordedPidExited(role: .sempid, pid: 4181),
        ]
        return Classification(object: .sem(set), verdict: Evidence.verdict(evidence), evidence: evidence,
                              reasons: EvidenceText(users: users).reasons(evidence))
    }

    func testJSONDocumentSnapshot() throws {
        let doc = ObjectDocument(objects: [classification()], users: users, scope: nil, warnings: [], source: "proc")
        let json = String(decoding: doc.bytes(pretty: false), as: UTF8.self)
        XCTAssertEqual(json, #"{"objects":[{"creator":{"uid":0,"user":"root"},"creatorGroup":{"gid":0,"group":"root"},"ctime":1799990000,"ctimeISO":"2027-01-15T05:13:20Z","detailError":null,"evidence":[{"exclusive":false,"kind":"no-possible-holder","lastActivity":1800000000,"scope":null},{"kind":"recorded-pid-exited","pid":4181,"role":"sempid"}],"group":{"gid":0,"group":"root"},"holders":[],"id":32769,"key":-559038737,"keyHex":"0xdeadbeef","lastActivity":1800000000,"lastActivityISO":"2027-01-15T08:00:00Z","mode":384,"nsems":2,"otime":1800000000,"otimeISO":"2027-01-15T08:00:00Z","owner":{"uid":0,"user":"root"},"perms":"0600","possibleHolders":[],"reasons":["no live process of uid 0 (root) existed at the last activity (2027-01-15T08:00:00Z) or may have inherited it since (re-parented within 5 s)","last operator pid 4181 exited"],"semaphores":[{"ncnt":0,"num":0,"pid":4181,"value":1,"zcnt":0},{"ncnt":0,"num":1,"pid":0,"value":0,"zcnt":0}],"type":"sem","verdict":"orphaned"}],"schemaVersion":1,"scope":null,"source":"proc","warnings":[]}"# + "\n")
    }

    func testUserWithoutPasswdEntryIsNullInJSON() throws {
        let made = classification()
        guard case .sem(var s) = made.object else { return XCTFail("the fixture is a semaphore set") }
        s.perm.uid = 4_242_424
        let c = Classification(object: .sem(s), verdict: made.verdict, evidence: made.evidence, reasons: made.reasons)
        let json = String(decoding: ObjectDocument(objects: [c], users: users, scope: nil, warnings: [], source: "x").bytes(),
                          as: UTF8.self)
        XCTAssertTrue(json.contains(#""owner":{"uid":4242424,"user":null}"#), json)
    }

    func testTableShrinksFlexibleColumnsButNeverTheId() {
        let t = Table(columns: [.init("ID", right: true), .init("REASON", flexible: true, minWidth: 6)],
                      rows: [[.init("123456"), .init("a very long reason that cannot fit")]])
        XCTAssertEqual(t.render(width: 20, headings: true, color: false),
                       "    ID  REASON\n123456  a very long\u{2026}\n")
        XCTAssertEqual(t.render(width: nil, headings: false, color: false),
                       "123456  a very long reason that cannot fit\n")
    }

    func testTableCellsShownAsTheyAreOnlyWhenPrintableASCIIWithoutBackslash() {
        // The boundaries of the one-pass check: space and "~" stay; a control, DEL, a backslash, a C1 control
        // and a bidi override are escaped, and the column is as wide as the escaped text; plain UTF-8 stays.
        let cells = [" ~", "a\u{1F}", "a\u{7F}", "a\\b", "a\u{9B}", "a\u{202E}b", "é", String(repeating: "x", count: 40)]
        let t = Table(columns: [.init("NAME"), .init("END")], rows: cells.map { [.init($0), .init("|")] })
        let shown = t.render(width: nil, headings: false, color: false).split(separator: "\n").map(String.init)
        let escaped = cells.map { TextEscape.escaped($0) }
        XCTAssertEqual(escaped[0], " ~")
        XCTAssertEqual(escaped[6], "é")
        for e in escaped.dropFirst().dropLast(2) { XCTAssertTrue(e.contains("\\"), e) }
        let width = escaped.map(\.count).max()!
        XCTAssertEqual(shown, escaped.map { $0 + String(repeating: " ", count: width - $0.count) + "  |" })
        // The same bytes at every offset of a long cell (read eight at a time): each is found wherever it is.
        let filler = String(repeating: "y", count: 23)
        for odd in ["\u{1F}", "\u{7F}", "\\", "\u{9B}", "é", "\u{0}"] {
            for at in 0...filler.count {
                var cell = filler
                cell.insert(contentsOf: odd, at: cell.index(cell.startIndex, offsetBy: at))
                XCTAssertNil(Table.plainCount(cell), "\(TextEscape.escaped(cell))")
            }
        }
        XCTAssertEqual(Table.plainCount(String(repeating: " ~}!0Az", count: 9)), 63)
        XCTAssertEqual(Table.plainCount(""), 0)
    }

    /// The check reads sixteen bytes a step, a tail in one overlapping block, a short text in two overlapping
    /// words or one padded word: at every length up to 40 and every offset, each unsafe byte is found (by the table
    /// and by the JSON writer, which also escapes '"'), and a text without one is shown or written as it is.
    func testUnsafeBytesFoundAtEveryLengthAndOffset() throws {
        for length in 0...40 {
            let filler = String(repeating: "y", count: length)
            XCTAssertEqual(Table.plainCount(filler), length)
            XCTAssertEqual(String(decoding: JSONValue.string(filler).document(pretty: false), as: UTF8.self), "\"\(filler)\"\n")
            for odd in ["\u{1F}", "\u{7F}", "\\", "\u{9B}", "é", "\u{0}", "\""] {
                for at in 0...length {
                    var cell = filler
                    cell.insert(contentsOf: odd, at: cell.index(cell.startIndex, offsetBy: at))
                    if odd == "\"" {
                        XCTAssertEqual(Table.plainCount(cell), length + 1, "a quote is shown as it is in a table")
                    } else {
                        XCTAssertNil(Table.plainCount(cell), "\(TextEscape.escaped(cell))")
                    }
                    let json = JSONValue.string(cell).document(pretty: false)
                    XCTAssertFalse(json.contains { $0 < 0x20 && $0 != 10 || $0 == 0x7F }, "\(TextEscape.escaped(cell))")
                    let back = try JSONSerialization.jsonObject(with: Data(json), options: .fragmentsAllowed) as? String
                    XCTAssertEqual(back, cell)
                    if odd == "\"" || odd == "\\" {
                        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\\" + odd), "\(TextEscape.escaped(cell))")
                    }
                }
            }
        }
    }

    /// An array made element by element as it is written (the audit's orphans) writes the bytes of the array it
    /// makes, compact and pretty, across many flushes of the writer's buffer, inside an object among other keys;
    /// and its elements are those of the items, in order.
    func testALazyArrayIsWrittenAsTheArrayItMakes() {
        let items = Array(0..<6000)
        @Sendable func element(_ i: Int) -> JSONValue {
            .object(["i": .int(Int64(i)), "s": .string(String(repeating: "x", count: i % 50)), "n": i % 7 == 0 ? .null : .array([.bool(true)])])
        }
        let eager = JSONValue.object(["b": .array(items.map(element)), "a": .int(1), "c": .array([])])
        let lazy = JSONValue.object(["b": .lazyArray(JSONLazyArray(items, element)), "a": .int(1), "c": .lazyArray(JSONLazyArray([Int](), element))])
        for pretty in [false, true] {
            let bytes = lazy.document(pretty: pretty)
            XCTAssertGreaterThan(bytes.count, 200_000, "more than one flush of the writer's buffer")
            XCTAssertEqual(bytes, eager.document(pretty: pretty), "pretty: \(pretty)")
        }
        XCTAssertEqual(JSONLazyArray(items, element).elements, items.map(element))
        XCTAssertEqual(JSONLazyArray(items, element), JSONLazyArray(items, element))
        XCTAssertNotEqual(JSONLazyArray(items, element), JSONLazyArray(Array(items.dropLast()), element))
    }

    /// An object given with its members in byte order (`JSONFields`, the audit's objects) writes the bytes the same
    /// members as a dictionary write (sorted by the writer), compact and pretty, nested and with a lazy array
    /// among them; members out of order are told apart (`sorted`), as the document test checks of the audit's.
    func testFieldsInByteOrderAreWrittenAsTheSortedObject() {
        let inner: JSONFields = ["command": .string("postgres"), "pid": .int(812), "uid": .int(111), "unit": .null]
        let members: JSONFields = [
            "Z": .int(0), "creator": .fields(["uid": .int(0), "user": .string("root")]), "ctime": .int(1), "ctimeISO": .string("é\u{1b}\""),
            "key": .int(-1), "keyHex": .string("0xffffffff"), "list": .lazyArray(JSONLazyArray([1, 2]) { .fields(["i": .int(Int64($0))]) }),
            "possibleHolders": .array([.fields(inner)]), "reason": .null, "reasons": .array([.string("a"), .bool(false)]),
            "sizeValue": .double(1.5),
        ]
        XCTAssertTrue(members.sorted)
        XCTAssertTrue(inner.sorted)
        XCTAssertFalse((["b": .int(1), "a": .int(2)] as JSONFields).sorted)
        XCTAssertFalse((["a": .int(1), "a": .int(2)] as JSONFields).sorted, "a key twice")
        func asObject(_ v: JSONValue) -> JSONValue {
            switch v {
            case .fields(let f): return .object(f.dictionary.mapValues(asObject))
            case .array(let a): return .array(a.map(asObject))
            case .lazyArray(let a): return .array(a.elements.map(asObject))
            default: return v
            }
        }
        let doc = JSONValue.fields(members)
        for pretty in [false, true] {
            XCTAssertEqual(String(decoding: doc.document(pretty: pretty), as: UTF8.self),
                           String(decoding: asObject(doc).document(pretty: pretty), as: UTF8.self), "pretty: \(pretty)")
        }
    }

    /// The output buffer the JSON writer and the table share grows when one piece is larger than all of it
    /// (a JSON string, a table cell of 200,000 bytes), keeping what was written before.
    func testOutputGrowsForAPieceLargerThanItsBuffer() {
        let big = String(repeating: "0123456789", count: 20_000)
        XCTAssertEqual(String(decoding: JSONValue.array([.string("a"), .string(big), .int(7)]).document(pretty: false), as: UTF8.self),
                       "[\"a\",\"\(big)\",7]\n")
        XCTAssertEqual(JSONStreamWriter.quoted(big), Array("\"\(big)\"".utf8))
        let table = Table(columns: [Table.Column("A"), Table.Column("B")], rows: [[.init("x"), .init(big)], [.init("y"), .init("z")]])
        XCTAssertEqual(table.render(width: nil, headings: true, color: false),
                       "A  B\n" + "x  " + big + "\n" + "y  z\n")
    }

    func testStringFromUTF8PiecesIsTheirConcatenation() {
        let pieces = ["removed (", "orphaned", ": ", "pid 4181 (\u{1b}[31mé\u{301}) exited — ok", "", ")"]
        XCTAssertEqual(String(utf8Pieces: pieces), pieces.joined())
        XCTAssertEqual(String(utf8Pieces: pieces, room: 100), pieces.joined())
        XCTAssertEqual(String(utf8Pieces: []), "")
        XCTAssertEqual(String(utf8Pieces: ["", ""], room: 8), "")
        let long = String(repeating: "x", count: 300)
        var grown = String(utf8Pieces: ["a", long], room: 10)
        grown += "; b"
        XCTAssertEqual(grown, "a" + long + "; b")
    }

    func testColourOnlyWhenAsked() {
        let t = Table(columns: [.init("VERDICT")], rows: [[.init("orphaned", color: VerdictColor.code(.orphaned))]])
        XCTAssertEqual(t.render(width: nil, headings: false, color: false), "orphaned\n")
        XCTAssertEqual(t.render(width: nil, headings: false, color: true), "\u{1B}[31;1morphaned\u{1B}[0m\n")
    }

    func testCSVQuotesAndKeepsFullValues() {
        let t = Table(columns: [.init("A"), .init("B")], rows: [[.init("x,y"), .init("say \"hi\"")]])
        XCTAssertEqual(t.csv(headings: true), "A,B\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n")
    }

    func table(_ columns: ColumnSelection, style: RenderContext.Style = .table(absoluteTimes: false),
               defaults: [String] = ObjectFields.orphansColumns, kinds: Set<IPCKind> = []) throws -> Table {
        let t = FieldTable(fields: ObjectFields.table.fields, defaultColumns: defaults, kindOf: { $0.object.kind })
        let chosen = try t.columns(columns, kinds: kinds, command: "list")
        return t.table([classification()],
                       columns: style == .csv ? chosen : ObjectFields.tableColumns(chosen, of: ObjectFields.table, for: [classification()], selection: columns) { ObjectFields.RowFact($0) },
                       context: RenderContext(users: users, now: now, style: style))
    }

    func testListTableRow() throws {
        XCTAssertEqual(try table(.defaults).render(width: nil, headings: true, color: false), """
            TYPE     ID  KEY         OWNER  PERMS    SIZE  LAST-ACTIVITY  PIDS  VERDICT   REASON
            sem   32769  0xdeadbeef  root   0600   2 sems  100 s ago      4181  orphaned  no live process of uid 0 (root) existed at the last activity (2027-01-15T08:00:00Z) or may have inherited it since (re-parented within 5 s)

            """)
        let csv = try table(.defaults, style: .csv, defaults: ObjectFields.table.defaultColumns)
        XCTAssertEqual(csv.csv(headings: false), "sem,32769,0xdeadbeef,root,0600,,2 sems,1800000000,4181,orphaned\r\n")
    }

    func testPermsAreThePermissionBitsAndSegmentFlagsAreAStatus() {
        XCTAssertEqual(IPCTextFormat.status(0o3600), "dest,locked")
        XCTAssertEqual(IPCTextFormat.status(0o2600), "locked")
        XCTAssertEqual(IPCTextFormat.status(0o600), "")
    }

    func testColumnsSelectAddAndAll() throws {
        XCTAssertEqual(try table(.only(["id", "nsems", "semaphores"])).render(width: nil, headings: true, color: false), """
               ID  NSEMS  SEMAPHORES
            32769      2  1/4181/0/0 0/0/0/0

            """)
        let added = try table(.adding(["otime"]), style: .csv, defaults: ["id"])
        XCTAssertEqual(added.csv(headings: true), "ID,OTIME\r\n32769,1800000000\r\n")
        let all = try table(.all, kinds: [.sem])
        XCTAssertEqual(all.columns.map(\.header), ObjectFields.table.fields.filter { $0.kinds.contains(.sem) }.map(\.header))
        XCTAssertFalse(all.columns.map(\.header).contains("NATTCH"))
    }

    func testColumnErrorsNameTheColumn() {
        XCTAssertThrowsError(try table(.only(["id", "bogus"]))) { e in
            XCTAssertTrue("\(e)".hasPrefix("--columns bogus: no such column for list; known columns: type, id,"), "\(e)")
        }
        XCTAssertThrowsError(try table(.only(["nattch"]), kinds: [.sem])) { e in
            XCTAssertEqual("\(e)", "--columns nattch: the column applies to shm only, not to sem (--type); drop it or add --type shm")
        }
        // A column of another kind in a mixed table prints "-" in the other kinds' rows.
        XCTAssertEqual(try table(.only(["id", "nattch"])).csv(headings: false), "32769,-\r\n")
    }

    func testColumnSelectionParsing() {
        XCTAssertEqual(ColumnSelection(parsing: "id,verdict"), .only(["id", "verdict"]))
        XCTAssertEqual(ColumnSelection(parsing: "+Nsems, otime"), .adding(["nsems", "otime"]))
        XCTAssertEqual(ColumnSelection(parsing: "ALL"), .all)
        XCTAssertNil(ColumnSelection(parsing: ""))
        XCTAssertNil(ColumnSelection(parsing: "id,,verdict"))
        XCTAssertNil(ColumnSelection(parsing: "+"))
    }

    /// Every field has a unique name and header, help, and JSON keys unique across the table.
    func testFieldTablesAreConsistent() {
        for t in [ObjectFields.table.fields.map { ($0.name, $0.header, $0.help, $0.jsonKeys.map { "\($0)" }) },
                  CleanFields.table.fields.map { ($0.name, $0.header, $0.help, $0.jsonKeys.map { "\($0)" }) }] {
            XCTAssertEqual(Set(t.map(\.0)).count, t.count)
            XCTAssertEqual(Set(t.map(\.1)).count, t.count)
            XCTAssertFalse(t.contains { $0.2.isEmpty })
            let keys = t.flatMap(\.3)
            XCTAssertEqual(Set(keys).count, keys.count)
        }
    }

    func testOptionValues() {
        XCTAssertEqual(TimeSpan(parsing: "15m")?.seconds, 900)
        XCTAssertNil(TimeSpan(parsing: "soon"))
        XCTAssertEqual(TimeSpan(seconds: 10).description, "10s")
        XCTAssertEqual(Percentage(parsing: "80.5 %")?.fraction ?? 0, 0.805, accuracy: 1e-9)
        XCTAssertNil(Percentage(parsing: "0"))
        XCTAssertNil(Percentage(parsing: "101"))
        XCTAssertEqual(Percentage(fraction: 0.95).description, "95")
        XCTAssertEqual(IPCKey(parsing: "0xdeadbeef")?.value, -559_038_737)
        XCTAssertNil(IPCKey(parsing: "0xzz"))
    }

    func testModeStringWithShmFlags() {
        XCTAssertEqual(IPCTextFormat.modeString(0o1640), "rw-r----- dest")
        XCTAssertEqual(IPCTextFormat.modeString(0o2666), "rw-rw-rw- locked")
        XCTAssertEqual(IPCTextFormat.octal(0o600), "0600")
        XCTAssertEqual(IPCTextFormat.octal(0), "0000")
        XCTAssertEqual(IPCTextFormat.octal(0o7777), "7777")
        XCTAssertEqual(IPCTextFormat.octal(0o10644), "10644")
        XCTAssertEqual(IPCTextFormat.hexKey(0), "0x00000000")
    }

    /// Numbers in cells written in place, with their unit: the same text as String(v) and the unit.
    func testDecimalCellsAtEveryDigitCount() {
        var values: [Int64] = [0, 1, 9, Int64.max, Int64.min]
        var p: Int64 = 10
        while p <= Int64.max / 10 {
            values += [p - 1, p, -p, -(p - 1)]
            p *= 10
        }
        for v in values {
            XCTAssertEqual(IPCTextFormat.decimal(v), String(v))
            XCTAssertEqual(IPCTextFormat.decimal(v, " sems"), String(v) + " sems")
        }
        let set = { (n: Int) in IPCObject.sem(SemaphoreSet(id: 1, perm: IPCPermissions(key: 0, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600), nsems: n, otime: 0, ctime: 0)) }
        XCTAssertEqual(set(1).sizeSummary, "1 sem")
        XCTAssertEqual(set(250).sizeSummary, "250 sems")
    }
}
