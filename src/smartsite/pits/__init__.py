"""深基坑监测 (deep-pit monitoring), the guideline's appendix 场景三: docs/pits.md."""
