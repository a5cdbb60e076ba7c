from django.apps import AppConfig


class TeachConfig(AppConfig):
    """Instructors: classes, the analytics of every check and question, and the authoring preview."""

    name = "teach"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Teaching"

    def ready(self) -> None:
        # Connects the receiver that stores each graded submission's verdicts as rows (teach/receivers.py).
        # Imported here, once every app's models are loaded, because the receiver's module uses them.
        from . import receivers  # noqa: F401
