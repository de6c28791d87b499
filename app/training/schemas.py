from marshmallow import Schema, fields, validate

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


# ---------------------------------------------------------------- the starter base and the judges

class StarterInSchema(Schema):
    passes = fields.Float(load_default=None, allow_none=True, validate=validate.Range(
        min=0.1, max=100, error="passes(소설을 몇 번 읽을지)는 0.1에서 100 사이여야 합니다."), metadata={
        "description": "how many times to read the visible novels; default STARTER_PASSES"})


class BaseMetricsSchema(Schema):
    steps = fields.Integer(allow_none=True)
    passes = fields.Float(allow_none=True, metadata={"description": "readings of the text in this run"})
    total_passes = fields.Float(allow_none=True, metadata={"description": "readings over the whole lineage"})
    heldout_bpc = fields.Float(allow_none=True, metadata={
        "description": "bits per character on held-out passages never trained on (lower is better)"})
    val_loss = fields.Float(allow_none=True)
    seconds = fields.Float(allow_none=True)
    total_seconds = fields.Float(allow_none=True, metadata={"description": "training time over the whole lineage"})
    tokens_per_s = fields.Float(allow_none=True)
    heldout_passages = fields.Integer(allow_none=True)


class BaseVersionSchema(Schema):
    name = fields.String(metadata={"description": "starter, starter-<job id>"})
    active = fields.Boolean(metadata={"description": "the base that new stories and retrains use"})
    parent = fields.String(allow_none=True, metadata={"description": "the version it went on from"})
    job_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    novels = fields.Integer(metadata={"description": "novels it read"})
    metrics = fields.Nested(BaseMetricsSchema)
    curve = fields.List(fields.List(fields.Float(allow_none=True)), metadata={
        "description": "[step, seconds, held-out bpc] after every pass of this run"})
    offset_seconds = fields.Float(metadata={"description": "its parents' training time: where its curve starts"})
    decision = fields.String(allow_none=True, metadata={"description": "why it serves, or does not, by itself"})
    applied_by_admin = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why it was trained (an admin, or the tick)"})


class BaseListSchema(Schema):
    active = fields.String(allow_none=True)
    versions = fields.List(fields.Nested(BaseVersionSchema), metadata={"description": "oldest first"})
    library_changed = fields.Boolean(allow_none=True, metadata={
        "description": "whether the visible novels differ from what the active base read"})


class JudgeSummarySchema(Schema):
    job_id = fields.Integer()
    finished_at = UtcDateTime(allow_none=True)
    base_name = fields.String(allow_none=True)
    for_active_base = fields.Boolean()
    ranked_first_vs_base = fields.Float(allow_none=True, metadata={
        "description": "share of held-out contexts where the true continuation ranks first among the base's candidates"})
    ranked_first_vs_real = fields.Float(allow_none=True, metadata={
        "description": "the same among real passages from elsewhere"})
    group_size = fields.Integer(allow_none=True)
    heldout_groups = fields.Integer(allow_none=True)
    weights = fields.Dict(allow_none=True)


class JudgesSchema(Schema):
    latest = fields.Nested(JudgeSummarySchema, allow_none=True)
    in_use = fields.Nested(JudgeSummarySchema, allow_none=True, metadata={
        "description": "what generation uses with the active base; null: the model's and Kiwi's scores alone"})
    job_id = fields.Integer(allow_none=True, metadata={"description": "the unfinished judges job"})
