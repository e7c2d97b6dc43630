import CFUSE
import Glibc
import H5FS

extension Dispatcher {
    /// More pieces than this are copied into one buffer instead (writev takes at most
    /// IOV_MAX = 1024 vectors, and libfuse adds its header's).
    static let maximumReplyPieces = 256

    /// Replies to READ straight from the filesystem's memory (one writev of its pieces, no
    /// copy into a reply buffer) when it can lend it; false when it cannot, and the caller
    /// reads into a buffer instead. Errors are replied here (true).
    func replyFromSegments(_ request: fuse_req_t?, node: NodeID, handle: UInt64, offset: Int64, size: Int,
                           operation: String) -> Bool {
        guard offset >= 0 else { return false }
        do {
            let sent: Int32? = try filesystem.withReadSegments(node, handle: handle, offset: UInt64(offset), size: size) { pieces in
                let total = pieces.reduce(0) { $0 + $1.count }
                log.debug("\(operation) -> \(total) bytes in \(pieces.count) pieces")
                guard pieces.count <= Self.maximumReplyPieces else { return replyCopied(request, pieces, total: total) }
                var vectors = pieces.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
                return fuse_reply_iov(request, &vectors, Int32(vectors.count))
            }
            return sent != nil
        } catch {
            replyError(request, error, operation)
            return true
        }
    }

    private func replyCopied(_ request: fuse_req_t?, _ pieces: [UnsafeRawBufferPointer], total: Int) -> Int32 {
        readBuffers.with(size: total) { buffer in
            var at = 0
            for piece in pieces where piece.count > 0 {
                buffer.baseAddress!.advanced(by: at).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                at += piece.count
            }
            return fuse_reply_buf(request, buffer.baseAddress, total)
        }
    }
}
