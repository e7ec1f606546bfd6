//! The web UI, inside the binary: the page, its script and its stylesheet, built from
//! `api/ui/src` (TypeScript, Preact, uPlot) by `api/ui/build.mjs` into `api/ui/dist`, which is
//! committed so building fastlane needs no Node. Every UI address (`/`, `/pipelines/…`,
//! `/runs/…`, `/compare`) answers with the page; the page routes in the browser.

use poem::http::{header, StatusCode};
use poem::{handler, Request, Response, Route};

const INDEX: &[u8] = include_bytes!("../ui/dist/index.html");
const SCRIPT: &[u8] = include_bytes!("../ui/dist/app.js");
const STYLE: &[u8] = include_bytes!("../ui/dist/app.css");

/// `routes` with the UI's own: its page at every UI address but `/` (see [`page`]), its script
/// and stylesheet.
pub fn routes(routes: Route) -> Route {
    routes
        .at("/pipelines/*rest", index)
        .at("/runs/*rest", index)
        .at("/compare", index)
        .at("/assets/app.js", script)
        .at("/assets/app.css", style)
}

/// A hash of `bytes` for an `ETag` (FNV-1a: stable across builds of the same file).
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// `bytes` as `content_type`, or 304 when the browser already has them. Revalidated on every
/// load (`no-cache`): a new binary's UI is never hidden behind a cached one.
fn file(req: &Request, bytes: &'static [u8], content_type: &str) -> Response {
    let tag = etag(bytes);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let builder = Response::builder()
        .header(header::ETAG, tag)
        .header(header::CACHE_CONTROL, "no-cache")
        .header("X-Content-Type-Options", "nosniff");
    if fresh {
        builder.status(StatusCode::NOT_MODIFIED).finish()
    } else {
        builder.content_type(content_type).body(bytes)
    }
}

/// The UI's page for `/`, which the API nested at the root would otherwise answer (poem gives a
/// root nest the root path): the server asks here first.
pub fn page(req: &Request) -> Option<Response> {
    (req.uri().path() == "/" && req.method() == poem::http::Method::GET).then(|| page_response(req))
}

#[handler]
fn index(req: &Request) -> Response {
    page_response(req)
}

fn page_response(req: &Request) -> Response {
    let mut response = file(req, INDEX, "text/html; charset=utf-8");
    // The page loads only its own script and style, and talks only to this service.
    response.headers_mut().insert(
        "Content-Security-Policy",
        poem::http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'",
        ),
    );
    response
}

#[handler]
fn script(req: &Request) -> Response {
    file(req, SCRIPT, "text/javascript; charset=utf-8")
}

#[handler]
fn style(req: &Request) -> Response {
    file(req, STYLE, "text/css; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_embedded_script_and_style() {
        let page = std::str::from_utf8(INDEX).unwrap();
        assert!(page.contains("/assets/app.js?v="), "{page}");
        assert!(page.contains("/assets/app.css?v="), "{page}");
        assert!(SCRIPT.len() > 10_000 && STYLE.len() > 1_000);
    }

    #[test]
    fn etags_follow_the_content() {
        assert_eq!(etag(b"a"), etag(b"a"));
        assert_ne!(etag(b"a"), etag(b"b"));
    }
}
