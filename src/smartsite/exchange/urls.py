from django.urls import path

from smartsite.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.import_page, name="import"),
    path("template/<slug:kind>.xlsx", views.template_download, name="template"),
    path("report.xlsx", views.report_download, name="report"),
]
