"""`python manage.py demo`: a throwaway sandbox cluster, a demo login, the console on :8000.

Everything it starts dies with it: Ctrl-C (or a kill) stops the server and the cluster.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from sandbox import Sandbox

DEMO_USER = "admin"
DEMO_PASSWORD = "emqx-demo"


class Command(BaseCommand):
    help = "Run the console against an embedded sandbox cluster with demo data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve the console")

    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        self.stdout.write("Starting the sandbox cluster (kube-apiserver + etcd)...")
        sb = Sandbox.create(prefix="emqx-demo-")
        try:
            sb.start()
            os.environ["KUBECONFIG"] = str(sb.kubeconfig)
            self.stdout.write(f"Sandbox at {sb.server}; kubeconfig {sb.kubeconfig}")
            call_command("migrate", interactive=False, verbosity=0)
            self._ensure_demo_admin()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Console at http://{addr}/  login: {DEMO_USER} / {DEMO_PASSWORD}  (Ctrl-C stops all)"
                )
            )
            call_command("runserver", addr, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            sb.destroy()
            self.stdout.write("Stopped the console and the sandbox.")

    def _ensure_demo_admin(self) -> None:
        users = get_user_model()
        user, _ = users.objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(DEMO_PASSWORD)
        user.save()
