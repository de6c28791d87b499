from marshmallow import Schema, fields

from app.fields import UtcDateTime


class AdminUserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String(metadata={"enum": ["participant", "admin"]})
    blocked = fields.Boolean()
    created_at = UtcDateTime()
