"""The static files' storage: WhiteNoise's compressed copies, made once at `collectstatic`
(the first `smartsite demo` or `serve`), with Brotli at quality 9 instead of its default 11.

Measured on the 168 files collected (ECharts, echarts-gl, hls.js, Swagger UI, the admin's):
quality 11 took ~22 s of CPU for the whole collectstatic, nearly all of it Brotli; quality 9
compresses our own 2.1 MB of scripts to 580 KB instead of 532 KB (9 % more bytes, once per
browser: the files are cached) in a twelfth of the time. Gzip (level 9) is unchanged."""

from __future__ import annotations

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedStaticFilesStorage

BROTLI_QUALITY = 9


class _Compressor(Compressor):
    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        return brotli.compress(data, quality=BROTLI_QUALITY)


class StaticFilesStorage(CompressedStaticFilesStorage):
    def create_compressor(self, **kwargs) -> Compressor:
        return _Compressor(**kwargs)
