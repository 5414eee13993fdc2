import Testing
import StoaNode

@Suite("the URL a server announces")
struct ServedURLTests {
    @Test("the configured port is replaced by the one the server got; a URL without a port has none to replace")
    func replacesThePort() {
        #expect(servedURL("http://127.0.0.1:0", port: 41234) == "http://127.0.0.1:41234")
        #expect(servedURL("https://[::1]:0", port: 8443) == "https://[::1]:8443")
        #expect(servedURL("http://127.0.0.1:8090", port: 8090) == "http://127.0.0.1:8090")
        #expect(servedURL("http://localhost", port: 80) == nil)
    }
}
