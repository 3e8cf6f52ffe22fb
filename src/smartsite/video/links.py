"""The device of a scenario that a camera may be linked to (关联监测设备).

Video serves every scenario and imports none of them (design.md §2). A scenario that wants
its events photographed by the camera next to the device that raised them declares that
device in its declaration (`camera_device=CameraDevice("dust.Monitor", "mn", help_text=…)`,
core.scenarios): a model with a `project` (a camera may watch a device of its own project
only) that `core.scoping.scoped()` knows, and the field whose value the scenario's events
carry as `Event.subject` (dust: the monitor's MN; `services.cameras_for_event`).

The camera stores the link generically (`Camera.monitor`: a content type and an id), so the
tables of video name no scenario's tables. One kind of device can be linked today: the
camera form and the API take a plain device id, which would be ambiguous with two kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete

from smartsite.core import scenarios

__all__ = ["DeviceKind", "connect", "device_kind"]


@dataclass(frozen=True)
class DeviceKind:
    """A scenario's device that cameras can be linked to."""

    scenario: str  # `Event.scenario` of the events its devices raise
    model: str  # "app_label.Model"
    code: str  # the field its events carry as `Event.subject`
    help_text: str = ""  # under the choice on the camera form

    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)

    def devices(self) -> QuerySet:
        return self.model_class().objects.select_related("project").order_by(self.code)

    def code_of(self, device) -> str:
        return getattr(device, self.code) if device is not None else ""

    def accepts(self, device) -> bool:
        return isinstance(device, self.model_class())


def device_kind() -> DeviceKind | None:
    """The kind of device cameras can be linked to, None if no scenario declares one."""
    kinds = [DeviceKind(d.scenario, d.camera_device.model, d.camera_device.code,
                        d.camera_device.help_text)
             for d in scenarios.scenarios() if d.camera_device is not None]
    if len(kinds) > 1:
        raise ImproperlyConfigured(
            f"cameras can be linked to one kind of device; {', '.join(k.model for k in kinds)} "
            "are declared: the camera form and API need a kind first")
    return kinds[0] if kinds else None


def connect() -> None:
    """A deleted device leaves no dangling link behind (as a foreign key's SET_NULL would);
    called by `VideoConfig.ready()`, after the declarations are discovered."""
    kind = device_kind()
    if kind is not None:
        post_delete.connect(_unlink, sender=kind.model_class(), weak=False,
                            dispatch_uid=f"video.links.unlink:{kind.model}")


def _unlink(sender, instance, **kwargs) -> None:
    from django.contrib.contenttypes.models import ContentType

    from smartsite.video.models import Camera

    Camera.objects.filter(monitor_type=ContentType.objects.get_for_model(sender),
                          monitor_id=instance.pk).update(monitor_type=None, monitor_id=None)
