"""model_server.paths: the starter's versions and which one serves, without torch."""
import json
import threading

import pytest

from model_server import paths


def version(models, name: str, parent: str | None = None, bpc: float = 3.0, complete: bool = True):
    folder = models / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    if complete:
        (folder / "starter.json").write_text(json.dumps({"parent": parent, "metrics": {"heldout_bpc": bpc}}))
    return folder


def test_without_a_pointer_the_first_starter_serves(tmp_path):
    assert paths.resolve_base("starter", tmp_path) is None
    first = version(tmp_path, "starter")
    version(tmp_path, "starter-7", parent="starter")
    assert paths.resolve_base("starter", tmp_path) == str(first)


def test_the_pointer_names_the_active_version(tmp_path):
    version(tmp_path, "starter")
    later = version(tmp_path, "starter-7", parent="starter")
    paths.set_active_starter(tmp_path, "starter-7")
    assert paths.resolve_base("starter", tmp_path) == str(later)
    assert (tmp_path / "starter.active").read_text().strip() == "starter-7"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_pointer_at_a_missing_or_odd_version_falls_back_to_the_first(tmp_path):
    first = version(tmp_path, "starter")
    (tmp_path / "starter.active").write_text("../../etc")
    assert paths.resolve_base("starter", tmp_path) == str(first)
    (tmp_path / "starter.active").write_text("starter-99")
    assert paths.resolve_base("starter", tmp_path) == str(first)


def test_only_complete_versions_can_be_activated_or_listed(tmp_path):
    version(tmp_path, "starter")
    version(tmp_path, "starter-3", parent="starter", complete=False)
    (tmp_path / ".tmp-starter-4-abcd").mkdir()
    with pytest.raises(FileNotFoundError):
        paths.set_active_starter(tmp_path, "starter-3")
    for bad in ("../starter", "starter-0", "starter-x", "judges", ""):
        with pytest.raises(ValueError):
            paths.set_active_starter(tmp_path, bad)
    assert [v["name"] for v in paths.starter_versions(tmp_path)] == ["starter"]


def test_versions_are_listed_in_the_order_they_were_made_with_their_metrics(tmp_path):
    version(tmp_path, "starter", bpc=3.0)
    version(tmp_path, "starter-12", parent="starter-9", bpc=2.5)
    version(tmp_path, "starter-9", parent="starter", bpc=2.8)
    listed = paths.starter_versions(tmp_path)
    assert [v["name"] for v in listed] == ["starter", "starter-9", "starter-12"]
    assert listed[2]["starter"]["metrics"]["heldout_bpc"] == 2.5


def test_versions_of_one_lineage_share_adapters_and_others_do_not(tmp_path):
    version(tmp_path, "starter")
    version(tmp_path, "starter-9", parent="starter")
    version(tmp_path, "starter-12", parent="starter-9")
    elsewhere = tmp_path / "other"
    version(elsewhere, "starter")
    assert paths.same_lineage(str(tmp_path / "starter"), str(tmp_path / "starter-12"))
    assert paths.same_lineage(str(tmp_path / "starter-12"), str(tmp_path / "starter-9"))
    assert not paths.same_lineage(str(tmp_path / "starter"), str(elsewhere / "starter"))
    assert not paths.same_lineage("/models/gone", str(tmp_path / "starter"))
    assert paths.same_lineage("some/hub-model", "some/hub-model")
    import shutil

    shutil.rmtree(tmp_path / "starter")  # the first version removed: its lineage still knows it
    assert paths.same_lineage(str(tmp_path / "starter"), str(tmp_path / "starter-12"))


def test_readers_never_see_half_a_pointer(tmp_path):
    version(tmp_path, "starter")
    version(tmp_path, "starter-2", parent="starter")
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            seen.add(paths.resolve_base("starter", tmp_path))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        paths.set_active_starter(tmp_path, "starter-2" if i % 2 else "starter")
    stop.set()
    reader.join()
    assert seen <= {str(tmp_path / "starter"), str(tmp_path / "starter-2")}
