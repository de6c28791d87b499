from marshmallow import Schema, fields

from app.fields import UtcDateTime


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": ["train", "generate"]})
    status = fields.String(metadata={"enum": ["queued", "waiting", "running", "succeeded", "failed"]})
    progress = fields.Float()
    metrics = fields.Dict()
    error = fields.String(allow_none=True)
    story_id = fields.Integer(allow_none=True)
    round_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)


class JobAcceptedSchema(Schema):
    job_id = fields.Integer()
