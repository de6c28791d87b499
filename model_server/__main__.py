"""Command line: python -m model_server {pretrain,train,generate,eval} ...

Bad input exits non-zero with one line naming the problem; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model_server.data import read_texts
from model_server.errors import ModelServerError
from model_server.generation import MAX_SENTENCES


class CliError(ModelServerError):
    """A command line that cannot be run as given."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m model_server", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def budget(sub, default_minutes: float | None, passes: bool = False):
        group = sub.add_mutually_exclusive_group()
        if passes:
            group.add_argument("--passes", type=float, help="times the text is read (default 8: the same base "
                                                              "however busy the machine)")
        group.add_argument("--minutes", type=float, help="wall-clock budget" + (
            f" (default {default_minutes})" if default_minutes else ""))
        group.add_argument("--steps", type=int, help="optimiser steps instead of a time budget")
        sub.set_defaults(default_minutes=default_minutes, passes=None)
        sub.add_argument("--seed", type=int, default=0)

    pretrain = commands.add_parser("pretrain", help="train the starter base from scratch")
    pretrain.add_argument("--data", nargs="+", required=True, help=".txt files or folders of them")
    pretrain.add_argument("--out", required=True)
    budget(pretrain, None, passes=True)

    train = commands.add_parser("train", help="train a LoRA adapter version on a base")
    train.add_argument("--base", required=True)
    train.add_argument("--data", nargs="+", required=True)
    train.add_argument("--out", required=True)
    train.add_argument("--from", dest="from_adapter", help="adapter to continue from (incremental)")
    budget(train, 2.0)

    gen = commands.add_parser("generate", help="write candidate passages")
    gen.add_argument("--base", required=True)
    gen.add_argument("--adapter")
    gen.add_argument("--prime", required=True, help="the story so far")
    gen.add_argument("--keyword", required=True)
    gen.add_argument("--sentences", type=int, required=True)
    gen.add_argument("--candidates", type=int, default=3)
    gen.add_argument("--seed", type=int, help="the same seed gives the same candidates (default: fresh each run)")

    evaluate = commands.add_parser("eval", help="bits per character on text")
    evaluate.add_argument("--base", required=True)
    evaluate.add_argument("--adapter")
    evaluate.add_argument("--data", nargs="+", required=True)
    return parser


def print_progress(p) -> None:
    print(f"step {p.step}/{p.total} loss {p.loss:.3f} tokens/s {p.tokens_per_s:.0f} eta {p.eta_s:.0f}s",
          file=sys.stderr, flush=True)


def budget_of(args) -> dict:
    if args.passes is not None:
        if args.passes <= 0:
            raise CliError("--passes must be positive")
        return {"passes": args.passes}
    if args.steps is None and args.minutes is None and args.default_minutes is None:
        return {"passes": 8.0}
    if args.steps is not None:
        if args.steps < 1:
            raise CliError("--steps must be at least 1")
        return {"steps": args.steps}
    minutes = args.minutes if args.minutes is not None else args.default_minutes
    if minutes <= 0:
        raise CliError("--minutes must be positive")
    return {"minutes": minutes}


def check_base(name: str) -> None:
    from model_server.paths import is_model_dir, looks_like_local_path

    path = Path(name).expanduser()
    if path.is_dir() and not is_model_dir(path):
        raise CliError(f"--base {name}: the folder holds no model (no config.json)")
    if not path.exists() and looks_like_local_path(name):
        raise CliError(f"--base {name}: no such folder")


def run(args) -> None:
    if args.command in ("pretrain", "train"):
        budget = budget_of(args)
        if Path(args.out).exists():
            raise CliError(f"--out {args.out} already exists; versions are never overwritten")
        if args.command == "train":
            check_base(args.base)
        texts = read_texts(args.data)  # bad data fails here, before torch is even imported
    if args.command == "pretrain":
        from model_server.starter import pretrain

        print(pretrain(texts, args.out, seed=args.seed, progress=print_progress, **budget))
    elif args.command == "train":
        from model_server.training import TrainSettings, train

        settings = TrainSettings(seed=args.seed, **budget)
        print(train(args.base, texts, args.out, args.from_adapter, settings, progress=print_progress))
    elif args.command == "generate":
        if not 1 <= args.sentences <= MAX_SENTENCES:
            raise CliError(f"--sentences must be between 1 and {MAX_SENTENCES}, not {args.sentences}")
        if not args.keyword.strip():
            raise CliError("--keyword is empty")
        if args.candidates < 1:
            raise CliError("--candidates must be at least 1")
        check_base(args.base)
        from model_server import text as ktext
        from model_server.host import ModelHost

        host = ModelHost(args.base)
        for written in host.generate(args.adapter, ktext.normalize(args.prime), args.keyword,
                                     args.sentences, args.candidates, args.seed):
            print(json.dumps({"text": written.text, "sentences": ktext.count_sentences(written.text),
                              "keyword_found": ktext.contains_keyword(written.text, args.keyword)},
                             ensure_ascii=False))
    elif args.command == "eval":
        check_base(args.base)
        from model_server.evaluate import bits_per_char
        from model_server.host import ModelHost

        texts = [t.text for t in read_texts(args.data)]
        host = ModelHost(args.base)
        model = host.activate(args.adapter)
        print(f"bpc {bits_per_char(model, host.tokenizer, texts):.4f}")


def main(argv: list[str] | None = None) -> int:
    try:
        run(build_parser().parse_args(argv))
    except (ModelServerError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
