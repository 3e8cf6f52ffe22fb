from django.urls import path

from smartsite.pits import views

app_name = "pits"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("<int:pk>/", views.pit, name="pit"),
]
