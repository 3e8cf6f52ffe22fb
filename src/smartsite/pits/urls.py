from django.urls import path

from smartsite.pits import upload_views, views

app_name = "pits"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("<int:pk>/", views.pit, name="pit"),
    path("<int:pk>/survey-template/", upload_views.survey_template, name="survey_template"),
    path("<int:pk>/surveys/upload/", upload_views.survey_upload, name="survey_upload"),
]
