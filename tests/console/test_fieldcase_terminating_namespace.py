"""Field case 10 (tests/fieldcases/10-terminating-namespace-create): creating into a namespace that is
being deleted. The API server answers 403 Forbidden, which is not an RBAC denial: the form says the
namespace is going away, on the namespace field, for every kind; existing objects stay editable."""

from __future__ import annotations

import pytest

from console.models import AuditEntry
from tests.console.kind_cases import World

pytestmark = pytest.mark.django_db


def test_a_create_into_a_terminating_namespace_says_so_on_the_namespace(world: World) -> None:
    world.new("survivor")
    # No kube-controller-manager runs in the sandbox: a deleted namespace stays Terminating.
    world.sandbox.request("DELETE", f"/api/v1/namespaces/{world.namespace}")
    response = world.client.post(world.url("add"), world.add_data("latecomer"))
    html = response.content.decode()
    assert response.status_code == 200
    errors = html[html.index('id="errors-metadata.namespace"') :]
    assert errors.index("is being deleted") < errors.index("</ul>")
    assert "does not allow" not in html  # not worded as a permission problem
    assert [o.metadata.name for o in world.objects.list().items] == ["survivor"]
    assert not AuditEntry.objects.filter(name="latecomer").exists()  # the dry-run wrote nothing
