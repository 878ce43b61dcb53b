"""The clientset: one connection pool to one cluster, and a client per apps.emqx.io version.

::

    cs = Clientset.from_kubeconfig()                  # $KUBECONFIG, then ~/.kube/config
    cs = Clientset.from_kubeconfig("admin.yaml", context="prod")
    cs = Clientset.in_cluster()                       # a pod's service account
    emqx = cs.apps_v2.emqxes("default").get("broker")          # operator 2.3
    key = cs.apps_v3beta1.emqx_api_keys("default").get("ops")  # operator 3.0
    brokers = cs.apps_v1beta4.emqx_brokers(None).list()          # all namespaces

Configuration (kubeconfig parsing, exec/OIDC auth plugins, certificates, in-cluster service
account) is the ``kubernetes`` package's; the clientset keeps one
``kubernetes.client.Configuration`` and one urllib3 pool built from it.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from kubernetes.client import Configuration
from kubernetes.config.incluster_config import InClusterConfigLoader
from kubernetes.config.kube_config import load_kube_config

from emqx.client.apps_v1beta1 import AppsV1beta1Client
from emqx.client.apps_v1beta4 import AppsV1beta4Client
from emqx.client.apps_v2 import AppsV2Client
from emqx.client.apps_v2alpha1 import AppsV2alpha1Client
from emqx.client.apps_v2beta1 import AppsV2beta1Client
from emqx.client.apps_v3beta1 import AppsV3beta1Client
from emqx.client.resource import DEFAULT_FIELD_MANAGER, ResourceClient
from emqx.deadline import call_with_deadline
from emqx.discovery import GROUP, Discovery
from emqx.errors import ConfigurationError, UnknownKind
from emqx.models._base import Resource
from emqx.rest import Timeouts, Transport

__all__ = ["SUPPORTED_VERSIONS", "Clientset", "default_kubeconfig_path"]

T = TypeVar("T", bound=Resource)

# The versions of each kind that have models and typed clients here, best first. Which one is used
# on a cluster is Discovery's choice (its storage version: v2 on operator 2.3, v3beta1 on 3.0).
SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "EMQX": ("v3beta1", "v2", "v2beta1", "v2alpha1"),
    "EMQXAPIKey": ("v3beta1",),
    "EmqxBroker": ("v1beta4", "v1beta1"),
    "EmqxEnterprise": ("v1beta4", "v1beta1"),
    "Rebalance": ("v2beta1", "v1beta4"),
}

_SERVICE_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
_SERVICE_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


class _LoaderErrors(logging.Handler):
    """Collects the errors kubernetes.config logs (on the root logger) while loading."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.module in ("kube_config", "exec_provider"):
            self.messages.append(record.getMessage().strip())

    def __enter__(self) -> _LoaderErrors:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def default_kubeconfig_path() -> str:
    """Where kubectl looks: ``$KUBECONFIG`` (a ``:``-separated list, merged) or ``~/.kube/config``.
    Read at call time, so a changed environment is honoured."""
    return os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


