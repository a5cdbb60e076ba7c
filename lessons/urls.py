from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("lessons/", views.course, name="course"),
    path("lessons/<slug:slug>/", views.lesson_detail, name="lesson"),
    path("lessons/<slug:slug>/done/", views.lesson_done, name="lesson_done"),
]
