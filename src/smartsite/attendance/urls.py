from django.urls import path

from smartsite.attendance import views

app_name = "attendance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
