"""Settings for benchmark runs only: the console's own, with the bench URLconf (adds a trivial view).

DJANGO_SETTINGS_MODULE=bench.settings gunicorn console.wsgi:application ...
"""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
