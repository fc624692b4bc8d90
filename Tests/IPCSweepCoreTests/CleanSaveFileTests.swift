import XCTest

@testable import IPCSweepCore

/// The --save-to file format and the atomic writer; the lock file.
final class CleanSaveFileTests: XCTestCase {
    func testMessagesRoundTripWithBinaryPayloads() throws {
        let o = CleanFixtures.msg(32768, qnum: 2, cbytes: 16)
        let msgs = [QueuedMessage(type: Int.max, bytes: Array("end\nmessage 1 2\n".utf8)), QueuedMessage(type: 1, bytes: [])]
        let bytes = SaveFile.encodeMessages(header: SaveFile.header(for: o, savedAt: 5), msgs)
        let parsed = try SaveFile.parse(bytes)
        XCTAssertEqual(parsed.messages, msgs)
        XCTAssertEqual(parsed.value("saved"), "5")
        XCTAssertEqual(parsed.value("mode"), "0600")
        XCTAssertTrue(String(decoding: bytes.prefix(16), as: UTF8.self).hasPrefix(SaveFile.magic + "\n"))
    }

    func testDocumentedExampleParses() throws {
        let text = "IPCSWEEP-SAVE 1\ntype msg\nid 3\nmessages 2\n\nmessage 1 5\nhello\nmessage 7 6\nworld!\nend\n"
        let f = try SaveFile.parse(Array(text.utf8))
        XCTAssertEqual(f.messages, [QueuedMessage(type: 1, bytes: Array("hello".utf8)), QueuedMessage(type: 7, bytes: Array("world!".utf8))])
    }

    func testTruncatedFilesAreRejected() {
        let good = SaveFile.encodeMessages(header: [("type", "msg")], [QueuedMessage(type: 1, bytes: [1, 2, 3])])
        for cut in [5, 20, good.count - 6, good.count - 1] {
            XCTAssertThrowsError(try SaveFile.parse(Array(good.prefix(cut))), "cut at \(cut)")
        }
        XCTAssertThrowsError(try SaveFile.parse(Array("something else\n".utf8)))
    }

    func testCRC32IsZlibs() {
        // The standard check value of CRC-32/ISO-HDLC (zlib.crc32(b"123456789")).
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
    }

    func testVersion3EndsWithChecksumsThatCatchEveryDamagedByte() throws {
        let good = SaveFile.encodeMessages(header: [("type", "msg"), ("messages", "2"), ("bytes", "4")],
                                           [QueuedMessage(type: 1, bytes: [0, 10, 255]), QueuedMessage(type: 9, bytes: [7])])
        let text = String(decoding: good, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("IPCSWEEP-SAVE 3\n"), text)
        let lines = text.split(separator: "\n")
        let trailer = try XCTUnwrap(lines.last)
        XCTAssertTrue(trailer.hasPrefix("checksum crc32 "), text)
        XCTAssertTrue(lines[lines.count - 2].hasPrefix("content crc32 "), text)
        XCTAssertEqual(try SaveFile.parse(good).version, 3)
        // Flip each byte of the covered part in turn: every one is caught.
        let covered = good.count - trailer.utf8.count - 1
        for i in 0..<covered {
            var bad = good
            bad[i] ^= 0x20
            XCTAssertThrowsError(try SaveFile.parse(bad), "flipped byte \(i)")
        }
        var damaged = good
        damaged[30] ^= 1
        XCTAssertThrowsError(try SaveFile.parse(damaged)) { e in
            XCTAssertTrue("\(e)".contains("checksum does not match") || "\(e)".contains("not an ipcsweep save file"), "\(e)")
        }
    }

    func testVersion2ChecksumStillCatchesDamage() throws {
        // docs/clean.md's version 2 example: still read, and still checked.
        let text = "IPCSWEEP-SAVE 2\ntype msg\nid 32768\nkey 0x0000abcd\nowner 33\ngroup 33\ncreator 0\ncreator-group 0\nmode 0600\nctime 1700000000\nsaved 1700000100\nmessages 2\nbytes 11\nqbytes 16384\n\nmessage 1 5\nhello\nmessage 7 6\nworld!\nend\nchecksum crc32 54cf1cbf\n"
        let good = Array(text.utf8)
        for i in 0..<(good.count - 24) {
            var bad = good
            bad[i] ^= 0x20
            XCTAssertThrowsError(try SaveFile.parse(bad), "flipped byte \(i)")
        }
    }

