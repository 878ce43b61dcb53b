"""The console's URLs plus two trivial views, to measure what Django itself costs per request
(a throughput floor to compare the status poll with). Benchmarks only: not part of the product.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from console.urls import urlpatterns as console_urlpatterns


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
