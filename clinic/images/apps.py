from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "clinic.images"
    label = "images"
    verbose_name = "Images"
