from django.contrib import admin

from .models import Exercise, ExerciseProgress, Lesson, LessonProgress, Question


class ExerciseInline(admin.TabularInline):
    model = Exercise
    fields = ("slug", "title", "order")
    extra = 0
    show_change_link = True


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("order", "title", "slug", "source_path")
    search_fields = ("title", "slug", "body_markdown")
    readonly_fields = ("body_html", "toc", "source_path")
    inlines = [ExerciseInline]


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "lesson", "kind")
    list_filter = ("lesson", "kind")
    search_fields = ("slug", "title")
    readonly_fields = ("prompt_html", "source_path")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "lesson")
    list_filter = ("kind", "lesson")
    search_fields = ("key", "prompt")


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "lesson", "completed_at")
    list_filter = ("lesson",)
    search_fields = ("user__username",)


@admin.register(ExerciseProgress)
class ExerciseProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "exercise", "attempts", "best_score", "passed_at")
    list_filter = ("exercise",)
    search_fields = ("user__username",)


# Practice

from .models import Card, MockInterview, PracticeAttempt  # noqa: E402


@admin.register(PracticeAttempt)
class PracticeAttemptAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "correct", "mode", "answered_at")
    list_filter = ("mode", "correct", "question__lesson")
    search_fields = ("user__username", "question__key")
    raw_id_fields = ("user", "question")
    date_hierarchy = "answered_at"


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "due", "interval", "ease", "repetitions", "lapses")
    list_filter = ("question__lesson",)
    search_fields = ("user__username", "question__key")
    raw_id_fields = ("user", "question")


@admin.register(MockInterview)
class MockInterviewAdmin(admin.ModelAdmin):
    list_display = ("public_id", "user", "started_at", "deadline", "finished_at", "exercise", "submission_id")
    search_fields = ("user__username", "public_id")
    raw_id_fields = ("user",)
    readonly_fields = ("public_id",)
