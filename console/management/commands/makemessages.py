"""``manage.py makemessages``: Django's, with this project's options as defaults, so that ``make messages``,
a developer's own call and the catalogue test (tests/console/test_i18n.py) extract the same strings.

- the locale: ``zh_Hans`` (``LANGUAGES`` in console/settings.py; English is the source language) when
  none is named;
- only the console's own files: console/ and templates/ (not the tests, the sandbox, the benchmarks,
  the Django-free emqx/ layer, the static files or the virtualenv);
- ``--no-obsolete`` (a string no longer in the code leaves the catalogue rather than lingering as ``#~``)
  and ``--add-location file`` (where a string is used, without line numbers that churn every diff).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import makemessages

DEFAULT_LOCALES = ["zh_Hans"]
# Django matches a pattern against each file's and folder's own name too: "emqx/?*" (what the top-level layer holds,
# by its path; Django drops a trailing "/*") rather than "emqx", which would also leave out templates/console/emqx/.
IGNORED = ["sandbox", "bench", "tests", "emqx/?*", "static", "staticfiles", "deploy", "docs", "locale"]


class Command(makemessages.Command):
    """Django's makemessages (django.core.management.commands.makemessages) with the defaults above."""

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["locale"] or options["exclude"] or options["all"]):
            options["locale"] = list(DEFAULT_LOCALES)
        options["ignore_patterns"] = [*options["ignore_patterns"], *IGNORED]
        options["no_obsolete"] = True
        options["add_location"] = options["add_location"] or "file"
        super().handle(*args, **options)
