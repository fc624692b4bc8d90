/// One line of /proc/PID/mountinfo, as every reader of it needs it: the POSIX scanner and the restorer (which
/// filesystem holds /dev/shm and the mqueue mount) and the visibility probe (procfs's `hidepid=`).
///
/// Line: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`, e.g.
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`. The mount point has space,
/// tab, newline and backslash escaped as octal (`\040`).
public struct MountInfoLine: Sendable, Equatable {
    /// Field 5, unescaped.
    public var mountPoint: String
    /// The first field after the `-` (tmpfs, mqueue, proc).
    public var fsType: String
    /// st_dev of the mount's root, from MAJ:MIN (nil when that field is not two decimal numbers).
    public var device: UInt64?
    /// The third field after the `-` (nil when the line ends before it).
    public var superOptions: String?

    /// Every well-formed line of a mountinfo text, in its order (later lines are mounted on top of earlier
    /// ones); lines with fewer than six fields before the `-`, or nothing after it, are skipped. Pure; one pass
    /// over the bytes (a host with thousands of mounts has a mountinfo of a few MiB).
    public static func parse(_ text: String) -> [MountInfoLine] {
        var text = text
        return text.withUTF8 { bytes in
            var out: [MountInfoLine] = []
            var fields: [Range<Int>] = []
            var start = 0
            while start < bytes.count {
                let end = bytes.lineEnd(from: start)
                fields.removeAll(keepingCapacity: true)
                var i = start
                while i < end {
                    while i < end && bytes[i] == 0x20 { i += 1 }
                    let f = i
                    while i < end && bytes[i] != 0x20 { i += 1 }
                    if i > f { fields.append(f..<i) }
                }
                if let line = line(bytes, fields) { out.append(line) }
                start = end + 1
            }
            return out
        }
    }

    private static func line(_ bytes: UnsafeBufferPointer<UInt8>, _ f: [Range<Int>]) -> MountInfoLine? {
        // The separator comes after the six fixed fields (a root or mount point may be a "-" too).
        guard f.count >= 8, let dash = f[6...].firstIndex(where: { $0.count == 1 && bytes[$0.lowerBound] == UInt8(ascii: "-") }),
              dash + 1 < f.count else { return nil }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
        return MountInfoLine(mountPoint: unescape(UnsafeBufferPointer(rebasing: bytes[f[4]])), fsType: text(f[dash + 1]),
                             device: device(UnsafeBufferPointer(rebasing: bytes[f[2]])),
                             superOptions: dash + 3 < f.count ? text(f[dash + 3]) : nil)
    }

    /// MAJ:MIN as glibc's makedev encodes it.
    private static func device(_ field: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")),
              let major = UnsafeBufferPointer(rebasing: field[..<colon]).decimalValue,
              let minor = UnsafeBufferPointer(rebasing: field[(colon + 1)...]).decimalValue else { return nil }
        return DeviceInode(major: major, minor: minor, inode: 0).device
    }

    /// `\040` → space: a backslash and three octal digits (at most \377) is that byte; anything else stays.
    static func unescape(_ field: UnsafeBufferPointer<UInt8>) -> String {
        guard field.contains(UInt8(ascii: "\\")) else { return String(decoding: field, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var i = 0
        while i < field.count {
            if field[i] == UInt8(ascii: "\\"), i + 4 <= field.count,
               let v = octalByte(field[i + 1], field[i + 2], field[i + 3]) {
                out.append(v)
                i += 4
            } else {
                out.append(field[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func octalByte(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8? {
        let zero = UInt8(ascii: "0")
        guard (zero...zero + 3).contains(a), (zero...zero + 7).contains(b), (zero...zero + 7).contains(c) else { return nil }
        return (a - zero) << 6 | (b - zero) << 3 | (c - zero)
    }
}
