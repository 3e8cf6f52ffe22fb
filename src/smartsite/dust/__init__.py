"""Dust and noise online monitoring (扬尘噪声在线监测): monitors, their readings over HJ 212,
rollups (minute, 15-minute, hour, day) and the monitors' live state."""
