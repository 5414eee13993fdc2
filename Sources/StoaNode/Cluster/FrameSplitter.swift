import NIOCore

/// Splits a TCP stream into frames prefixed by a 4-byte big-endian length. The largest frame
/// allowed is given with each call (a gossip connection allows more once it authenticated), and
/// a length over it is refused as soon as its 4 bytes are in, before the frame is buffered.
///
/// What it holds (``bufferedBytes``) is the incomplete frame only: complete frames are handed
/// out by ``next(maxFrameBytes:)``.
struct FrameSplitter {
    struct FrameTooLarge: Error, Equatable {
        let length: Int
        let limit: Int
    }

    private var buffer: ByteBuffer?

    /// Bytes held of the frame not yet complete (header included).
    var bufferedBytes: Int { buffer?.readableBytes ?? 0 }

    mutating func append(_ bytes: ByteBuffer) {
        if var held = buffer, held.readableBytes > 0 {
            buffer = nil   // one reference left: the write below does not copy what is held
            var bytes = bytes
            held.writeBuffer(&bytes)
            buffer = held
        } else {
            buffer = bytes
        }
    }

    /// The next complete frame (its payload, without the length), or nil when it has not
    /// arrived whole yet.
    mutating func next(maxFrameBytes: Int) throws(FrameTooLarge) -> ByteBuffer? {
        guard var held = buffer, let length = held.getInteger(at: held.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maxFrameBytes else { throw FrameTooLarge(length: Int(length), limit: maxFrameBytes) }
        guard held.readableBytes >= 4 + Int(length) else { return nil }
        buffer = nil
        held.moveReaderIndex(forwardBy: 4)
        let frame = held.readSlice(length: Int(length))
        // Nothing left: let go of the storage (the frame keeps what it needs).
        buffer = held.readableBytes > 0 ? held : nil
        return frame
    }
}
