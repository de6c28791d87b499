"""``flask --app app import-novels DIR|ZIP --admin NAME``: the library filled in one go (a fresh
site, or a collection of public-domain fiction); app/novels/importing.py does the work."""
from pathlib import Path

import click
from flask import Flask

STATUS_WORDS = {"imported": "올림", "duplicate": "이미 있음", "refused": "거절", "skipped": "건너뜀"}


def register_cli(app: Flask) -> None:
    @app.cli.command("import-novels")
    @click.argument("source", type=click.Path(path_type=Path))
    @click.option("--admin", "admin_name", required=True, help="The admin recorded as the uploader.")
    @click.option("--author", help="Author of files that neither metadata nor their first lines name.")
    @click.option("--licence", "--license", "licence",
                  help="Licence note of files whose metadata gives none (e.g. '저작권 만료 (퍼블릭 도메인)').")
    def import_novels_command(source: Path, admin_name: str, author: str | None, licence: str | None) -> None:
        """Import every .txt file of a folder or a ZIP archive into the library, one line per file.

        Titles, authors and licences come from a metadata.csv or metadata.json beside the files
        (columns file, title, author, licence), else from the text's first lines, else from
        --author/--licence and the file name. Files already in the library are skipped, so a
        second run changes nothing. Exits 1 when any file was refused."""
        from app.accounts.services import find_user
        from app.novels.importing import ImportRefused, import_novels

        admin = find_user(admin_name)
        if admin is None or not admin.is_admin:
            raise click.ClickException(f"{admin_name}: 그런 관리자가 없습니다 (flask --app app create-admin으로 만드세요).")
        counts = dict.fromkeys(STATUS_WORDS, 0)
        try:
            for outcome in import_novels(source, admin, author, licence):
                counts[outcome.status] += 1
                click.echo(f"{STATUS_WORDS[outcome.status]}\t{outcome.name}: {outcome.message}")
        except ImportRefused as e:
            raise click.ClickException(str(e))
        click.echo(" · ".join(f"{STATUS_WORDS[status]} {count}" for status, count in counts.items()))
        if counts["refused"]:
            raise SystemExit(1)
