from django.contrib import admin

from .models import Card, MockInterview, PracticeAttempt


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
