from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.stories.models import DEFAULT_MINUTES


class StoryForm(FlaskForm):
    title = StringField("제목", validators=[DataRequired("제목을 입력해 주세요.")])
    opening = TextAreaField("첫 글", validators=[DataRequired("첫 글을 입력해 주세요.")])
    proposing_minutes = IntegerField("제안 시간(분, 0 = 직접 넘김)", default=DEFAULT_MINUTES["proposing"],
                                     validators=[Optional(), NumberRange(0, 10080, "0~10080분")])
    voting_minutes = IntegerField("투표 시간(분)", default=DEFAULT_MINUTES["voting"], validators=[Optional(), NumberRange(0, 10080, "0~10080분")])
    choosing_minutes = IntegerField("후보 선택 시간(분)", default=DEFAULT_MINUTES["choosing"],
                                    validators=[Optional(), NumberRange(0, 10080, "0~10080분")])
    candidates_k = IntegerField("AI 후보 수 (1~5)", default=3, validators=[Optional(), NumberRange(1, 5, "1~5개")])
    training_quorum = IntegerField("학습에 넣을 소설에 필요한 표 수", default=1,
                                   validators=[Optional(), NumberRange(1, 1000, "1~1000표")])
    bible_quorum = IntegerField("노트 제안을 받아들일 표 수", default=3,
                                validators=[Optional(), NumberRange(1, 1000, "1~1000표")])
