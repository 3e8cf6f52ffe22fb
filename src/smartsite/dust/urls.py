from django.urls import include, path

from smartsite.dust import dashboard_views, views

app_name = "dust"

urlpatterns = [
    path("", views.MonitorListView.as_view(), name="monitor_list"),
    path("add/", views.monitor_edit, name="monitor_add"),
    path("exceedances/", views.exceedance_list, name="exceedance_list"),
    path("rejections/", views.RejectionListView.as_view(), name="rejection_list"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/points.json", dashboard_views.dashboard_points, name="dashboard_points"),
    path("projects/<int:pk>/", dashboard_views.project_dust, name="project"),
    path("<int:pk>/", views.monitor_detail, name="monitor"),
    path("<int:pk>/live/", views.monitor_live, name="monitor_live"),
    path("<int:pk>/edit/", views.monitor_edit, name="monitor_edit"),
    path("", include("smartsite.dust.upkeep_urls")),  # inspections, sprays, O&M, reviews
    path("", include("smartsite.dust.rule_views")),  # rules/, rules/<code>/edit/
]
