from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from smartsite.core import scenarios
from smartsite.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", core_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done/", core_views.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("smartsite.api")),
    path("", include("smartsite.exchange.urls")),  # import/, account/webhooks/
    path("map/districts.geojson", core_views.district_shapes, name="district_shapes"),
    path("", include("smartsite.workorders.urls")),
    # every app that declares pages of its own (core.scenarios): monitors/, cameras/ …
    *(path(d.urls[0], include(d.urls[1])) for d in scenarios.declarations() if d.urls),
    path("", include("smartsite.core.urls")),
]
