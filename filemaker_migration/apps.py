from django.apps import AppConfig


class FileMakerConfig(AppConfig):
    name = "filemaker_migration"
    label = "filemaker"
    verbose_name = "FileMaker migration"
