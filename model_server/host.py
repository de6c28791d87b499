"""A long-lived host: the base loaded once, story adapters switched per call.

Many stories share one GPU (or CPU) this way: switching stories costs a ``set_adapter``
when the story's adapter is among the last ``max_adapters`` used, and a small file load
when it is not; the base is never loaded again.
"""
from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from peft import PeftModel

from model_server.generation import GenerationSettings, Written, generate
from model_server.judges.judge import Judge
from model_server.copying import load_runs
from model_server.lexicon import Layer, Lexicon, load_layer
from model_server.loading import load_base
from model_server.retrieval import Bank
from model_server.vocabulary import Vocabulary


class ModelHost:
    def __init__(self, base: str, max_adapters: int = 8, quantize: str | None = None):
        if max_adapters < 1:
            raise ValueError("max_adapters must be at least 1")
        loaded = load_base(base, quantize=quantize)
        self.base = base
        self.quantize = loaded.quantize
        self.model = loaded.model            # the plain base until the first adapter arrives
        self.tokenizer = loaded.tokenizer
        self.vocabulary = Vocabulary(self.tokenizer)
        # the words the base read, when it keeps them (the starter does); None: any word
        self.base_words = load_layer(base) if Path(base).is_dir() else None
        self.base_runs = load_runs(base) if Path(base).is_dir() else set()  # runs of words it may not copy
        self.max_adapters = max_adapters
        self.adapters: OrderedDict[str, str] = OrderedDict()  # adapter dir -> peft adapter name
        self.adapter_words: dict[str, Layer | None] = {}      # adapter dir -> the words it read
        self.adapter_runs: dict[str, set[int]] = {}           # adapter dir -> the runs of words it read
        self.base_bank = Bank.load([base]) if Path(base).is_dir() else None  # the sentences it read (retrieval)
        self.adapter_banks: dict[str, Bank | None] = {}       # adapter dir -> the base's and its own
        self.adapter_loads = 0
        self._peft: PeftModel | None = None
        self._lock = threading.Lock()

    @staticmethod
    def adapter_name(adapter_dir: str | Path) -> str:
        # peft adapter names become module keys, which may not hold dots or slashes
        return "story_" + hashlib.sha1(str(Path(adapter_dir).resolve()).encode()).hexdigest()[:12]

    def activate(self, adapter_dir: str | Path | None):
        """Make ``adapter_dir`` (or the bare base, for None) the one that answers; return the model."""
        if adapter_dir is None:
            return self._peft if self._peft is not None else self.model
        key = str(Path(adapter_dir).resolve())
        if key in self.adapters:
            self.adapters.move_to_end(key)
        else:
            if not (Path(key) / "adapter_config.json").is_file():
                raise FileNotFoundError(f"{adapter_dir}: not an adapter folder (no adapter_config.json)")
            name = self.adapter_name(key)
            if self._peft is None:
                self._peft = PeftModel.from_pretrained(self.model, key, adapter_name=name)
            else:
                self._peft.load_adapter(key, adapter_name=name)
            self.adapter_loads += 1
            self.adapters[key] = name
            self.adapter_words[key] = load_layer(key)
            self.adapter_runs[key] = load_runs(key)
            own = Bank.load([key])  # the base's is in memory already
            self.adapter_banks[key] = Bank.joined([self.base_bank, own]) if own is not None else self.base_bank
        self._peft.set_adapter(self.adapters[key])
        self._evict()
        return self._peft

    def _evict(self) -> None:
        while len(self.adapters) > self.max_adapters:
            key, name = self.adapters.popitem(last=False)
            self.adapter_words.pop(key, None)
            self.adapter_runs.pop(key, None)
            self.adapter_banks.pop(key, None)
            self._peft.delete_adapter(name)

    def lexicon(self, adapter_dir: str | Path | None) -> Lexicon | None:
        """The words the base and the story's adapter read; None for a base that keeps none."""
        if self.base_words is None:
            return None
        layers = [self.base_words]
        if adapter_dir is not None and self.adapter_words.get(str(Path(adapter_dir).resolve())) is not None:
            layers.append(self.adapter_words[str(Path(adapter_dir).resolve())])
        return Lexicon(layers)

    @contextlib.contextmanager
    def _bare(self):
        """The base without any adapter's effect, for stories that have none yet."""
        if self._peft is None:
            yield self.model
        else:
            with self._peft.disable_adapter():
                yield self._peft

    def generate(self, adapter_dir: str | Path | None, story_text: str, keyword: str | None,
                 sentences: int, k: int, seed: int | None = None,
                 settings: GenerationSettings | None = None, judge: Judge | None = None,
                 notes: list[tuple[str, str]] = (), mood: str | None = None) -> list[Written]:
        """``k`` candidates, best first (``generation.generate``), written by the story's adapter
        or, for None, the bare base; ``notes``: the story bible's (name, text) pairs to read;
        ``mood``: the mood asked for (``mood.MOODS``), if any."""
        with self._lock:
            if adapter_dir is None:
                with self._bare() as model:  # a bare base never learned the control line
                    return generate(model, self.tokenizer, story_text, keyword, sentences, k, seed,
                                    settings, self.vocabulary, self.lexicon(None), control=False, judge=judge,
                                    copied=self.base_runs, bank=self.base_bank, notes=notes, mood=mood)
            model = self.activate(adapter_dir)
            key = str(Path(adapter_dir).resolve())
            runs = self.base_runs | self.adapter_runs.get(key, set())
            return generate(model, self.tokenizer, story_text, keyword, sentences, k, seed,
                            settings, self.vocabulary, self.lexicon(adapter_dir), judge=judge, copied=runs,
                            bank=self.adapter_banks.get(key), notes=notes, mood=mood)
