from __future__ import annotations

from django import forms

from lessons.models import Exercise, Lesson

from .models import Classroom, normalise_code


class ExerciseChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, exercise: Exercise) -> str:
        return f"{exercise.title} (lesson {exercise.lesson.order}, {exercise.lesson.title})"


class ClassroomForm(forms.ModelForm):
    due_at = forms.DateTimeField(
        label="Due date",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional. Passes after it are marked “late” on the grid (times in UTC).",
    )
    lessons = forms.ModelMultipleChoiceField(
        queryset=Lesson.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: the lessons of the chosen exercises, or the whole course.",
    )
    exercises = ExerciseChoices(
        queryset=Exercise.objects.select_related("lesson"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: the exercises of the chosen lessons, or every exercise.",
    )

    class Meta:
        model = Classroom
        fields = ["name", "due_at", "lessons", "exercises"]
        labels = {"name": "Name of the class"}


class JoinForm(forms.Form):
    code = forms.CharField(label="Join code", max_length=40, help_text="The code your instructor gave you.")

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not Classroom.objects.filter(join_code=code).exists():
            raise forms.ValidationError("There is no class with this code. Check it with your instructor.")
        return code
