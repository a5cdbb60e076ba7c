from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "practice"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Interview practice"

    def ready(self) -> None:
        # Connects the log-in receiver. Imported here, once every app's models are loaded, because the
        # receiver's module uses the models; connecting it at start-up means the merge runs however the
        # log-in happens (log-in form, sign-up, admin), without waiting for the practice URLs to be imported.
        from . import signals  # noqa: F401
