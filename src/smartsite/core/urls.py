from django.urls import path

from smartsite.core import views

app_name = "core"

urlpatterns = [
    path("regions/", views.RegionListView.as_view(), name="region_list"),
    path("regions/streets", views.streets_options, name="streets_options"),
    path("regions/<int:pk>/", views.RegionDetailView.as_view(), name="region"),
    path("agencies/<int:pk>/", views.AgencyDetailView.as_view(), name="agency"),
    path("projects/", views.ProjectListView.as_view(), name="project_list"),
    path("projects/points.json", views.project_points, name="project_points"),
    path("projects/add/", views.ProjectEditView.as_view(), name="project_add"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="project"),
    path("projects/<int:pk>/edit/", views.ProjectEditView.as_view(), name="project_edit"),
    path("projects/<int:pk>/assignments/add/", views.assignment_add, name="assignment_add"),
    path("enterprises/", views.EnterpriseListView.as_view(), name="enterprise_list"),
    path("enterprises/add/", views.EnterpriseEditView.as_view(), name="enterprise_add"),
    path("enterprises/<int:pk>/", views.EnterpriseDetailView.as_view(), name="enterprise"),
    path("enterprises/<int:pk>/edit/", views.EnterpriseEditView.as_view(),
         name="enterprise_edit"),
    path("people/", views.PersonListView.as_view(), name="person_list"),
    path("people/add/", views.PersonEditView.as_view(), name="person_add"),
    path("people/<int:pk>/", views.PersonDetailView.as_view(), name="person"),
    path("people/<int:pk>/edit/", views.PersonEditView.as_view(), name="person_edit"),
    path("people/<int:pk>/qualifications/add/", views.qualification_add,
         name="qualification_add"),
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/add/", views.user_add, name="user_add"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("roles/<int:pk>/revoke/", views.role_revoke, name="role_revoke"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
