from django.urls import path

from smartsite.pits import registry_views, upload_views, views

app_name = "pits"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report.xlsx", views.report_xlsx, name="report_xlsx"),
    path("report.pdf", views.report_pdf, name="report_pdf"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("projects/<int:pk>/add/", registry_views.pit_add, name="pit_add"),
    path("<int:pk>/edit/", registry_views.pit_edit, name="pit_edit"),
    path("<int:pk>/stages/add/", registry_views.stage_add, name="stage_add"),
    path("<int:pk>/points/add/", registry_views.point_add, name="point_add"),
    path("<int:pk>/", views.pit, name="pit"),
    path("<int:pk>/3d/", views.pit_3d, name="pit_3d"),
    path("<int:pk>/judge/", views.judge, name="judge"),
    path("<int:pk>/survey-template/", upload_views.survey_template, name="survey_template"),
    path("<int:pk>/surveys/upload/", upload_views.survey_upload, name="survey_upload"),
]
