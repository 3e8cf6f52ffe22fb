"""The key-post attendance scenario (关键岗位到岗履职, the guideline's appendix 场景二) as the
platform sees it (core.scenarios). docs/attendance.md describes the scenario itself."""

from smartsite.core.scenarios import Declaration

DECLARATION = Declaration(
    app="attendance",
    name="关键岗位到岗履职",
    scenario="attendance",
    reference=(
        ("attendance_key_posts", "smartsite.attendance.reference.load_key_posts"),
        ("attendance_parameters", "smartsite.attendance.reference.load_parameters"),
        ("attendance_loop_policies", "smartsite.attendance.reference.load_policies"),
    ),
    access="smartsite.attendance.access",
)
