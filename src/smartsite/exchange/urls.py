from django.urls import path

from smartsite.exchange import views

app_name = "exchange"

urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("import/template/<slug:kind>.xlsx", views.template_download, name="template"),
    path("import/report.xlsx", views.report_download, name="report"),
    path("account/webhooks/", views.webhooks, name="webhooks"),
    path("account/webhooks/<int:pk>/active/", views.webhook_active, name="webhook_active"),
    path("account/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("account/webhooks/<int:pk>/test/", views.webhook_test, name="webhook_test"),
    path("account/webhooks/deliveries/<int:pk>/redeliver/", views.delivery_redeliver,
         name="delivery_redeliver"),
]
