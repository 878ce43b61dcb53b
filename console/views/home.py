from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from console.clusters import cluster_names


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The first configured cluster's EMQX list (the fleet dashboard takes this place later)."""
    return redirect("emqx_list", cluster=cluster_names()[0])
