from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Tools for operators and tests that run the whole of Dockyard: a live stack, the benchmark."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
