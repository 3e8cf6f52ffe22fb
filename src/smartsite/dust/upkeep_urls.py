"""Routes of the upkeep pages, included into `dust.urls` (same `dust:` namespace)."""

from django.urls import path

from smartsite.dust import upkeep_views as views

urlpatterns = [
    path("<int:pk>/inspections/add/", views.inspection_add, name="inspection_add"),
    path("inspections/<int:pk>/certificate/<str:name>", views.inspection_certificate,
         name="inspection_certificate"),
    path("<int:pk>/sprays/add/", views.spray_add, name="spray_add"),
    path("<int:pk>/maintenance/", views.monitor_maintenance, name="monitor_maintenance"),
    path("projects/<int:pk>/maintenance/", views.project_maintenance,
         name="project_maintenance"),
    path("maintenance/<int:pk>/end/", views.maintenance_end, name="maintenance_end"),
    path("reviews/", views.review_list, name="review_list"),
    path("reviews/lagging/", views.review_lag_list, name="review_lags"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
]
