"""Usage for admins: each project's tokens issued and refused by reason, and sign-ins by
outcome, from the hourly counts every worker writes within about 10 s (services/usage.py)."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, NotFound

from webapp.admin.blueprint import bp, number_arg
from webapp.admin.charts import Bar, Chart, Segment, bar_chart
from webapp.admin.projects import project_or_404
from webapp.models import Project
from webapp.observability.usage import ISSUED
from webapp.services import usage
from webapp.services.usage import Period

# The refusals a known project can have (webapp/api/routes.py), in an admin's words.
REASONS = {
    "not_signed_in": (
        "Not signed in",
        "The visitor had no session here: not signed in, or the browser did not send the "
        "cookie (see the project's Integration page).",
    ),
    "cannot_sign": (
        "Cannot sign",
        "The project's key cannot be read or its settings break a rule; the log says which.",
    ),
}
OUTCOME_NAMES = {
    ISSUED: "issued",
    **{reason: f"refused: {short.lower()}" for reason, (short, _) in REASONS.items()},
    "refused": "refused",
    "success": "signed in",
    "failed": "failed",
    "second_factor_needed": "password right, code asked",
    "wrong_password": "wrong password",
    "unknown_email": "unknown e-mail address",
    "disabled": "account disabled",
    "unconfirmed": "address not confirmed yet",
    "wrong_code": "wrong code",
}
# Each known refusal reason has its colour in style.css; any other shares "refused".
TOKEN_SERIES = (ISSUED, "not_signed_in", "cannot_sign")
SIGN_IN_SERIES = ("success", "failed")
# The dashboard shows the busiest projects; the others are a click away.
DASHBOARD_PROJECTS = 12


@dataclass(frozen=True)
class Span:
    label: str
    buckets: Callable[[], list[Period]]
    hourly: bool


SPANS = {
    "24h": Span("24 hours", lambda: usage.last_hours(24), hourly=True),
    "7d": Span("7 days", lambda: usage.last_days(7), hourly=False),
    "30d": Span("30 days", lambda: usage.last_days(30), hourly=False),
}


@dataclass(frozen=True)
class ProjectUsage:
    project: Project
    periods: list[Period]
    totals: Period
    chart: Chart


def label(period: Period, hourly: bool) -> str:
    start = period.start
    return f"{start:%H}:00" if hourly else f"{start:%b} {start.day}"


def totals(periods: list[Period]) -> Period:
    return Period(periods[0].start, sum((period.counts for period in periods), Counter()))


def token_chart(periods: list[Period], hourly: bool, title: str) -> Chart:
    bars = [
        Bar(
            label(period, hourly),
            [Segment(ISSUED, period.issued)]
            + [
                Segment(reason if reason in TOKEN_SERIES else "refused", n)
                for reason, n in period.refused.items()
            ],
        )
        for period in periods
    ]
    return bar_chart(bars, title, OUTCOME_NAMES)


def sign_in_chart(periods: list[Period]) -> Chart:
    """Signed in against failed; a right password waiting for its code is neither yet."""
    bars = []
    for period in periods:
        failed = period.total - period.counts["success"] - period.counts["second_factor_needed"]
        segments = [Segment("success", period.counts["success"]), Segment("failed", failed)]
        bars.append(Bar(label(period, hourly=False), segments))
    return bar_chart(bars, "Sign-ins per day, last 7 days", OUTCOME_NAMES)


def project_usage_of(project: Project, periods: list[Period], span: Span) -> ProjectUsage:
    total = totals(periods)
    title = (
        f"{project.name}: tokens per {'hour' if span.hourly else 'day'} in the last "
        f"{span.label}, {total.issued:,} issued, {total.total - total.issued:,} refused"
    )
    return ProjectUsage(project, periods, total, token_chart(periods, span.hourly, title))


def dashboard_usage() -> dict[str, object]:
    """What the dashboard shows: the busiest projects' last 7 days, and sign-ins."""
    span = SPANS["7d"]
    days = span.buckets()
    projects = usage.busiest_projects(days[0].start, DASHBOARD_PROJECTS)
    filled = usage.token_usage([project.id for project in projects], days)
    sign_ins = usage.sign_in_usage(span.buckets())
    return {
        "project_usage": [project_usage_of(p, filled[p.id], span) for p in projects],
        "sign_in_chart": sign_in_chart(sign_ins),
        "sign_in_totals": totals(sign_ins),
        "outcome_names": OUTCOME_NAMES,
    }


@bp.get("/projects/<slug>/usage")
def project_usage(slug: str) -> ResponseReturnValue:
    project = project_or_404(slug)
    chosen = request.args.get("period", "7d")
    span = SPANS.get(chosen)
    if span is None:
        raise BadRequest(f"“period” takes one of {', '.join(SPANS)}.")
    periods = usage.token_usage([project.id], span.buckets())[project.id]
    reasons = sorted({reason for period in periods for reason in period.refused})
    return render_template(
        "admin/project_usage.html",
        usage=project_usage_of(project, periods, span),
        span=span,
        chosen=chosen,
        spans=SPANS,
        # Newest first, as a table is read.
        rows=[(label(period, span.hourly), period) for period in reversed(periods)],
        reasons=reasons,
        series=[ISSUED, *dict.fromkeys(r if r in TOKEN_SERIES else "refused" for r in reasons)],
        names=OUTCOME_NAMES,
        explained=REASONS,
        retention_days=current_app.config["USAGE_RETENTION_DAYS"],
    )


@bp.get("/projects/<slug>/usage.json")
def project_usage_json(slug: str) -> ResponseReturnValue:
    """`?hours=N`: the last N hours, this one included, oldest first; 24 when not given."""
    most = current_app.config["USAGE_RETENTION_DAYS"] * 24
    try:
        project = project_or_404(slug)
        hours = number_arg("hours", most) or 24
    except NotFound:  # JSON for a script, whatever it accepts
        return jsonify(success=False, error=f"There is no project “{slug}”."), 404
    except BadRequest as error:
        return jsonify(success=False, error=error.description), 400
    periods = usage.token_usage([project.id], usage.last_hours(hours))[project.id]
    return jsonify(
        project=project.slug,
        hours=[
            {"start": period.start.isoformat(), "issued": period.issued, "refused": period.refused}
            for period in periods
        ],
    )
