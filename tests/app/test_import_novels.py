"""flask import-novels: a folder or a ZIP of .txt files into the library, titles from metadata or
the text rather than English file names, one line per file, idempotent, safe with archives."""
import codecs
import json
import shutil
import zipfile

import pytest
from sqlalchemy import func, select

on_sqlite_and_postgres = pytest.mark.parametrize(
    "database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
LICENCE = "저작권 만료 (퍼블릭 도메인)"


@pytest.fixture
def admin(users):
    return users.make("관리자", role="admin")


def run_import(runner, source, *options):
    return runner.invoke(args=["import-novels", str(source), "--admin", "관리자", *options])


def stored(db) -> dict[str, tuple[str, str]]:
    from app.novels.models import Novel

    rows = {name: (title, author) for name, title, author in
            db.session.execute(select(Novel.original_filename, Novel.title, Novel.author))}
    db.session.rollback()
    return rows


@on_sqlite_and_postgres
def test_the_shared_corpus_imports_once_and_a_second_run_changes_nothing(database_kind, runner, admin, corpus_dir, db):
    from app.novels.models import Novel

    first = run_import(runner, corpus_dir, "--licence", LICENCE, "--author", "미상")
    assert first.exit_code == 0, first.output
    # 40 novels and 동백꽃, whose UTF-8 copy is the same text as its EUC-KR one; README.md is no .txt.
    assert first.output.splitlines()[-1] == "올림 41 · 이미 있음 1 · 거절 0 · 건너뜀 1"
    assert "이미 있음\tencodings/dongbaekkkot.utf8.txt: 이미 올라온 소설과 같은 글입니다" in first.output
    assert "건너뜀\tREADME.md: .txt 파일이 아닙니다." in first.output
    count = db.session.scalar(select(func.count()).select_from(Novel))
    assert count == 41
    again = run_import(runner, corpus_dir, "--licence", LICENCE, "--author", "미상")
    assert again.exit_code == 0 and again.output.splitlines()[-1] == "올림 0 · 이미 있음 42 · 거절 0 · 건너뜀 1"
    assert db.session.scalar(select(func.count()).select_from(Novel)) == count
    titles = stored(db)
    assert titles["dongbaekkkot.euc-kr.txt"] == ("동백꽃", "김유정")  # from its first lines, decoded from EUC-KR
    assert titles["01_Ms._B_and_Love_Letters.txt"] == ("Ms. B and Love Letters", "미상")  # nothing better given


def test_titles_come_from_metadata_then_the_text_then_the_file_name(runner, admin, encodings_dir, novels_dir, tmp_path, db):
    folder = tmp_path / "collection"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(novels_dir / "01_Ms._B_and_Love_Letters.txt", folder / "01_Ms._B_and_Love_Letters.txt")
    shutil.copy(novels_dir / "02_A_Sweetheart.txt", folder / "02_A_Sweetheart.txt")
    shutil.copy(encodings_dir / "dongbaekkkot.euc-kr.txt", folder / "sub" / "03_Camellia.txt")
    # Saved by a Korean spreadsheet: CP949, Korean column names, one row for a file that is not there.
    (folder / "metadata.csv").write_bytes(
        "파일,제목,지은이,저작권\n01_Ms._B_and_Love_Letters.txt,B사감과 러브레터,현진건,저작권 만료 (1943년 사망)\n"
        "99_Missing.txt,없는 소설,누구,저작권 만료\n".encode("cp949"))
    result = run_import(runner, folder, "--licence", LICENCE)
    assert result.exit_code == 1, result.output  # 02 names no author anywhere
    lines = result.output.splitlines()
    assert "올림\t01_Ms._B_and_Love_Letters.txt: " in result.output and "「B사감과 러브레터」 (현진건)" in result.output
    assert "올림\tsub/03_Camellia.txt: " in result.output and "「동백꽃」 (김유정)" in result.output
    assert any(line.startswith("거절\t02_A_Sweetheart.txt: 지은이:") and "--author" in line for line in lines)
    assert "건너뜀\t99_Missing.txt: metadata에 적혀 있지만 그런 파일이 없습니다." in lines
    assert lines[-1] == "올림 2 · 이미 있음 0 · 거절 1 · 건너뜀 1"
    assert stored(db) == {"01_Ms._B_and_Love_Letters.txt": ("B사감과 러브레터", "현진건"),
                          "03_Camellia.txt": ("동백꽃", "김유정")}  # nothing of the refused file

    fixed = run_import(runner, folder, "--licence", LICENCE, "--author", "미상")
    assert fixed.exit_code == 0 and fixed.output.splitlines()[-1] == "올림 1 · 이미 있음 2 · 거절 0 · 건너뜀 1"
    assert "제목은 파일 이름에서" in fixed.output and stored(db)["02_A_Sweetheart.txt"] == ("A Sweetheart", "미상")


def test_refused_files_each_get_a_line_and_store_nothing(runner, admin, tmp_path, db):
    folder = tmp_path / "mixed"
    folder.mkdir()
    long_text = "장터에는 사람이 많았다. " * 20
    (folder / "a_picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (folder / "b_nul.txt").write_bytes(codecs.BOM_UTF8 + (long_text + "\x00끝.").encode())
    (folder / "c_empty.txt").write_bytes(b"")
    (folder / "d_good.txt").write_text(long_text, encoding="utf-16")
    (folder / "notes.md").write_text("메모")
    (folder / "metadata.json").write_text(json.dumps({"d_good.txt": {"title": "장터", "author": "작가",
                                                                     "licence": "직접 쓴 글"}}, ensure_ascii=False))
    result = run_import(runner, folder)
    assert result.exit_code == 1
    assert "거절\ta_picture.txt: 텍스트 파일이 아닙니다" in result.output
    assert "거절\tb_nul.txt: 텍스트 파일이 아닙니다" in result.output
    assert "거절\tc_empty.txt: 파일이 비어 있습니다." in result.output
    assert "건너뜀\tnotes.md: .txt 파일이 아닙니다." in result.output
    assert stored(db) == {"d_good.txt": ("장터", "작가")}


def make_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("site_overrides", [{"NOVEL_MAX_BYTES": 50_000}])
def test_a_zip_is_read_without_unpacking_what_climbs_out_or_blows_up(runner, admin, tmp_path, db, site_overrides):
    text = "바람이 불었다. 편지가 날아갔다.\n\n".encode()
    members = {
        "모음/metadata.csv": "file,title,author,licence\n좋은.txt,바람,작가,저작권 만료\n".encode(),
        "모음/좋은.txt": text,
        "../밖으로.txt": text + b"1",
        "/절대경로.txt": text + b"2",
        "모음/큰.txt": "가".encode() * 30_000,  # 90 KB: over the 50 KB limit
        "모음/폭탄.txt": b" " * 40_000,  # compresses about a thousand times
        "__MACOSX/모음/._좋은.txt": b"\x00\x05\x16\x07",
    }
    archive = tmp_path / "novels.zip"
    make_zip(archive, members)
    result = run_import(runner, archive)
    assert "올림\t모음/좋은.txt: " in result.output and "「바람」 (작가)" in result.output
    assert "거절\t../밖으로.txt: 압축 파일 밖을 가리키는 경로라 읽지 않습니다." in result.output
    assert "거절\t/절대경로.txt: 압축 파일 밖을 가리키는 경로라 읽지 않습니다." in result.output
    assert "거절\t모음/큰.txt: 파일이 너무 큽니다. 49KB까지" in result.output
    assert "거절\t모음/폭탄.txt: 비정상적으로 많이 압축된 파일" in result.output
    assert "건너뜀\t__MACOSX/모음/._좋은.txt: macOS가 덧붙인 파일입니다." in result.output
    assert result.exit_code == 1 and stored(db) == {"좋은.txt": ("바람", "작가")}
    assert run_import(runner, archive).output.count("이미 있음\t") == 1  # idempotent for archives too


def test_an_archive_with_too_many_members_is_refused_whole(runner, admin, tmp_path, db, monkeypatch):
    from app.novels import importing

    monkeypatch.setattr(importing, "ZIP_MAX_MEMBERS", 3)
    archive = tmp_path / "many.zip"
    make_zip(archive, {f"{i}.txt": f"{i}번째 글이다.".encode() for i in range(4)})
    result = run_import(runner, archive, "--author", "작가", "--licence", LICENCE)
    assert result.exit_code != 0 and "압축 파일에 든 파일이 너무 많습니다" in result.output
    assert stored(db) == {}


def test_only_an_admin_imports_and_a_bad_path_is_said_plainly(runner, users, tmp_path):
    users.make("참가자")
    result = runner.invoke(args=["import-novels", str(tmp_path), "--admin", "참가자"])
    assert result.exit_code != 0 and "그런 관리자가 없습니다" in result.output
    users.make("관리자", role="admin")
    assert "없는 경로입니다" in run_import(runner, tmp_path / "nowhere").output
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    assert "폴더나 ZIP 파일이 아닙니다" in run_import(runner, tmp_path / "broken.zip").output


def test_an_archive_that_would_unpack_too_much_is_refused_before_anything_is_imported(runner, admin, tmp_path, db,
                                                                                        monkeypatch):
    from app.novels import importing

    monkeypatch.setattr(importing, "ZIP_MAX_TOTAL_BYTES", 100)
    archive = tmp_path / "big.zip"
    make_zip(archive, {f"{i}.txt": f"{i}번째 글이다. 바람이 불었다.".encode() * 2 for i in range(4)})
    result = run_import(runner, archive, "--author", "작가", "--licence", LICENCE)
    assert result.exit_code != 0 and "압축을 풀면 글이 " in result.output and "올림" not in result.output
    assert stored(db) == {}
