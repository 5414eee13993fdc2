/// What a benchmark run asks of the server.
public enum BenchWorkload: String, Sendable, Codable, CaseIterable {
    /// `POST /api/collections/quotes/records`: one new quote per request.
    case create
    /// `GET /api/collections/quotes/records/:id` of a random seeded quote.
    case get
    /// `GET /api/collections/quotes/records?perPage=30&sort=-created`: a page of 30 with totals.
    case list
    /// The same page with `skipTotal=1` (no count).
    case listNoTotal = "list-nototal"
    /// 20% creates, 60% gets, 20% lists with totals.
    case mixed
    /// `PATCH /api/collections/quotes/records/:id` of the seeded quotes in turn (new content each
    /// time), so `N × E` requests over `N` seeded quotes edit each exactly `E` times.
    case edit

    /// True when the run needs seeded records to read.
    public var needsSeed: Bool { self != .create }

    /// The operation of the next request.
    public func nextOperation(using rng: inout some RandomNumberGenerator) -> BenchOperation {
        switch self {
        case .create: return .create
        case .get: return .get
        case .list: return .list(total: true)
        case .listNoTotal: return .list(total: false)
        case .edit: return .edit
        case .mixed:
            let roll = Int.random(in: 0..<10, using: &rng)
            return roll < 2 ? .create : roll < 8 ? .get : .list(total: true)
        }
    }
}

/// One request of a workload.
public enum BenchOperation: Sendable, Hashable {
    case create
    case get
    case list(total: Bool)
    case edit
}

/// Records per page of the list workloads (PocketBase's default `perPage`).
public let benchPageSize = 30
