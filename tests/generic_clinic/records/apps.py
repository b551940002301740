from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "tests.generic_clinic.records"
    label = "records"
    verbose_name = "Records"
