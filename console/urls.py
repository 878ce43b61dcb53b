from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import set_language

from console.auth import LoginView
from console.health import healthz, readyz
from console.metrics import metrics
from console.registry import site
from console.views import audit, home, upgrade
from console.views import dashboard as dashboard_views

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The header's language switcher posts here (Django's set_language: a cookie, then back to ?next).
    path("i18n/setlang/", set_language, name="set_language"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("dashboard/", dashboard_views.fleet_dashboard, name="fleet_dashboard"),
    path("dashboard/_dashboard", dashboard_views.fleet_dashboard_partial, name="fleet_dashboard_partial"),
    path("clusters/<slug:cluster>/", dashboard_views.dashboard, name="dashboard"),
    path("clusters/<slug:cluster>/_dashboard", dashboard_views.dashboard_partial, name="dashboard_partial"),
    path("clusters/<slug:cluster>/upgrade/", upgrade.upgrade_blockers, name="upgrade_blockers"),
    # Every registered kind's pages: <slug>_list, <slug>_add, <slug>_detail ... (console.registry).
    *site.get_urls(),
    path("admin/", admin.site.urls),
    # For the kubelet's probes and Prometheus: no login, a status word only (console/health.py, console/metrics.py).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
