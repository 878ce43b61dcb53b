"""The console's URLs plus two trivial views, to measure what Django itself costs per request
(a throughput floor to compare the status poll with). Benchmarks only: not part of the product.

With BENCH_WHAT_IF_NO_STATUS_YAML=1 in the environment, this process's EMQX views skip the YAML
dump of the whole object (console/views/emqx.py ``_yaml``), which the status partial computes on
every poll and never shows: the bench measures what the poll would cost without it.
"""

import os

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from console.urls import urlpatterns as console_urlpatterns
from console.views import emqx as emqx_views

if os.environ.get("BENCH_WHAT_IF_NO_STATUS_YAML") == "1" and hasattr(emqx_views, "_yaml"):
    emqx_views._yaml = lambda obj: ""


def trivial(request: HttpRequest) -> HttpResponse:
    """The floor: the whole middleware stack, no session read, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


@login_required
def trivial_logged_in(request: HttpRequest) -> HttpResponse:
    """The floor for a console page: as above, plus the session and user lookups every page does."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("_bench/trivial", trivial),
    path("_bench/trivial-logged-in", trivial_logged_in),
    *console_urlpatterns,
]
