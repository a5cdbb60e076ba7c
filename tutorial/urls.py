from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The project's account pages first: its throttled log-in page replaces Django's at the same address.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("workspace.urls")),
    path("", include("lessons.urls")),
    path("practice/", include("practice.urls")),
    path("teach/", include("teach.urls")),
]
