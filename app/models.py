"""Every model, imported in one place so Alembic and relationship strings see all tables."""
from app.accounts.models import ApiToken, User  # noqa: F401
from app.jobs.models import Job, JobPoint, WorkerHeartbeat  # noqa: F401
from app.novels.models import Novel, TrainingVote  # noqa: F401
from app.rounds.models import Candidate, Proposal, Round, Vote  # noqa: F401
from app.stories.models import BibleEntry, Chapter, Passage, Story, TrainingText  # noqa: F401
from app.training.models import ModelVersion  # noqa: F401
