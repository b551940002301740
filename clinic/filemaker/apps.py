from django.apps import AppConfig


class FileMakerConfig(AppConfig):
    name = "clinic.filemaker"
    label = "filemaker"
    verbose_name = "FileMaker migration"
