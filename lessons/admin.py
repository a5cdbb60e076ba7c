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
