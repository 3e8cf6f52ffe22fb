"""Forms of the camera pages. Validation messages are Chinese and field-specific."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from smartsite.video import links
from smartsite.video.models import Camera
from smartsite.video.permissions import manageable_projects
from smartsite.video.services import split_credentials

LOCAL_DT = "%Y-%m-%dT%H:%M"


class CameraForm(forms.ModelForm):
    """Register or edit a camera. Credentials are typed here and stored encrypted; on edit a
    blank password keeps the stored one (it is never sent back to the browser)."""

    # (Their length is checked by `services`, with the same message as over the API.)
    username = forms.CharField(label="用户名", required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}),
                               help_text="RTSP 与 ONVIF 共用，加密保存")
    password = forms.CharField(label="密码", required=False,
                               widget=forms.PasswordInput(render_value=False,
                                                          attrs={"autocomplete": "new-password"}))
    clear_credentials = forms.BooleanField(label="清除已保存的用户名和密码", required=False)
    # The device of a scenario the camera watches (video.links): its events are photographed
    # by this camera first.
    monitor = forms.ModelChoiceField(
        label="关联监测设备", required=False, queryset=Camera.objects.none(),
        error_messages={"invalid_choice": "只能关联本项目的监测设备"})

    class Meta:
        model = Camera
        fields = ["name", "project", "location", "rtsp_url", "onvif_host", "onvif_port",
                  "ptz_capable", "record", "active"]
        widgets = {
            "rtsp_url": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                               "placeholder": "rtsp://192.168.1.64:554/stream1"}),
            "onvif_host": forms.TextInput(attrs={"spellcheck": "false",
                                                 "placeholder": "192.168.1.64"}),
        }
        error_messages = {
            "project": {"invalid_choice": "只能选择您有权登记摄像头的项目",
                        "required": "请选择项目"},
            "onvif_port": {"invalid": "端口应为 1–65535 的整数"},
        }

    field_order = ["name", "project", "monitor"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        projects = manageable_projects(user).order_by("name")
        self.fields["project"].queryset = projects
        self.fields["project"].empty_label = "请选择项目"
        kind = links.device_kind()
        if kind is None:  # no scenario offers devices to link
            del self.fields["monitor"]
        else:
            self.fields["monitor"].queryset = kind.devices().filter(
                project__in=projects.values("pk"))
            self.fields["monitor"].empty_label = "不关联"
            self.fields["monitor"].help_text = kind.help_text
            self.fields["monitor"].label_from_instance = \
                lambda d: f"{kind.code_of(d)}（{d.project.name}）"
            self.initial.setdefault("monitor", self.instance.monitor_id)
        for name in ("name", "rtsp_url"):  # the model's words, as the API gives them
            self.fields[name].error_messages["required"] = \
                Camera._meta.get_field(name).error_messages["blank"]
        if self.instance.pk:
            self.fields["username"].initial = ""
            self.fields["username"].help_text = (
                "已保存，留空则不变" if self.instance.has_credentials else "RTSP 与 ONVIF 共用，加密保存")
            self.fields["password"].help_text = "留空则不变"
        else:
            del self.fields["clear_credentials"]

    def camera_fields(self) -> dict:
        """The cleaned camera fields, as `services.register_camera` / `update_camera` take
        them (credentials apart)."""
        names = [*self.Meta.fields, *(["monitor"] if "monitor" in self.fields else [])]
        return {name: self.cleaned_data[name] for name in names}

    def clean_rtsp_url(self):
        return (self.cleaned_data.get("rtsp_url") or "").strip()

    def clean_onvif_host(self):
        return (self.cleaned_data.get("onvif_host") or "").strip()

    def clean(self):
        data = super().clean()
        if "monitor" in self.fields:  # (not a model field: the model's clean checks it too)
            self.instance.monitor = data.get("monitor")
        # A typed rtsp://user:pass@host/… is taken apart: the URL is kept plain and the
        # credentials go to the (encrypted) fields unless those were filled in.
        plain, user, password = split_credentials(data.get("rtsp_url") or "")
        if user or password:
            data["rtsp_url"] = plain
            data["username"] = data.get("username") or user
            data["password"] = data.get("password") or password
        return data


class RangeForm(forms.Form):
    """A playback range in Shanghai time (datetime-local inputs)."""

    start = forms.DateTimeField(label="开始", input_formats=[LOCAL_DT, "%Y-%m-%d %H:%M",
                                                            "%Y-%m-%dT%H:%M:%S"],
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format=LOCAL_DT),
                                error_messages={"required": "请填写开始时间",
                                                "invalid": "开始时间格式应为 YYYY-MM-DD HH:MM"})
    end = forms.DateTimeField(label="结束", input_formats=[LOCAL_DT, "%Y-%m-%d %H:%M",
                                                          "%Y-%m-%dT%H:%M:%S"],
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                         format=LOCAL_DT),
                              error_messages={"required": "请填写结束时间",
                                              "invalid": "结束时间格式应为 YYYY-MM-DD HH:MM"})

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        hours = settings.VIDEO_PLAYBACK_MAX_HOURS
        if end <= start:
            self.add_error("end", "结束时间必须晚于开始时间")
        elif end - start > datetime.timedelta(hours=hours):
            self.add_error("end", f"一次最多回放 {hours} 小时")
        if start > timezone.now():
            self.add_error("start", "开始时间不能晚于现在")
        return data
