import Hummingbird

/// The admin dashboard at `/_/` (PocketBase's address for it): one page and its script and
/// style, compiled into the binary (`Sources/StoaNode/Dashboard`, SwiftPM's `embedInCode`). The
/// app signs in as a superuser and talks to the same HTTP API as every client; the node serves
/// the files to anyone (they hold no data).
struct DashboardController: Sendable {
    /// A file of the dashboard: its bytes and content type.
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    static let page = Asset(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8")
    static let assets: [String: Asset] = [
        "app.js": Asset(bytes: PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "app.css": Asset(bytes: PackageResources.app_css, contentType: "text/css; charset=utf-8"),
    ]

    func addRoutes(to router: Router<StoaRequestContext>) {
        router.get("_") { _, _ in Self.response(Self.page) }
        router.get("_/:asset") { _, context in
            guard let asset = Self.assets[try context.parameters.require("asset")] else { throw PBError.notFound }
            return Self.response(asset)
        }
    }

    /// The file, never cached by the browser beyond revalidation (a new binary serves new files),
    /// with a policy that lets the page run only its own script and style and reach only this origin.
    static func response(_ asset: Asset) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType,
                .cacheControl: "no-cache",
                .init("X-Content-Type-Options")!: "nosniff",
                .init("Content-Security-Policy")!: "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
                .init("Referrer-Policy")!: "no-referrer",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes))
        )
    }
}