class Clientset:
    """Typed access to the apps.emqx.io API of one cluster. Thread-safe; create one per
    identity (kubeconfig/user) and share it. ``close()`` (or ``with``) drops its connections."""

    def __init__(
        self,
        configuration: Configuration,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeouts: Timeouts | None = None,
    ) -> None:
        if not isinstance(configuration, Configuration):
            raise ConfigurationError(
                f"Clientset needs a kubernetes.client.Configuration, got {type(configuration).__name__}"
            )
        if not configuration.host:
            raise ConfigurationError("the configuration has no API server address (host)")
        self.configuration = configuration
        self.field_manager = field_manager
        self._bind(Transport(configuration, timeouts=timeouts), Discovery)

    def _bind(self, transport: Transport, discovery: Any) -> None:
        self.transport = transport
        field_manager = self.field_manager
        self.apps_v3beta1 = AppsV3beta1Client(transport, field_manager=field_manager)
        self.apps_v2 = AppsV2Client(transport, field_manager=field_manager)
        self.apps_v2beta1 = AppsV2beta1Client(transport, field_manager=field_manager)
        self.apps_v2alpha1 = AppsV2alpha1Client(transport, field_manager=field_manager)
        self.apps_v1beta4 = AppsV1beta4Client(transport, field_manager=field_manager)
        self.apps_v1beta1 = AppsV1beta1Client(transport, field_manager=field_manager)
        self.discovery = discovery(transport) if isinstance(discovery, type) else discovery

    def impersonate(self, user: str, groups: Sequence[str] = ()) -> Clientset:
        """A clientset acting as ``user`` in ``groups`` (Impersonate-User/-Group headers):
        the cluster's RBAC decides what it may do. It shares this clientset's connection
        pool and discovery; this clientset's own identity needs the ``impersonate`` verb on
        users and groups. Cheap enough to make per request."""
        twin = copy.copy(self)
        twin._bind(self.transport.impersonating(user, groups), self.discovery)
        return twin

    # ----- construction ----------------------------------------------------------------

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeouts: Timeouts | None = None,
    ) -> Clientset:
        """From a kubeconfig file (default: ``$KUBECONFIG``, then ``~/.kube/config``) and
        context (default: its current-context), as kubectl resolves them."""
        location = os.fspath(path) if path is not None else default_kubeconfig_path()
        files = [p for p in location.split(os.pathsep) if p]
        if not any(Path(p).expanduser().is_file() for p in files):
            raise ConfigurationError(
                f"no kubeconfig found at {location} (pass a path, set KUBECONFIG, or create ~/.kube/config)"
            )
        where = f"{location} (context {context!r})" if context else location
        deadline = (timeouts or Timeouts()).credentials

        def load() -> Configuration:
            loaded = Configuration()
            load_kube_config(  # type: ignore[no-untyped-call]
                config_file=location, context=context, client_configuration=loaded, persist_config=False
            )
            return loaded

        with _LoaderErrors() as logged:
            try:
                # Loading runs the credential plugin (exec), which may hang: bounded (emqx.deadline).
                # Callers loading the same kubeconfig at once share one load; each gets its own copy.
                shared = call_with_deadline(
                    f"kubeconfig:{location}:{context or ''}",
                    load,
                    deadline,
                    what=f"the credential plugin of kubeconfig {where}",
                )
                configuration = copy.deepcopy(shared)
            except Exception as error:  # ConfigException, YAML errors, unreadable files, a hung plugin ...
                raise ConfigurationError(f"cannot use kubeconfig {where}: {error}") from error
        has_credentials = configuration.api_key or configuration.cert_file or configuration.username
        if logged.messages and not has_credentials:
            # The kubernetes package only logs a failing exec credential plugin and goes on
            # anonymously; kubectl stops there, and so do we.
            raise ConfigurationError(
                f"cannot use kubeconfig {where}: its credential plugin failed: {'; '.join(logged.messages)}"
            )
        return cls(configuration, field_manager=field_manager, timeouts=timeouts)

    @classmethod
    def in_cluster(cls, *, field_manager: str = DEFAULT_FIELD_MANAGER, timeouts: Timeouts | None = None) -> Clientset:
        """From the pod's service account (token refreshed as it is rotated)."""
        configuration = Configuration()
        try:
            loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
                token_filename=_SERVICE_TOKEN, cert_filename=_SERVICE_CA
            )
            loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
        except Exception as error:
            raise ConfigurationError(f"not running in a cluster (or no service account mounted): {error}") from error
        return cls(configuration, field_manager=field_manager, timeouts=timeouts)

    @classmethod
    def from_configuration(
        cls,
        configuration: Configuration,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeouts: Timeouts | None = None,
    ) -> Clientset:
        """From an explicit ``kubernetes.client.Configuration`` (host, credentials, CA)."""
        return cls(configuration, field_manager=field_manager, timeouts=timeouts)

    @classmethod
    def from_environment(
        cls,
        *,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        timeouts: Timeouts | None = None,
    ) -> Clientset:
        """In a pod (``KUBERNETES_SERVICE_HOST`` set, no explicit kubeconfig): in-cluster;
        otherwise the kubeconfig."""
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls.in_cluster(field_manager=field_manager, timeouts=timeouts)
        return cls.from_kubeconfig(kubeconfig, context=context, field_manager=field_manager, timeouts=timeouts)

    # ----- generic access --------------------------------------------------------------

    @property
    def server(self) -> str:
        """The API server's URL."""
        return self.transport.server

    def resource(self, resource: type[T], namespace: str | None) -> ResourceClient[T]:
        """A client for any generated model class, e.g. ``cs.resource(EMQX, "default")``."""
        return ResourceClient(self.transport, resource, namespace, field_manager=self.field_manager)

    def for_kind(self, kind: str, namespace: str | None, *, version: str | None = None) -> ResourceClient[Any]:
        """A client for ``kind`` in ``version``, or, without one, in the best version that both
        the cluster serves and this package supports (see :mod:`emqx.discovery`). Raises
        UnknownKind for a kind or version without a model, or that the cluster does not serve."""
        if version is None:
            supported = SUPPORTED_VERSIONS.get(kind)
            if supported is None:
                raise UnknownKind(f"no client for kind {kind!r}: supported kinds are {', '.join(SUPPORTED_VERSIONS)}")
            best = self.discovery.best_version(kind, supported)
            if best is None:
                served = self.discovery.kind(kind).versions
                raise UnknownKind(
                    f"the cluster serves {kind} in {', '.join(served) or 'no version'}; "
                    f"this client supports {', '.join(supported)}"
                )
            version = best
        # With a version: any kind and version with a generated model (emqx/models) has a client.
        try:
            model = Resource.class_for(f"{GROUP}/{version}", kind)
        except LookupError:
            if kind not in SUPPORTED_VERSIONS:
                raise UnknownKind(
                    f"no client for kind {kind!r} {version}: supported kinds are {', '.join(SUPPORTED_VERSIONS)}"
                ) from None
            raise UnknownKind(f"no model for {kind} {version} (emqx/models has none)") from None
        return self.resource(model, namespace)

    # ----- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Drop the pooled connections."""
        self.transport.close()

    def __enter__(self) -> Clientset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Clientset {self.server}>"
