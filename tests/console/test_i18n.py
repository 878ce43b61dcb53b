"""The console in English and Simplified Chinese (issue 19).

- The catalogue: ``makemessages`` (console/management/commands/makemessages.py, as ``make messages`` runs it)
  over the code as it is now, into a copy of locale/, leaves no entry untranslated or fuzzy, and it compiles
  (``msgfmt --check``): a string marked for translation but missing from the .po fails here.
- Unmarked strings: each page of PAGES, rendered in zh-hans with the demo data (``sandbox.demo_data`` on the
  2.2 sandbox, its simulated operator running), shows no English word outside an allow-list of proper nouns,
  code (``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``) and text the cluster wrote (elements with ``lang="en"``,
  and the conditions' types, reasons and messages of the objects shown). PAGES (the 2.2 demo data) and
  OTHER_PAGES (2.3 and 3.0) hold every page and partial of every kind; the pages that need a state (an
  action's result, a review, a conflict, an object's 404, the error pages) have tests of their own, and
  ``test_every_page_of_the_console_is_rendered_in_chinese_somewhere`` fails on a route in none of them.
- The language: from the browser's Accept-Language, and from the header's switcher (set_language), which
  remembers it in a cookie.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from console import clusters
from console.kinds.emqx import PAUSED_ANNOTATION
from emqx.client.clientset import Clientset
from emqx.errors import EmqxClientError
from sandbox import Sandbox
from sandbox.cluster import free_port
from sandbox.demo_data import seed
from sandbox.operator import Simulator
from tests.support import eventually

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH = "zh-hans"


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue() -> None:
    """The .mo files, as ``make test`` builds them before pytest (they are never committed)."""
    call_command("compilemessages", ignore_patterns=[".*", "sandbox", "bench", "tests"], verbosity=0)


# ----- the catalogue ----------------------------------------------------------------------------------------


def _entries(po: Path, *flags: str) -> list[str]:
    """The msgids of ``po``'s entries that msgattrib selects with ``flags`` (``--untranslated``,
    ``--only-fuzzy``), the header aside."""
    out = subprocess.run(["msgattrib", *flags, "--no-obsolete", str(po)], capture_output=True, text=True, check=True)
    found = []
    for block in out.stdout.split("\n\n"):
        if 'msgid ""\nmsgstr ""\n"' in block and "Content-Type" in block:
            continue  # the header
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if match:
            found.append("".join(re.findall(r'"(.*)"', match.group(1))))
    return found


def test_every_marked_string_is_in_the_chinese_catalogue_translated_and_not_fuzzy(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # makemessages writes next to the files it reads (the locale/ beside them): it reads the console's
    # sources through links from a folder of the test's own, so only the copy of the catalogue changes.
    copy = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(CATALOGUE, copy)
    for source in ("console", "templates"):
        (tmp_path / source).symlink_to(ROOT / source)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    before = CATALOGUE.read_bytes()
    call_command("makemessages", symlinks=True, verbosity=0)
    assert CATALOGUE.read_bytes() == before, "the test must not change the catalogue itself"
    assert 'msgid "Log in"' in copy.read_text(), "makemessages read nothing"
    untranslated = _entries(copy, "--untranslated")
    fuzzy = _entries(copy, "--only-fuzzy")
    assert not untranslated, (
        "mark done, now translate these in locale/zh_Hans/LC_MESSAGES/django.po (make messages):\n"
        + ("\n".join(untranslated))
    )
    assert not fuzzy, "fuzzy entries (check and unmark them):\n" + "\n".join(fuzzy)
    checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(copy)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


# ----- the language of a request ----------------------------------------------------------------------------


def test_the_log_in_page_speaks_the_browsers_language() -> None:
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").get("/login/").content.decode()
    assert '<html lang="zh-hans">' in chinese and "<h1>登录</h1>" in chinese and "用户名" in chinese
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").get("/login/").content.decode()
    assert '<html lang="en">' in english and "<h1>Log in</h1>" in english
    # A language the console does not have: English.
    assert "<h1>Log in</h1>" in Client(HTTP_ACCEPT_LANGUAGE="fr-FR").get("/login/").content.decode()


def test_the_header_switcher_changes_the_language_and_remembers_it() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/login/?next=/dashboard/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'name="next" value="/login/?next=/dashboard/"' in page
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in page
    response = client.post("/i18n/setlang/", {"language": ZH, "next": "/login/?next=/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/login/?next=/dashboard/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == ZH
    page = client.get("/login/").content.decode()  # the browser still asks for English: the choice wins
    assert "<h1>登录</h1>" in page and '<option value="zh-hans" lang="zh-hans" selected>' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "<h1>Log in</h1>" in client.get("/login/").content.decode()


def test_the_lock_out_message_counts_minutes_in_chinese(settings: Any) -> None:
    from django.utils import translation

    from console.auth import THROTTLED

    with translation.override(ZH):
        assert str(THROTTLED) % {"wait": "15 分钟"} == "登录失败次数过多。请在 15 分钟后重试。"
        assert translation.ngettext("%(count)d minute", "%(count)d minutes", 1) % {"count": 1} == "1 分钟"
    with translation.override("en"):
        assert translation.ngettext("%(count)d minute", "%(count)d minutes", 2) % {"count": 2} == "2 minutes"


# ----- no English left on a page in Chinese -----------------------------------------------------------------

# Proper nouns and technical names that stay as they are in EMQX's Chinese documentation.
ALLOWED_WORDS = {
    "EMQX", "Kubernetes", "Operator", "Pod", "Secret", "API", "YAML", "JSON", "MQTT", "UTC", "English",
    "kubectl", "kind", "apiVersion", "continue", "limit",
    # EMQX's Dashboard (a product name in EMQX's Chinese docs), and values of the CRDs' enums shown as the cluster
    # takes them (spec.updateStrategy.type, spec.config.mode).
    "Dashboard", "Recreate", "Merge", "Replace",
}  # fmt: skip
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp", "template", "textarea"}
CHECKED_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# A run of ASCII letters with what names are made of (mqtt-edge, apps.emqx.io, v2beta1), and the runs that are
# English-looking words: "next", "Filter" (not EMQX, v2beta1, mqtt-edge, CoreNodesProgressing).
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-']*")
WORD = re.compile(r"^[A-Za-z][a-z]+$")


class _Texts(HTMLParser):
    """What a person reads on a page: text nodes and the attributes in CHECKED_ATTRIBUTES, outside
    SKIPPED_ELEMENTS and elements in English (``lang="en"``: text as the cluster wrote it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skip = self._skipping() or tag in SKIPPED_ELEMENTS or (values.get("lang") or "").startswith("en")
        if not skip:
            # A placeholder with "=" is an example of syntax (a label selector: ``app=iot,tier in (gold)``).
            self.texts += [
                v for k, v in attrs if k in CHECKED_ATTRIBUTES and v and not (k == "placeholder" and "=" in v)
            ]
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipping() and data.strip():
            self.texts.append(data)


def english_words(html: str, allowed: set[str], cluster_texts: set[str]) -> list[str]:
    """The English words a person reads on the page ``html``, each with its text, other than ``allowed``
    words and the ``cluster_texts`` (removed from each text first, longest first)."""
    parser = _Texts()
    parser.feed(html)
    found = []
    # Whole runs only: another test's condition with reason "r" must not cut "Kubernetes" into two words.
    ordered = sorted(cluster_texts, key=len, reverse=True)
    quoted = (
        re.compile("|".join(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])" for t in ordered)) if ordered else None
    )
    for text in parser.texts:
        rest = quoted.sub(" ", text) if quoted is not None else text
        for run in TOKEN.findall(rest):
            word = run.rstrip(".-'")
            if WORD.match(word) and word not in allowed and word.lower() not in allowed:
                found.append(f"{word!r} in {text.strip()[:120]!r}")
    return found


@dataclass(frozen=True)
class World:
    prefix: str
    empty_namespace: str
    allowed: set[str]
    """ALLOWED_WORDS, the clusters' names, the user's and the parts of the world's namespaces."""
    unreachable_kubeconfig: Path
    kubeconfig: Path


def _cluster_words(cs: Clientset) -> tuple[set[str], set[str]]:
    """What the cluster holds now, in every namespace (other tests' objects too: a page of every namespace
    lists them): the words of its names (objects, namespaces, label keys and values), and its text (the
    conditions' types, reasons and messages)."""
    names: set[str] = set()
    texts: set[str] = set()
    for kind in ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance"):
        for obj in cs.for_kind(kind, None).list().items:
            doc = obj.to_dict()
            meta = doc.get("metadata") or {}
            for name in (meta.get("name", ""), meta.get("namespace", "")):
                names |= {name, *name.split("-")}
            names |= {str(v) for v in (meta.get("labels") or {}).values()}
            # ... and the names an object refers to (a Rebalance's instance, which may not exist: "EMQX target")
            referred = str((doc.get("spec") or {}).get("instanceName") or "")
            names |= {referred, *referred.split("-")}
            names |= {part for k in (meta.get("labels") or {}) for part in (str(k), *str(k).split("/"))}
            for condition in (doc.get("status") or {}).get("conditions") or []:
                texts |= {str(condition.get(key) or "") for key in ("type", "reason", "message")}
    return names, {t for t in texts if t}


@pytest.fixture(scope="module")
def world(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The 2.2 demo data under a prefix of this module's own, with the simulated operator having written
    every EMQX's status; a namespace with nothing in it; a kubeconfig of a cluster that does not answer."""
    prefix = f"i18n-{secrets.token_hex(2)}-"
    namespaces = [prefix + ns for ns in ("emqx-prod", "emqx-staging", "iot-lab")]
    with Clientset.from_kubeconfig(sandbox.kubeconfig, field_manager="emqx-operator") as cs:
        seed(cs, "2.2", prefix=prefix)
        sims = [Simulator(cs, pace=0.2, namespace=ns).start() for ns in namespaces]
        try:
            shown = [("EMQX", "emqx-prod", "payments-gw"), ("EmqxBroker", "emqx-staging", "legacy-broker")]
            shown += [("EmqxEnterprise", "emqx-prod", "legacy-ee"), ("EMQX", "iot-lab", "edge-gateway")]

            def shown_have_a_status() -> bool:
                return all(
                    (cs.for_kind(k, prefix + ns).get(name).to_dict().get("status") or {}).get("conditions")
                    for k, ns, name in shown
                )

            eventually(shown_have_a_status, 60, message="the simulated operator wrote no status")
        finally:
            for sim in sims:
                sim.stop()
    empty = prefix + "empty"
    sandbox.create_namespace(empty)
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    unreachable = tmp_path_factory.mktemp("i18n") / "kubeconfig"
    unreachable.write_text(yaml.safe_dump(config))
    prefixed = {part for ns in [*namespaces, empty] for part in re.split(r"[-]", ns)}
    # ... and the clusters' names, the user's, and what a page echoes of a wrong value typed in a filter.
    allowed = ALLOWED_WORDS | prefixed | {"default", "gone", "admin", "Nope"}
    # ... and the demo namespaces' labels, which the delete page's production guard names (environment=production).
    allowed |= {"environment", "production"}
    yield World(prefix, empty, allowed, unreachable, sandbox.kubeconfig)


@pytest.fixture
def chinese(settings: Any, world: World, sandbox: Sandbox, admin_user: Any) -> Iterator[Client]:
    """A superuser's browser asking for Chinese; the console on the 2.2 sandbox (cluster ``default``) and on
    one that does not answer (``gone``)."""
    clusters.reset()
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": "gone", "kubeconfig": str(world.unreachable_kubeconfig)},
    ]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.force_login(admin_user)
    yield client
    clusters.reset()


@dataclass(frozen=True)
class Page:
    """One page (or partial) to render in Chinese: its URL (``{p}`` is the world's namespace prefix,
    ``{empty}`` the empty namespace), whether it needs a log-in, what must be on it once loaded (the data
    is there, not a "Loading…" page), and extra request headers."""

    id: str
    url: str
    shows: str
    logged_in: bool = True
    post: dict[str, str] | None = None
    headers: dict[str, str] | None = None


LIST = "/clusters/default/emqx/"
# The console's pages in Chinese (issue 19); a new page goes here or below (the route check fails otherwise).
PAGES = [
    Page("login", "/login/", "登录", logged_in=False),
    Page("login-wrong-password", "/login/", "请输入一个正确的", logged_in=False,
         post={"username": "nobody", "password": "wrong"}),
    Page("emqx-list", LIST, "mqtt-core"),
    Page("emqx-list-namespace-and-facets", LIST + "?namespace={p}emqx-prod&state=Ready&sort=-age", "按状态"),
    Page("emqx-list-filter-errors", LIST + "?labels=%25%25&kind_version=x1&state=Nope&version=a%20b", "不是"),
    Page("emqx-list-no-match", LIST + "?q=zz-no-such-name", "清除筛选条件"),
    Page("emqx-list-empty-namespace", LIST + "?namespace={empty}", "还没有"),
    Page("emqx-list-api-pages", LIST + "?source=api&namespace={p}emqx-prod", "从 API 服务器读取"),
    Page("emqx-list-rows-partial", "/clusters/default/emqx/_rows?namespace={p}iot-lab", "edge-gateway",
         headers={"HTTP_HX_REQUEST": "true"}),
    Page("brokers-list", "/clusters/default/emqxbrokers/?namespace={p}emqx-staging", "legacy-broker"),
    Page("enterprise-list", "/clusters/default/emqxenterprises/?namespace={p}emqx-prod", "legacy-ee"),
    Page("rebalances-list", "/clusters/default/rebalances/", "重平衡"),
    Page("unreachable-cluster-banner", "/clusters/gone/emqx/", "无法访问"),
    # History, timeline, audit trail, dashboards, upgrade checks (and, below, the list actions' pages and the
    # error pages, which need a state of their own).
    Page("history", "/clusters/default/emqx/{p}emqx-prod/payments-gw/history/", "历史记录"),
    Page("timeline", "/clusters/default/emqx/{p}emqx-prod/payments-gw/timeline/", "状况时间线"),
    Page("audit", "/audit/", "审计日志"),
    Page("audit-filtered", "/audit/?user=admin&namespace={p}emqx-prod&action=update&outcome=failure"
         "&since=2026-01-01T00:00", "没有符合这些筛选条件的审计条目"),
    Page("audit-filter-errors", "/audit/?action=Nope&since=2026-02-01T00:00&until=2026-01-01T00:00",
         "时间范围的结束早于其开始"),
    Page("fleet-dashboard", "/dashboard/", "所有集群"),
    Page("fleet-dashboard-poll", "/dashboard/_dashboard", "使用中的 EMQX 版本", headers={"HTTP_HX_REQUEST": "true"}),
    Page("cluster-dashboard", "/clusters/default/", "这些数字的含义"),
    Page("cluster-dashboard-poll", "/clusters/default/_dashboard", "按资源类型和状态统计的实例",
         headers={"HTTP_HX_REQUEST": "true"}),
    Page("unreachable-cluster-dashboard", "/clusters/gone/", "无法访问"),
    Page("upgrade-checks", "/clusters/default/upgrade/", "升级步骤"),
]  # fmt: skip

# The per-object pages and forms (issue 19: detail, status, events, forms, delete, save as new, compare), on the
# 2.2 demo data: EMQX v2beta1, the 4.x brokers and a Rebalance (no API key there: the 2.2 line has none).
ONE = "/clusters/default/emqx/{p}emqx-prod/payments-gw/"
HTMX = {"HTTP_HX_REQUEST": "true"}
PAGES += [
    Page("emqx-detail", ONE, "核心节点就绪"),
    Page("emqx-detail-ready", "/clusters/default/emqx/{p}emqx-prod/mqtt-core/", "核心节点就绪"),
    Page("emqx-status-partial", ONE + "_status", "核心节点就绪", headers=HTMX),
    Page("emqx-events-partial", ONE + "_events", "事件", headers=HTMX),
    Page("broker-detail", "/clusters/default/emqxbrokers/{p}emqx-staging/legacy-broker/", "概要"),
    Page("enterprise-detail", "/clusters/default/emqxenterprises/{p}emqx-prod/legacy-ee/", "概要"),
    Page("rebalance-detail", "/clusters/default/rebalances/{p}emqx-prod/payments-gw-rebalance/", "概要"),
    Page("emqx-add-form", "/clusters/default/emqx/add/?namespace={p}emqx-prod", "核心节点资源"),
    Page("emqx-add-form-field-error", "/clusters/default/emqx/add/", "请更正",
         post={"metadata.name": "Not_A_Name", "metadata.namespace": "{p}emqx-prod", "spec.image": "emqx/emqx:5.8.6",
               "spec.coreTemplate.spec.replicas": "99"}),
    Page("emqx-add-yaml", "/clusters/default/emqx/add/?mode=yaml", "整个对象"),
    Page("emqx-change-form", ONE + "change/", "核心节点资源"),
    Page("emqx-change-yaml", ONE + "change/?mode=yaml", "整个对象"),
    Page("emqx-delete", "/clusters/default/emqx/{p}emqx-staging/mqtt-core/delete/", "会删除什么"),
    Page("emqx-delete-production", ONE + "delete/", "这看起来是生产环境"),
    Page("broker-delete", "/clusters/default/emqxbrokers/{p}emqx-staging/legacy-broker/delete/", "会删除什么"),
    Page("rebalance-delete", "/clusters/default/rebalances/{p}emqx-prod/payments-gw-rebalance/delete/", "删除会做什么"),
    Page("emqx-save-as-new", ONE + "saveasnew/", "副本的去处"),
    Page("emqx-compare", ONE + "compare/", "比较对象"),
    Page("emqx-compare-result", ONE + "compare/?cluster=default&namespace={p}iot-lab&name=edge-gateway", "不同之处"),
]  # fmt: skip

# Every other kind's pages and partials (the same views as EMQX's, with each kind's own summaries, status panels,
# fields and actions): test_every_page_of_the_console_is_rendered_in_chinese_somewhere keeps this complete.
BROKER = "/clusters/default/emqxbrokers/{p}emqx-staging/legacy-broker/"
ENTERPRISE = "/clusters/default/emqxenterprises/{p}emqx-prod/legacy-ee/"
REBALANCE = "/clusters/default/rebalances/{p}emqx-prod/payments-gw-rebalance/"
PAGES += [
    Page("broker-status-partial", BROKER + "_status", "状态", headers=HTMX),
    Page("broker-events-partial", BROKER + "_events", "事件", headers=HTMX),
    Page("broker-history", BROKER + "history/", "历史记录"),
    Page("broker-timeline", BROKER + "timeline/", "状况时间线"),
    Page("broker-save-as-new", BROKER + "saveasnew/", "副本的去处"),
    Page("broker-compare", BROKER + "compare/", "比较对象"),
    Page("broker-rows-partial", "/clusters/default/emqxbrokers/_rows?namespace={p}emqx-staging", "legacy-broker",
         headers=HTMX),
    Page("broker-action-confirmation", "/clusters/default/emqxbrokers/actions/", "将涉及",
         post={"action": "label", "selected": "{p}emqx-staging/legacy-broker"}),
    Page("enterprise-add-form", "/clusters/default/emqxenterprises/add/?namespace={p}emqx-prod", "许可证"),
    Page("enterprise-status-partial", ENTERPRISE + "_status", "状态", headers=HTMX),
    Page("enterprise-events-partial", ENTERPRISE + "_events", "事件", headers=HTMX),
    Page("enterprise-history", ENTERPRISE + "history/", "历史记录"),
    Page("enterprise-timeline", ENTERPRISE + "timeline/", "状况时间线"),
    Page("enterprise-delete", ENTERPRISE + "delete/", "这看起来是生产环境"),
    Page("enterprise-save-as-new", ENTERPRISE + "saveasnew/", "副本的去处"),
    Page("enterprise-compare", ENTERPRISE + "compare/", "比较对象"),
    Page("enterprise-rows-partial", "/clusters/default/emqxenterprises/_rows?namespace={p}emqx-prod", "legacy-ee",
         headers=HTMX),
    Page("enterprise-action-confirmation", "/clusters/default/emqxenterprises/actions/", "将涉及",
         post={"action": "label", "selected": "{p}emqx-prod/legacy-ee"}),
    Page("rebalance-status-partial", REBALANCE + "_status", "状态", headers=HTMX),
    Page("rebalance-events-partial", REBALANCE + "_events", "事件", headers=HTMX),
    Page("rebalance-change-form", REBALANCE + "change/", "策略"),
    Page("rebalance-history", REBALANCE + "history/", "历史记录"),
    Page("rebalance-save-as-new", REBALANCE + "saveasnew/", "副本的去处"),
    Page("rebalance-compare", REBALANCE + "compare/", "比较对象"),
    Page("rebalance-rows-partial", "/clusters/default/rebalances/_rows?namespace={p}emqx-prod",
         "payments-gw-rebalance", headers=HTMX),
    Page("rebalance-action-confirmation", "/clusters/default/rebalances/actions/", "将涉及",
         post={"action": "label", "selected": "{p}emqx-prod/payments-gw-rebalance"}),
]  # fmt: skip

# The Chinese journey's path (tests/e2e/test_journey_zh.py): the console's own field errors, here the image's.
PAGES += [
    Page("emqx-add-form-image-error", "/clusters/default/emqx/add/", "不是有效的镜像引用",
         post={"metadata.name": "edge-eu", "metadata.namespace": "{p}iot-lab", "spec.image": "emqx/emqx 5.8.6",
               "spec.coreTemplate.spec.replicas": "1"}),
]  # fmt: skip


def _get(client: Client, page: Page, world: World) -> str:
    url = page.url.format(p=world.prefix, empty=world.empty_namespace)
    if page.post is not None:
        data = {key: value.format(p=world.prefix) for key, value in page.post.items()}
        response = client.post(url, data, **(page.headers or {}))
    else:
        response = client.get(url, **(page.headers or {}))
    # 286: htmx's "stop polling", the status partial of an object in a final state (a Failed Rebalance).
    assert response.status_code in (200, 286), f"{url}: {response.status_code}"
    return str(response.content.decode())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_a_page_in_chinese_shows_no_english_but_names_code_and_what_the_cluster_wrote(
    page: Page, world: World, chinese: Client
) -> None:
    client = chinese if page.logged_in else Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    _no_english(_loaded(client, page, world), world, page.id)


def _loaded(client: Client, page: Page, world: World) -> str:
    """``page`` once it shows what it must (its data loaded, not a "Loading…" page)."""
    load: Callable[[], str] = lambda: _get(client, page, world)  # noqa: E731
    eventually(lambda: page.shows in load(), 30, message=f"{page.id}: {page.shows!r} never appeared")
    return load()


def test_the_check_finds_an_english_word_left_on_a_page() -> None:
    """The check itself: what it must find, and what it must leave (code, cluster text, names)."""
    html = (
        '<p title="Remove this choice">移除 <code>kubectl apply -f</code> <span lang="en">Ready for it</span></p>'
        "<button>Go</button><p>mqtt-core · EMQX 实例 · telemetry</p><p>集群\uff1aFailed to reach</p>"
    )
    found = english_words(html, ALLOWED_WORDS | {"telemetry"}, {"Failed to reach", "e", "r"})
    assert [f.split(" in ")[0] for f in found] == ["'Remove'", "'this'", "'choice'", "'Go'"], (
        "a short cluster text (another object's reason 'r') removes only itself, never part of a word"
    )


# ----- the pages that need a state: an action's confirmation and result, what it leaves in the audit trail, the
# History and the recent actions; the error pages (issue 19: history, timeline, audit, dashboards, actions) --------

# API values and names these pages show in Chinese as the Kubernetes and EMQX documentation do: a CRD's conversion
# strategy (Webhook, None), Helm and its chart, etcd, an object's uid, the resources' plural names (emqxes).
ALLOWED_WORDS.update({"Webhook", "None", "Helm", "chart", "etcd", "uid", "emqxes", "rebalances"})


def _no_english(html: str, world: World, what: str, *, user: str = "") -> None:
    """No English word on ``html`` but the world's allowed words, the cluster's names and text, and ``user``."""
    with Clientset.from_kubeconfig(world.kubeconfig) as cs:
        names, cluster_texts = _cluster_words(cs)
    leftovers = english_words(html, world.allowed | names | {user}, cluster_texts)
    assert not leftovers, f"{what}: English words not marked for translation:\n" + "\n".join(leftovers)


def test_a_list_actions_pages_and_what_it_leaves_in_the_trail_are_in_chinese(world: World, chinese: Client) -> None:
    from tests.support import form_data

    namespace, name = world.prefix + "emqx-prod", "payments-gw"
    confirmation = chinese.post(LIST + "actions/", {"action": "label", "selected": f"{namespace}/{name}"})
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "将涉及" in page and "添加或覆盖标签" in page
    _no_english(page, world, "action confirmation")
    values = {**form_data(page, "action-confirmation"), "operation": "add", "key": "team", "value": "iot"}
    done = chinese.post(LIST + "actions/", values)
    assert done.status_code == 302, done.content.decode()[:2000]
    result = chinese.get(done["Location"]).content.decode()
    assert "标签已更改" in result and "1 个完成" in result
    _no_english(result, world, "action result")
    poll = chinese.get(done["Location"], HTTP_HX_REQUEST="true").content.decode()
    _no_english(poll, world, "action result poll")
    for what, url, shows in [
        ("audit trail", "/audit/", ">标签<"),
        ("audit trail, filtered", f"/audit/?action=label&outcome=success&namespace={namespace}", ">成功<"),
        ("History", f"/clusters/default/emqx/{namespace}/{name}/history/", "<strong>标签</strong>"),
        ("recent actions", "/clusters/default/", "你最近的操作"),
    ]:
        html = chinese.get(url).content.decode()
        assert shows in html, f"{what}: {shows!r} not shown"
        _no_english(html, world, what)
    # What live.js says in the live region comes from the page, in its language.
    assert 'data-text-lost="连接已断开\uff0c正在重试…"' in html


def test_the_error_pages_are_in_chinese_and_the_server_error_page_needs_no_database(
    world: World, chinese: Client, django_assert_num_queries: Any
) -> None:
    from django.contrib.auth.models import User
    from django.test import RequestFactory
    from django.utils import translation
    from django.views.defaults import server_error

    from console.models import RoleGrant

    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.force_login(viewer)
    forbidden = client.get(f"/clusters/default/emqx/{world.prefix}emqx-prod/payments-gw/change/")
    assert forbidden.status_code == 403
    html = forbidden.content.decode()
    assert "<h1>不允许</h1>" in html and "中更新 EMQX 对象" in html
    _no_english(html, world, "403", user="viewer")
    missing = chinese.get("/clusters/default/no-such-page/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert "<h1>未找到</h1>" in html
    _no_english(html, world, "404")
    # Django's server_error renders 500.html with no context: the request's language when the middleware
    # chose one before the error, English otherwise; and never a query (the database may be what failed).
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        with translation.override(ZH):
            chinese_500 = server_error(request).content.decode()
        with translation.override("en"):
            english_500 = server_error(request).content.decode()
    assert '<html lang="zh-hans">' in chinese_500 and "我们这边出错了" in chinese_500
    _no_english(chinese_500, world, "500")
    assert '<html lang="en">' in english_500 and "<h1>Something went wrong on our side</h1>" in english_500


def test_the_django_admins_role_grants_and_audit_entries_are_in_chinese(admin_client: Client) -> None:
    from console.models import AuditEntry

    page = admin_client.get("/admin/console/rolegrant/add/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<title>增加 角色授权" in page
    assert 'for="id_namespace">命名空间:</label>' in page and "命名空间\uff0c* 表示全部。" in page
    assert '<option value="viewer">查看者\uff08只读\uff09</option>' in page
    where = {"cluster": "default", "namespace": "prod", "kind": "EMQX", "name": "a"}
    AuditEntry.objects.create(username="ana", action="update", outcome="failure", **where)
    entries = admin_client.get("/admin/console/auditentry/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "选择审计条目查看" in entries and ">用户名</a>" in entries and ">失败</td>" in entries
    english = admin_client.get("/admin/console/rolegrant/add/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="viewer">Viewer (read)</option>' in english and "A namespace, or * for all." in english


# ----- zh-rest (issue 19): the review and conflict pages, EMQX v2 and v3beta1, the API key, the 4.x brokers' and the
# Rebalance's forms, an object's 404 ------------------------------------------------------------------------------

PAGES_REST = [
    Page("broker-add-form", "/clusters/default/emqxbrokers/add/?namespace={p}emqx-staging", "实例"),
    Page("broker-change-form", "/clusters/default/emqxbrokers/{p}emqx-staging/legacy-broker/change/", "镜像"),
    Page("enterprise-change-form", "/clusters/default/emqxenterprises/{p}emqx-prod/legacy-ee/change/", "许可证"),
    Page("broker-add-form-field-error", "/clusters/default/emqxbrokers/add/", "请更正",
         post={"metadata.name": "legacy-two", "metadata.namespace": "{p}emqx-staging",
               "spec.template.spec.emqxContainer.image.repository": "emqx/emqx",
               "spec.template.spec.emqxContainer.image.version": "4.4.19", "spec.replicas": "3",
               "spec.persistent.spec.resources.requests.storage": "1.5.5"}),
    Page("rebalance-add-form", "/clusters/default/rebalances/add/?namespace={p}emqx-prod", "策略"),
    Page("rebalance-add-form-field-error", "/clusters/default/rebalances/add/", "请更正",
         post={"metadata.name": "r1", "metadata.namespace": "{p}emqx-prod", "spec.instanceKind": "EMQX",
               "spec.instanceName": "payments-gw", "spec.rebalanceStrategy.connEvictRate": "10",
               "spec.rebalanceStrategy.relConnThreshold": "0.5"}),
]  # fmt: skip
PAGES += PAGES_REST
# Values of the CRDs' enums, shown as the cluster takes them (as Recreate, Merge and Replace above): a container's
# imagePullPolicy (Always, Never), v3beta1's evacuation strategy (Disabled), an API key's role (EMQX's own role
# names: Administrator, Viewer, Publisher); and the binary suffixes of Kubernetes quantities (512Mi, 1Gi).
ALLOWED_WORDS.update({"Always", "Never", "Disabled", "Administrator", "Viewer", "Publisher", "Ki", "Mi", "Gi", "Ti"})
# ... and the annotation the Pause and Resume buttons' tooltips name (apps.emqx.io/paused), a name in a title.
ALLOWED_WORDS.update(re.split(r"[/.]", PAUSED_ANNOTATION))


def test_the_review_and_the_conflict_of_an_edit_are_in_chinese(
    world: World, chinese: Client, sandbox: Sandbox, namespace: str
) -> None:
    from tests import factories
    from tests.support import form_data

    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        emqxes = cs.apps_v2beta1.emqxes(namespace)
        emqxes.create(factories.emqx("shared", namespace=namespace))
        url = f"/clusters/default/emqx/{namespace}/shared/change/"
        page = chinese.get(url).content.decode()
        data = {**form_data(page, "emqx-form"), "spec.coreTemplate.spec.replicas": "3"}
        review = chinese.post(url, data)
        assert review.status_code == 200
        html = review.content.decode()
        assert 'id="changes"' in html and 'id="preview-form"' in html
        _no_english(html, world, "the review")
        yaml_page = chinese.get(url + "?mode=yaml").content.decode()
        yaml_data = form_data(yaml_page, "emqx-form")
        yaml_data["yaml"] = yaml_data["yaml"].replace("metadata:\n", "metadata:\n  labels:\n    team: iot\n", 1)
        yaml_review = chinese.post(url, yaml_data)
        assert yaml_review.status_code == 200
        _no_english(yaml_review.content.decode(), world, "the review of a YAML edit")
        theirs = emqxes.get("shared")
        theirs.metadata.labels = {"owner": "them"}
        emqxes.update(theirs)  # someone else saves first
        conflict = chinese.post(url, {**data, "step": "save"})
        assert conflict.status_code == 409
        html = conflict.content.decode()
        assert 'id="conflict"' in html and "冲突" in html
        _no_english(html, world, "the conflict")


def test_an_objects_404_says_which_object_in_chinese(world: World, chinese: Client, admin_user: Any) -> None:
    prefix = world.prefix
    for what, url in [
        ("detail", f"/clusters/default/emqx/{prefix}emqx-prod/no-such-one/"),
        ("compare", f"/clusters/default/emqx/{prefix}emqx-prod/no-such-one/compare/"),
        ("history", f"/clusters/default/rebalances/{prefix}emqx-prod/no-such-one/history/"),
        ("unknown cluster", "/clusters/nowhere/emqx/"),
    ]:
        # Until the console's cache of the kind has synced, a detail page of an unknown name says it is loading.
        eventually(lambda url=url: chinese.get(url).status_code == 404, 30, message=f"{what}: never a 404")
        response = chinese.get(url)
        html = response.content.decode()
        said = re.search(r'<p id="reason">(.*?)</p>', html, re.S)
        assert said is not None and ("没有" in said.group(1) or "未配置" in said.group(1)), f"{what}: {html[:3000]}"
        assert "<code>" in said.group(1), f"{what}: the names are marked as names"
        _no_english(html, world, f"404 of {what}")
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(admin_user)
    html = english.get(f"/clusters/default/emqx/{prefix}emqx-prod/no-such-one/").content.decode()
    assert f"No EMQX <code>{prefix}emqx-prod/no-such-one</code> in cluster <code>default</code>." in html


@dataclass(frozen=True)
class OtherLines:
    """The 2.3 and 3.0 demo data (EMQX v2; EMQX v3beta1 and an EMQXAPIKey) under a prefix of its own, their
    statuses written by the simulated operator; the clusters' kubeconfigs."""

    prefix: str
    kubeconfigs: dict[str, Path]


@pytest.fixture(scope="module")
def other_lines(sandbox_23: Sandbox, sandbox_30: Sandbox) -> OtherLines:
    prefix = f"i18n-{secrets.token_hex(2)}-"
    shown = {"2.3": (sandbox_23, "emqx-prod", "mqtt-edge"), "3.0": (sandbox_30, "emqx-pilot", "mqtt-next")}
    for line, (box, namespace, name) in shown.items():
        with Clientset.from_kubeconfig(box.kubeconfig, field_manager="emqx-operator") as cs:
            seed(cs, line, prefix=prefix)
            emqx = cs.for_kind("EMQX", prefix + namespace)
            sim = Simulator(cs, pace=0.2, namespace=prefix + namespace).start()
            try:
                eventually(
                    lambda emqx=emqx, name=name: bool((emqx.get(name).to_dict().get("status") or {}).get("conditions")),
                    60,
                    message=f"the simulated operator wrote no status on {line}",
                )
            finally:
                sim.stop()
    return OtherLines(prefix, {"v2": sandbox_23.kubeconfig, "v3": sandbox_30.kubeconfig})


APIKEY = "/clusters/v3/emqxapikeys/{p}emqx-pilot/mqtt-next-ci/"
OTHER_PAGES = [
    Page("emqx-v2-detail", "/clusters/v2/emqx/{p}emqx-prod/mqtt-edge/", "核心节点就绪"),
    Page("emqx-v2-change-form", "/clusters/v2/emqx/{p}emqx-prod/mqtt-edge/change/", "核心节点资源"),
    Page("emqx-v3beta1-detail", "/clusters/v3/emqx/{p}emqx-pilot/mqtt-next/", "核心节点就绪"),
    Page("emqx-v3beta1-change-form", "/clusters/v3/emqx/{p}emqx-pilot/mqtt-next/change/", "核心节点资源"),
    Page("apikey-detail", "/clusters/v3/emqxapikeys/{p}emqx-pilot/mqtt-next-ci/", "概要"),
    Page("apikey-add-form", "/clusters/v3/emqxapikeys/add/?namespace={p}emqx-pilot", "角色"),
    Page("apikey-change-form", "/clusters/v3/emqxapikeys/{p}emqx-pilot/mqtt-next-ci/change/", "角色"),
    Page("apikeys-list", "/clusters/v3/emqxapikeys/", "mqtt-next-ci"),
    Page("apikey-status-partial", APIKEY + "_status", "状态", headers=HTMX),
    Page("apikey-events-partial", APIKEY + "_events", "事件", headers=HTMX),
    Page("apikey-delete", APIKEY + "delete/", "会删除什么"),
    Page("apikey-history", APIKEY + "history/", "历史记录"),
    Page("apikey-save-as-new", APIKEY + "saveasnew/", "副本的去处"),
    Page("apikey-compare", APIKEY + "compare/", "比较对象"),
    Page("apikeys-rows-partial", "/clusters/v3/emqxapikeys/_rows?namespace={p}emqx-pilot", "mqtt-next-ci",
         headers=HTMX),
    Page("apikey-action-confirmation", "/clusters/v3/emqxapikeys/actions/", "将涉及",
         post={"action": "label", "selected": "{p}emqx-pilot/mqtt-next-ci"}),
]  # fmt: skip


def _other_words(kubeconfig: Path) -> tuple[set[str], set[str]]:
    """:func:`_cluster_words` of a 2.3 or 3.0 cluster (EMQX, and the API keys where served)."""
    names: set[str] = set()
    texts: set[str] = set()
    with Clientset.from_kubeconfig(kubeconfig) as cs:
        for kind in ("EMQX", "EMQXAPIKey", "Rebalance"):
            try:
                items = cs.for_kind(kind, None).list().items
            except EmqxClientError:  # a kind this line does not serve
                continue
            for obj in items:
                doc = obj.to_dict()
                meta = doc.get("metadata") or {}
                spec = doc.get("spec") or {}
                for name in (meta.get("name", ""), meta.get("namespace", ""), str(spec.get("instanceName") or "")):
                    names |= {name, *name.split("-")}
                names |= {str(v) for v in (meta.get("labels") or {}).values()}
                names |= {part for k in (meta.get("labels") or {}) for part in (str(k), *str(k).split("/"))}
                for ref in ("emqxRef", "secretRef"):
                    ref_name = str((spec.get(ref) or {}).get("name") or "")
                    names |= {ref_name, *ref_name.split("-")}
                for condition in (doc.get("status") or {}).get("conditions") or []:
                    texts |= {str(condition.get(key) or "") for key in ("type", "reason", "message")}
                # The key's description is the user's own text, shown as written.
                texts.add(str(spec.get("description") or ""))
    return names, {t for t in texts if t}


@pytest.mark.parametrize("page", OTHER_PAGES, ids=lambda p: p.id)
def test_the_v2_and_v3beta1_pages_and_the_api_keys_in_chinese_show_no_english(
    page: Page, world: World, other_lines: OtherLines, chinese: Client, settings: Any
) -> None:
    clusters.reset()
    settings.CONSOLE_CLUSTERS = [
        {"name": cluster, "kubeconfig": str(kubeconfig)} for cluster, kubeconfig in other_lines.kubeconfigs.items()
    ]
    url = page.url.format(p=other_lines.prefix)
    post = None if page.post is None else {key: value.format(p=other_lines.prefix) for key, value in page.post.items()}
    html = _loaded(chinese, dataclass_replace(page, url=url, post=post), world)
    cluster = url.split("/")[2]
    names, cluster_texts = _other_words(other_lines.kubeconfigs[cluster])
    prefixed = set(other_lines.prefix.split("-"))
    leftovers = english_words(html, world.allowed | names | prefixed | {"v2", "v3"}, cluster_texts)
    assert not leftovers, f"{page.id}: English words not marked for translation:\n" + "\n".join(leftovers)


# Routes that are not a page of their own to render here, with the test that covers what they show instead.
NOT_PAGES = {
    "home": "a redirect to the fleet dashboard (fleet-dashboard)",
    "logout": "POST only; a redirect to the log-in page (login)",
    "set_language": "Django's set_language: POST only, a redirect (test_the_header_switcher_changes_the_language...)",
    "emqx_action": "an object action (Pause, Resume): POST only, a redirect to the detail page with its message",
    "healthz": "for probes: plain text of django-health-check, not a page for people",
    "readyz": "for probes: plain text of django-health-check, not a page for people",
    "metrics": "for Prometheus: the text exposition format",
    "emqx_actions": "a list action's confirmation: test_a_list_actions_pages_and_what_it_leaves_in_the_trail...",
    "emqx_action_result": "test_a_list_actions_pages_and_what_it_leaves_in_the_trail_are_in_chinese",
    # One view and template (console/views/actions.py, object/action_result.html) for every kind; the kind adds
    # only its name and its objects' names to it.
    "emqxbrokers_action_result": "the EMQX action result's view and template, tested with EMQX",
    "emqxenterprises_action_result": "the EMQX action result's view and template, tested with EMQX",
    "rebalances_action_result": "the EMQX action result's view and template, tested with EMQX",
    "emqxapikeys_action_result": "the EMQX action result's view and template, tested with EMQX",
}


def test_every_page_of_the_console_is_rendered_in_chinese_somewhere() -> None:
    """Every named route of the console (Django's own admin aside, which Django translates) is a page of PAGES
    or OTHER_PAGES, or in NOT_PAGES with the reason: a page added later without its Chinese check fails here."""
    from django.urls import URLPattern, URLResolver, get_resolver, resolve

    def routes(patterns: list[Any], prefix: str) -> Iterator[tuple[str, str | None]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.name

    rendered = {resolve(page.url.format(p="p-", empty="e").split("?")[0]).url_name for page in PAGES + OTHER_PAGES}
    ours = {name: path for path, name in routes(get_resolver().url_patterns, "") if not path.startswith("admin/")}
    assert None not in ours, "every route of the console has a name"
    missing = sorted(
        f"{name} ({path})" for name, path in ours.items() if name not in rendered and name not in NOT_PAGES
    )
    assert not missing, "routes with no page in PAGES or OTHER_PAGES, nor a reason in NOT_PAGES:\n" + "\n".join(missing)
    assert not set(NOT_PAGES) - set(ours), "NOT_PAGES names a route that no longer exists"


def test_since_is_the_start_of_a_range_in_the_audit_filter_and_a_point_in_time_in_the_status(
    world: World, chinese: Client
) -> None:
    """One English word, two meanings (pgettext): the newcomer's walk found both as 持续时间 ("a duration")."""
    audit = chinese.get("/audit/").content.decode()
    assert re.search(r'<label>起始时间 <input[^>]*name="since"', audit), "the audit filter's 'Since': a range's start"
    status = chinese.get(ONE.format(p=world.prefix) + "_status", HTTP_HX_REQUEST="true").content.decode()
    assert '<th scope="col">起始于</th>' in status, "the conditions' 'Since' column says since when"
    assert "持续时间" not in audit + status
