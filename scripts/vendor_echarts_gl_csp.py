"""Make the vendored echarts-gl run under our Content-Security-Policy (no eval).

echarts-gl's bundled claygl compiles the size expressions of its post-processing graph
("expr(width * 1.0 / 2)", "expr( [width * 1.0 / 4, height / 4] )") with `new Function`, which
script-src 'self' refuses, and it builds that graph for every 3D chart, effects on or off.
Every such expression in the bundle is `width`, `height` or `dpr` times or divided by numbers,
alone or as a two-element list; this replaces the one `new Function` call with a small
evaluator of exactly that grammar (anything else still fails with claygl's own "Invalid
expression."). Run by scripts/vendor_assets.sh after copying the file; idempotent.

    python scripts/vendor_echarts_gl_csp.py src/smartsite/static/vendor/echarts-gl/echarts-gl.min.js
"""

from __future__ import annotations

import sys
from pathlib import Path

ORIGINAL = 'new Function("width","height","dpr","return "+t[1])'
# (s) -> function (width, height, dpr): products and quotients of names and numbers, or a
# bracketed, comma-separated list of them.
EVALUATOR = (
    "(function(s){function one(x){var k=x.trim().split(/\\s*([*\\/])\\s*/);"
    "return function(w,h,d){var e={width:w,height:h,dpr:d};"
    "function v(a){if(Object.prototype.hasOwnProperty.call(e,a))return e[a];"
    "if(!/^\\d+(\\.\\d+)?$/.test(a))throw new Error(a);return+a}"
    "var r=v(k[0]);for(var i=1;i<k.length;i+=2)r=k[i]==='*'?r*v(k[i+1]):r/v(k[i+1]);return r}}"
    "var x=s.trim();if(x.charAt(0)==='['&&x.charAt(x.length-1)===']'){"
    "var p=x.slice(1,-1).split(',').map(one);"
    "return function(w,h,d){return p.map(function(f){return f(w,h,d)})}}return one(x)})(t[1])"
)
MARK = "/* smartsite: expr() without eval (scripts/vendor_echarts_gl_csp.py) */"


def patch(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if MARK in text:
        return "already patched"
    if text.count(ORIGINAL) != 1:
        raise SystemExit(f"{path}: expected one {ORIGINAL!r}, found {text.count(ORIGINAL)}; "
                         "check the new echarts-gl release by hand")
    path.write_text(MARK + "\n" + text.replace(ORIGINAL, EVALUATOR), encoding="utf-8")
    return "patched"


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {patch(Path(name))}")
