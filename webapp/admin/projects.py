import time

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from webapp.admin.blueprint import PER_PAGE, bp, contains
from webapp.admin.forms import SLUG_TAKEN, ProjectForm
from webapp.extensions import db
from webapp.models import Project
from webapp.rules.claims import InvalidProject, build_claims
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.signing import key_problems
from webapp.services.inspection import moment
from webapp.services.projects import StaleProject, delete_project, save_project
from webapp.services.tokens import ProjectCannotSign, issue_token

CHANGED_ELSEWHERE = (
    "This project was changed by someone else since you opened it. Your input is kept "
    "below; open the project again to see their changes before you save."
)
DEFAULT_TAKEN = "Another project was made the default at the same moment. Save again."


def clash_message(error: IntegrityError) -> str:
    """Which unique rule a concurrent save broke: the slug, or the one default project."""
    return DEFAULT_TAKEN if "is_default" in str(error.orig) else SLUG_TAKEN


def project_or_404(slug: str) -> Project:
    return db.first_or_404(db.select(Project).filter_by(slug=slug))


def search_filter(query: str):
    pattern = contains(query.lower())
    return db.or_(
        db.func.lower(Project.name).like(pattern, escape="\\"),
        Project.slug.like(pattern, escape="\\"),
    )


@bp.get("/projects")
def projects():
    query = request.args.get("q", "").strip()
    select = db.select(Project).order_by(Project.name, Project.id)
    if query:
        select = select.where(search_filter(query))
    page = db.paginate(select, per_page=PER_PAGE, max_per_page=PER_PAGE)
    return render_template("admin/projects.html", page=page, query=query)


def key_warnings(project: Project) -> list[str]:
    try:
        return key_problems(project.decrypt_signing_key(), project.algorithm)[1]
    except SecretUnreadable as error:
        return [f"The signing key {error}."]


def saved(form: ProjectForm, project: Project):
    flash(f"Saved “{project.name}”.")
    for warning in form.key_warnings:
        flash(warning, "warning")
    return redirect(url_for("admin.edit_project", slug=project.slug))


@bp.route("/projects/new", methods=["GET", "POST"])
def new_project():
    form = ProjectForm()
    if form.validate_on_submit():
        project = Project()
        try:
            save_project(project, form.values(), new_key=form.signing_key.data, actor=current_user)
            db.session.commit()
        except IntegrityError as error:
            # Another admin took the slug, or the default, between our check and our insert.
            db.session.rollback()
            form.form_errors.append(clash_message(error))
        else:
            return saved(form, project)
    return render_template("admin/project_form.html", form=form, project=None)


@bp.route("/projects/<slug>", methods=["GET", "POST"])
def edit_project(slug: str):
    project = project_or_404(slug)
    form = ProjectForm(project=project)
    if form.validate_on_submit():
        try:
            save_project(
                project,
                form.values(),
                new_key=form.signing_key.data or None,
                actor=current_user,
                # A form that says nothing of its version cannot prove it is current.
                expected_version=form.opened_version() or -1,
            )
            db.session.commit()
        except (StaleProject, StaleDataError):
            db.session.rollback()
            form.form_errors.append(CHANGED_ELSEWHERE)
        except IntegrityError as error:
            db.session.rollback()
            form.form_errors.append(clash_message(error))
        else:
            return saved(form, project)
    return render_template(
        "admin/project_form.html", form=form, project=project, warnings=key_warnings(project)
    )


@bp.route("/projects/<slug>/delete", methods=["GET", "POST"])
def delete_project_view(slug: str):
    """GET asks for confirmation; the POST (with its CSRF token) deletes."""
    project = project_or_404(slug)
    if request.method == "POST":
        delete_project(project, current_user)
        db.session.commit()
        flash(f"Deleted “{project.name}”. The audit trail keeps its record.")
        return redirect(url_for("admin.projects"))
    return render_template("admin/project_delete.html", project=project)


@bp.route("/projects/<slug>/preview", methods=["GET", "POST"])
def preview_project(slug: str):
    """The exact header and claims a token would carry for the admin's own user."""
    project = project_or_404(slug)
    leeway = current_app.config["TOKEN_NBF_LEEWAY"]
    header = {"alg": project.algorithm, "typ": "JWT"}
    claims, problems, issued, refusal = None, {}, None, None
    if request.method == "POST":
        try:
            issued = issue_token(project, current_user, nbf_leeway=leeway)
            claims = issued.claims  # the preview shows what the test token carries
        except ProjectCannotSign as error:
            refusal = str(error)
    if claims is None:
        try:
            claims = build_claims(
                project,
                current_user.public_id,
                current_user.locale,
                now=int(time.time()),
                nbf_leeway=leeway,
            )
        except InvalidProject as error:
            problems = error.problems
    return render_template(
        "admin/project_preview.html",
        expires=moment(issued.expires_at, int(time.time())) if issued else None,
        project=project,
        header=header,
        claims=claims,
        problems=problems,
        issued=issued,
        refusal=refusal,
        warnings=key_warnings(project),
    )
