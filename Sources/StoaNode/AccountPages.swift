import Hummingbird

/// The page account-mail links open (`/auth/confirm-password-reset`, `/auth/confirm-verification`,
/// `/auth/confirm-email-change`, the token in the fragment: `#token=...`): a form for the new
/// password (or the password that confirms an email change; a verification is confirmed at
/// once) that posts to the confirm endpoint of the same node and shows the answer.
///
/// One static page and its script, for the three links; the script is a file of its own so the
/// page's Content-Security-Policy allows no inline script.
struct AccountPages: Sendable {
    func addRoutes(to router: Router<StoaRequestContext>) {
        for action in TokenService.Action.allCases {
            router.get("auth/\(AccountLinks.pageName(action))") { _, _ in
                Self.response(Self.html, type: "text/html; charset=utf-8")
            }
        }
        router.get("auth/account.js") { _, _ in Self.response(Self.script, type: "text/javascript; charset=utf-8") }
    }

    static func response(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type,
                .cacheControl: "no-store",
                .init("Content-Security-Policy")!: "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
                .init("Referrer-Policy")!: "no-referrer",
                .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Your account</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
        label { display: block; margin: 1rem 0 .25rem; }
        input { width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }
        button { margin-top: 1.25rem; padding: .5rem 1.25rem; font-size: 1rem; }
        .error { color: #b00020; }
        .done { color: #1b5e20; }
        </style>
        </head>
        <body>
        <h1 id="title">Your account</h1>
        <form id="form" hidden>
          <div id="new-password" hidden>
            <label for="password">New password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="72">
            <label for="passwordConfirm">New password again</label>
            <input id="passwordConfirm" name="passwordConfirm" type="password" autocomplete="new-password" minlength="8" maxlength="72">
          </div>
          <div id="current-password" hidden>
            <label for="currentPassword">Your password</label>
            <input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password">
          </div>
          <button id="submit" type="submit">Confirm</button>
        </form>
        <p id="status" role="status"></p>
        <script src="/auth/account.js"></script>
        </body>
        </html>

        """

    static let script = """
        "use strict";
        (function () {
          var kind = location.pathname.split("/").pop();
          var token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
          var form = document.getElementById("form");
          var status = document.getElementById("status");
          var titles = {
            "confirm-password-reset": "Set a new password",
            "confirm-verification": "Verify your email",
            "confirm-email-change": "Confirm your new email"
          };
          var done = {
            "confirm-password-reset": "Your password has been changed. You can sign in with it now.",
            "confirm-verification": "Your email is verified.",
            "confirm-email-change": "Your email has been changed. Sign in again with the new address."
          };
          function show(text, cls) { status.textContent = text; status.className = cls; }
          document.getElementById("title").textContent = titles[kind] || "Your account";
          if (!titles[kind]) { show("Unknown link.", "error"); return; }
          if (!token) { show("This link has no token: open the link from the mail again.", "error"); return; }
          function confirm(body) {
            body.token = token;
            show("Working\\u2026", "");
            return fetch("/api/collections/users/" + kind, {
              method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body)
            }).then(function (response) {
              if (response.status === 204) { form.hidden = true; show(done[kind], "done"); return; }
              return response.json().then(function (error) {
                var details = Object.keys(error.data || {}).map(function (field) {
                  return field + ": " + error.data[field].message;
                });
                show((error.message || "The request failed.") + (details.length ? " " + details.join(" ") : ""), "error");
              });
            }).catch(function () { show("The server could not be reached. Try again.", "error"); });
          }
          if (kind === "confirm-verification") { confirm({}); return; }
          document.getElementById(kind === "confirm-password-reset" ? "new-password" : "current-password").hidden = false;
          form.hidden = false;
          form.addEventListener("submit", function (event) {
            event.preventDefault();
            if (kind === "confirm-password-reset") {
              confirm({
                password: document.getElementById("password").value,
                passwordConfirm: document.getElementById("passwordConfirm").value
              });
            } else {
              confirm({ password: document.getElementById("currentPassword").value });
            }
          });
        })();

        """
}
