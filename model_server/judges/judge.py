"""The cooperative judge: the model's own score and the discriminators', mixed by learned weights.

Learning to Write (Holtzman et al. 2018) scores each candidate by the language model and by
discriminators of relevance, style and repetition, and fits the mixing weights so that the
true continuation of a text outranks the model's own. Here:

- ``lm``: the base's mean log-probability per token of the passage after the prompt;
- ``fluency``: how Korean it reads to Kiwi (``model_server.fluency``), less unknown words;
- ``relevance``, ``style``, ``repetition``: the trained discriminators (``judges.training``).

Each feature is standardised by the mean and spread it had when the weights were fitted. A
site without trained judges ranks with ``Judge.untrained()`` (model and Kiwi only). A story
whose crowd has voted on candidates gets its own weights, fitted to its votes with the site's
weights as the prior (``for_story``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from model_server import text as ktext
from model_server.fluency import fluency
from model_server.judges.relevance import RelevanceJudge
from model_server.judges.repetition import RepetitionJudge
from model_server.judges.style import StyleJudge

FEATURES = ("lm", "fluency", "relevance", "style", "repetition")
CONTEXT_SENTENCES = 8        # what the judges read of the context: its last sentences
JUDGES_FILE = "judges.json"
WEIGHTS_FILE = "judges.pt"
UNKNOWN_WORD_PENALTY = 5.0   # per unit of unknown-word share, in Kiwi score per character


@dataclass
class Judge:
    weights: list[float]                      # one per FEATURES, on standardised features
    means: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    scales: list[float] = field(default_factory=lambda: [1.0] * len(FEATURES))
    relevance: RelevanceJudge | None = None
    style: StyleJudge | None = None
    repetition: RepetitionJudge | None = None
    metrics: dict = field(default_factory=dict)

    @classmethod
    def untrained(cls) -> "Judge":
        """The model's score and Kiwi's, before any discriminator was trained."""
        return cls(weights=[0.5, 1.0, 0.0, 0.0, 0.0])

    @property
    def trained(self) -> bool:
        return self.style is not None

    def features(self, context: str, passages: list[str], lm: list[float]) -> torch.Tensor:
        """(n, len(FEATURES)) raw features of ``passages`` after ``context`` (its last
        ``CONTEXT_SENTENCES``, as the judges were trained); ``lm`` is each passage's mean
        log-probability per token, from the caller's model."""
        context = " ".join(last_sentences(context))
        judged = [fluency(p) for p in passages]
        columns = [
            lm,
            [j.score_per_char - UNKNOWN_WORD_PENALTY * j.unknown_share for j in judged],
            self.relevance.score(context, passages) if self.relevance else [0.0] * len(passages),
            self.style.score(passages) if self.style else [0.0] * len(passages),
            self.repetition.score(context, passages) if self.repetition else [0.0] * len(passages),
        ]
        return torch.tensor(columns, dtype=torch.float32).T

    def combine(self, features: torch.Tensor) -> torch.Tensor:
        standard = (features - torch.tensor(self.means)) / torch.tensor(self.scales)
        return standard @ torch.tensor(self.weights)

    def score(self, context: str, passages: list[str], lm: list[float]) -> list[float]:
        return self.combine(self.features(context, passages, lm)).tolist()

    def for_story(self, preferred: list[tuple[list[float], list[float]]], strength: float = 1.0) -> "Judge":
        """This judge with weights refitted to a story's votes: pairs of (features of the
        candidate the crowd chose, features of one it passed over), pulled towards these
        weights by ``strength`` (L2), so a few votes nudge and many decide."""
        if not preferred:
            return self
        chosen = torch.tensor([c for c, _ in preferred])
        passed = torch.tensor([p for _, p in preferred])
        weights = fit_pairwise(self, chosen, passed, strength)
        return Judge(weights, self.means, self.scales, self.relevance, self.style, self.repetition,
                     {**self.metrics, "story_pairs": len(preferred)})

    # ------------------------------------------------------------ saving and loading

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        torch.save({"relevance": self.relevance.state_dict() if self.relevance else None,
                    "style": self.style.state_dict() if self.style else None,
                    "repetition": self.repetition.state_dict() if self.repetition else None},
                   folder / WEIGHTS_FILE)
        (folder / JUDGES_FILE).write_text(json.dumps({
            "features": FEATURES, "weights": self.weights, "means": self.means, "scales": self.scales,
            "idf": self.relevance.idf if self.relevance else {}, "metrics": self.metrics,
        }, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "Judge":
        folder = Path(folder)
        saved = json.loads((folder / JUDGES_FILE).read_text(encoding="utf-8"))
        if tuple(saved["features"]) != FEATURES:
            raise ValueError(f"{folder}: judges of another kind ({saved['features']})")
        states = torch.load(folder / WEIGHTS_FILE, weights_only=True)
        judge = cls(saved["weights"], saved["means"], saved["scales"], metrics=saved.get("metrics", {}))
        if states["relevance"] is not None:
            judge.relevance = RelevanceJudge(saved["idf"])
            judge.relevance.load_state_dict(states["relevance"])
            judge.relevance.eval()
        if states["style"] is not None:
            judge.style = StyleJudge()
            judge.style.load_state_dict(states["style"])
            judge.style.eval()
        if states["repetition"] is not None:
            judge.repetition = RepetitionJudge()
            judge.repetition.load_state_dict(states["repetition"])
            judge.repetition.eval()
        return judge


@lru_cache(maxsize=64)
def last_sentences(context: str) -> tuple[str, ...]:
    """The last ``CONTEXT_SENTENCES`` sentences of ``context``: what the judges read of it."""
    return tuple(ktext.sentences(context[-CONTEXT_SENTENCES * 120:])[-CONTEXT_SENTENCES:])


def fit_weights(judge: Judge, groups: list[torch.Tensor], steps: int = 300, l2: float = 0.01) -> list[float]:
    """Mixing weights under which the first passage of each group (the true continuation)
    outranks the others, by a softmax over each group, as Learning to Write fits its mixture.
    Every weight is learned and none is negative, so no judge can come to prefer what it was
    built to penalise; the model's own may fall to nothing, since a small base likes its own
    writing better than a writer's. Sets the judge's means and scales from the groups' features."""
    stacked = torch.cat(groups)
    judge.means = stacked.mean(0).tolist()
    judge.scales = stacked.std(0).clamp_min(1e-6).tolist()
    used = torch.tensor([float(stacked[:, i].std() > 1e-6) for i in range(len(FEATURES))])
    raw = torch.zeros(len(FEATURES), requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.05)
    standard = [(g - torch.tensor(judge.means)) / torch.tensor(judge.scales) for g in groups]
    target = torch.zeros(1, dtype=torch.long)

    def weights() -> torch.Tensor:
        return torch.nn.functional.softplus(raw) * used

    for _ in range(steps):
        w = weights()
        loss = sum(torch.nn.functional.cross_entropy((s @ w)[None], target) for s in standard) / len(standard)
        loss = loss + l2 * (w ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return weights().detach().tolist()


def fit_pairwise(judge: Judge, chosen: torch.Tensor, passed: torch.Tensor, strength: float,
                 steps: int = 200) -> list[float]:
    """Weights under which each chosen candidate outscores the one passed over (logistic),
    pulled towards the judge's own by ``strength``; none goes negative."""
    prior = torch.tensor(judge.weights)
    weights = prior.clone().requires_grad_(True)
    margin = (chosen - passed) / torch.tensor(judge.scales)
    optimizer = torch.optim.Adam([weights], lr=0.05)
    for _ in range(steps):
        loss = torch.nn.functional.softplus(-(margin @ weights)).mean() + strength * ((weights - prior) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            weights.clamp_(min=0.0)
    return weights.detach().tolist()


def ranked_first(judge: Judge, groups: list[torch.Tensor]) -> float:
    """The share of groups whose first passage the judge ranks first."""
    if not groups:
        return float("nan")
    return sum(int(judge.combine(g).argmax() == 0) for g in groups) / len(groups)
