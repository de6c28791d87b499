"""Pages: the library, uploading a novel, one novel, and a story's vote on what it learns."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.errors import AppError, first_validation_message
from app.extensions import csrf, limiter
from app.novels import services
from app.novels.library import library_page
from app.novels.schemas import LIBRARY_PER_PAGE, LIBRARY_SORTS, NovelListQuerySchema, NovelUploadSchema
from app.novels.services import DuplicateNovel, file_size
from app.novels.training_set import story_novels_page
from app.novels.uploads import accepts_upload, uploaded_file

bp = Blueprint("novels", __name__)

ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16", "utf-32": "UTF-32",
                  "cp949": "EUC-KR (CP949)"}


@bp.app_template_filter("encoding_name")
def encoding_name(encoding: str) -> str:
    return ENCODING_NAMES.get(encoding, encoding.upper())


bp.add_app_template_filter(file_size, "filesize")


def viewer():
    return current_user if current_user.is_authenticated else None


def library_args(args, default_sort: str = "newest") -> dict:
    """The page's search, order and page from the query string. Unlike the API, a hand-edited
    link with a bad value gets that value's default rather than an error page."""
    given = {name: args[name] for name in ("q", "sort", "page", "per_page") if args.get(name, "") != ""}
    given.setdefault("sort", default_sort)
    try:
        return NovelListQuerySchema().load(given)
    except ValidationError as e:
        return NovelListQuerySchema().load({"sort": default_sort, **{k: v for k, v in given.items() if k not in e.messages}})


def search_context(library: dict, endpoint: str, default_sort: str, **endpoint_args) -> dict:
    """What templates/novels/_search.html needs: the form's address, the pager's numbers, and
    page_url(n), a link to page n of this search and order with defaults left out."""
    def page_url(n: int) -> str:
        return url_for(endpoint, **endpoint_args, q=library["q"] or None,
                       sort=library["sort"] if library["sort"] != default_sort else None,
                       per_page=library["per_page"] if library["per_page"] != LIBRARY_PER_PAGE else None,
                       page=n if n > 1 else None)

    return {"library": library, "search_action": url_for(endpoint, **endpoint_args), "page_url": page_url,
            "default_per_page": LIBRARY_PER_PAGE,
            "page_numbers": page_numbers(min(library["page"], library["pages"]), library["pages"])}


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The pager's numbers: the first, the last and a few around this one; None is a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    numbers: list[int | None] = []
    for n in shown:
        if numbers and n - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(n)
    return numbers


@bp.route("/novels")
def index():
    """The library: a plain GET form (search and order) and numbered pages, links keeping both."""
    library = library_page(viewer(), **library_args(request.args))
    return render_template("novels/index.html", rows=library["novels"], sorts=LIBRARY_SORTS,
                           **search_context(library, "novels.index", "newest"))


@bp.route("/novels/<int:novel_id>")
def show(novel_id: int):
    row = services.novel_detail(novel_id, viewer())
    return render_template("novels/show.html", row=row, novel=row["novel"], preview=services.preview(row["novel"]))


@bp.route("/novels/upload", methods=["GET", "POST"])
@accepts_upload  # before the CSRF check below reads the (large) body
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])
def upload():
    """The page works with a plain form; static/novels.js turns it into drag and drop that
    posts to the API and shows the result in place."""
    limit = file_size(current_app.config["NOVEL_MAX_BYTES"])
    if request.method == "GET":
        return render_template("novels/upload.html", limit=limit, form={})
    csrf.protect()  # exempted from the app-wide check, which would read the body under the 1 MB limit
    form = {}
    try:
        data, filename, form = uploaded_file()
        fields = NovelUploadSchema().load(form)
        novel = services.upload_novel(current_user, data, filename, **fields)
    except ValidationError as e:
        return render_template("novels/upload.html", limit=limit, form=form,
                               error=first_validation_message(e.messages)), 400
    except AppError as e:
        existing = e.novel_id if isinstance(e, DuplicateNovel) else None
        return render_template("novels/upload.html", limit=limit, form=form, error=e.message,
                               existing=existing), e.status
    flash("소설을 올렸습니다. 문장 수는 잠시 뒤에 나타납니다.", "success")
    return redirect(url_for("novels.show", novel_id=novel.id))


csrf.exempt(upload)


# A story's novels page: the library's search and orders; "votes" counts this story's votes
# and comes first, so the training set is on top.
STORY_SORTS = {"votes": "이 이야기의 표 많은 순", **{k: v for k, v in LIBRARY_SORTS.items() if k != "votes"}}


@bp.route("/stories/<int:story_id>/novels")
def story_novels(story_id: int):
    story, library = story_novels_page(story_id, viewer(), **library_args(request.args, default_sort="votes"))
    return render_template("novels/story.html", story=story, rows=library["novels"], sorts=STORY_SORTS,
                           **search_context(library, "novels.story_novels", "votes", story_id=story.id))
