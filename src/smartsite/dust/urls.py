from django.urls import path

from smartsite.dust import views

app_name = "dust"

urlpatterns = [
    path("", views.MonitorListView.as_view(), name="monitor_list"),
    path("add/", views.monitor_edit, name="monitor_add"),
    path("exceedances/", views.exceedance_list, name="exceedance_list"),
    path("rejections/", views.RejectionListView.as_view(), name="rejection_list"),
    path("<int:pk>/", views.monitor_detail, name="monitor"),
    path("<int:pk>/live/", views.monitor_live, name="monitor_live"),
    path("<int:pk>/edit/", views.monitor_edit, name="monitor_edit"),
]
