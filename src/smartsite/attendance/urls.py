from django.urls import path

from smartsite.attendance import checkin_views, views

app_name = "attendance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("checkin/", checkin_views.checkin_page, name="checkin"),
    path("people/<int:pk>/enrol/", checkin_views.enrol_page, name="enrol"),
]
