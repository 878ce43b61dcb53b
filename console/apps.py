from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "EMQX console"

    def ready(self) -> None:
        # Each kind registers its admin on console.registry.site (as admin.autodiscover()).
        from console import kinds  # noqa: F401
