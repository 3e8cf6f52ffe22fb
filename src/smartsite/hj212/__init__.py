"""HJ 212-2017 (污染物在线监控（监测）系统数据传输标准) for dust and noise monitors.

``codec`` is the pure, sans-IO part: frames and packets in and out, a streaming ``Decoder`` per
connection; no Django, sockets or clock. The profile we accept is described in ``docs/hj212.md``.
"""
