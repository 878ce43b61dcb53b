from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from console.views import emqx, home

urlpatterns = [
    path("", home.home, name="home"),
    path("clusters/<slug:cluster>/emqx/", emqx.emqx_list, name="emqx_list"),
    path("clusters/<slug:cluster>/emqx/_rows", emqx.emqx_rows, name="emqx_rows"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/", emqx.emqx_detail, name="emqx_detail"),
    path("clusters/<slug:cluster>/emqx/<slug:namespace>/<str:name>/_status", emqx.emqx_status, name="emqx_status"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
