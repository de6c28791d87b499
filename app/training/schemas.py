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


class ModelVersionListSchema(Schema):
    items = fields.List(fields.Nested(ModelVersionSchema))
    job_id = fields.Integer(allow_none=True, metadata={"description": "the story's latest training job"})
