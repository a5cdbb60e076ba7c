# The practice models, taken over from the lessons app (lessons/migrations/0003_move_practice_models.py)
# without touching the database: they still use the lessons_* tables, which 0002 renames.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("lessons", "0003_move_practice_models"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="MockInterview",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(editable=False, unique=True)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("deadline", models.DateTimeField()),
                ("questions", models.JSONField(default=list)),
                ("answers", models.JSONField(blank=True, default=dict)),
                ("submission_id", models.PositiveIntegerField(blank=True, null=True)),
                ("challenge_result", models.JSONField(blank=True, default=dict)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "exercise",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="lessons.exercise",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mock_interviews",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at"],
                "db_table": "lessons_mockinterview",
            },
        ),
        migrations.CreateModel(
            name="Card",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("ease", models.FloatField(default=2.5)),
                ("interval", models.PositiveIntegerField(default=0, help_text="Days until the next review.")),
                ("repetitions", models.PositiveIntegerField(default=0, help_text="Successful reviews in a row.")),
                ("lapses", models.PositiveIntegerField(default=0)),
                ("due", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("last_reviewed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "question",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="cards", to="lessons.question"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="practice_cards",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["due"],
                "constraints": [models.UniqueConstraint(fields=("user", "question"), name="one_card_per_question")],
                "db_table": "lessons_card",
            },
        ),
        migrations.CreateModel(
            name="PracticeAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("correct", models.BooleanField()),
                (
                    "mode",
                    models.CharField(
                        choices=[("quiz", "Quiz"), ("flashcard", "Flashcard"), ("mock", "Mock interview")],
                        max_length=10,
                    ),
                ),
                ("answered_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "question",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="attempts", to="lessons.question"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="practice_attempts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-answered_at"],
                "indexes": [models.Index(fields=["user", "answered_at"], name="lessons_pra_user_id_20d7d1_idx")],
                "db_table": "lessons_practiceattempt",
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[])]
