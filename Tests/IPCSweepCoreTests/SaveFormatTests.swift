import Foundation
import XCTest

@testable import IPCSweepCore

/// Save format version 3 (extents and holes, checksums over the file and over the logical content), read as a
/// stream; versions 1 and 2 still read; every malformed file refused by name.
final class SaveFormatTests: XCTestCase {
    func testCRC32SlicingMatchesBytewiseAtEveryLengthAndAlignment() {
        let data = pseudoRandomBytes(300, seed: 7)
        func bytewise(_ b: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b {
                c ^= UInt32(x)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return c ^ 0xFFFF_FFFF
        }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                XCTAssertEqual(CRC32.checksum(data[start..<end]), bytewise(data[start..<end]), "\(start)..<\(end)")
            }
        }
    }

    func testZerosAndCombineEqualHashingTheBytes() {
        for n in [0, 1, 7, 8, 4096, 65_537, 1 << 20] {
            var a = CRC32()
            a.update(Array("prefix".utf8))
            var b = a
            a.update([UInt8](repeating: 0, count: n))
            b.appendZeros(UInt64(n))
            XCTAssertEqual(a.value, b.value, "\(n) zeros")
        }
        let x = pseudoRandomBytes(1000, seed: 3), y = pseudoRandomBytes(777, seed: 9)
        var whole = CRC32()
        whole.update(x + y)
        var first = CRC32()
        first.update(x)
        var second = CRC32()
        second.update(y)
        first.append(second, length: UInt64(y.count))
        XCTAssertEqual(first.value, whole.value)
        // A terabyte of zeros costs a few dozen multiplications, not a terabyte of hashing.
        var big = CRC32()
        big.appendZeros(1 << 40)
        var twoHalves = CRC32()
        twoHalves.appendZeros(1 << 39)
        twoHalves.appendZeros(1 << 39)
        XCTAssertEqual(big.value, twoHalves.value)
    }

    /// A v3 file of a sparse object through the encoder (as ObjectSaver writes it).
    func encodeSparse(size: Int64, extents: [(Int64, [UInt8])], header extra: [(String, String)] = []) throws -> [UInt8] {
        var e = SaveEncoder(output: ArraySaveOutput())
        let data = extents.reduce(0) { $0 + $1.1.count }
        try e.begin([("type", "shm"), ("size", String(size))] + extra + [("data-bytes", String(data)), ("extents", String(extents.count))])
        var pos: Int64 = 0
        for (offset, bytes) in extents {
            if offset > pos { try e.hole(at: pos, length: offset - pos) }
            try e.beginExtent(at: offset, length: Int64(bytes.count))
            try e.data(bytes)
            try e.endExtent()
            pos = offset + Int64(bytes.count)
        }
        if pos < size { try e.hole(at: pos, length: size - pos) }
        try e.finish()
        return e.output.bytes
    }

    /// What a reader hands a sink, in order.
    struct Recorder: SaveContentSink {
        var events: [String] = []
        var messages: [QueuedMessage] = []
        mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {
            messages.append(QueuedMessage(type: type, bytes: Array(bytes)))
        }
        mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws { events.append("data \(offset) \(bytes.count)") }
        mutating func hole(at offset: Int64, length: Int64) throws { events.append("hole \(offset) \(length)") }
    }

    func read(_ bytes: [UInt8], bufferSize: Int = 1 << 20) throws -> (SaveSummary, Recorder) {
        var r = Recorder()
        let s = try SaveReader(MemorySaveInput(bytes), bufferSize: bufferSize).read(into: &r)
        return (s, r)
    }

    func testSparseRoundTripRecordsHolesAndChecksumsTheLogicalContent() throws {
        let a = pseudoRandomBytes(5000, seed: 1), b = Array("end\nhole 0 1\n".utf8)
        let bytes = try encodeSparse(size: 1 << 30, extents: [(8192, a), (1 << 29, b)])
        XCTAssertLessThan(bytes.count, 6000, "a 1 GiB object with 5 KiB of data saves in a few KiB")
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\nhole 0 8192\nextent 8192 5000\n"), text)
        let (s, r) = try read(bytes, bufferSize: 8192)
        XCTAssertEqual(s.version, 3)
        XCTAssertEqual(s.size, 1 << 30)
        XCTAssertEqual(s.dataBytes, 5013)
        XCTAssertEqual(s.extents, 2)
        XCTAssertEqual(r.events.first, "hole 0 8192")
        XCTAssertEqual(r.events.last, "hole \((1 << 29) + 13) \((1 << 30) - (1 << 29) - 13)")
        // The content checksum is that of the logical bytes, holes as zeros.
        var logical = CRC32()
        logical.appendZeros(8192)
        logical.update(a)
        logical.appendZeros(UInt64((1 << 29) - 8192 - 5000))
        logical.update(b)
        logical.appendZeros(UInt64((1 << 30) - (1 << 29) - 13))
        XCTAssertEqual(s.content, logical.value)
        XCTAssertTrue(text.contains("content crc32 \(logical.hex)\n"), text)
    }

    func testVersionsOneTwoAndThreeAllRead() throws {
        let v1 = Array("IPCSWEEP-SAVE 1\ntype shm\nsize 3\n\ndata 3\nabc\nend\n".utf8)
        XCTAssertEqual(try read(v1).0.version, 1)
        XCTAssertEqual(try SaveFile.parse(v1).data, Array("abc".utf8))
        var v2 = Array("IPCSWEEP-SAVE 2\ntype shm\nsize 3\n\ndata 3\nabc\nend\n".utf8)
        v2 += Array("checksum crc32 \(String(format: "%08x", CRC32.checksum(v2)))\n".utf8)
        let (s2, _) = try read(v2)
        XCTAssertEqual(s2.version, 2)
        XCTAssertEqual(s2.size, 3)
        let v3 = try encodeSparse(size: 3, extents: [(0, Array("abc".utf8))])
        let (s3, _) = try read(v3)
        XCTAssertEqual(s3.version, 3)
        XCTAssertEqual(s3.content, s2.content, "the same content has the same checksum whatever the version")
        XCTAssertEqual(s2.content, CRC32.checksum(Array("abc".utf8)))
    }

    func testDenseDataOfOldVersionsLeavesAllZeroPagesAsHoles() throws {
        var page = [UInt8](repeating: 0, count: 3 * 4096 + 100)
        page[4096 + 5] = 1
        var v1 = Array("IPCSWEEP-SAVE 1\ntype shm\nsize \(page.count)\n\ndata \(page.count)\n".utf8)
        v1 += page + Array("\nend\n".utf8)
        let (s, r) = try read(v1)
        XCTAssertEqual(r.events, ["hole 0 4096", "data 4096 4096", "hole 8192 4096", "data 12288 100"])
        XCTAssertEqual(s.dataBytes, 4196)
        XCTAssertEqual(s.extents, 2)
        XCTAssertEqual(s.content, CRC32.checksum(page))
        // Read through a small buffer, pages straddle the reads (the header shifts them): still whole pages.
        var big = [UInt8](repeating: 0, count: 64 * 4096)
        big[40 * 4096 + 7] = 9
        var v2 = Array("IPCSWEEP-SAVE 1\ntype shm\nsize \(big.count)\n\ndata \(big.count)\n".utf8)
        v2 += big + Array("\nend\n".utf8)
        let (s2, r2) = try read(v2, bufferSize: 8192)
        XCTAssertEqual(s2.dataBytes, 4096, "\(r2.events.filter { $0.hasPrefix("data") })")
        XCTAssertEqual(r2.events.filter { $0.hasPrefix("data") }, ["data \(40 * 4096) 4096"])
        XCTAssertEqual(r2.events.count, 64)
    }

    func testMessagesKeepTheirBytesAndOrderAndTheirContentChecksumIsTheRecords() throws {
        let msgs = [QueuedMessage(type: 5, bytes: Array("end\nmessage 1 2\n".utf8)), QueuedMessage(type: 1, bytes: []),
                    QueuedMessage(type: 3, bytes: pseudoRandomBytes(70_000, seed: 2))]
        let bytes = SaveFormat.encodeMessages(header: [("type", "msg"), ("messages", "3"), ("bytes", "70016")], msgs)
        let (s, r) = try read(bytes, bufferSize: 8192)
        XCTAssertEqual(r.messages, msgs)
        XCTAssertEqual(s.messages, 3)
        XCTAssertEqual(s.largestMessage, .init(index: 2, value: 70_000))
        XCTAssertEqual(s.lowestType, .init(index: 1, value: 1))
        XCTAssertEqual(s.content, ContentChecksum.of(messages: msgs))
        XCTAssertNil(s.size)
    }

    func testMalformedFilesAreRefusedByName() throws {
        let good = try encodeSparse(size: 10000, extents: [(4096, pseudoRandomBytes(100, seed: 4))])
        let text = String(decoding: good, as: UTF8.self)
        func refused(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try read(bytes), file: file, line: line) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e)", file: file, line: line)
            }
        }
        // Cut anywhere: truncated.
        for cut in [0, 10, 40, good.count / 2, good.count - 30, good.count - 1] {
            XCTAssertThrowsError(try read(Array(good.prefix(cut))), "cut at \(cut)")
        }
        refused(good + [10], "after its last line")
        refused(Array("IPCSWEEP-SAVE 4\n".utf8), "newer than this ipcsweep reads (3)")
        refused(Array("IPCSWEEP-SAVE 03\n".utf8), "not an ipcsweep save file")
        refused(Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 65, count: 100), "not an ipcsweep save file")
        refused(Array("IPCSWEEP-SAVE 3\n".utf8) + [UInt8](repeating: 65, count: 10000), "longer than 4096 bytes")
        // Records that do not tile the content: a gap, an overlap, beyond the size, zero length, non-canonical numbers.
        func withBody(_ body: String, size: Int = 10) -> [UInt8] {
            var b = Array("IPCSWEEP-SAVE 3\ntype shm\nsize \(size)\n\n\(body)end\n".utf8)
            let content = CRC32.checksum([UInt8](repeating: 0, count: size))
            b += Array("content crc32 \(String(format: "%08x", content))\n".utf8)
            return b + Array("checksum crc32 \(String(format: "%08x", CRC32.checksum(b)))\n".utf8)
        }
        XCTAssertNoThrow(try read(withBody("hole 0 10\n")))
        refused(withBody("hole 0 4\nhole 5 5\n"), "does not continue the content at offset 4")
        refused(withBody("hole 0 6\nhole 4 6\n"), "does not continue the content at offset 6")
        refused(withBody("hole 0 11\n"), "within its size 10")
        refused(withBody("hole 0 0\nhole 0 10\n"), "malformed record")
        refused(withBody("hole 00 10\n"), "malformed record")
        refused(withBody("hole 0 5\n"), "its records end at offset 5, its header says size 10")
        refused(withBody("message 1 1\nx\nhole 0 10\n"), "both messages and data")
        refused(withBody("data 10\n\0\0\0\0\0\0\0\0\0\0\n"), "unexpected line")
        // A damaged byte in the data: the checksums catch it.
        var damaged = good
        let at = try XCTUnwrap(text.range(of: "extent 4096 100\n")).upperBound.utf16Offset(in: text) + 10
        damaged[at] ^= 0x40
        refused(damaged, "checksum does not match")
        // Header counts must agree with the body.
        let lying = try encodeSparse(size: 10000, extents: [(0, [1])], header: [("extents", "7")])
        XCTAssertThrowsError(try read(lying))
    }

    func testDocumentedVersion3ExampleParses() throws {
        // docs/clean.md, byte for byte (its checksums computed with zlib).
        let text = "IPCSWEEP-SAVE 3\ntype shm\nid 32769\nkey 0x0000abce\nowner 33\ngroup 33\ncreator 33\ncreator-group 33\nmode 0600\nctime 1700000000\nsaved 1700000100\nsize 12288\nipc-namespace 4026531839\ndata-bytes 6\nextents 1\n\nhole 0 4096\nextent 4096 6\nhello!\nhole 4102 8186\nend\ncontent crc32 84906756\nchecksum crc32 512bf957\n"
        let f = try SaveFile.parse(Array(text.utf8))
        XCTAssertEqual(f.data, [UInt8](repeating: 0, count: 4096) + Array("hello!".utf8) + [UInt8](repeating: 0, count: 8186))
        XCTAssertEqual(f.value("ipc-namespace"), "4026531839")
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/clean.md"), encoding: .utf8)
        XCTAssertTrue(doc.contains("content crc32 84906756") && doc.contains("checksum crc32 512bf957"), "docs/clean.md shows this example")
    }

    func testAHugeClaimedMessageIsRefusedWithoutAllocatingIt() throws {
        var b = Array("IPCSWEEP-SAVE 3\ntype msg\n\nmessage 1 9000000000\n".utf8)
        b += [UInt8](repeating: 0, count: 100)
        XCTAssertThrowsError(try read(b)) { e in XCTAssertTrue("\(e)".contains("more than a save holds"), "\(e)") }
    }
}
