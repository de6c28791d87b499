"""Flask's signed-cookie sessions, minus their cost for requests that carry no cookie."""
from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    """API clients that call with a token send no session cookie, yet Flask builds the cookie
    signer for every request to find that out, a noticeable share of a vote's CPU. Such a request gets
    an empty session at once; one that carries the cookie is read and checked as before."""

    def open_session(self, app, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
