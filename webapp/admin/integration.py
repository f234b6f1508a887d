from flask import current_app, render_template

from webapp.admin.blueprint import bp
from webapp.admin.issuer import issuer_url, origin_verdicts
from webapp.admin.projects import project_or_404
from webapp.rules import integration


@bp.get("/projects/<slug>/integration")
def project_integration(slug: str) -> str:
    """What a product website's developer needs to connect this project's Digital Person."""
    project = project_or_404(slug)
    base, configured = issuer_url()
    token_url = integration.token_url(base, project.slug)
    return render_template(
        "admin/project_integration.html",
        project=project,
        public_url_configured=configured,
        token_url=token_url,
        query_url=f"{base}/auth/authorize?project={project.slug}",
        documented_snippet=integration.documented_flow_snippet(token_url),
        api_key_snippet=integration.api_key_snippet(token_url),
        bearer_snippet=integration.bearer_snippet(token_url),
        trusts_provider=bool(project.oidc_issuer),
        verdicts=origin_verdicts(project),
        cookie_samesite=current_app.config["SESSION_COOKIE_SAMESITE"] or "Lax",
    )
