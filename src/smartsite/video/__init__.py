"""Video (一网统管): cameras per project, live view (RTSP → HLS), recording and playback,
PTZ over ONVIF, and snapshots attached to events as evidence. See docs/video.md."""
