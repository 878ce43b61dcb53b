"""The forms of "Save as new" and "Compare with": where a copy goes, and which object to compare with.

Both name an object by cluster (one of console.clusters' configured clusters), namespace and name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from console.forms.schema import rule_help, rule_problem
from console.registry import ResourceAdmin
from emqx.client.names import DNS_LABEL, DNS_SUBDOMAIN, NameRule

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = ["CompareForm", "SaveAsNewForm"]


def _name_field(rule: NameRule, label: StrOrPromise, help_text: StrOrPromise = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=253,
        help_text=help_text or rule_help(rule),
        widget=forms.TextInput(
            attrs={"pattern": rule.html_pattern, "autocomplete": "off", "spellcheck": "false", "class": "vTextField"}
        ),
    )


class _ObjectForm(forms.Form):
    """Cluster (a choice), namespace and name; the name judged by ``name_rule``, the namespace as
    Kubernetes judges namespaces (an RFC 1123 label)."""

    def __init__(self, *args: Any, clusters: list[str], name_rule: NameRule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name_rule = name_rule
        self.fields["cluster"] = forms.ChoiceField(label=_("Cluster"), choices=[(c, c) for c in clusters])
        self.fields["namespace"] = _name_field(DNS_LABEL, _("Namespace"))
        self.fields["name"] = _name_field(name_rule, _("Name"))
        self.order_fields(["cluster", "namespace", "name"])

    def clean_namespace(self) -> str:
        value: str = self.cleaned_data["namespace"].strip()
        if (why := rule_problem(DNS_LABEL, value)) is not None:
            raise forms.ValidationError(
                gettext("%(value)s is not a valid namespace: %(why)s.") % {"value": repr(value), "why": why}
            )
        return value

    def clean_name(self) -> str:
        value: str = self.cleaned_data["name"].strip()
        if (why := rule_problem(self.name_rule, value)) is not None:
            raise forms.ValidationError(
                gettext("%(value)s is not a valid name: %(why)s.") % {"value": repr(value), "why": why}
            )
        return value


class SaveAsNewForm(_ObjectForm):
    """Where a copy goes: a cluster where the user may add the kind somewhere, a namespace there where
    they may (a field error otherwise), and a new name, judged by the kind's ``name_rule``
    (ResourceAdmin.name_rule: what a NEW object's name must be). ``source`` carries the signed document
    the copy is made from (console.views.edit.object_saveasnew). The API server's answers to the
    dry-run land on these fields through :meth:`field_for_path` (console.forms.base.add_api_error)."""

    source = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, admin: ResourceAdmin, user: Any, clusters: list[str], **kwargs: Any) -> None:
        super().__init__(*args, clusters=clusters, name_rule=admin.name_rule, **kwargs)
        self.admin, self.user = admin, user
        self.fields["namespace"].widget.attrs["list"] = "namespace-suggestions"
        self.fields["name"].help_text = gettext("The copy's name. %(rule)s") % {"rule": rule_help(admin.name_rule)}

    def field_for_path(self, path: str) -> str | None:
        """The field an API error about ``path`` belongs on (metadata.name, metadata.namespace)."""
        return {"metadata.name": "name", "metadata.namespace": "namespace"}.get(path)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        cluster, namespace = data.get("cluster"), data.get("namespace")
        if cluster and namespace and not self.admin.has_add_permission(self.user, cluster, namespace):
            self.add_error(
                "namespace",
                gettext("You may not add %(names)s in namespace %(namespace)s of cluster %(cluster)s.")
                % {"names": self.admin.verbose_name_plural, "namespace": namespace, "cluster": cluster},
            )
        return data


class CompareForm(_ObjectForm):
    """The object to compare with: any cluster the user may read the kind in; its namespace and name
    as they are (an existing object's name is never judged by a new object's rule)."""

    def __init__(self, *args: Any, clusters: list[str], **kwargs: Any) -> None:
        super().__init__(*args, clusters=clusters, name_rule=DNS_SUBDOMAIN, **kwargs)
        self.fields["namespace"].widget.attrs["list"] = "compare-namespaces"
        self.fields["name"].widget.attrs["list"] = "compare-names"
        self.fields["namespace"].help_text = ""
        self.fields["name"].help_text = ""
