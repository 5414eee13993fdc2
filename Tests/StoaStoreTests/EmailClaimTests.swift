import Foundation
import StoaCore
import Testing
@testable import StoaStore

/// Issue 16: one email, one account, cluster-wide. Sign-ups of one address on replicas that did
/// not see each other both succeed; once the replicas hold the same accounts, the earliest created
/// holds the address on every one of them and the others keep their claim (and their data).
@Suite("One account per email")
struct EmailClaimTests {
    let clock = TestClock()
    let first = "accountfirst001"
    let second = "accountsecond01"

    func node(_ name: String) throws -> StoaDatabase {
        try StoaDatabase.inMemory(nodeName: name, physicalMillis: clock.now)
    }

    func signUp(_ db: StoaDatabase, id: String, email: String) async throws {
        _ = try await db.create(.users, id: id, fields: ["email": .string(email), "passwordHash": .string("h-\(id)"), "tokenKey": .string("k")], unique: ["email"])
    }

    func sync(_ from: StoaDatabase, into: StoaDatabase) async throws {
        _ = try await into.apply(remote: from.changes(notIn: into.versionVector(), limit: .max))
    }

    @Test("concurrent sign-ups of one address (any case) end with the earliest account holding it on every replica, in any order")
    func earliestHolds() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        let n3 = try node("n3")
        try await signUp(n1, id: first, email: "Alice@Example.com")
        clock.advance(5)
        try await signUp(n2, id: second, email: "alice@example.COM")
        // Before they meet, each replica lets its own account log in by email.
        #expect(try await n2.user(email: "alice@example.com")?.id == second)
        // n3 hears the later account first, then the earlier one: the address moves to it.
        try await sync(n2, into: n3)
        #expect(try await n3.user(email: "ALICE@example.com")?.id == second)
        try await sync(n1, into: n3)
        try await sync(n1, into: n2)
        try await sync(n2, into: n1)
        for replica in [n1, n2, n3] {
            #expect(try await replica.user(email: "alice@example.com")?.id == first)
            #expect(try await replica.usersDisplaced(from: "ALICE@EXAMPLE.COM").map(\.id) == [second])
            let claims = try await replica.emailClaims()
            #expect(claims.map(\.id) == [first, second])
            #expect(claims.map(\.shown) == ["Alice@Example.com", ""], "one account shows the address")
            #expect(claims.map(\.claimed) == ["Alice@Example.com", "alice@example.COM"], "the other keeps its claim")
            // The displaced account is found by its id (its way back in), never by the address.
            #expect(try await replica.user(email: second)?.id == second)
            #expect(try await replica.user(email: first) == nil, "an account holding its address is found by it, not by id")
        }
        #expect(Set([try await n1.digest(), try await n2.digest(), try await n3.digest()]).count == 1)
    }

    @Test("when the holder is deleted, the next claimant holds the address everywhere; a sign-up on a replica that knows the holder is refused")
    func holderDeleted() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        try await signUp(n1, id: first, email: "bob@example.com")
        clock.advance(5)
        try await signUp(n2, id: second, email: "Bob@example.com")
        try await sync(n1, into: n2)
        try await sync(n2, into: n1)
        await #expect(throws: StoreError.notUnique(field: "email")) {
            try await self.signUp(n1, id: "accountthird001", email: "BOB@example.com")
        }
        try await n1.delete(.users, id: first, owner: nil)
        try await sync(n1, into: n2)
        for replica in [n1, n2] {
            #expect(try await replica.user(email: "bob@example.com")?.id == second)
            #expect(try await replica.usersDisplaced(from: "bob@example.com").isEmpty)
        }
        #expect(try await n1.digest() == n2.digest())
    }
}
