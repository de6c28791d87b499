from marshmallow import Schema, fields

from app.fields import UtcDateTime
from app.jobs.kinds import JOB_KINDS
from app.jobs.models import JOB_STATUSES


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(JOB_KINDS)})
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    # 0..1; while training metrics hold stage, step, total, loss, tokens_per_s, eta_s, elapsed_s
    progress = fields.Float()
    metrics = fields.Dict()
    error = fields.String(allow_none=True)
    story_id = fields.Integer(allow_none=True)
    round_id = fields.Integer(allow_none=True)
    cancel_requested = fields.Boolean()
    attempts = fields.Integer()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)


class LossPointSchema(Schema):
    step = fields.Integer()
    loss = fields.Float()


class JobDetailSchema(JobSchema):
    points = fields.List(fields.Nested(LossPointSchema), metadata={"description": "loss curve, at most 500 points"})


class JobRowSchema(JobSchema):
    story_title = fields.String(allow_none=True, metadata={"description": "the title of the job's story"})


class JobListSchema(Schema):
    items = fields.List(fields.Nested(JobRowSchema), metadata={"description": "newest first"})


class JobAcceptedSchema(Schema):
    job_id = fields.Integer()
