"""Keep the orders' copy of their project's district true when a project moves district
(a registry correction): district scoping and the district index read `WorkOrder.district`."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from smartsite.core.models import Project


@receiver(post_save, sender=Project, dispatch_uid="workorders.project_district")
def follow_project_district(sender, instance: Project, created: bool, raw: bool = False,
                            **kwargs) -> None:
    if created or raw:
        return
    from smartsite.workorders.models import WorkOrder

    WorkOrder.objects.filter(project=instance).exclude(district=instance.district_id).update(
        district=instance.district_id)
