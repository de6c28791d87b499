from flask_restful import Resource

from app.accounts import services
from app.accounts.schemas import CredentialsSchema, SignupOutSchema, SignupSchema, TokenOutSchema
from app.api import api, json_body
from app.api.limits import rate_limit

account_limit = rate_limit("RATELIMIT_ACCOUNT")
NO_STORE = {"Cache-Control": "no-store"}  # answers that carry a token stay out of every cache


class Signup(Resource):
    method_decorators = [account_limit]

    def post(self):
        data = SignupSchema().load(json_body())
        user = services.sign_up(data["username"], data["password"])
        token = services.issue_token(user)
        return SignupOutSchema().dump({"id": user.id, "username": user.username, "token": token}), 201, NO_STORE


class Token(Resource):
    method_decorators = [account_limit]

    def post(self):
        data = CredentialsSchema().load(json_body())
        user = services.authenticate(data["username"], data["password"])
        return TokenOutSchema().dump({"token": services.issue_token(user)}), 200, NO_STORE


api.add_resource(Signup, "/auth/signup")
api.add_resource(Token, "/auth/token")
