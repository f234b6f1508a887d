import time

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import ColumnElement

from webapp.admin.blueprint import PER_PAGE, bp, page_number
from webapp.admin.forms import ProjectForm
from webapp.admin.issuer import origin_verdicts
from webapp.extensions import db
from webapp.models import Project
from webapp.rules.claims import build_claims
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.problems import InvalidProject, Problem
from webapp.rules.signing import key_problems
from webapp.rules.sites import OK
from webapp.rules.wording import describe
from webapp.services.admin_tokens import ProjectDisabled, issue_test_token
from webapp.services.inspection import moment
from webapp.services.projects import StaleProject, delete_project, save_project
from webapp.services.tokens import ProjectCannotSign


def project_or_404(slug: str) -> Project:
    return db.first_or_404(db.select(Project).filter_by(slug=slug))


def search_filter(query: str) -> ColumnElement[bool]:
    return db.or_(
        Project.name.icontains(query, autoescape=True),
        Project.slug.icontains(query, autoescape=True),
    )


@bp.get("/projects")
def projects() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    select = db.select(Project).order_by(Project.name, Project.id)
    if query:
        select = select.where(search_filter(query))
    page = db.paginate(select, page=page_number(), per_page=PER_PAGE)
    return render_template("admin/projects.html", page=page, query=query)


def key_warnings(project: Project) -> list[str]:
    try:
        warnings = key_problems(project.decrypt_signing_key(), project.algorithm)[1]
    except SecretUnreadable as error:
        return [f"The signing key {error}."]
    return [describe(warning) for warning in warnings]


def save(
    form: ProjectForm, project: Project, expected_version: int | None = None
) -> ResponseReturnValue | None:
    """Save through the one gate; a refusal is shown on the form, with the input kept."""
    try:
        warnings = save_project(
            project,
            form.values(),
            new_key=form.signing_key.data or None,
            actor=current_user,
            expected_version=expected_version,
        )
        db.session.commit()
    except InvalidProject as refusal:
        db.session.rollback()
        form.show_problems(refusal.problems)
    except StaleProject:
        db.session.rollback()
        form.form_errors.append(describe(Problem("version", "stale")))
    else:
        flash(f"Saved “{project.name}”.")
        for warning in warnings:
            flash(describe(warning), "warning")
        return redirect(url_for("admin.edit_project", slug=project.slug))
    return None


@bp.route("/projects/new", methods=["GET", "POST"])
def new_project() -> ResponseReturnValue:
    form = ProjectForm()
    if form.validate_on_submit() and (done := save(form, Project())):
        return done
    return render_template("admin/project_form.html", form=form, project=None)


@bp.route("/projects/<slug>", methods=["GET", "POST"])
def edit_project(slug: str) -> ResponseReturnValue:
    project = project_or_404(slug)
    form = ProjectForm(project=project)
    # A form that says nothing of its version cannot prove it is current.
    if form.validate_on_submit() and (done := save(form, project, form.opened_version() or -1)):
        return done
    return render_template(
        "admin/project_form.html",
        form=form,
        project=project,
        warnings=key_warnings(project),
        origin_warnings=[v for v in origin_verdicts(project) if v.level != OK],
    )


@bp.route("/projects/<slug>/delete", methods=["GET", "POST"])
def delete_project_view(slug: str) -> ResponseReturnValue:
    """GET asks for confirmation; the POST (with its CSRF token) deletes."""
    project = project_or_404(slug)
    if request.method == "POST":
        try:
            delete_project(project, current_user)
            db.session.commit()
        except StaleProject:
            db.session.rollback()
            flash(describe(Problem("version", "gone", {"slug": slug})), "error")
            return redirect(url_for("admin.projects"))
        flash(f"Deleted “{project.name}”. The audit trail keeps its record.")
        return redirect(url_for("admin.projects"))
    return render_template("admin/project_delete.html", project=project)


@bp.route("/projects/<slug>/preview", methods=["GET", "POST"])
def preview_project(slug: str) -> ResponseReturnValue:
    """The exact header and claims a token would carry for the admin's own user."""
    project = project_or_404(slug)
    leeway = current_app.config["TOKEN_NBF_LEEWAY"]
    header = {"alg": project.algorithm, "typ": "JWT"}
    claims, problems, issued, refusal = None, [], None, None
    if request.method == "POST":
        try:
            issued = issue_test_token(
                project, current_user._get_current_object(), nbf_leeway=leeway
            )
            db.session.commit()
            claims = issued.claims  # the preview shows what the test token carries
        except (ProjectCannotSign, ProjectDisabled) as error:
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
            problems = [describe(problem) for problem in error.problems]
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
