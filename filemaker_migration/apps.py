from django.apps import AppConfig


class FileMakerConfig(AppConfig):
    name = "filemaker_migration"
    label = "filemaker"
    verbose_name = "FileMaker migration"

    def ready(self) -> None:
        from filemaker_migration import checks  # noqa: F401  (registers them)
