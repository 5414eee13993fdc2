// Fuzz target: cluster messages as `WireCodec.decode` reads them off the gossip transport (after
// authentication: a peer holding the cluster key, or a bug in one).
//
// Input: the message bytes. A message that decodes must be in canonical form (it encodes back to
// exactly the same bytes) and survive the round trip (decode → encode → decode gives an equal
// message); then it goes where a node sends it: a SWIM envelope into a `SWIMInstance`, a vector
// into the replication machine and the version-vector operations, each change's delta merged into
// a record state and a record materialized from it, as the store does.
import FuzzSupport
import StoaGossip

FuzzDriver.run(seeds: WireSeeds.all) { bytes in
    guard let message = try? WireCodec.decode(bytes) else { return }
    WireCodecTarget.check(message, bytes: bytes)
}
