from django.urls import include, path

from smartsite.workorders import policy_views, views

app_name = "workorders"

urlpatterns = [
    path("events/", views.todo, name="todo"),
    path("events/<int:pk>/ignore/", views.event_ignore, name="event_ignore"),
    path("events/<int:pk>/dispatch/", views.event_dispatch, name="event_dispatch"),
    path("projects/<int:pk>/timeline/", views.project_timeline, name="project_timeline"),
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/bulk/reassign/", views.bulk_reassign, name="bulk_reassign"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/act/", views.order_act, name="order_act"),
    path("orders/<int:pk>/penalties/", views.penalty_add, name="penalty_add"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("m/", views.mobile, name="mobile"),
    path("m/orders/<int:pk>/", views.mobile_order, name="mobile_order"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("policies/", include(policy_views)),
]
