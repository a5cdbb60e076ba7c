from django.contrib import admin

from .models import CheckResult, Classroom, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "joined_at")
    readonly_fields = ("joined_at",)
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "instructor", "join_code", "due_at", "created_at")
    search_fields = ("name", "join_code", "instructor__username")
    readonly_fields = ("join_code", "created_at")
    filter_horizontal = ("lessons", "exercises")
    inlines = [MembershipInline]


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    list_display = ("submission", "exercise", "check_id", "status", "user")
    list_filter = ("status", "exercise")
    search_fields = ("check_id", "user__username", "message")
    raw_id_fields = ("submission", "user")
