from django.contrib import admin

from .models import Submission, SubmissionEvent


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    fields = ("seq", "type", "data", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "exercise", "status", "score", "attempts", "created_at")
    list_filter = ("status", "exercise")
    search_fields = ("user__username",)
    readonly_fields = ("last_seq", "docker_host", "started_at", "finished_at", "attempts")
    inlines = [SubmissionEventInline]
