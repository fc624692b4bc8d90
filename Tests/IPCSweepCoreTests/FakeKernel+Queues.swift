import CSysVIPC
import Foundation
import SystemPackage
@testable import IPCSweepCore

/// The POSIX message queue calls of `FakeKernel`: a queue is a file of kind `.queue` with its messages.
extension FakeKernel {
    func mqGetAttributes(_ fd: Int32) -> Result<MQAttributes, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path, let f = files[p], f.kind == .queue else { return .failure(.badFileDescriptor) }
            if let e = failing("mq_getattr", p) { return .failure(e) }
            return .success(MQAttributes(maxMessages: f.maxMessages, messageSize: f.messageSize, currentMessages: f.queued.count))
        }
    }

    func mqReceiveNow(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<(length: Int, priority: UInt32), Errno> {
        lock.withLock {
            guard let p = open[fd]?.path, var f = files[p], f.kind == .queue else { return .failure(.badFileDescriptor) }
            if let e = failing("mq_receive", p) { return .failure(e) }
            guard !f.queued.isEmpty else { return .failure(.resourceTemporarilyUnavailable) }
            let m = f.queued.removeFirst()
            guard m.bytes.count <= buffer.count else { return .failure(.messageTooLong) }
            buffer.copyBytes(from: m.bytes)
            files[p] = f
            calls.append("mq_receive \(p)")
            return .success((m.bytes.count, UInt32(m.type)))
        }
    }

    func mqSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, priority: UInt32) -> Result<Void, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path, var f = files[p], f.kind == .queue else { return .failure(.badFileDescriptor) }
            if let e = failing("mq_send", p) { return .failure(e) }
            guard f.queued.count < f.maxMessages else { return .failure(.resourceTemporarilyUnavailable) }
            let m = QueuedMessage(type: Int(priority), bytes: Array(bytes))
            let at = f.queued.firstIndex { $0.type < m.type } ?? f.queued.count
            f.queued.insert(m, at: at)
            files[p] = f
            calls.append("mq_send \(p)")
            return .success(())
        }
    }

    func mqOpen(_ name: String, _ flags: Int32, _ mode: mode_t, _ attributes: MQAttributes?) -> Result<Int32, Errno> {
        lock.withLock {
            let p = "/dev/mqueue" + name
            if let e = failing("mq_open", p) { return .failure(e) }
            if files[p] != nil, flags & O_EXCL != 0 { return .failure(.fileExists) }
            if files[p] == nil {
                guard flags & O_CREAT != 0 else { return .failure(.noSuchFileOrDirectory) }
                nextInode += 1
                var f = File(kind: .queue, mode: UInt32(mode), inode: nextInode)
                if let a = attributes {
                    f.maxMessages = a.maxMessages
                    f.messageSize = a.messageSize
                }
                files[p] = f
                calls.append("mq_open \(p)")
            }
            nextFD += 1
            open[nextFD] = (p, 0)
            return .success(nextFD)
        }
    }

    func mqUnlink(_ name: String) -> Result<Void, Errno> {
        lock.withLock {
            guard files.removeValue(forKey: "/dev/mqueue" + name) != nil else { return .failure(.noSuchFileOrDirectory) }
            calls.append("mq_unlink /dev/mqueue\(name)")
            return .success(())
        }
    }
}
