"""Model folders that an earlier delivery of a job left behind."""
import shutil
from pathlib import Path


def remove_leftovers(target: Path, only_partial: bool = False) -> None:
    """What an earlier delivery of this job left when it died: the half-written ``.tmp-*``
    folder of atomic_dir and (unless ``only_partial``) a version it wrote but never recorded."""
    for partial in target.parent.glob(f".tmp-{target.name}-*"):
        shutil.rmtree(partial, ignore_errors=True)
    if not only_partial and target.exists():
        shutil.rmtree(target)
