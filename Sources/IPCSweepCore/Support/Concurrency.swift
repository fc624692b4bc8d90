import CSysVIPC
import Synchronization

/// A value behind a `Synchronization.Mutex`: the one lock of the program. `Sendable` because the mutex is, so the
/// compiler checks every sharing of what it guards.
///
/// ThreadSanitizer does not see the mutex on Linux (it parks on a raw futex, in a library that is not
/// instrumented), so every section tells it about the lock: acquire after locking, release before unlocking. Without
/// that, a `--sanitize=thread` build reports every access to a guarded value as a race.
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    public func withLock<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock { value in
            let address = Unmanaged.passUnretained(self).toOpaque()
            cipc_tsan_acquire(address)
            defer { cipc_tsan_release(address) }
            return try body(&value)
        }
    }

    /// `withLock` when the lock is free now; nil (and `body` not run) when another thread holds it.
    public func withLockIfAvailable<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result? {
        try mutex.withLockIfAvailable { value in
            let address = Unmanaged.passUnretained(self).toOpaque()
            cipc_tsan_acquire(address)
            defer { cipc_tsan_release(address) }
            return try body(&value)
        }
    }
}

/// A buffer written at distinct indexes by concurrent workers (`DispatchQueue.concurrentPerform`), each index by
/// exactly one of them, and read only after they all returned.
///
/// `@unchecked Sendable`: the compiler cannot see that the workers' index ranges are disjoint; every use writes
/// `buffer[i]` only for the `i` of its own chunk, and the owner reads the buffer after `concurrentPerform`
/// returned (which orders the writes before the reads).
struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// Work that must run exactly once, from whichever thread gets to it first.
final class OnceWork<Argument>: Sendable {
    private let work: @Sendable (Argument) -> Void
    private let done = Locked(false)

    init(_ work: @escaping @Sendable (Argument) -> Void) { self.work = work }

    /// Runs the work with `argument`, unless it ran already.
    func run(_ argument: Argument) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first { work(argument) }
    }
}

/// A value one thread sets and another reads after a synchronisation point (a semaphore, a group), behind a
/// mutex so that the compiler checks the sharing.
final class SharedSlot<Value: Sendable>: Sendable {
    private let slot: Locked<Value>

    init(_ value: Value) { slot = Locked(value) }

    var value: Value {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
