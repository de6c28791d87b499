from marshmallow import Schema, fields

from app.fields import UtcDateTime


class ModelVersionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    parent = fields.Integer(allow_none=True, metadata={"description": "the version it was trained from"})
    data = fields.Dict(metadata={"description": "novels, passages and held-out passages it used"})
    metrics = fields.Dict()
    created_at = UtcDateTime()
    active = fields.Boolean()
    held_for_admin = fields.Boolean(metadata={"description": "worse than the active one: waits for an admin"})
    comparison = fields.Dict(allow_none=True, metadata={
        "description": "held-out losses {before, after, change} it was judged by; null when none were compared "
                       "(metrics.decision says why)"})
    preference = fields.Dict(allow_none=True, metadata={
        "description": "a preference-trained version's held-out preference accuracy {before, after, rounds}"})


class ModelVersionListSchema(Schema):
    items = fields.List(fields.Nested(ModelVersionSchema))
    job_id = fields.Integer(allow_none=True, metadata={"description": "the story's latest training job"})


class PreferenceOptionSchema(Schema):
    candidate_id = fields.Integer()
    text = fields.String()
    votes = fields.Integer(metadata={"description": "candidate votes, blocked users' left out"})
    margin = fields.Integer(metadata={"description": "the chosen candidate's votes minus this one's"})


class PreferenceRoundSchema(Schema):
    round_id = fields.Integer()
    number = fields.Integer()
    context = fields.String(metadata={"description": "the end of the story the model read before the round"})
    keyword = fields.String(allow_none=True)
    sentences = fields.Integer()
    chosen = fields.Nested(PreferenceOptionSchema)
    rejected = fields.List(fields.Nested(PreferenceOptionSchema), metadata={
        "description": "the candidates passed over by at least PREFERENCE_MIN_MARGIN votes"})
    pairs = fields.Integer()


class PreferenceListSchema(Schema):
    items = fields.List(fields.Nested(PreferenceRoundSchema))
    rounds = fields.Integer()
    pairs = fields.Integer()
