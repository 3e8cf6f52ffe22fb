from django.urls import path

from smartsite.attendance import checkin_views, page_views

app_name = "attendance"

urlpatterns = [
    path("", page_views.dashboard, name="dashboard"),
    path("checkin/", checkin_views.checkin_page, name="checkin"),
    path("projects/<int:pk>/", page_views.project, name="project"),
    path("projects/<int:pk>/stoppages/add/", page_views.stoppage_add, name="stoppage_add"),
    path("people/<int:pk>/", page_views.person, name="person"),
    path("people/<int:pk>/enrol/", checkin_views.enrol_page, name="enrol"),
    path("assignments/<int:pk>/leaves/add/", page_views.leave_add, name="leave_add"),
    path("assignments/<int:pk>/stand-ins/add/", page_views.stand_in_add, name="stand_in_add"),
    path("leaves/<int:pk>/decide/", page_views.leave_decide, name="leave_decide"),
    path("stand-ins/<int:pk>/decide/", page_views.stand_in_decide, name="stand_in_decide"),
    path("stoppages/<int:pk>/decide/", page_views.stoppage_decide, name="stoppage_decide"),
    path("reviews/", page_views.reviews, name="reviews"),
    path("reviews/<int:pk>/decide/", page_views.review_decide, name="review_decide"),
    path("checkins/<int:pk>/photo/", page_views.checkin_photo, name="checkin_photo"),
    path("enrolments/", page_views.enrolments, name="enrolments"),
    path("sanctions/<int:pk>/decide/", page_views.sanction_decide, name="sanction_decide"),
    path("enrolments/<int:pk>/photo/", page_views.enrolment_photo, name="enrolment_photo"),
]
