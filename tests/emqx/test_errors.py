"""Every failure the API server (or the network) can give ends in its own typed error.

The first tests decode Status bodies the way the server writes them; the rest provoke each
error against the sandbox cluster.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes.client import Configuration

from emqx.client import Clientset
from emqx.errors import (
    AlreadyExists,
    ApiError,
    ClusterUnreachable,
    Conflict,
    EmqxClientError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerTimeout,
    Status,
    TooManyRequests,
    Unauthorized,
    api_error_from_response,
)
from emqx.rest import Timeouts
from tests.conftest import wait_until_allowed
from tests.factories import emqx

# ----- decoding Status bodies (no cluster) ------------------------------------------------


def test_a_422_status_becomes_invalid_with_field_errors() -> None:
    body = (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"EMQX.apps.emqx.io \\"x\\" is invalid","reason":"Invalid",'
        b'"details":{"name":"x","group":"apps.emqx.io","kind":"EMQX","causes":['
        b'{"reason":"FieldValueTypeInvalid","message":"Invalid value: \\"string\\": must be of type integer",'
        b'"field":"spec.coreTemplate.spec.replicas"},'
        b'{"reason":"FieldValueRequired","message":"Required value","field":"spec.image"},'
        b'{"reason":"FieldValueInvalid","message":"second","field":"spec.image"}]},"code":422}'
    )
    error = api_error_from_response(422, body)
    assert isinstance(error, Invalid)
    assert error.code == 422
    assert error.details.kind == "EMQX"
    assert error.field_errors == {
        "spec.coreTemplate.spec.replicas": ['Invalid value: "string": must be of type integer'],
        "spec.image": ["Required value", "second"],
    }


def test_a_429_carries_retry_after_from_the_header_or_the_details() -> None:
    from_header = api_error_from_response(429, b"", retry_after="3")
    assert isinstance(from_header, TooManyRequests)
    assert from_header.retry_after == 3.0
    from_details = api_error_from_response(
        429,
        b'{"kind":"Status","code":429,"reason":"TooManyRequests","details":{"retryAfterSeconds":7}}',
    )
    assert isinstance(from_details, TooManyRequests)
    assert from_details.retry_after == 7.0


def test_server_timeouts_are_retryable() -> None:
    error = api_error_from_response(504, b'{"kind":"Status","code":504,"reason":"Timeout","message":"slow"}')
    assert isinstance(error, ServerTimeout)
    assert error.retry_after is None


def test_an_expired_watch_status_is_gone() -> None:
    error = api_error_from_response(
        410, b'{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (230)"}'
    )
    assert isinstance(error, Gone)
    assert "too old resource version" in str(error)


def test_a_body_that_is_not_a_status_still_gives_a_typed_error() -> None:
    error = api_error_from_response(403, b"<html>proxy says no</html>")
    assert isinstance(error, Forbidden)
    assert error.reason == "Forbidden"
    assert "proxy says no" in error.message


def test_already_exists_is_not_a_conflict() -> None:
    # retry_on_conflict must not retry a create whose name is taken.
    error = api_error_from_response(409, b'{"kind":"Status","code":409,"reason":"AlreadyExists"}')
    assert isinstance(error, AlreadyExists)
    assert not isinstance(error, Conflict)


def test_every_error_is_an_emqx_client_error() -> None:
    assert issubclass(ApiError, EmqxClientError)
    assert issubclass(ClusterUnreachable, EmqxClientError)
    assert Status(code=404).details.causes == ()


# ----- against the sandbox ------------------------------------------------------------------


def test_getting_a_missing_emqx_raises_not_found(cs: Clientset, namespace: str) -> None:
    with pytest.raises(NotFound) as raised:
        cs.apps_v2beta1.emqxes(namespace).get("nobody-here")
    assert raised.value.code == 404
    assert raised.value.details.name == "nobody-here"


def test_creating_a_taken_name_raises_already_exists(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    obj = emqx()
    client.create(obj)
    with pytest.raises(AlreadyExists) as raised:
        client.create(obj)
    assert raised.value.code == 409


def test_updating_with_a_stale_resource_version_raises_conflict(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    first = client.get(created.metadata.name)
    stale = client.get(created.metadata.name)
    first.metadata.labels = {"writer": "first"}
    client.update(first)
    stale.metadata.labels = {"writer": "second"}
    with pytest.raises(Conflict) as raised:
        client.update(stale)
    assert raised.value.code == 409
    assert "modified" in raised.value.message


def test_a_string_replica_count_is_invalid_on_that_field(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx())
    # A merge patch is sent as given (the model would refuse the string itself): the server
    # is the authority and names the field.
    with pytest.raises(Invalid) as raised:
        client.patch(created.metadata.name, {"spec": {"coreTemplate": {"spec": {"replicas": "three"}}}})
    assert raised.value.code == 422
    assert "spec.coreTemplate.spec.replicas" in raised.value.field_errors
    assert client.get(created.metadata.name).metadata.resource_version == created.metadata.resource_version


def test_min_available_with_max_unavailable_is_invalid_on_that_template(cs: Clientset, namespace: str) -> None:
    obj = emqx(spec={"coreTemplate": {"spec": {"replicas": 2, "minAvailable": 1, "maxUnavailable": 1}}})
    with pytest.raises(Invalid) as raised:
        cs.apps_v2beta1.emqxes(namespace).create(obj)
    paths = list(raised.value.field_errors)
    assert any(path.startswith("spec.coreTemplate.spec") for path in paths), paths
    assert raised.value.causes


def test_a_user_without_rbac_rights_is_forbidden(sandbox, namespace: str) -> None:
    with Clientset.from_kubeconfig(sandbox.user_kubeconfig("mallory")) as cs, pytest.raises(Forbidden) as raised:
        cs.apps_v2beta1.emqxes(namespace).list()
    assert raised.value.code == 403
    assert "mallory" in raised.value.message


def test_a_bogus_token_is_unauthorized(sandbox, tmp_path: Path) -> None:
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["users"] = [{"name": "bogus", "user": {"token": "not-a-real-token"}}]
    for context in config["contexts"]:
        context["context"]["user"] = "bogus"
    path = tmp_path / "bogus-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with Clientset.from_kubeconfig(path) as cs, pytest.raises(Unauthorized) as raised:
        cs.apps_v2beta1.emqxes("default").list()
    assert raised.value.code == 401


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_closed_port_raises_cluster_unreachable(sandbox) -> None:
    configuration = Configuration(host=f"https://127.0.0.1:{_closed_port()}")
    configuration.ssl_ca_cert = str(sandbox.ca_file)
    with Clientset.from_configuration(configuration) as cs, pytest.raises(ClusterUnreachable) as raised:
        cs.apps_v2beta1.emqxes("default").list()
    assert raised.value.cause == "connection refused"
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:" in str(raised.value)
    assert raised.value.__cause__ is None  # no urllib3 traceback chained to it


def test_an_untrusted_server_certificate_raises_cluster_unreachable(sandbox) -> None:
    configuration = Configuration(host=sandbox.server)  # no CA: the sandbox's cert is not trusted
    with Clientset.from_configuration(configuration) as cs, pytest.raises(ClusterUnreachable) as raised:
        cs.apps_v2beta1.emqxes("default").list()
    assert raised.value.cause == "TLS handshake failed"


def test_a_server_that_never_answers_raises_cluster_unreachable_after_the_timeout() -> None:
    # A socket that accepts connections and then says nothing: the TLS handshake never ends.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        configuration = Configuration(host=f"https://127.0.0.1:{listener.getsockname()[1]}")
        timeouts = Timeouts(connect=0.5, read=0.5)
        with (
            Clientset.from_configuration(configuration, timeouts=timeouts) as cs,
            pytest.raises(ClusterUnreachable) as raised,
        ):
            cs.apps_v2beta1.emqxes("default").list()
        assert "timed out" in raised.value.cause or "timeout" in raised.value.cause
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_an_outage_raises_cluster_unreachable_and_the_same_clientset_recovers(
    cs: Clientset, sandbox, namespace: str
) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="survivor"))
    with sandbox.outage():
        with pytest.raises(ClusterUnreachable) as raised:
            client.get("survivor")
        assert raised.value.server == sandbox.server
    assert client.get("survivor").metadata.name == "survivor"


def test_a_viewer_may_list_but_creating_is_forbidden(sandbox, kubectl, namespace: str) -> None:
    # The operator's emqx_viewer_role: get/list/watch on emqxes.
    assert (
        kubectl(
            "create", "role", "emqx-viewer", "-n", namespace, "--verb=get,list,watch", "--resource=emqxes.apps.emqx.io"
        ).returncode
        == 0
    )
    assert (
        kubectl("create", "rolebinding", "viewer", "-n", namespace, "--role=emqx-viewer", "--user=victor").returncode
        == 0
    )
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="victor", namespace=namespace)
    with Clientset.from_kubeconfig(sandbox.user_kubeconfig("victor")) as cs:
        client = cs.apps_v2beta1.emqxes(namespace)
        assert client.list().items == []
        with pytest.raises(Forbidden) as raised:
            client.create(emqx())
        assert 'cannot create resource "emqxes"' in raised.value.message
        with pytest.raises(Forbidden):
            cs.apps_v2beta1.emqxes("default").list()  # the role is for one namespace only
