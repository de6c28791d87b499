"""Response headers that keep the site out of frames and foreign scripts, and the client's
address behind the TLS proxy.

A small after_request hook rather than flask-talisman: talisman also redirects every plain-http
request to https and marks the session cookie secure, which would break the embedded
``make run`` (plain http on localhost) and duplicates what config.py and the TLS proxy already
decide. What is left is five fixed headers.

Every script and style comes from static/ (no CDN, no inline code: pages hand data to their
scripts in ``<script type="application/json">`` blocks, which never run), so the policy allows
our own origin only. Scripts set element styles through the DOM (``el.style.width``), which a
style-src policy does not restrict; a ``style=`` attribute in a template would be blocked."""
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_security(app: Flask) -> None:
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        # Only the last ``hops`` entries of X-Forwarded-* are ours; anything before them was
        # written by the client and is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
