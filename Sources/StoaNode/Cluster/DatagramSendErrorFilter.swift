import NIOCore

/// Keeps a failed datagram send from ending the SWIM link: a send the kernel refuses (`EPERM`
/// from a local firewall rule for one peer, `ECONNREFUSED` reported for an earlier datagram,
/// an unreachable network) reaches the pipeline as an `IOError`, which would otherwise end the
/// inbound stream and with it every probe to and from every member. Such errors are dropped
/// here (the datagram is lost, as UDP may lose any); any other error passes on.
final class DatagramSendErrorFilter: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is IOError { return }
        context.fireErrorCaught(error)
    }
}
