from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import Lesson, LessonProgress
from .progress import course_progress


def home(request: HttpRequest) -> HttpResponse:
    progress = course_progress(request.user)
    return render(request, "home.html", {"progress": progress, "first_lesson": Lesson.objects.first()})


def course(request: HttpRequest) -> HttpResponse:
    return render(request, "lessons/course.html", {"progress": course_progress(request.user)})


def lesson_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    done = request.user.is_authenticated and LessonProgress.objects.filter(user=request.user, lesson=lesson).exists()
    context = {
        "lesson": lesson,
        "done": done,
        "previous": Lesson.objects.filter(order__lt=lesson.order).order_by("-order").first(),
        "next": Lesson.objects.filter(order__gt=lesson.order).order_by("order").first(),
        "exercises": lesson.exercises.all(),
    }
    return render(request, "lessons/lesson.html", context)


@require_POST
@login_required
def lesson_done(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    if request.POST.get("done") == "0":
        LessonProgress.mark_not_done(request.user, lesson)
        messages.info(request, f"“{lesson.title}” is marked as not done.")
        return redirect(lesson)
    LessonProgress.mark_done(request.user, lesson)
    messages.success(request, f"“{lesson.title}” is done. Well played.")
    following = Lesson.objects.filter(order__gt=lesson.order).order_by("order").first()
    return redirect(following or "course")
