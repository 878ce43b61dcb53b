from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from console.auth import LoginView
from console.registry import KindConverter
from console.views import audit, emqx, emqx_edit, home, resources
from console.views import dashboard as dashboard_views
from console.views import timeline as timeline_views

register_converter(KindConverter, "kind")

urlpatterns = [
    path("", home.home, name="home"),
    path("clusters/<slug:cluster>/emqx/", emqx.emqx_list, name="emqx_list"),
    path("clusters/<slug:cluster>/emqx/_rows", emqx.emqx_rows, name="emqx_rows"),
    path("clusters/<slug:cluster>/emqx/add/", emqx_edit.emqx_add, name="emqx_add"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/", emqx.emqx_detail, name="emqx_detail"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/_status", emqx.emqx_status, name="emqx_status"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/_events", emqx.emqx_events, name="emqx_events"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/change/", emqx_edit.emqx_change, name="emqx_change"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/delete/", emqx_edit.emqx_delete, name="emqx_delete"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("clusters/<slug:cluster>/<kind:kind>/", resources.resource_list, name="resource_list"),
    path("clusters/<slug:cluster>/<kind:kind>/_rows", resources.resource_rows, name="resource_rows"),
    path(
        "clusters/<slug:cluster>/<kind:kind>/<slug:namespace>/<str:name>/",
        resources.resource_detail,
        name="resource_detail",
    ),
    path(
        "clusters/<slug:cluster>/<kind:kind>/<slug:namespace>/<str:name>/_status",
        resources.resource_status,
        name="resource_status",
    ),
    path(
        "clusters/<slug:cluster>/<kind:kind>/<slug:namespace>/<str:name>/timeline/",
        timeline_views.resource_timeline,
        name="resource_timeline",
    ),
    path("audit/", audit.audit_list, name="audit_list"),
    path("dashboard/", dashboard_views.fleet_dashboard, name="fleet_dashboard"),
    path("dashboard/_dashboard", dashboard_views.fleet_dashboard_partial, name="fleet_dashboard_partial"),
    path("clusters/<slug:cluster>/", dashboard_views.dashboard, name="dashboard"),
    path("clusters/<slug:cluster>/_dashboard", dashboard_views.dashboard_partial, name="dashboard_partial"),
    path(
        "clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/timeline/",
        timeline_views.emqx_timeline,
        name="emqx_timeline",
    ),
    path("admin/", admin.site.urls),
]
