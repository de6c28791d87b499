from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.accounts.passwords import password_problem
from app.fields import KoreanText

USERNAME_PATTERN = r"^[0-9A-Za-z가-힣_.-]+$"


class CredentialsSchema(Schema):
    username = KoreanText(
        required=True, min_chars=2, max_chars=30, single_line=True,
        validate=validate.Regexp(USERNAME_PATTERN, error="아이디는 한글, 영문, 숫자, _ . - 만 쓸 수 있습니다."),
    )
    password = fields.String(
        required=True, validate=validate.Length(min=8, max=200, error="비밀번호는 8~200자여야 합니다.")
    )


class SignupSchema(CredentialsSchema):
    """A new account, or a new password: no common password, no password made of the name."""

    @validates_schema
    def _strong_enough(self, data, **kwargs):
        problem = password_problem(data["password"], data["username"])
        if problem:
            raise ValidationError(problem, field_name="password")


class SignupOutSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    token = fields.String()


class TokenOutSchema(Schema):
    token = fields.String()
