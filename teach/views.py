"""Classes: creating and running one (the dashboard, a learner's attempts, the CSV exports), joining, leaving."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from lessons.models import Exercise
from practice.models import PracticeAttempt

from . import exports
from .access import instructor_required, own_class
from .analytics import Scope, check_table, exercise_pairs, exercise_table, question_table
from .attempts import build_log, diff_files, learner_attempts, ordered_files
from .forms import ClassroomForm, JoinForm
from .grid import progress_grid
from .models import Classroom, Membership, normalise_code


def class_scope(classroom: Classroom) -> Scope:
    return Scope(
        exercises=classroom.covered_exercises(),
        questions=classroom.covered_questions(),
        learners=classroom.learner_ids(),
    )


def practice_mode(request: HttpRequest) -> str:
    """The practice mode the question table is limited to (?mode=quiz), or "" for every mode."""
    mode = request.GET.get("mode", "")
    return mode if mode in PracticeAttempt.Mode.values else ""


# --- The instructor's pages -----------------------------------------------------------------------------------


@require_safe
@instructor_required
def home(request: HttpRequest) -> HttpResponse:
    classes = Classroom.objects.filter(instructor=request.user).annotate(learner_count=Count("memberships"))
    return render(request, "teach/home.html", {"classes": classes})


@instructor_required
def class_create(request: HttpRequest) -> HttpResponse:
    form = ClassroomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        classroom = form.save(commit=False)
        classroom.instructor = request.user
        classroom.save()
        form.save_m2m()
        messages.success(
            request, f"“{classroom.name}” is ready. Give your learners the join code {classroom.join_code}."
        )
        return redirect(classroom)
    return render(request, "teach/class_form.html", {"form": form})


@instructor_required
def class_edit(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = own_class(request, pk)
    form = ClassroomForm(request.POST or None, instance=classroom)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The class is saved.")
        return redirect(classroom)
    return render(request, "teach/class_form.html", {"form": form, "classroom": classroom})


@require_POST
@instructor_required
def class_new_code(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = own_class(request, pk)
    classroom.join_code = Classroom.unused_code()
    classroom.save(update_fields=["join_code"])
    messages.success(request, f"The new join code is {classroom.join_code}; the old one no longer works.")
    return redirect(classroom)


@require_safe
@instructor_required
def class_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = own_class(request, pk)
    scope = class_scope(classroom)
    pairs = exercise_pairs(scope, with_last_score=True)
    sort = request.GET.get("sort", "learner")
    descending = request.GET.get("order") == "desc"
    # Built once here rather than reversed for each of a big grid's cells (see teach/urls.py).
    learners_url = f"{classroom.get_absolute_url()}learners/"
    grid = progress_grid(
        scope.learners,
        scope.exercises,
        classroom.covered_lessons(),
        pairs,
        classroom.due_at,
        sort,
        descending,
        learners_url,
    )
    mode = practice_mode(request)
    context = {
        "classroom": classroom,
        "grid": grid,
        "exercise_rows": exercise_table(scope, pairs, learners=len(grid.rows)),
        "check_rows": check_table(scope),
        "question_rows": question_table(scope, mode),
        "mode": mode,
        "modes": PracticeAttempt.Mode.choices,
        "join_url": request.build_absolute_uri(classroom.join_path()),
    }
    return render(request, "teach/class.html", context)


@require_safe
@instructor_required
def class_csv(request: HttpRequest, pk: int, table: str) -> HttpResponse:
    classroom = own_class(request, pk)
    scope = class_scope(classroom)
    name = f"class-{classroom.pk}-{table}.csv"
    if table == "grid":
        pairs = exercise_pairs(scope, with_last_score=True)
        grid = progress_grid(scope.learners, scope.exercises, classroom.covered_lessons(), pairs, classroom.due_at)
        return exports.csv_response(name, exports.grid_rows(grid))
    if table == "exercises":
        pairs = exercise_pairs(scope)
        learners = classroom.memberships.count()
        return exports.csv_response(name, exports.exercise_rows(exercise_table(scope, pairs, learners)))
    if table == "checks":
        return exports.csv_response(name, exports.check_rows(check_table(scope)))
    if table == "questions":
        return exports.csv_response(name, exports.question_rows(question_table(scope, practice_mode(request))))
    raise Http404("There is no such table.")


@require_safe
@instructor_required
def learner_exercise(request: HttpRequest, pk: int, user_id: int, slug: str) -> HttpResponse:
    """A learner's attempts at one exercise: each with its verdicts, files, build log and diff."""
    classroom = own_class(request, pk)
    member = get_object_or_404(Membership.objects.select_related("user"), classroom=classroom, user_id=user_id)
    exercise = get_object_or_404(Exercise.objects.select_related("lesson"), slug=slug)
    if exercise not in classroom.covered_exercises():
        raise Http404("This class does not cover that exercise.")
    attempts = learner_attempts(member.user, exercise)
    chosen = attempts[-1] if attempts else None
    wanted = request.GET.get("attempt", "")
    if wanted.isdigit():
        chosen = next((a for a in attempts if a.number == int(wanted)), None)
        if chosen is None:
            raise Http404("There is no such attempt.")
    context = {"classroom": classroom, "learner": member.user, "exercise": exercise, "attempts": attempts}
    if chosen is not None:
        submission = chosen.submission
        submission.refresh_from_db(fields=["files"])
        previous = attempts[chosen.number - 2].submission if chosen.number > 1 else None
        if previous is not None:
            previous.refresh_from_db(fields=["files"])
        context.update(
            chosen=chosen,
            files=ordered_files(submission.files),
            log=build_log(submission),
            diff=diff_files(previous.files if previous else exercise.starter_files, submission.files),
            diff_base=f"attempt {chosen.number - 1}" if previous else "the starter files",
        )
    return render(request, "teach/learner_exercise.html", context)


# --- The learner's side: joining and leaving --------------------------------------------------------------------


@require_POST
@login_required
def join(request: HttpRequest) -> HttpResponse:
    """The join form on the profile page."""
    form = JoinForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("code", ["Enter the join code your instructor gave you."])))
        return redirect("profile")
    return join_class(request, Classroom.objects.get(join_code=form.cleaned_data["code"]))


@login_required
def join_code(request: HttpRequest, code: str) -> HttpResponse:
    """The join link: a page that says which class it is, and a button to join."""
    classroom = get_object_or_404(Classroom.objects.select_related("instructor"), join_code=normalise_code(code))
    if request.method == "POST":
        return join_class(request, classroom)
    member = classroom.memberships.filter(user=request.user).exists()
    return render(request, "teach/join.html", {"classroom": classroom, "member": member})


def join_class(request: HttpRequest, classroom: Classroom) -> HttpResponse:
    _, created = Membership.objects.get_or_create(classroom=classroom, user=request.user)
    if created:
        messages.success(request, f"You joined “{classroom.name}”. Your instructor now sees your progress.")
    else:
        messages.info(request, f"You are already in “{classroom.name}”.")
    return redirect("profile")


@require_POST
@login_required
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("classroom"), classroom_id=pk, user=request.user)
    membership.delete()
    messages.info(
        request, f"You left “{membership.classroom.name}”. Your work is still yours; joining again shows it again."
    )
    return redirect("profile")
