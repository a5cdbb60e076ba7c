"""Teaching pages, mounted at /teach/ by tutorial/urls.py."""

from django.urls import path

from . import author_views, course_views, views

urlpatterns = [
    # An instructor's classes.
    path("", views.home, name="teach_home"),
    path("classes/new/", views.class_create, name="teach_class_create"),
    path("classes/<int:pk>/", views.class_dashboard, name="teach_class"),
    path("classes/<int:pk>/edit/", views.class_edit, name="teach_class_edit"),
    path("classes/<int:pk>/new-code/", views.class_new_code, name="teach_class_new_code"),
    path("classes/<int:pk>/<slug:table>.csv", views.class_csv, name="teach_class_csv"),
    path("classes/<int:pk>/learners/<int:user_id>/<slug:slug>/", views.learner_exercise, name="teach_learner_exercise"),
    # Learners joining and leaving.
    path("join/", views.join, name="teach_join"),
    path("join/<str:code>/", views.join_code, name="teach_join_code"),
    path("classes/<int:pk>/leave/", views.leave, name="teach_leave"),
    # Staff: the whole course.
    path("course/", course_views.course_analytics, name="teach_course"),
    path("course/<slug:table>.csv", course_views.course_csv, name="teach_course_csv"),
    # Staff: the authoring preview.
    path("author/", author_views.author_index, name="teach_author"),
    path("author/status/", author_views.author_status, name="teach_author_status"),
    path("author/reload/", author_views.author_reload, name="teach_author_reload"),
    path("author/lessons/<slug:slug>/", author_views.author_lesson, name="teach_author_lesson"),
    path("author/lessons/<slug:slug>/questions/", author_views.author_questions, name="teach_author_questions"),
    path("author/exercises/<slug:slug>/", author_views.author_exercise, name="teach_author_exercise"),
    path("author/exercises/<slug:slug>/grade/", author_views.author_grade, name="teach_author_grade"),
]
