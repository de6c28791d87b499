"""The settings table in docs/operations.md is made from config.py, so it never drifts from it."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def made():
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "docs" / "settings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_table_says_what_config_py_says():
    table = made()
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert table.table((ROOT / "config.py").read_text(encoding="utf-8")) in doc, \
        "run: python docs/settings_table.py --write"


def test_every_setting_has_a_default_and_says_what_it_is_for():
    sections = made().settings((ROOT / "config.py").read_text(encoding="utf-8"))
    rows = [row for _, section in sections for row in section]
    assert {"DATABASE_URL", "REDIS_URL", "MODEL_NAME", "TRAIN_MAX_MINUTES", "LIVE_EVENTS"} <= {v for v, _, _ in rows}
    assert len({v for v, _, _ in rows}) == len(rows)  # each is read in one place
    assert [v for v, _, what in rows if not what] == []
