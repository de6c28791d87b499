from flask_restful import Resource

from app.accounts import services
from app.accounts.schemas import CredentialsSchema, SignupOutSchema, TokenOutSchema
from app.api import api, json_body
from app.api.limits import rate_limit

account_limit = rate_limit("RATELIMIT_ACCOUNT")


class Signup(Resource):
    method_decorators = [account_limit]

    def post(self):
        data = CredentialsSchema().load(json_body())
        user = services.sign_up(data["username"], data["password"])
        token = services.issue_token(user)
        return SignupOutSchema().dump({"id": user.id, "username": user.username, "token": token}), 201


class Token(Resource):
    method_decorators = [account_limit]

    def post(self):
        data = CredentialsSchema().load(json_body())
        user = services.authenticate(data["username"], data["password"])
        return TokenOutSchema().dump({"token": services.issue_token(user)}), 200


api.add_resource(Signup, "/auth/signup")
api.add_resource(Token, "/auth/token")
