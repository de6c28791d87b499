from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("아이디", validators=[DataRequired("아이디를 입력해 주세요.")])
    password = PasswordField("비밀번호", validators=[DataRequired("비밀번호를 입력해 주세요.")])


class SignupForm(FlaskForm):
    username = StringField("아이디", validators=[DataRequired("아이디를 입력해 주세요."), Length(max=30)])
    password = PasswordField("비밀번호", validators=[DataRequired("비밀번호를 입력해 주세요."), Length(max=200)])
    password2 = PasswordField(
        "비밀번호 확인", validators=[DataRequired("비밀번호를 한 번 더 입력해 주세요."),
                               EqualTo("password", "비밀번호가 서로 다릅니다.")]
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""