    func testDocumentedVersion2ExampleParses() throws {
        // docs/clean.md, byte for byte (its checksum computed with zlib).
        let text = "IPCSWEEP-SAVE 2\ntype msg\nid 32768\nkey 0x0000abcd\nowner 33\ngroup 33\ncreator 0\ncreator-group 0\nmode 0600\nctime 1700000000\nsaved 1700000100\nmessages 2\nbytes 11\nqbytes 16384\n\nmessage 1 5\nhello\nmessage 7 6\nworld!\nend\nchecksum crc32 54cf1cbf\n"
        let f = try SaveFile.parse(Array(text.utf8))
        XCTAssertEqual(f.messages.map(\.type), [1, 7])
        XCTAssertEqual(f.value("qbytes"), "16384")
    }

    func testVersion1IsStillReadAndCountsMustAgree() throws {
        let v1 = "IPCSWEEP-SAVE 1\ntype shm\nsize 3\n\ndata 3\nabc\nend\n"
        let f = try SaveFile.parse(Array(v1.utf8))
        XCTAssertEqual(f.version, 1)
        XCTAssertEqual(f.data, Array("abc".utf8))
        XCTAssertThrowsError(try SaveFile.parse(Array(v1.replacingOccurrences(of: "size 3", with: "size 4").utf8)))
        XCTAssertThrowsError(try SaveFile.parse(Array("IPCSWEEP-SAVE 7\n".utf8))) { e in
            XCTAssertTrue("\(e)".contains("newer"), "\(e)")
        }
    }

    func testSegmentEncoderAndParserAgree() throws {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var e = SaveEncoder(output: ArraySaveOutput())
        try e.begin([("type", "shm"), ("size", "9000")])
        try e.hole(at: 0, length: 4000)
        try e.beginExtent(at: 4000, length: 5000)
        try e.data(data)
        try e.endExtent()
        try e.finish()
        let f = try SaveFile.parse(e.output.bytes)
        XCTAssertEqual(f.data, [UInt8](repeating: 0, count: 4000) + data)
        XCTAssertEqual(f.version, 3)
    }

    func testFileNameIdentifiesTheObjectGeneration() {
        XCTAssertEqual(SaveFile.fileName(for: CleanFixtures.shm(12)), "shm-12-0x00000055-900.ipcsweep")
    }

    func testAtomicWriterLeavesNothingBehindWhenAbandoned() throws {
        let dir = NSTemporaryDirectory() + "ipcsweep-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let w = try AtomicFileWriter(path: dir + "/a")
            try w.write([1, 2, 3])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        let w = try AtomicFileWriter(path: dir + "/b")
        try w.write([4, 5])
        try w.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["b"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/b"), Data([4, 5]))
    }

    func testSecondLockerWaitsBoundedlyAndNamesTheHolder() throws {
        let path = NSTemporaryDirectory() + "ipcsweep-lock-\(UUID().uuidString)"
        defer { unlink(path) }
        let first = try CleanLock.acquire(paths: [path], wait: 1)
        let start = Date()
        XCTAssertThrowsError(try CleanLock.acquire(paths: [path], wait: 0.2)) { e in
            XCTAssertTrue("\(e)".contains("held by pid \(getpid())"), "\(e)")
            XCTAssertTrue("\(e)".contains("--lock-wait"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        first.release()
        let second = try CleanLock.acquire(paths: [path], wait: 0.2)
        XCTAssertThrowsError(try CleanLock.acquire(paths: ["/nonexistent-dir/x.lock"], wait: 0)) { e in
            XCTAssertTrue("\(e)".contains("--lock-file"), "\(e)")
        }
        XCTAssertThrowsError(try CleanLock.acquire(paths: [path], wait: 5, stop: { "SIGTERM from pid 1 (uid 0)" })) { e in
            XCTAssertTrue("\(e)".contains("stopped by SIGTERM"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "a signal ends the wait at once")
        second.release()
    }
}
